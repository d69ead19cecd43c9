//! One file per subcommand; `dispatch` hands each its arguments.

mod bench;
mod entropy;
mod python;
mod reports;
mod run_cmd;
mod sdk;
mod testsuite;
pub mod worker;

use crate::cli::*;
use anyhow::Result;
use std::collections::BTreeMap;
use std::path::PathBuf;
use wasiprobe::exit;
use wasiprobe::provision::{self};
use wasiprobe::run::{Project, UsageError};
use wasiprobe_runtimes::inject;
use wasiprobe_util as util;

pub fn dispatch(cli: Cli) -> Result<i32> {
    let popts = provision_options(&cli)?;
    match &cli.cmd {
        Cmd::Liars => {
            for (f, m, what) in inject::LIARS {
                println!("{f}:{m:<18} {what}");
            }
            return Ok(exit::OK);
        }
        Cmd::Entropy {
            cmd:
                EntropyCmd::Assess {
                    file,
                    format,
                    sequences,
                    json,
                },
        } => return entropy::entropy_assess(file, format, *sequences, *json),
        Cmd::Coverage { files, json } => return entropy::coverage(files, *json),
        Cmd::Testsuite(a) => return testsuite::testsuite(a, &popts, &cli),
        Cmd::Evidence {
            report,
            locked,
            candidate,
            python: Some(branch),
            json,
            html,
        } => {
            if html.is_some() {
                return Err(wasiprobe_model::usage::UsageError(
                    "--html goes with the toolchain evidence; with --python the pack is Markdown (or --json)".into(),
                )
                .into());
            }
            return reports::python_evidence(
                report,
                branch,
                locked,
                candidate,
                *json,
                cli.accept_partial,
            );
        }
        Cmd::Evidence {
            report,
            locked,
            candidate,
            python: None,
            json,
            html,
        } => {
            return reports::evidence(
                report,
                locked,
                candidate,
                *json,
                html.as_deref(),
                cli.accept_partial,
            )
        }
        Cmd::Diff { old, new, json } => return reports::diff(old, new, *json, cli.accept_partial),
        Cmd::Report { report, sdk, out } => {
            return reports::report(report, sdk, out.as_deref(), cli.accept_partial)
        }
        Cmd::Compare {
            report,
            reference,
            json,
        } => return reports::compare(report, reference, *json, cli.accept_partial),
        Cmd::Merge { shards, out } => return reports::merge(shards, out),
        Cmd::History {
            cmd: HistoryCmd::Add { report, db },
        } => return reports::history_add(report, db),
        Cmd::History {
            cmd: HistoryCmd::Show { db, json },
        } => return reports::history_show(db, *json),
        Cmd::Dashboard {
            report,
            history,
            out,
        } => return reports::dashboard(report, history.as_deref(), out),
        _ => {}
    }
    let project = Project::load(&cli.root, cli.matrix.as_deref())?;
    match cli.cmd {
        Cmd::Run(a) => run_cmd::run(&project, popts, a, cli.accept_partial),
        Cmd::Sdk { cmd } => sdk::sdk_cmd(&project, &popts, cmd),
        Cmd::Python {
            cmd:
                PythonCmd::Footprint {
                    entry,
                    python,
                    out,
                    json,
                },
        } => python::python_footprint(&project, popts, &entry, &python, &out, json),
        Cmd::Python {
            cmd: PythonCmd::Ext { sdks, json },
        } => wasiprobe::python::extension::cli(&project, popts, &sdks, json),
        Cmd::Bench {
            testsuite: Some(dirs),
            module_runtime,
            rounds,
            copies,
            ..
        } => bench::bench_testsuite(&project, popts, &dirs, &module_runtime, rounds, copies),
        Cmd::Bench {
            entropy: true,
            iterations,
            ..
        } => bench::bench_entropy(iterations),
        Cmd::Bench {
            sdk, iterations, ..
        } => bench::bench(&project, popts, sdk, iterations),
        _ => unreachable!("answered above: they need no project"),
    }
}

pub fn provision_options(cli: &Cli) -> Result<provision::Options> {
    let cache = cli.cache.clone().unwrap_or_else(util::default_cache_dir);
    let mut o = provision::Options::from_env(cache);
    let mut m = BTreeMap::new();
    for s in &cli.sdk_paths {
        let (id, dir) = s
            .split_once('=')
            .ok_or_else(|| UsageError(format!("--sdk-path '{s}' is not ID=DIR")))?;
        m.insert(id.to_string(), PathBuf::from(dir));
    }
    o.sdk_paths = m;
    Ok(o)
}
