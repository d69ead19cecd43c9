//! `py-regrtest`: CPython's own test suite as a probe. Each selected test module runs in its own
//! python.wasm instance (`python -m test -v --junit-xml … MODULE`) on each runtime, under the
//! run's memory and output limits and a per-module wall limit, and is judged per test case by
//! [`wasiprobe_checks::regrtest`]. One cell per (python, runtime, module); every test case's
//! outcome is in `report.python[ID].regrtest[RUNTIME]`, which `evidence --python` compares
//! between two libcs.
//!
//! The guest sees a copy of the build's `Lib/` and sysconfig data as `/` (the layout of the
//! branch's host runner) inside the cell's scratch directory, so a test that writes beside the
//! stdlib never touches the cached build, and `/scratch` for regrtest's `--tempdir` and the
//! junit file (a `--junit-xml` path must lie inside a preopen).
//!
//! Negative controls, run first in every cell: `test_wasiprobe_control` (one passing and one
//! failing test) must be judged `fail`, and `test_wasiprobe_hang` (a test that never ends) must
//! be judged `timeout` naming the hanging test; when either is not, the cell's module cells are
//! `error`: a pipeline that cannot see a failure or a hang must not report passes.

use super::{python_cell, PyProvisioned};
use crate::plan::RunOptions;
use crate::report::{Cell, Verdict};
use anyhow::{Context, Result};
use serde_json::json;
use std::path::Path;
use std::time::{Duration, Instant};
use wasiprobe_model::python::{CaseOutcome, ModuleRun};
use wasiprobe_runtimes::{Preopen, RunSpec, Runtime};

pub const PROBE: &str = "py-regrtest";
/// Platform-sensitive modules: the OS interface, files, time, randomness, processes and
/// threads, sockets, and the interpreter's own stack and C-level behaviour.
pub const DEFAULT_MODULES: &[&str] = &[
    "test_os",
    "test_posix",
    "test_stat",
    "test_time",
    "test_random",
    "test_shutil",
    "test_pathlib",
    "test_tempfile",
    "test_fileio",
    "test_tarfile",
    "test_zipfile",
    "test_dbm",
    "test_dbm_dumb",
    "test_select",
    "test_signal",
    "test_socket",
    "test_thread",
    "test_threading",
    "test_marshal",
    "test_call",
    "test_richcmp",
    "test_sys",
    "test_datetime",
    "test_zoneinfo",
    "test_glob",
    "test_subprocess",
    "test_mmap",
    "test_io",
];
/// Per module; the selection above took ≈ 30 s in all on wasmtime.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);
const CONTROL: &str = "test_wasiprobe_control";
const HANG: &str = "test_wasiprobe_hang";
const HANG_TIMEOUT: Duration = Duration::from_secs(10);
const CONTROL_SRC: &str = r#"import unittest

class Control(unittest.TestCase):
    def test_passes(self):
        self.assertEqual(1 + 1, 2)

    def test_fails(self):
        self.assertEqual(1 + 1, 3, "wasiprobe's negative control: this test must fail")
"#;
const HANG_SRC: &str = r#"import unittest

class Hang(unittest.TestCase):
    def test_never_ends(self):
        while True:
            pass
"#;

/// The modules a run asks for.
pub fn modules(
    opts: &RunOptions,
    py: &PyProvisioned,
    rt: &dyn Runtime,
    root: &Path,
) -> Result<Vec<String>> {
    let asked = &opts.cpython.regrtest;
    if asked.iter().any(|m| m == "all") {
        return list_tests(py, rt, root, opts);
    }
    if asked.is_empty() {
        return Ok(DEFAULT_MODULES.iter().map(|s| s.to_string()).collect());
    }
    Ok(asked.clone())
}

/// `python -m test --list-tests`: the whole suite as this build has it.
fn list_tests(
    py: &PyProvisioned,
    rt: &dyn Runtime,
    root: &Path,
    opts: &RunOptions,
) -> Result<Vec<String>> {
    let scratch = wasiprobe_util::scratch::dir("case", None)?;
    let spec = spec_for(
        py,
        root,
        scratch.path(),
        &["--list-tests".into()],
        opts,
        DEFAULT_TIMEOUT,
    );
    let o = rt.run(py.wasm.as_deref().unwrap(), &spec)?;
    let text = String::from_utf8_lossy(&o.stdout);
    let list: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("test_") && !l.contains(' '))
        .map(String::from)
        .collect();
    anyhow::ensure!(
        !list.is_empty(),
        "python -m test --list-tests listed nothing ({:?}): {}",
        o.termination,
        String::from_utf8_lossy(&o.stderr[o.stderr.len().saturating_sub(400)..])
    );
    Ok(list)
}

fn spec_for(
    py: &PyProvisioned,
    root: &Path,
    scratch: &Path,
    args: &[String],
    opts: &RunOptions,
    wall: Duration,
) -> RunSpec {
    let mut argv = py.launch.argv.clone();
    argv.extend(["-B".into(), "-m".into(), "test".into()]);
    argv.extend(args.iter().cloned());
    let mut env = py.launch.env.clone();
    env.push(("TMPDIR".into(), "/scratch/tmp".into()));
    RunSpec {
        args: argv,
        env,
        preopens: vec![
            Preopen {
                host: root.to_owned(),
                guest: "/".into(),
            },
            Preopen {
                host: scratch.to_owned(),
                guest: "/scratch".into(),
            },
        ],
        stdin: vec![],
        limits: wasiprobe_runtimes::Limits {
            wall,
            ..opts.limits.clone()
        },
        inject: opts.inject.clone(),
        wasm_stack_bytes: py.launch.wasm_stack_bytes,
    }
}

/// The guest's `/`: the build tree's stdlib and sysconfig data, copied, plus the controls.
fn run_root(py: &PyProvisioned, into: &Path) -> Result<()> {
    deploy_root(py, into)?;
    std::fs::write(
        into.join("Lib/test").join(format!("{CONTROL}.py")),
        CONTROL_SRC,
    )?;
    std::fs::write(into.join("Lib/test").join(format!("{HANG}.py")), HANG_SRC)?;
    Ok(())
}

/// What a source build needs at `/` to start: its stdlib (`Lib`), the sysconfig data on its
/// `PYTHONPATH`, and getpath's landmark — the build checkout less everything else, copied.
pub fn deploy_root(py: &PyProvisioned, into: &Path) -> Result<()> {
    let tree = &py
        .launch
        .preopens
        .iter()
        .find(|p| p.guest == "/")
        .context("the build has no / preopen")?
        .host;
    for (_, pythonpath) in py.launch.env.iter().filter(|(k, _)| k == "PYTHONPATH") {
        for rel in
            std::iter::once("Lib").chain(pythonpath.split(':').map(|p| p.trim_start_matches('/')))
        {
            let from = tree.join(rel);
            let to = into.join(rel);
            std::fs::create_dir_all(to.parent().unwrap())?;
            if !to.exists() {
                let mut cp = std::process::Command::new("cp");
                cp.arg("-a").arg(&from).arg(&to);
                let out = wasiprobe_util::command_output(cp, Duration::from_secs(600))?;
                anyhow::ensure!(
                    out.status.success(),
                    "copying {}: {}",
                    from.display(),
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
    }
    // getpath recognises a build tree by this landmark at `/`; without it the stdlib under
    // `/Lib` is not found and the interpreter stops before `encodings`.
    std::fs::create_dir_all(into.join("Modules"))?;
    std::fs::copy(
        tree.join("Modules/Setup.local"),
        into.join("Modules/Setup.local"),
    )
    .context("copying Modules/Setup.local")?;
    Ok(())
}

/// One module in its own instance.
fn run_module(
    py: &PyProvisioned,
    rt: &dyn Runtime,
    root: &Path,
    module: &str,
    wall: Duration,
    opts: &RunOptions,
) -> ModuleRun {
    let start = Instant::now();
    let args: Vec<String> = [
        "-v",
        "--junit-xml",
        "/scratch/junit.xml",
        "--tempdir",
        "/scratch/tmp",
        module,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let reproduce = reproduce(py, &args, wall);
    let scratch = match wasiprobe_util::scratch::dir("case", None) {
        Ok(s) => s,
        Err(e) => return error_run(module, format!("scratch directory: {e}"), reproduce),
    };
    let _ = std::fs::create_dir_all(scratch.path().join("tmp"));
    let spec = spec_for(py, root, scratch.path(), &args, opts, wall);
    let o = match rt.run(py.wasm.as_deref().unwrap(), &spec) {
        Ok(o) => o,
        Err(e) => return error_run(module, format!("{e:#}"), reproduce),
    };
    let junit = std::fs::read_to_string(scratch.path().join("junit.xml")).ok();
    let output = wasiprobe_util::streams_text(&o.stdout, &o.stderr);
    let j = wasiprobe_checks::regrtest::judge(module, &o.termination, junit.as_deref(), &output);
    let tail = if j.verdict == Verdict::Pass || j.verdict == Verdict::Skip {
        String::new()
    } else {
        super::extension::tail(&output, 1500)
    };
    ModuleRun {
        module: module.into(),
        verdict: j.verdict,
        ended: match (&o.termination, j.reason) {
            (t, Some(r)) => format!("{t:?}: {r}"),
            (t, None) => format!("{t:?}"),
        },
        module_skip: j.module_skip,
        cases: j.cases,
        duration_ms: start.elapsed().as_secs_f64() * 1000.0,
        reproduce,
        output_tail: tail,
    }
}

fn error_run(module: &str, why: String, reproduce: String) -> ModuleRun {
    ModuleRun {
        module: module.into(),
        verdict: Verdict::Error,
        ended: why,
        module_skip: None,
        cases: vec![],
        duration_ms: 0.0,
        reproduce,
        output_tail: String::new(),
    }
}

/// The same run outside wasiprobe, with the wasmtime CLI and the cached build tree.
fn reproduce(py: &PyProvisioned, args: &[String], wall: Duration) -> String {
    let tree = py
        .launch
        .preopens
        .iter()
        .find(|p| p.guest == "/")
        .map(|p| p.host.display().to_string())
        .unwrap_or_default();
    let env: String = py
        .launch
        .env
        .iter()
        .map(|(k, v)| format!(" --env {k}={v}"))
        .collect();
    format!(
        "mkdir -p /tmp/s/tmp && timeout {}s wasmtime run --wasm max-wasm-stack={} --dir {tree}::/ --dir /tmp/s::/scratch{env} --env TMPDIR=/scratch/tmp {} -B -m test {}",
        wall.as_secs(),
        py.launch.wasm_stack_bytes.unwrap_or(0),
        py.wasm.as_deref().map(|w| w.display().to_string()).unwrap_or_default(),
        args.join(" ")
    )
}

/// Every module of the selection on one runtime, the controls first: the cells and the runs.
pub fn cells(
    py: &PyProvisioned,
    rt: &dyn Runtime,
    opts: &RunOptions,
    pool: &rayon::ThreadPool,
) -> (Vec<Cell>, Vec<ModuleRun>) {
    let cell = |module: &str, verdict, evidence, ms| {
        python_cell(&py.spec.id, rt.name(), PROBE, module, verdict, evidence, ms)
    };
    // Nothing could be run: one `regrtest` cell says why.
    let not_run = |reason: String| {
        let evidence = json!({ "reason": reason });
        (
            vec![cell("regrtest", Verdict::Error, evidence, 0.0)],
            vec![],
        )
    };
    let scratch = match wasiprobe_util::scratch::dir("case", None) {
        Ok(s) => s,
        Err(e) => return not_run(e.to_string()),
    };
    let root = scratch.path().join("root");
    if let Err(e) = run_root(py, &root) {
        return not_run(format!("{e:#}"));
    }
    let modules = match modules(opts, py, rt, &root) {
        Ok(m) => m,
        Err(e) => return not_run(format!("{e:#}")),
    };
    let wall = opts.cpython.regrtest_timeout.unwrap_or(DEFAULT_TIMEOUT);
    let control = run_module(py, rt, &root, CONTROL, wall, opts);
    let hang = run_module(py, rt, &root, HANG, HANG_TIMEOUT, opts);
    let control_ok = control.verdict == Verdict::Fail
        && control.cases.iter().any(|c| c.outcome == CaseOutcome::Fail)
        && control.cases.iter().any(|c| c.outcome == CaseOutcome::Pass);
    let hang_ok = hang.verdict == Verdict::Timeout
        && hang
            .cases
            .iter()
            .any(|c| c.outcome == CaseOutcome::Hang && c.id.ends_with("test_never_ends"));
    let mut runs = vec![control, hang];
    if !control_ok || !hang_ok {
        let why = format!(
            "the negative controls were not rejected (control: {:?}, {}; hang: {:?}, {}): this pipeline cannot see a failure or a hang on {}",
            runs[0].verdict, runs[0].ended, runs[1].verdict, runs[1].ended, rt.name()
        );
        let cells = modules
            .iter()
            .map(|m| cell(m, Verdict::Error, json!({ "reason": why }), 0.0))
            .collect();
        return (cells, runs);
    }
    use rayon::prelude::*;
    let got: Vec<ModuleRun> = pool.install(|| {
        modules
            .par_iter()
            .map(|m| run_module(py, rt, &root, m, wall, opts))
            .collect()
    });
    let cells = got
        .iter()
        .map(|r| {
            let count = |o| r.count(o);
            let bad: Vec<_> = r
                .cases
                .iter()
                .filter(|c| c.outcome.is_bad())
                .take(20)
                .map(|c| json!({"id": c.id, "outcome": c.outcome, "detail": c.detail}))
                .collect();
            cell(
                &r.module,
                r.verdict,
                json!({
                    "reason": if r.verdict == Verdict::Pass { None } else { Some(&r.ended) },
                    "ended": r.ended,
                    "module_skip": r.module_skip,
                    "cases": r.cases.len(),
                    "pass": count(CaseOutcome::Pass),
                    "skip": count(CaseOutcome::Skip),
                    "fail": count(CaseOutcome::Fail),
                    "error": count(CaseOutcome::Error),
                    "hang": count(CaseOutcome::Hang),
                    "crash": count(CaseOutcome::Crash),
                    "failing": bad,
                    "reproduce": r.reproduce,
                }),
                r.duration_ms,
            )
        })
        .collect();
    runs.extend(got);
    (cells, runs)
}
