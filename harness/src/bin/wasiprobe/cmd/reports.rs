//! The subcommands that read reports: evidence, diff, report, compare, merge, history, dashboard.

use anyhow::Result;
use serde::Serialize;
use std::path::PathBuf;
use wasiprobe::exit;
use wasiprobe::report::Report;
use wasiprobe::run::UsageError;
use wasiprobe_util as util;

/// Loads the reports a decision is drawn from, refusing an incomplete one unless accepted;
/// the notes of the accepted ones go with the output.
fn gated(paths: &[&std::path::Path], accept: bool) -> Result<(Vec<Report>, Vec<String>)> {
    let mut reports = Vec::new();
    let mut notes = Vec::new();
    for p in paths {
        let (r, note) = wasiprobe::report::load_gated(p, accept)?;
        reports.push(r);
        notes.extend(note);
    }
    Ok((reports, notes))
}

/// `analysis` as JSON, the notes on its incomplete inputs as `incomplete_inputs`.
fn to_json<T: Serialize>(analysis: &T, notes: &[String]) -> Result<serde_json::Value> {
    let mut v = serde_json::to_value(analysis)?;
    if let (Some(o), false) = (v.as_object_mut(), notes.is_empty()) {
        o.insert("incomplete_inputs".into(), serde_json::json!(notes));
    }
    Ok(v)
}

/// Prints an analysis, as JSON or as `text` renders it, saying first that an input was
/// incomplete: in the text, and as `incomplete_inputs` in the JSON.
fn emit<T: Serialize>(
    analysis: &T,
    json: bool,
    text: fn(&T) -> String,
    notes: &[String],
) -> Result<()> {
    if json {
        let v = to_json(analysis, notes)?;
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
    } else {
        for n in notes {
            println!("WARNING: {n}");
        }
        print!("{}", text(analysis));
    }
    for n in notes {
        eprintln!("wasiprobe: warning: {n}");
    }
    Ok(())
}

pub fn evidence(
    report: &std::path::Path,
    locked: &str,
    candidate: &str,
    json: bool,
    html: Option<&std::path::Path>,
    accept: bool,
) -> Result<i32> {
    let (rs, notes) = gated(&[report], accept)?;
    let e = wasiprobe::render::evidence(&rs[0], locked, candidate).map_err(UsageError)?;
    if let Some(path) = html {
        let page = wasiprobe_reports::evidence_html(&to_json(&e, &notes)?)?;
        util::atomic_write(path, page.as_bytes())?;
    }
    emit(&e, json, wasiprobe::render::evidence_markdown, &notes)?;
    Ok(exit::failures_if(e.breaking() > 0))
}

pub fn python_evidence(
    report: &std::path::Path,
    branch: &str,
    locked: &str,
    candidate: &str,
    json: bool,
    accept: bool,
) -> Result<i32> {
    let (rs, notes) = gated(&[report], accept)?;
    let e = wasiprobe::render::python_evidence(&rs[0], branch, locked, candidate)
        .map_err(UsageError)?;
    emit(
        &e,
        json,
        wasiprobe::render::python_evidence_markdown,
        &notes,
    )?;
    Ok(exit::failures_if(e.breaking() > 0))
}

pub fn diff(old: &std::path::Path, new: &std::path::Path, json: bool, accept: bool) -> Result<i32> {
    let (rs, notes) = gated(&[old, new], accept)?;
    let d = wasiprobe::render::diff(&rs[0], &rs[1]);
    emit(&d, json, wasiprobe::render::diff_text, &notes)?;
    Ok(exit::failures_if(d.regressions() > 0))
}

pub fn report(
    report: &std::path::Path,
    sdk: &str,
    out: Option<&std::path::Path>,
    accept: bool,
) -> Result<i32> {
    // The per-SDK report keeps `complete: false`, so its Markdown and dashboard say "partial".
    let (rs, notes) = gated(&[report], accept)?;
    for n in &notes {
        eprintln!("wasiprobe: warning: {n}");
    }
    let f = wasiprobe::render::for_sdk(&rs[0], sdk).map_err(UsageError)?;
    let md = wasiprobe::render::sdk_markdown(&f, sdk);
    match out {
        Some(dir) => {
            write_formats(&f, &md, dir)?;
            println!("report: {}", dir.join("report.md").display());
        }
        None => print!("{md}"),
    }
    Ok(exit::failures_if(f.has_failures()))
}

pub fn compare(report: &std::path::Path, reference: &str, json: bool, accept: bool) -> Result<i32> {
    let (rs, notes) = gated(&[report], accept)?;
    let c = wasiprobe::render::compare_runtimes(&rs[0], reference).map_err(UsageError)?;
    emit(&c, json, wasiprobe::render::comparison_markdown, &notes)?;
    Ok(exit::failures_if(!c.differences.is_empty()))
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
    Ok(exit::failures_if(r.has_failures()))
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
