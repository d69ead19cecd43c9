//! The subcommands that read reports: evidence, diff, report, compare, merge, history, dashboard.

use anyhow::Result;
use std::path::PathBuf;
use wasiprobe::exit;
use wasiprobe::report::Report;
use wasiprobe::run::UsageError;
use wasiprobe_util as util;

pub fn evidence(
    report: &std::path::Path,
    locked: &str,
    candidate: &str,
    json: bool,
    html: Option<&std::path::Path>,
) -> Result<i32> {
    let r = wasiprobe::report::load(report)?;
    let e = wasiprobe::render::evidence(&r, locked, candidate).map_err(UsageError)?;
    if let Some(path) = html {
        let page = wasiprobe_reports::evidence_html(&serde_json::to_value(&e)?)?;
        util::atomic_write(path, page.as_bytes())?;
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&e)?);
    } else {
        print!("{}", wasiprobe::render::evidence_markdown(&e));
    }
    Ok(if e.breaking() > 0 {
        exit::FAILURES
    } else {
        exit::OK
    })
}

pub fn python_evidence(
    report: &std::path::Path,
    branch: &str,
    locked: &str,
    candidate: &str,
    json: bool,
) -> Result<i32> {
    let r = wasiprobe::report::load(report)?;
    let e =
        wasiprobe::render::python_evidence(&r, branch, locked, candidate).map_err(UsageError)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&e)?);
    } else {
        print!("{}", wasiprobe::render::python_evidence_markdown(&e));
    }
    Ok(if e.breaking() > 0 {
        exit::FAILURES
    } else {
        exit::OK
    })
}

pub fn diff(old: &std::path::Path, new: &std::path::Path, json: bool) -> Result<i32> {
    let (a, b) = (wasiprobe::report::load(old)?, wasiprobe::report::load(new)?);
    let d = wasiprobe::render::diff(&a, &b);
    if json {
        println!("{}", serde_json::to_string_pretty(&d)?);
    } else {
        print!("{}", wasiprobe::render::diff_text(&d));
    }
    Ok(if d.regressions() > 0 {
        exit::FAILURES
    } else {
        exit::OK
    })
}

pub fn report(report: &std::path::Path, sdk: &str, out: Option<&std::path::Path>) -> Result<i32> {
    let r = wasiprobe::report::load(report)?;
    let f = wasiprobe::render::for_sdk(&r, sdk).map_err(UsageError)?;
    let md = wasiprobe::render::sdk_markdown(&f, sdk);
    match out {
        Some(dir) => {
            write_formats(&f, &md, dir)?;
            println!("report: {}", dir.join("report.md").display());
        }
        None => print!("{md}"),
    }
    Ok(if f.has_failures() {
        exit::FAILURES
    } else {
        exit::OK
    })
}

pub fn compare(report: &std::path::Path, reference: &str, json: bool) -> Result<i32> {
    let r = wasiprobe::report::load(report)?;
    let c = wasiprobe::render::compare_runtimes(&r, reference).map_err(UsageError)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&c)?);
    } else {
        print!("{}", wasiprobe::render::comparison_markdown(&c));
    }
    Ok(if c.differences.is_empty() {
        exit::OK
    } else {
        exit::FAILURES
    })
}

pub fn merge(shards: &[PathBuf], out: &std::path::Path) -> Result<i32> {
    let paths: Vec<&std::path::Path> = shards.iter().map(|p| p.as_path()).collect();
    let r = wasiprobe::shard::merge(&paths)?;
    write_formats(&r, &wasiprobe::render::markdown(&r), out)?;
    for (id, p) in &r.python {
        if let Some(f) = &p.footprint {
            wasiprobe::python::footprint::write_strip_plan(&f.strip_plan, out, id)?;
        }
    }
    print!("{}", wasiprobe::report::table(&r));
    println!("report: {}", out.join("report.json").display());
    Ok(if r.has_failures() {
        exit::FAILURES
    } else {
        exit::OK
    })
}

pub fn history_add(report: &std::path::Path, db: &std::path::Path) -> Result<i32> {
    let r = wasiprobe::report::load(report)?;
    let mut h = wasiprobe_reports::History::open(db)?;
    let id = h.add(&r)?;
    println!("{}: run {id}", db.display());
    Ok(exit::OK)
}

pub fn history_show(db: &std::path::Path, json: bool) -> Result<i32> {
    let runs = wasiprobe_reports::History::open(db)?.runs()?;
    if json {
        println!("{}", serde_json::to_string_pretty(&runs)?);
    } else {
        for r in &runs {
            let counts: Vec<String> = r.counts.iter().map(|(k, v)| format!("{v} {k}")).collect();
            println!("{:>4}  {}  {}", r.id, r.started_at, counts.join(", "));
        }
    }
    Ok(exit::OK)
}

pub fn dashboard(
    report: &std::path::Path,
    history: Option<&std::path::Path>,
    out: &std::path::Path,
) -> Result<i32> {
    let r = wasiprobe::report::load(report)?;
    let runs = match history {
        Some(db) => wasiprobe_reports::History::open(db)?.runs()?,
        None => vec![],
    };
    let page = wasiprobe_reports::dashboard_html(&r, &runs)?;
    util::atomic_write(out, page.as_bytes())?;
    println!("dashboard: {}", out.display());
    Ok(exit::OK)
}

/// report.json, report.md (given), report.html and junit.xml into `dir`, each atomically.
pub fn write_formats(r: &Report, md: &str, dir: &std::path::Path) -> Result<()> {
    use wasiprobe_reports::reporter::{self, Html, Json, Junit, Markdown, Reporter};
    let formats: Vec<Box<dyn Reporter>> = vec![
        Box::new(Json),
        Box::new(Markdown {
            body: Some(md.to_string()),
        }),
        Box::new(Junit),
        Box::new(Html { history: vec![] }),
    ];
    reporter::write_all(r, dir, &formats)
}
