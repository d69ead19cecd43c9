//! `wasiprobe testsuite`: runs test suites in the format of the WebAssembly organisation's
//! wasi-testsuite (its `doc/specification.md` and the reference Python runner in `test-runner/`)
//! on wasiprobe's runtimes, in parallel.
//!
//! What the reference does, and where this module follows or departs from it:
//! - A suite is a directory with `manifest.json` (`{"name": ...}`, optionally `"version":
//!   "wasm32-wasip1"`; any other key is an error: `_read_manifest` in
//!   `test_suite_runner.py`). Every `*.wasm` in it is a test; `NAME.json` beside it, if any, is
//!   its specification (`_read_test_config`). The reference falls back to the directory path as
//!   the name when the manifest is missing; here a missing manifest is a usage error, because
//!   the real corpus always has one and a directory without one is nearly always the wrong
//!   directory (its parent, in the `wasm32-wasipN/` layout).
//! - Legacy specification keys (`LEGACY_CONFIG_KEYS` in `test_case.py`): `args`, `dirs`, `env`,
//!   `exit_code` (default 0), `stdout`, `stderr`. An unknown key is logged as a warning and
//!   ignored (`Config._validate_config`); so here. Mixing them with the operation-based keys
//!   (`operations`, `proposals`, `world`) is an error there and here.
//! - The reference turns a legacy spec into operations: run, `read stdout` (if `stdout` is
//!   set), `read stderr` (if `stderr` is set), wait (exit code). A `read` reads as many
//!   characters as the expected payload has and compares them (`do_read`), so the expected text
//!   is a *prefix* of the output: trailing output is not checked. The original runner
//!   (`validators.py`) compared stdout exactly, and the specification says the bytes must
//!   "match". The default here is the current reference (prefix); `--exact-output` asks for the
//!   stricter reading.
//! - Output is read by Python in text mode (`text=True`): invalid UTF-8 is an error there,
//!   and universal newlines turn `\r\n` and `\r` into `\n`. Here output is decoded lossily and
//!   newlines are translated the same way before comparing.
//! - `dirs` are paths relative to the test's directory, preopened under the same name
//!   (`Run.from_config`: `(test_config_path.parent / d, d)`). The reference runs them in place
//!   and deletes `*.cleanup` files before and after each test (`_cleanup_test_output`; the
//!   specification asks executors to remove them first). Here each test gets a scratch copy of
//!   its dirs, without `*.cleanup` entries, so tests that write never touch the corpus and two
//!   runs in parallel never see each other's files.
//! - argv[0]: the reference passes the test file to the runtime's CLI; wasmtime's CLI (its
//!   `compute_argv`) and the pywasm adapter give the guest the file's base name, `NAME.wasm`.
//! - `env` is the whole environment (specification: "should only contain these keys").
//! - Expectation files (TOML; `filters.py`, `TestExpectationFilter`): `version = 1` (optional),
//!   `[[suite]] name`, `[[suite.test]] name` with `action = "skip"` and/or `expected = "pass" |
//!   "fail"`; at least one of them. Outcomes (`Outcome` in `test_case.py`, PR #261): pass, fail,
//!   skip, xfail (expected to fail and failed), xpass (expected to fail but passed); fail and
//!   xpass fail the run. Several files combine: any skip skips, any expected fail expects
//!   failure (`run_tests_from_test_suite`). A second `[[suite]]` with the same name in one file
//!   replaces the first, as in `_load_toml_expectations`. Unknown keys are ignored there; here
//!   they are warned about.
//! - Suites whose WASI version is not Preview 1 are skipped ("WASI version unsupported by
//!   runtime", `UnsupportedWasiTestExcludeFilter`): every runtime here is Preview 1.
//! - Operation-based specs: `run`, `read`, `write` (stdin) and `wait` are supported for a single
//!   run (writes are fed as stdin up front, which a non-interactive guest cannot tell apart);
//!   `connect`, `send`, `recv`, `request`, `kill`, any `proposals` or a world other than
//!   `wasi:cli/command` need a live process and networking: those tests are skipped with the
//!   reason.
//! - Unlike the reference (one test at a time), tests run in parallel; output order is fixed.

mod execute;
mod expect;
mod format;
mod judge;
mod live;

pub use execute::execute;
pub use expect::{Expectation, Expectations};
pub use format::{load_suite, parse_spec};
pub use judge::judge;

use crate::plan::UsageError;
use anyhow::Result;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use wasiprobe_runtimes::{HostEnv, Limits};

/// The only WASI version wasiprobe's runtimes implement.
pub const PREVIEW1: &str = "wasm32-wasip1";
/// `WasiVersion` in the reference's `test_case.py`.
pub(crate) const WASI_VERSIONS: &[&str] = &["wasm32-wasip1", "wasm32-wasip2", "wasm32-wasip3"];
/// The legacy keys: the current reference's, plus `dirs` of its earlier releases (named
/// preopens, replaced by `root`), which older corpora still use.
pub(crate) const LEGACY_KEYS: &[&str] = &[
    "args",
    "root",
    "dirs",
    "env",
    "exit_code",
    "stderr",
    "stdout",
];
pub(crate) const OPERATION_KEYS: &[&str] = &["operations", "proposals", "world", "servers"];
pub(crate) const CLI_WORLD: &str = "wasi:cli/command";
/// `WasiWorld` in the reference's `test_case.py`.
pub(crate) const WORLDS: &[&str] = &["wasi:cli/command", "wasi:http/service"];
/// `WasiProposal` there.
pub(crate) const PROPOSALS: &[&str] = &["http", "sockets"];
/// Artifacts a test may leave in its dirs; never copied into a test's scratch.
pub(crate) const CLEANUP_SUFFIX: &str = ".cleanup";

#[derive(Debug, Clone)]
pub struct Options {
    pub dirs: Vec<PathBuf>,
    pub runtimes: Vec<String>,
    pub expectations: Vec<PathBuf>,
    pub jobs: usize,
    pub filter: Option<String>,
    pub limits: Limits,
    /// Compare stdout/stderr exactly instead of as a prefix (the reference's `read`).
    pub exact_output: bool,
    pub host: HostEnv,
    /// The `[[runtime]]` entries of the project's matrix (CLI runtimes by name).
    pub configured: Vec<wasiprobe_runtimes::CliSpec>,
    /// Install the selected runtimes' `pypi` packages first, as `run` does.
    pub fetch: Option<crate::provision::Options>,
    /// On a runtime without a live process, how long a test with `kill` runs before the kill.
    pub kill_after: std::time::Duration,
}

/// One suite directory, read and validated.
#[derive(Debug, Clone)]
pub struct Suite {
    pub dir: PathBuf,
    pub name: String,
    pub wasi_version: String,
    pub tests: Vec<TestCase>,
}

#[derive(Debug, Clone)]
pub struct TestCase {
    pub name: String,
    pub wasm: PathBuf,
    pub plan: Plan,
}

/// What to do with a test: run it as described, or skip it for a reason known before running.
#[derive(Debug, Clone)]
pub enum Plan {
    Run(RunPlan),
    Unsupported(String),
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunPlan {
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    /// Relative to the test's directory; a copy of it is the guest's `/`.
    pub root: Option<String>,
    /// Relative to the test's directory; preopened under the same name (the older format).
    pub dirs: Vec<String>,
    /// What happens after the process starts, in order.
    pub ops: Vec<Op>,
    pub proposals: Vec<String>,
    /// Empty for the default, `wasi:cli/command`.
    pub world: String,
    /// An empty `operations` list: nothing runs (and the test passes, as in the reference).
    pub no_run: bool,
}

impl RunPlan {
    pub fn world(&self) -> &str {
        match self.world.as_str() {
            "" => CLI_WORLD,
            w => w,
        }
    }
    /// Whether the test talks to the guest over the network.
    pub fn uses_network(&self) -> bool {
        self.ops
            .iter()
            .any(|o| matches!(o, Op::Connect(_) | Op::Send(..) | Op::Recv(..)))
    }
    pub fn kill(&self) -> Option<i32> {
        self.ops.iter().find_map(|o| match o {
            Op::Kill { number, .. } => Some(*number),
            _ => None,
        })
    }
}

/// One step after `run` (the reference's operations, less `run` itself).
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// Text for stdin.
    Write(String),
    /// Expected text next on the stream (`stream.read(len(payload))` there).
    Read(StreamId, String),
    Kill {
        name: String,
        number: i32,
    },
    /// The process ends with this exit code (minus the signal number when killed, as
    /// Python's `returncode`).
    Wait(i64),
    /// Reads `HOST:PORT` from stdout and connects to it (loopback only here).
    Connect(String),
    Send(String, String),
    Recv(String, String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StreamId {
    Stdout,
    Stderr,
}

impl StreamId {
    fn name(self) -> &'static str {
        match self {
            StreamId::Stdout => "stdout",
            StreamId::Stderr => "stderr",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Fail,
    Skip,
    Xfail,
    Xpass,
}

impl Verdict {
    pub const ALL: [Verdict; 5] = [
        Verdict::Pass,
        Verdict::Fail,
        Verdict::Skip,
        Verdict::Xfail,
        Verdict::Xpass,
    ];
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Skip => "skip",
            Verdict::Xfail => "xfail",
            Verdict::Xpass => "xpass",
        }
    }
    /// Outcomes that fail a run, as `Outcome.is_failure` in the reference.
    pub fn is_failure(self) -> bool {
        matches!(self, Verdict::Fail | Verdict::Xpass)
    }
}

/// One way a run differed from its specification.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Difference {
    ExitCode {
        expected: i64,
        got: i64,
    },
    Output {
        stream: StreamId,
        /// "prefix" (the reference's `read`) or "exact" (`--exact-output`).
        mode: &'static str,
        /// Character offset of the first difference in the stream.
        offset: usize,
        expected: String,
        got: String,
    },
    Trap {
        message: String,
    },
    Timeout {
        wall_ms: u128,
    },
    Oom {
        requested_bytes: u64,
    },
    OutputLimit {
        stream: String,
    },
    Crash {
        message: String,
    },
    LoadError {
        message: String,
    },
    /// The test could not be set up (a `dirs` entry that does not exist), or the runtime
    /// failed on its own side.
    Setup {
        message: String,
    },
    /// A `recv` got something else than expected, or the connection failed.
    Network {
        message: String,
    },
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Difference::ExitCode { expected, got } => {
                write!(f, "exit code: expected {expected}, got {got}")
            }
            Difference::Output {
                stream,
                mode,
                offset,
                expected,
                got,
            } => write!(
                f,
                "{} ({mode}) differs at char {offset}: expected {expected:?}, got {got:?}",
                stream.name()
            ),
            Difference::Trap { message } => write!(f, "trap: {message}"),
            Difference::Timeout { wall_ms } => {
                write!(
                    f,
                    "timeout: still running after {wall_ms} ms (--timeout-ms)"
                )
            }
            Difference::Oom { requested_bytes } => {
                write!(
                    f,
                    "memory limit: the guest asked for {requested_bytes} bytes"
                )
            }
            Difference::OutputLimit { stream } => write!(f, "output limit reached on {stream}"),
            Difference::Crash { message } => write!(f, "runtime crashed: {message}"),
            Difference::LoadError { message } => write!(f, "load error: {message}"),
            Difference::Setup { message } => write!(f, "setup: {message}"),
            Difference::Network { message } => write!(f, "network: {message}"),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct TestResult {
    pub suite: String,
    pub suite_dir: PathBuf,
    /// The suite's WASI version (directory name or manifest `version`).
    pub wasi_version: String,
    pub test: String,
    pub runtime: String,
    pub outcome: Verdict,
    /// Why a test was skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Why a test failed (fail and xfail).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub differences: Vec<Difference>,
    pub duration_ms: u128,
}

#[derive(Debug, Clone, Serialize)]
pub struct RuntimeStatus {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unavailable: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Run {
    pub runtimes: Vec<RuntimeStatus>,
    pub tests: Vec<TestResult>,
    /// Counts per runtime and outcome.
    pub summary: BTreeMap<String, BTreeMap<&'static str, usize>>,
    pub wall_ms: u128,
}

impl Run {
    /// What `--history` stores: every test of every runtime that was available (a runtime that
    /// could not run has no version to record and no outcome worth a point).
    pub fn history_record(&self, started_at: String) -> wasiprobe_reports::TestsuiteRecord {
        let version: BTreeMap<&str, &str> = self
            .runtimes
            .iter()
            .filter_map(|r| Some((r.name.as_str(), r.version.as_deref()?)))
            .collect();
        wasiprobe_reports::TestsuiteRecord {
            started_at,
            finished_at: humantime::format_rfc3339_seconds(std::time::SystemTime::now())
                .to_string(),
            wasiprobe_version: env!("CARGO_PKG_VERSION").into(),
            cells: self
                .tests
                .iter()
                .filter_map(|t| {
                    Some(wasiprobe_reports::TestsuiteCell {
                        runtime: t.runtime.clone(),
                        runtime_version: version.get(t.runtime.as_str())?.to_string(),
                        wasi_version: t.wasi_version.clone(),
                        suite: t.suite.clone(),
                        test: t.test.clone(),
                        outcome: t.outcome.name().into(),
                        duration_ms: t.duration_ms as f64,
                    })
                })
                .collect(),
        }
    }

    pub fn has_failures(&self) -> bool {
        self.tests.iter().any(|t| t.outcome.is_failure())
    }

    /// The human report: a line per fail / xpass, then a count line per runtime.
    pub fn text(&self) -> String {
        let mut s = String::new();
        for t in self.tests.iter().filter(|t| t.outcome.is_failure()) {
            let why = match t.outcome {
                Verdict::Xpass => "passed, but an expectation file says it should fail".into(),
                _ => t
                    .differences
                    .iter()
                    .map(|d| d.to_string())
                    .collect::<Vec<_>>()
                    .join("; "),
            };
            let _ = writeln!(
                s,
                "{:<5} {} [{}] {}: {why}",
                t.outcome.name().to_uppercase(),
                t.runtime,
                t.suite,
                t.test
            );
        }
        for r in &self.runtimes {
            let c = &self.summary[&r.name];
            let counts: Vec<String> = Verdict::ALL
                .iter()
                .map(|v| format!("{} {}", c[v.name()], v.name()))
                .collect();
            let _ = write!(s, "{}: {}", r.name, counts.join(", "));
            if let Some(why) = &r.unavailable {
                let _ = write!(s, " (unavailable: {why})");
            }
            s.push('\n');
            let mut reasons: BTreeMap<&str, usize> = BTreeMap::new();
            for t in self.tests.iter().filter(|t| t.runtime == r.name) {
                if let (Verdict::Skip, Some(why)) = (t.outcome, &t.reason) {
                    *reasons.entry(why).or_default() += 1;
                }
            }
            if r.unavailable.is_none() {
                for (why, n) in reasons {
                    let _ = writeln!(s, "  {n} skipped: {why}");
                }
            }
        }
        s
    }
}

// ---------------------------------------------------------------------------------------------
// Suites and specifications

// ---------------------------------------------------------------------------------------------
// Expectation files

// ---------------------------------------------------------------------------------------------
// Running

#[cfg(test)]
mod tests;

pub(crate) fn usage(msg: String) -> anyhow::Error {
    UsageError(msg).into()
}

pub(crate) fn line_col(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

pub(crate) fn read_json(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| usage(format!("{}: cannot read: {e}", path.display())))?;
    serde_json::from_str(&text).map_err(|e| {
        usage(format!(
            "{}:{}:{}: malformed JSON: {e}",
            path.display(),
            e.line(),
            e.column()
        ))
    })
}

/// The reference ignores keys it does not know; a typo there silently disables an
/// expectation, so say so.
pub(crate) fn warn_unknown_keys(text: &str, path: &Path) {
    let Ok(v) = text.parse::<toml::Table>() else {
        return;
    };
    let warn = |k: &str| {
        tracing::warn!(
            "{}: unknown key `{k}` ignored (known: version, suite.name, suite.test.name/action/expected)",
            path.display()
        )
    };
    for k in v
        .keys()
        .filter(|k| !["version", "suite"].contains(&k.as_str()))
    {
        warn(k);
    }
    let tables = |x: Option<&toml::Value>| -> Vec<toml::Table> {
        x.and_then(|x| x.as_array())
            .map(|a| a.iter().filter_map(|t| t.as_table().cloned()).collect())
            .unwrap_or_default()
    };
    for s in tables(v.get("suite")) {
        for k in s.keys().filter(|k| !["name", "test"].contains(&k.as_str())) {
            warn(&format!("suite.{k}"));
        }
        for t in tables(s.get("test")) {
            for k in t
                .keys()
                .filter(|k| !["name", "action", "expected"].contains(&k.as_str()))
            {
                warn(&format!("suite.test.{k}"));
            }
        }
    }
}
