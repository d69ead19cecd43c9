//! CPython built from source with a pinned SDK's libc, judged by its own tests: the small real
//! subset CI runs (one source build with SDK 24's libc — 3.13's lock —, three regrtest modules
//! on embedded wasmtime, the C extension imported). The build takes minutes cold and is cached,
//! so a second run must be a cache hit. Needs the Debian libc of SDK 24 and its compiler
//! (`scripts/test-deps` installs them); without them this fails naming what is missing.

mod common;
use common::root;

use std::path::Path;
use std::process::Command;

const PYTHON: &str = "cpython-3.13.5-sdk24";
const MODULES: &str = "test_stat,test_marshal,test_time";

fn run(out: &Path) -> serde_json::Value {
    let o = Command::new(env!("CARGO_BIN_EXE_wasiprobe"))
        .arg("--root")
        .arg(root())
        .args([
            "run",
            "--sdk",
            PYTHON,
            "--probe",
            "py-regrtest",
            "--probe",
            "py-ext",
        ])
        .args(["--regrtest", MODULES, "--no-native", "--out"])
        .arg(out)
        .env("WASIPROBE_LOG", "info")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        matches!(o.status.code(), Some(0) | Some(1)),
        "exit {:?}: {text}",
        o.status.code()
    );
    serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap()
}

#[test]
fn cpython_from_source_runs_its_own_tests_per_case_with_controls_and_a_cached_build() {
    let dir = tempfile::tempdir().unwrap();
    let r = run(&dir.path().join("a"));
    let py = &r["python"][PYTHON];
    let build = &py["provisioned"]["build"];
    assert_eq!(
        py["provisioned"]["status"], "ready",
        "the build did not give a ready python.wasm: {}",
        py["provisioned"]
    );
    assert_eq!(build["ok"], true, "{build}");
    assert_eq!(build["toolchain"], "deb-libc-sdk24");
    assert_eq!(build["script"], "Tools/wasm/wasi.py");
    assert_eq!(build["wasm_stack_bytes"], 8388608, "3.13's own host runner");
    let cells: Vec<&serde_json::Value> = r["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["sdk"] == PYTHON)
        .collect();
    let runs = py["regrtest"]["wasmtime"].as_array().unwrap();
    // The negative controls ran first and were rejected as they must be.
    let control = runs
        .iter()
        .find(|m| m["module"] == "test_wasiprobe_control")
        .unwrap();
    assert_eq!(control["verdict"], "fail", "{control}");
    let hang = runs
        .iter()
        .find(|m| m["module"] == "test_wasiprobe_hang")
        .unwrap();
    assert_eq!(hang["verdict"], "timeout", "{hang}");
    assert!(
        hang["cases"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["outcome"] == "hang"
                && c["id"].as_str().unwrap().ends_with("test_never_ends")),
        "{hang}"
    );
    for m in MODULES.split(',') {
        let c = cells
            .iter()
            .find(|c| c["probe"] == "py-regrtest" && c["check"] == m)
            .unwrap_or_else(|| panic!("no cell for {m}"));
        assert!(
            ["pass", "fail"].contains(&c["verdict"].as_str().unwrap()),
            "{m}: {c}"
        );
        let run = runs.iter().find(|r| r["module"] == m).unwrap();
        let cases = run["cases"].as_array().unwrap();
        assert!(cases.len() >= 5, "{m}: judged per test case: {run}");
        assert!(
            cases
                .iter()
                .all(|c| c["id"].as_str().unwrap().starts_with(&format!("test.{m}."))),
            "{run}"
        );
        assert!(run["reproduce"].as_str().unwrap().contains("wasmtime run"));
    }
    let ext = cells
        .iter()
        .find(|c| c["check"] == "c_extension_import")
        .unwrap();
    assert_eq!(ext["verdict"], "pass", "{ext}");
    // Second run: the build is found, not made again.
    let r2 = run(&dir.path().join("b"));
    assert_eq!(r2["python"][PYTHON]["provisioned"]["build"]["cached"], true);
    assert_eq!(
        r2["python"][PYTHON]["provisioned"]["build"]["key"],
        build["key"]
    );
}
