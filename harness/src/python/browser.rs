//! `py-browser`: each CPython binary of the matrix loaded in a browser row's page, measured as
//! its users feel it — the bytes a page fetches (module and stdlib, raw and gzip), the page's own
//! timings of fetch, compile and instantiation, the time to a first `print`, to `import json`
//! and to `import asyncio`, and the guest's memory at the end — twice: with the stdlib as the
//! build left it, and with the strip plan of this run's census applied (what the plan buys).
//!
//! The payload of a source build is what a deployment ships: `Lib`, the sysconfig data on its
//! `PYTHONPATH` and getpath's landmark ([`super::regrtest::deploy_root`]), not the build
//! checkout its host runner maps to `/` (231 MB for 3.13, most of it objects). The page gets the
//! tree as JSON (the runtime's transport, base64): its fetch is not what a user's page would
//! pay, so the timings start when the page has its inputs, and the bytes are measured here from
//! the files, as gzip would carry them.
//!
//! A negative control proves the stripped payload is stripped: a module the plan removes as
//! tests-only must import on the full payload and must not on the stripped one; otherwise the
//! cell fails, whatever the timings say.

use super::{not_ready, python_cell, PyProvisioned};
use crate::plan::RunOptions;
use crate::report::{Cell, Verdict};
use anyhow::{Context as _, Result};
use serde_json::json;
use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use wasiprobe_model::python::{BrowserStartup, StartupRun, StripPlan};
use wasiprobe_runtimes::{Preopen, Runtime, Termination};

pub const PROBE: &str = "py-browser";
const CHECK: &str = "startup";
const MARKER: &str = "wasiprobe-started";

pub use wasiprobe_model::python::BROWSER_SCRIPTS as SCRIPTS;

/// The browser rows (the `chromium` runtimes): where `py-browser` runs, and where a source
/// build's other Python cells do not (see [`page_unfit`]).
pub fn is_browser(rt: &dyn Runtime) -> bool {
    rt.name() == "chromium" || rt.name().starts_with("chromium-")
}

/// Why a Python cell other than `py-browser` is not run on this row, if it is not: a source
/// build's cells map the whole build checkout to `/`, which a page would get as one JSON tree
/// per process.
pub fn page_unfit(py: &PyProvisioned, is_source: bool, rt: &dyn Runtime) -> Option<String> {
    (is_browser(rt) && is_source).then(|| {
        format!(
            "{} is a source build, whose Python cells map its build checkout to / (hundreds of \
             MB per process into the page); on the browser rows it is measured as a page loads \
             it: {PROBE}",
            py.spec.id
        )
    })
}

/// A payload: the directory mapped to `/` (none for a binary that carries its stdlib).
struct Payload {
    root: Option<PathBuf>,
    _keep: Option<tempfile::TempDir>,
}

/// The `py-browser` cells of one binary on one browser row, and what was measured.
pub fn measure(
    py: &PyProvisioned,
    is_source: bool,
    rt: &dyn Runtime,
    plan: Option<&StripPlan>,
    opts: &RunOptions,
) -> (Vec<Cell>, Vec<BrowserStartup>) {
    let mut cells = Vec::new();
    let mut found = Vec::new();
    let cell = |variant: &str, verdict, evidence: serde_json::Value, ms| {
        let check = format!("{CHECK}_{variant}");
        python_cell(&py.spec.id, rt.name(), PROBE, &check, verdict, evidence, ms)
    };
    let Some(wasm) = py.wasm.clone().filter(|_| py.is_ready()) else {
        for variant in ["full", "stripped"] {
            let (v, ev) = not_ready(py);
            cells.push(cell(variant, v, ev, 0.0));
        }
        return (cells, found);
    };
    // The control: a tests-only module of the plan, which only the full payload holds.
    let control = plan.and_then(|p| {
        p.entries
            .iter()
            .find(|e| e.reason == "tests-only" && !e.module.is_empty())
            .map(|e| e.module.clone())
    });
    for variant in ["full", "stripped"] {
        let started = std::time::Instant::now();
        let payload = match payload(py, is_source, variant, plan) {
            Ok(Ok(p)) => p,
            Ok(Err(why)) => {
                found.push(empty(rt, variant, "not-applicable", &why));
                cells.push(cell(variant, Verdict::Skip, json!({ "reason": why }), 0.0));
                continue;
            }
            Err(e) => {
                let why = format!("building the {variant} payload: {e:#}");
                found.push(empty(rt, variant, "error", &why));
                cells.push(cell(variant, Verdict::Error, json!({ "reason": why }), 0.0));
                continue;
            }
        };
        let mut m = match sizes(&wasm, payload.root.as_deref()) {
            Ok(m) => m,
            Err(e) => {
                let why = format!("measuring the {variant} payload: {e:#}");
                found.push(empty(rt, variant, "error", &why));
                cells.push(cell(variant, Verdict::Error, json!({ "reason": why }), 0.0));
                continue;
            }
        };
        m.runtime = rt.name().into();
        m.variant = variant.into();
        let mut problems = Vec::new();
        for (name, script) in SCRIPTS {
            let r = start(py, rt, &wasm, payload.root.as_deref(), name, script, opts);
            if !r.ok {
                problems.push(format!("{name}: {} {}", r.termination, r.stderr_tail));
            }
            m.runs.push(r);
        }
        // The control, when the plan has a module to prove it with.
        let mut control_fact = json!(null);
        if let Some(module) = &control {
            let script = format!("import {module}; print('{MARKER}')");
            let r = start(
                py,
                rt,
                &wasm,
                payload.root.as_deref(),
                "control",
                &script,
                opts,
            );
            let want = variant == "full";
            if r.ok != want {
                problems.push(format!(
                    "control: `import {module}` {} on the {variant} payload, and it {} ({})",
                    if r.ok { "worked" } else { "failed" },
                    if want {
                        "must work there"
                    } else {
                        "was stripped"
                    },
                    r.stderr_tail
                ));
            }
            control_fact = json!({ "import": module, "imported": r.ok });
        } else if variant == "stripped" {
            problems.push("the strip plan names no tests-only module to prove the strip".into());
        }
        let verdict = if problems.is_empty() {
            Verdict::Pass
        } else {
            Verdict::Fail
        };
        let evidence = json!({
            "wasm_bytes": m.wasm_bytes,
            "wasm_gzip_bytes": m.wasm_gzip_bytes,
            "stdlib_files": m.stdlib_files,
            "stdlib_bytes": m.stdlib_bytes,
            "stdlib_gzip_bytes": m.stdlib_gzip_bytes,
            "runs": m.runs.iter().map(|r| json!({ "script": r.script, "ok": r.ok, "phases": r.phases })).collect::<Vec<_>>(),
            "control": control_fact,
            "problems": problems,
        });
        cells.push(cell(
            variant,
            verdict,
            evidence,
            started.elapsed().as_secs_f64() * 1e3,
        ));
        m.status = "measured".into();
        found.push(m);
    }
    (cells, found)
}

fn empty(rt: &dyn Runtime, variant: &str, status: &str, why: &str) -> BrowserStartup {
    BrowserStartup {
        runtime: rt.name().into(),
        variant: variant.into(),
        status: status.into(),
        reason: Some(why.into()),
        wasm_bytes: 0,
        wasm_gzip_bytes: 0,
        stdlib_files: 0,
        stdlib_bytes: 0,
        stdlib_gzip_bytes: 0,
        runs: Vec::new(),
    }
}

/// The payload of `variant`, or why there is none (the inner `Err`).
fn payload(
    py: &PyProvisioned,
    is_source: bool,
    variant: &str,
    plan: Option<&StripPlan>,
) -> Result<std::result::Result<Payload, String>> {
    if !is_source {
        if variant == "stripped" {
            return Ok(Err(if py.launch.preopens.is_empty() {
                "the stdlib is inside the module: the strip plan cannot be applied without \
                 rebuilding it"
                    .into()
            } else {
                "the stdlib layout of a binary not built here is not known well enough to apply \
                 the strip plan"
                    .into()
            }));
        }
        // A binary that brings its own tree (or none): loaded as its launch says.
        return Ok(Ok(Payload {
            root: py
                .launch
                .preopens
                .iter()
                .find(|p| p.guest == "/")
                .map(|p| p.host.clone()),
            _keep: None,
        }));
    }
    let plan = match (variant, plan) {
        ("stripped", None) => {
            return Ok(Err(
                "no strip plan: the stdlib census did not run for this binary in this run".into(),
            ))
        }
        ("stripped", Some(p)) => Some(p),
        _ => None,
    };
    let dir = wasiprobe_util::scratch::dir("pybrowser", None)?;
    super::regrtest::deploy_root(py, dir.path())?;
    if let Some(plan) = plan {
        let lib = dir.path().join("Lib");
        for e in &plan.entries {
            let p = lib.join(&e.path);
            // A path that would leave the stdlib is not the plan's to remove.
            if e.path.split('/').any(|c| c == "..") {
                continue;
            }
            if p.is_dir() {
                std::fs::remove_dir_all(&p).with_context(|| format!("removing {}", p.display()))?;
            } else if p.exists() {
                std::fs::remove_file(&p).with_context(|| format!("removing {}", p.display()))?;
            }
        }
    }
    Ok(Ok(Payload {
        root: Some(dir.path().to_owned()),
        _keep: Some(dir),
    }))
}

/// Bytes written, nothing kept.
#[derive(Default)]
struct Count(u64);

impl std::io::Write for Count {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0 += b.len() as u64;
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn gzip_len(write: impl FnOnce(&mut flate2::write::GzEncoder<Count>) -> Result<()>) -> Result<u64> {
    let mut gz = flate2::write::GzEncoder::new(Count::default(), flate2::Compression::best());
    write(&mut gz)?;
    Ok(gz.finish()?.0)
}

/// The module's and the stdlib tree's sizes, raw and as gzip would carry them.
fn sizes(wasm: &Path, root: Option<&Path>) -> Result<BrowserStartup> {
    let bytes = std::fs::read(wasm).with_context(|| format!("reading {}", wasm.display()))?;
    let wasm_gzip_bytes = gzip_len(|gz| Ok(gz.write_all(&bytes)?))?;
    let (mut files, mut raw) = (0u64, 0u64);
    let mut stdlib_gzip_bytes = 0;
    if let Some(root) = root {
        let mut stack = vec![root.to_owned()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d)? {
                let e = e?;
                let t = e.file_type()?;
                if t.is_dir() {
                    stack.push(e.path());
                } else if t.is_file() {
                    files += 1;
                    raw += e.metadata()?.len();
                }
            }
        }
        stdlib_gzip_bytes = gzip_len(|gz| {
            let mut tar = tar::Builder::new(gz);
            tar.follow_symlinks(false);
            tar.append_dir_all(".", root)?;
            tar.finish()?;
            Ok(())
        })?;
    }
    Ok(BrowserStartup {
        runtime: String::new(),
        variant: String::new(),
        status: String::new(),
        reason: None,
        wasm_bytes: bytes.len() as u64,
        wasm_gzip_bytes,
        stdlib_files: files,
        stdlib_bytes: raw,
        stdlib_gzip_bytes,
        runs: Vec::new(),
    })
}

/// One interpreter start in the page.
fn start(
    py: &PyProvisioned,
    rt: &dyn Runtime,
    wasm: &Path,
    root: Option<&Path>,
    name: &str,
    script: &str,
    opts: &RunOptions,
) -> StartupRun {
    let scratch = match wasiprobe_util::scratch::dir("pybrowser-scratch", None) {
        Ok(d) => d,
        Err(e) => return failed(name, &format!("no scratch directory: {e}")),
    };
    let mut spec = super::spec_for(py, script, &[], scratch.path(), opts);
    if let Some(root) = root {
        for p in spec.preopens.iter_mut().filter(|p| p.guest == "/") {
            p.host = root.to_owned();
        }
        if !spec.preopens.iter().any(|p| p.guest == "/") {
            spec.preopens.push(Preopen {
                host: root.to_owned(),
                guest: "/".into(),
            });
        }
    }
    match rt.run_phases(wasm, &spec) {
        Ok((o, mut phases)) => {
            phases.insert("total_ms".into(), o.duration.as_secs_f64() * 1e3);
            let ok = matches!(o.termination, Termination::Exited { code: 0 })
                && String::from_utf8_lossy(&o.stdout).contains(MARKER);
            let tail = String::from_utf8_lossy(&o.stderr[o.stderr.len().saturating_sub(600)..])
                .trim()
                .to_string();
            StartupRun {
                script: name.into(),
                ok,
                termination: format!("{:?}", o.termination),
                phases,
                stderr_tail: if ok { String::new() } else { tail },
            }
        }
        Err(e) => failed(name, &format!("{e:#}")),
    }
}

fn failed(name: &str, why: &str) -> StartupRun {
    StartupRun {
        script: name.into(),
        ok: false,
        termination: "error".into(),
        phases: BTreeMap::new(),
        stderr_tail: why.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasiprobe_model::python::{Launch, PythonSource, PythonSpec, StripEntry};
    use wasiprobe_runtimes::{Capabilities, Outcome, RunSpec};

    /// A page stand-in: `import M` works when `/` holds `Lib/M`, as CPython's would; `honest`
    /// false makes every import work (a payload that was never stripped, or a runtime that
    /// ignores its preopen), which the control must catch.
    struct Page {
        honest: bool,
    }

    impl Runtime for Page {
        fn name(&self) -> &str {
            "chromium"
        }
        fn version(&self) -> String {
            "stand-in".into()
        }
        fn capabilities(&self) -> Capabilities {
            Capabilities::preview1("kill", "subprocess")
        }
        fn run(&self, _: &Path, spec: &RunSpec) -> Result<Outcome> {
            let script = spec.args.last().unwrap();
            let root = &spec.preopens.iter().find(|p| p.guest == "/").unwrap().host;
            let imported = script
                .strip_prefix("import ")
                .and_then(|s| s.split(';').next())
                .is_none_or(|m| !self.honest || root.join("Lib").join(m).exists());
            Ok(Outcome {
                termination: Termination::Exited {
                    code: if imported { 0 } else { 1 },
                },
                stdout: if imported { MARKER.into() } else { vec![] },
                stderr: vec![],
                duration: std::time::Duration::from_millis(5),
                host_calls: Default::default(),
            })
        }
    }

    /// A source build's tree (what `deploy_root` copies), the plan stripping `Lib/test`.
    fn build() -> (tempfile::TempDir, PyProvisioned, StripPlan) {
        let d = tempfile::tempdir().unwrap();
        let tree = d.path().join("tree");
        for dir in ["Lib/test", "Lib/json", "Lib/asyncio", "Modules", "sc/lib"] {
            std::fs::create_dir_all(tree.join(dir)).unwrap();
        }
        std::fs::write(tree.join("Lib/os.py"), "x = 1\n".repeat(1000)).unwrap();
        std::fs::write(tree.join("Lib/test/__init__.py"), "").unwrap();
        std::fs::write(tree.join("Modules/Setup.local"), "").unwrap();
        std::fs::write(tree.join("python.wasm"), b"\0asm\x01\0\0\0").unwrap();
        let spec = PythonSpec {
            id: "cpython-test".into(),
            version: "3.13.5".into(),
            sdk: None,
            source: PythonSource::Build {
                source: "3.13.5".into(),
                toolchain: "t".into(),
            },
        };
        let mut py = PyProvisioned::new(&spec, "ready", None);
        py.wasm = Some(tree.join("python.wasm"));
        py.launch = Launch {
            argv: vec!["python.wasm".into()],
            env: vec![("PYTHONPATH".into(), "/sc/lib".into())],
            preopens: vec![Preopen {
                host: tree.clone(),
                guest: "/".into(),
            }],
            wasm_stack_bytes: None,
        };
        let plan = StripPlan {
            entries: vec![StripEntry {
                path: "test".into(),
                module: "test".into(),
                reason: "tests-only".into(),
                detail: String::new(),
                bytes: 0,
            }],
            bytes: 0,
            bytes_by_reason: Default::default(),
        };
        (d, py, plan)
    }

    fn opts() -> RunOptions {
        RunOptions::new(crate::provision::Options::from_env(std::env::temp_dir()))
    }

    #[test]
    fn the_stripped_payload_lacks_what_the_plan_removes_and_the_control_proves_it() {
        let (_d, py, plan) = build();
        let (cells, found) = measure(&py, true, &Page { honest: true }, Some(&plan), &opts());
        assert_eq!(cells.len(), 2);
        for c in &cells {
            assert_eq!(c.verdict, Verdict::Pass, "{} {}", c.check, c.evidence);
        }
        let (full, stripped) = (&found[0], &found[1]);
        assert_eq!(
            (full.variant.as_str(), stripped.variant.as_str()),
            ("full", "stripped")
        );
        assert!(stripped.stdlib_files < full.stdlib_files);
        assert!(full.wasm_gzip_bytes > 0 && full.stdlib_gzip_bytes > 0);
        // The gzip of a repetitive file is far smaller than the file.
        assert!(full.stdlib_gzip_bytes < full.stdlib_bytes);
        assert_eq!(full.runs.len(), SCRIPTS.len());
        assert!(full
            .runs
            .iter()
            .all(|r| r.ok && r.phases.contains_key("total_ms")));
    }

    #[test]
    fn a_payload_that_still_imports_the_stripped_module_fails() {
        let (_d, py, plan) = build();
        let (cells, _) = measure(&py, true, &Page { honest: false }, Some(&plan), &opts());
        let stripped = cells
            .iter()
            .find(|c| c.check == "startup_stripped")
            .unwrap();
        assert_eq!(stripped.verdict, Verdict::Fail, "{}", stripped.evidence);
        assert!(stripped.evidence["problems"][0]
            .as_str()
            .unwrap()
            .contains("`import test` worked on the stripped payload"));
        // Without a plan there is no stripped payload to measure, and it says why.
        let (cells, found) = measure(&py, true, &Page { honest: true }, None, &opts());
        assert_eq!(cells[1].verdict, Verdict::Skip);
        assert!(found[1]
            .reason
            .as_deref()
            .unwrap()
            .contains("no strip plan"));
    }
}
