//! What the binary's end-to-end tests share: where the repository is, how the binary is run,
//! and the assertions on its exit and its report. Each test file uses a part of it, hence the
//! `dead_code` allowance (a test crate that leaves a helper unused is not a defect).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository's root (sdk-matrix.toml, probes/, adapters/).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The binary run on this repository with `args`; logging kept to warnings so that stderr is
/// the cause of a failure, not the run's narration.
pub fn wasiprobe(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wasiprobe"))
        .arg("--root")
        .arg(root())
        .args(args)
        .env("WASIPROBE_LOG", "warn")
        .output()
        .unwrap()
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

pub fn json_of(p: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

/// The `report.json` of a run's output directory.
pub fn report(dir: &Path) -> serde_json::Value {
    json_of(&dir.join("report.json"))
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
