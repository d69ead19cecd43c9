//! What the binary's end-to-end tests share: where the repository is, how the binary is run,
//! and the assertions on its exit and its report. Each test file uses a part of it, hence the
//! `dead_code` allowance (a test crate that leaves a helper unused is not a defect).
#![allow(dead_code)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use wasiprobe::provision;
use wasiprobe::run::RunOptions;
use wasiprobe_runtimes::{HostEnv, Injection};

/// The repository's root (sdk-matrix.toml, probes/, adapters/).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The binary, to be run on the project at `project`; logging kept to warnings so that stderr
/// is the cause of a failure, not the run's narration.
pub fn wasiprobe_at(project: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_wasiprobe"));
    c.arg("--root").arg(project).env("WASIPROBE_LOG", "warn");
    c
}

/// The binary run on this repository with `args`.
pub fn wasiprobe(args: &[&str]) -> Output {
    wasiprobe_at(&root()).args(args).output().unwrap()
}

/// What the tests that call the library start from: everything selected, the tool's own
/// cache, and the liars `inject`.
pub fn options(inject: Vec<Injection>) -> RunOptions {
    RunOptions {
        inject,
        ..RunOptions::new(provision::Options::from_env(
            wasiprobe_util::default_cache_dir(),
        ))
    }
}

/// What the runtimes need: the tool's cache and the worker executable (this package's binary)
/// that hosts crash-isolated runtimes.
pub fn host_env() -> HostEnv {
    wasiprobe::plan::host_env_for(
        &wasiprobe_util::default_cache_dir(),
        Some(PathBuf::from(env!("CARGO_BIN_EXE_wasiprobe"))),
    )
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The binary must have ended with `code`; when it did not, its stderr says why.
pub fn exits(o: &Output, code: i32) {
    assert_eq!(o.status.code(), Some(code), "{}", stderr(o));
}

/// The binary's stderr must name `text`.
pub fn says(o: &Output, text: &str) {
    assert!(stderr(o).contains(text), "{}", stderr(o));
}

pub fn json_of(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

/// The `report.json` of a run's output directory.
pub fn report(dir: &Path) -> Value {
    json_of(&dir.join("report.json"))
}

/// The cells of a report.
pub fn results(report: &Value) -> &Vec<Value> {
    report["results"].as_array().expect("a report's `results`")
}

/// The first cell of `report` that `pick` chooses; none fails the test.
pub fn cell_where(report: &Value, pick: impl Fn(&Value) -> bool) -> &Value {
    let cells = results(report);
    cells
        .iter()
        .find(|c| pick(c))
        .unwrap_or_else(|| panic!("no such cell among the report's {}", cells.len()))
}

/// The first cell of `check` in `report`.
pub fn cell<'a>(report: &'a Value, check: &str) -> &'a Value {
    cell_where(report, |c| c["check"] == check)
}

/// The row of the runtime `name` in `report`.
pub fn runtime_row<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["runtimes"]
        .as_array()
        .expect("a report's `runtimes`")
        .iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("no runtime row {name} in {}", report["runtimes"]))
}

/// A row of a report (an SDK's or a runtime's) must be unavailable, its reason naming `why`.
pub fn unavailable_because(row: &Value, why: &str) {
    assert_eq!(row["status"], "unavailable", "{row}");
    assert!(
        row["reason"].as_str().is_some_and(|r| r.contains(why)),
        "the reason does not name {why:?}: {row}"
    );
}

/// `cell` must have `verdict`, the reason in its evidence naming `why`.
pub fn judged_because(cell: &Value, verdict: &str, why: &str) {
    assert_eq!(cell["verdict"], verdict, "{cell}");
    assert!(
        cell["evidence"]["reason"]
            .as_str()
            .is_some_and(|r| r.contains(why)),
        "the reason does not name {why:?}: {cell}"
    );
}

/// `report` must match the published schema, every error listed.
pub fn validate(report: &Path) {
    let schema = json_of(&root().join("reports/schema/report-v1.schema.json"));
    let v = json_of(report);
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&v)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{report:?} does not match the schema: {errors:?}"
    );
}

/// A copy of the tree at `from`, subdirectories included.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).unwrap();
        }
    }
}
