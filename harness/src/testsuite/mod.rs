//! `wasiprobe testsuite`: runs test suites in the format of the WebAssembly organisation's
//! wasi-testsuite, as it is today, on wasiprobe's runtimes, in parallel.
//!
//! Read from the reference (repository WebAssembly/wasi-testsuite): `doc/specification.md`,
//! `doc/writing-tests.md`, `test-runner/wasi_test_runner/test_case.py` (`Config.from_file`,
//! `LEGACY_CONFIG_KEYS`, `CONFIG_KEYS`, the operations, `TestCaseValidator`),
//! `test-runner/wasi_test_runner/test_suite_runner.py` (`TestCaseRunner`, `_read_manifest`,
//! `_cleanup_test_output`), `test-runner/wasi_test_runner/runtime_adapter.py` (loading an
//! adapter module, `compute_argv`), `test-runner/wasi_test_runner/harness.py`,
//! `test-runner/wasi_test_runner/executor.py`, the adapters `adapters/wasmtime.py`,
//! `adapters/pywasm.py`, `adapters/pywasm-runtime.py`, `adapters/jco.py`, `adapters/zwasm.py`,
//! `adapters/wasm-micro-runtime.py`, and the test `tests/rust/wasm32-wasip1/src/bin/close_preopen.json`
//! (`{"root": "fs-tests.dir"}`). The stored copies of `test_case.py` and `test_suite_runner.py`
//! predate `root` (they preopen `dirs` by name); the adapters of the same releases as
//! `close_preopen.json` take `compute_argv(test_path, (args, env, root), proposals, wasi_world,
//! wasi_version)` and map `root` to the guest's `/` (`--dir ROOT::/`), which is what is done here.
//!
//! What the reference does, and where this module follows or departs from it:
//! - A suite is a directory with `manifest.json` (`name`, optionally `version`: one of
//!   `wasm32-wasip1`, `wasm32-wasip2`, `wasm32-wasip3`; any other key is an error there and here).
//!   Without `version`, the directory's name gives it when it is one (`.../wasm32-wasip1/`), else
//!   Preview 1. Every `*.wasm` in it is a test; `NAME.json` beside it, if any, is its
//!   specification. The reference falls back to the path as the name without a manifest; here
//!   that is a usage error naming the suites below it (nearly always the wrong directory).
//! - Legacy keys: `args`, `root` (a directory relative to the test's, the guest's `/`), `env`
//!   (the whole environment), `exit_code` (default 0), `stdout`, `stderr`; and `dirs` of the
//!   earlier releases (named preopens, still in older corpora). Operation keys: `operations`,
//!   `proposals` (`http`, `sockets`), `world` (`wasi:cli/command`, `wasi:http/service`),
//!   `servers`. A test has one kind or the other (mixing them is an error there and here). An
//!   unknown key is a warning naming it, as there; a known key never is.
//! - A legacy spec is run, read stdout, read stderr, wait. A `read` takes as many characters as
//!   its payload has and compares them, so the expected text is a *prefix* of the output;
//!   `--exact-output` asks for the rest to be empty. Output is read as Python's text mode does
//!   (universal newlines).
//! - Operations: `run` (args, env, root, dirs), `write` (stdin), `read`, `kill` (a signal name,
//!   default SIGTERM), `wait` (the exit code as Python's `returncode`, minus the signal number
//!   for a killed process), `connect` (reads `HOST:PORT` from stdout; loopback only here),
//!   `send`, `recv`; `request` (HTTP) and `servers` are skipped with the reason. An empty list
//!   runs nothing and passes, as there.
//! - Each test gets a scratch directory: a copy of its root (and dirs) without `*.cleanup`
//!   artifacts, removed afterwards. The reference runs in place and deletes `*.cleanup` files;
//!   here the corpus is never written to, and tests running in parallel never meet.
//! - Embedded runtimes run the guest to completion (writes become stdin up front; a `kill`
//!   comes after `--kill-after-ms`) and the operations are judged on what it did. Adapter
//!   modules (`[[runtime]] kind = "adapter-module"`) get each test's argv from the adapter and
//!   run it as a live process the operations are carried out on, step by step.
//! - Runtimes that cannot run a test skip it with the reason: components (p2/p3 suites), a
//!   world, a proposal or network operations an in-process Preview 1 runtime cannot serve, a
//!   WASI version or world the adapter does not list.
//! - Expectation files (TOML; `filters.py` there): `version = 1` (optional), `[[suite]] name`,
//!   `[[suite.test]] name` with `action = "skip"` and/or `expected = "pass" | "fail"`. Outcomes:
//!   pass, fail, skip, xfail, xpass, security; fail, xpass and security fail the run. Several files combine.
//! - argv[0]: embedded runtimes give the guest `NAME.wasm`, as wasmtime's CLI does; adapters
//!   give what their runtime gives.

mod execute;
mod expect;
mod format;
mod judge;
mod live;

pub use execute::execute;

/// Copies a directory tree (files, subdirectories, symlinks as links), without `*.cleanup`
/// entries.
pub fn copy_dir(src: &Path, dst: &Path) -> Result<()> {
    execute::copy_tree(src, dst)
}
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
    /// The guest changed the host outside its directories, whatever the test expects.
    Security,
}

impl Verdict {
    pub const ALL: [Verdict; 6] = [
        Verdict::Pass,
        Verdict::Fail,
        Verdict::Skip,
        Verdict::Xfail,
        Verdict::Xpass,
        Verdict::Security,
    ];
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Skip => "skip",
            Verdict::Xfail => "xfail",
            Verdict::Xpass => "xpass",
            Verdict::Security => "security",
        }
    }
    /// Outcomes that fail a run, as `Outcome.is_failure` in the reference.
    pub fn is_failure(self) -> bool {
        matches!(self, Verdict::Fail | Verdict::Xpass | Verdict::Security)
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
    /// The guest reached the host outside its directories (seen from the host side: the
    /// scratch directory around them changed, or a link it made leads out on a runtime that
    /// follows links).
    Escape {
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
            Difference::Escape { message } => write!(f, "escape: {message}"),
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
