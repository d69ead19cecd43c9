//! `wasiprobe run`: the main job.

use crate::cli::*;
use anyhow::Result;
use std::time::Duration;
use wasiprobe::exit;
use wasiprobe::provision::{self};
use wasiprobe::run::{self, Project, RunOptions};
use wasiprobe_runtimes::Limits;

pub fn run(
    project: &Project,
    popts: provision::Options,
    a: RunArgs,
    accept_partial: bool,
) -> Result<i32> {
    // Read the baseline first: a bad one (or an incomplete one, unless accepted) is a usage
    // error before anything runs.
    let baseline = a
        .baseline
        .as_deref()
        .map(|p| wasiprobe::report::load_gated(p, accept_partial))
        .transpose()?;
    let opts = RunOptions {
        sdks: a.sdks,
        runtimes: a.runtimes,
        probes: a.probes,
        checks: a.checks,
        inject: a.inject,
        out: a.out,
        keep: a.keep,
        jobs: a.jobs,
        limits: Limits {
            wall: Duration::from_millis(a.timeout_ms),
            memory_bytes: a.memory_mib << 20,
            compile: Duration::from_millis(a.compile_limit_ms),
            ..Limits::default()
        },
        provision: popts,
        fetch: !a.no_fetch,
        scratch_root: None,
        native: !a.no_native,
        partition: a.partition,
        worker_exe: None,
        cpython: wasiprobe::plan::CpythonOptions {
            enabled: a.cpython || !a.regrtest.is_empty(),
            regrtest: a.regrtest,
            regrtest_timeout: a.regrtest_timeout_s.map(Duration::from_secs),
        },
    };
    // Open the history first: a corrupt database is a usage error before anything runs.
    let mut history = a
        .history
        .as_deref()
        .map(wasiprobe_reports::History::open)
        .transpose()?;
    let report = run::execute(project, &opts)?;
    if let Some(h) = history.as_mut() {
        h.add(&report)?;
        wasiprobe_reports::reporter::write_all(
            &report,
            &opts.out,
            &[Box::new(wasiprobe_reports::reporter::Html {
                history: h.runs()?,
            })],
        )?;
    }
    print!("{}", wasiprobe::report::table(&report));
    println!(
        "probes: {} compiled, {} from cache, {} failed to compile",
        report.build.compiled, report.build.cached, report.build.failed
    );
    println!("report: {}", opts.out.join("report.json").display());
    let ready = report.sdks.iter().filter(|s| s.is_ready()).count()
        + report
            .python
            .values()
            .filter(|p| p.provisioned.is_ready())
            .count();
    let missing: Vec<&str> = report
        .sdks
        .iter()
        .filter(|s| !s.is_ready() && opts.sdks.contains(&s.spec.id))
        .map(|s| s.spec.id.as_str())
        .collect();
    if ready == 0 {
        eprintln!("wasiprobe: error: no selected SDK is available; nothing was run (see `wasiprobe sdk list`)");
        return Ok(exit::USAGE);
    }
    let regressions = match &baseline {
        Some((base, note)) => {
            if let Some(n) = note {
                println!("WARNING: {n}");
                eprintln!("wasiprobe: warning: {n}");
            }
            let d = wasiprobe::render::diff(base, &report);
            println!(
                "against the baseline:\n{}",
                wasiprobe::render::diff_text(&d)
            );
            d.regressions()
        }
        None => 0,
    };
    if !missing.is_empty() {
        eprintln!(
            "wasiprobe: error: requested SDK unavailable: {} (see `wasiprobe sdk list`)",
            missing.join(", ")
        );
        return Ok(exit::USAGE);
    }
    Ok(exit::failures_if(report.has_failures() || regressions > 0))
}
