//! `wasiprobe testsuite`: suites in the wasi-testsuite format on our runtimes.

use crate::cli::*;
use anyhow::Result;
use std::time::Duration;
use wasiprobe::exit;
use wasiprobe::provision::{self};
use wasiprobe::run::{self};
use wasiprobe_runtimes::Limits;

pub fn testsuite(a: &TestsuiteArgs, popts: &provision::Options, cli: &Cli) -> Result<i32> {
    // The matrix's CLI runtimes can run suites too; without a matrix there are only the
    // built-in runtimes, but a matrix that is there must be valid.
    let has_matrix = cli.matrix.is_some() || cli.root.join("sdk-matrix.toml").exists();
    let configured = if has_matrix {
        run::load_matrix(&cli.root, cli.matrix.as_deref())?.runtimes
    } else {
        Vec::new()
    };
    let opts = wasiprobe::testsuite::Options {
        configured,
        dirs: a.dirs.clone(),
        runtimes: a.runtimes.clone(),
        expectations: a.expectations.clone(),
        jobs: a.jobs,
        filter: a.filter.clone(),
        limits: Limits {
            wall: Duration::from_millis(a.timeout_ms),
            compile: Duration::from_millis(a.compile_limit_ms),
            ..Limits::default()
        },
        exact_output: a.exact_output,
        fetch: (!a.no_fetch).then(|| popts.clone()),
        kill_after: Duration::from_millis(a.kill_after_ms),
        host: wasiprobe::plan::host_env_for(&popts.cache, None),
    };
    // Open the history first: a corrupt database is an error before anything runs.
    let mut history = a
        .history
        .as_deref()
        .map(wasiprobe_reports::History::open)
        .transpose()?;
    let started = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let r = wasiprobe::testsuite::execute(&opts)?;
    if let Some(h) = history.as_mut() {
        h.add_testsuite(&r.history_record(started))?;
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        print!("{}", r.text());
    }
    Ok(exit::failures_if(r.has_failures()))
}
