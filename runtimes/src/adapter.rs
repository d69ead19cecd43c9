//! The wasi-testsuite adapter contract, as the subprocess runtimes speak it, plus the extensions
//! of ours that an adapter may honour.
//!
//! Contract (wasi-testsuite `adapters/*.py`): `ADAPTER --version` prints the runtime's version;
//! `ADAPTER --test-file F [--arg A]... [--env K=V]... [--dir HOST[::GUEST]]...` runs the module
//! with stdin/stdout/stderr passed through and exits with the guest's exit status.
//!
//! Extensions, in the adapter's environment (never the guest's), so an adapter that knows none
//! of them still works and merely reports less:
//! - `WASIPROBE_ARGV0`: argv[0] of the guest (the contract has none: `--arg` starts at argv[1]).
//! - `WASIPROBE_STATUS=FILE`: the adapter writes `{"termination": T, "host_calls": {...}}` there,
//!   `T` being `{"kind": "exited", "code": N}`, `{"kind": "trap", "message": M}`,
//!   `{"kind": "oom", "requested_bytes": N}` or `{"kind": "load-error", "message": M}`. This is
//!   the only way an exit status can be told apart from a trap or a load error: the guest can
//!   print anything and exit with any status, but it cannot write that file.
//! - `WASIPROBE_MAX_MEMORY` (bytes), `WASIPROBE_MAX_OPEN_FILES`, `WASIPROBE_WASM_STACK` (bytes):
//!   limits the adapter passes on to its runtime where the runtime can enforce them.
//! - `WASIPROBE_RUNTIME`: the runtime executable the adapter should run (e.g. one of several
//!   wasmtime versions installed side by side).

use crate::process::ChildRun;
use crate::{Outcome, RunSpec, Termination};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The contract's arguments for one run (after the adapter's own path).
pub fn contract_args(module: &Path, spec: &RunSpec) -> Vec<OsString> {
    let mut v: Vec<OsString> = vec!["--test-file".into(), module.into()];
    for a in spec.args.iter().skip(1) {
        v.push("--arg".into());
        v.push(a.into());
    }
    for (k, val) in &spec.env {
        v.push("--env".into());
        v.push(format!("{k}={val}").into());
    }
    for p in &spec.preopens {
        v.push("--dir".into());
        let mut d = OsString::from(&p.host);
        d.push("::");
        d.push(&p.guest);
        v.push(d);
    }
    v
}

/// The extension variables for one run; `status` is where the adapter writes its status.
pub fn extension_env(spec: &RunSpec, status: &Path) -> Vec<(String, OsString)> {
    let mut v = vec![
        (
            "WASIPROBE_STATUS".to_string(),
            status.as_os_str().to_owned(),
        ),
        (
            "WASIPROBE_MAX_MEMORY".into(),
            spec.limits.memory_bytes.to_string().into(),
        ),
        (
            "WASIPROBE_MAX_OPEN_FILES".into(),
            spec.limits.open_files.to_string().into(),
        ),
    ];
    if let Some(a0) = spec.args.first() {
        v.push(("WASIPROBE_ARGV0".into(), a0.into()));
    }
    if let Some(s) = spec.wasm_stack_bytes {
        v.push(("WASIPROBE_WASM_STACK".into(), s.to_string().into()));
    }
    v
}

#[derive(serde::Deserialize)]
struct Status {
    termination: Termination,
    #[serde(default)]
    host_calls: BTreeMap<String, u64>,
}

fn tail(b: &[u8]) -> String {
    String::from_utf8_lossy(&b[b.len().saturating_sub(1000)..]).into_owned()
}

/// Turns a finished adapter run into an [`Outcome`]. `require_status`: the adapter is ours and
/// always writes its status, so a missing one means the adapter itself failed.
pub fn outcome(run: ChildRun, status_file: &Path, require_status: bool) -> Outcome {
    let status = std::fs::read(status_file).ok();
    let (termination, host_calls) = match run.harness_termination() {
        Some(t) => (t, BTreeMap::new()),
        None => {
            let code = run.code();
            match status.as_deref().map(serde_json::from_slice::<Status>) {
                Some(Ok(s)) => (reconcile(s.termination, code), s.host_calls),
                Some(Err(e)) => (
                    Termination::Crash {
                        message: format!("the adapter wrote an unreadable status ({e}); it exited with {code}"),
                    },
                    BTreeMap::new(),
                ),
                None if require_status => (
                    Termination::Crash {
                        message: format!(
                            "the runner exited with {code} without writing its status; stderr ends: {}",
                            tail(&run.stderr)
                        ),
                    },
                    BTreeMap::new(),
                ),
                None => (Termination::Exited { code }, BTreeMap::new()),
            }
        }
    };
    Outcome {
        host_calls,
        ..run.into_outcome(termination)
    }
}

/// The status file says how the guest ended; the process status must agree with it (an exit
/// code is seen modulo 256 by the parent). Kinds only the harness can know are refused.
fn reconcile(t: Termination, process_code: i32) -> Termination {
    match t {
        Termination::Exited { code } if (code & 0xff) != process_code => Termination::Crash {
            message: format!(
                "the adapter's status says the guest exited with {code} but the adapter exited with {process_code}"
            ),
        },
        Termination::Exited { .. }
        | Termination::Trap { .. }
        | Termination::Oom { .. }
        | Termination::LoadError { .. } => t,
        other => Termination::Crash {
            message: format!("the adapter reported {other:?}, which only the harness decides"),
        },
    }
}

/// `$WASIPROBE_PYTHON` (default `python3`) as the executable it really is: a version manager's
/// shim in front of it would otherwise run once per test.
pub fn real_python() -> PathBuf {
    let py = std::env::var("WASIPROBE_PYTHON").unwrap_or_else(|_| "python3".into());
    Command::new(&py)
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
        .filter(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from(py))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;
    use std::process::ExitStatus;
    use std::time::Duration;

    fn run(code: i32) -> ChildRun {
        ChildRun {
            status: Some(ExitStatus::from_raw(code << 8)),
            stdout: vec![],
            stderr: b"boom".to_vec(),
            timed_out: false,
            output_limit: None,
            duration: Duration::ZERO,
        }
    }

    #[test]
    fn the_status_file_decides_and_must_agree_with_the_exit_status() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("s.json");
        std::fs::write(&f, r#"{"termination":{"kind":"trap","message":"unreachable"},"host_calls":{"fd_write":2}}"#).unwrap();
        let o = outcome(run(134), &f, true);
        assert_eq!(
            o.termination,
            Termination::Trap {
                message: "unreachable".into()
            }
        );
        assert_eq!(o.host_calls["fd_write"], 2);
        std::fs::write(&f, r#"{"termination":{"kind":"exited","code":300}}"#).unwrap();
        assert_eq!(
            outcome(run(300 & 0xff), &f, true).termination,
            Termination::Exited { code: 300 }
        );
        // Negative controls: a status that disagrees, one that claims a harness verdict, garbage.
        assert!(matches!(
            outcome(run(3), &f, true).termination,
            Termination::Crash { .. }
        ));
        std::fs::write(&f, r#"{"termination":{"kind":"timeout"}}"#).unwrap();
        assert!(matches!(
            outcome(run(0), &f, true).termination,
            Termination::Crash { .. }
        ));
        std::fs::write(&f, "{").unwrap();
        assert!(matches!(
            outcome(run(0), &f, false).termination,
            Termination::Crash { .. }
        ));
    }

    #[test]
    fn without_a_status_only_a_contract_adapter_is_believed() {
        let f = Path::new("/nonexistent/wasiprobe-status.json");
        assert_eq!(
            outcome(run(5), f, false).termination,
            Termination::Exited { code: 5 }
        );
        match outcome(run(5), f, true).termination {
            Termination::Crash { message } => assert!(message.contains("boom"), "{message}"),
            t => panic!("{t:?}"),
        }
    }
}
