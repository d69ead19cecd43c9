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

use crate::plan::UsageError;
use anyhow::{Context, Result};
use rayon::prelude::*;
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;
use wasiprobe_runtimes::{HostEnv, Limits, Outcome, Preopen, RunSpec, Runtime, Termination};

/// The only WASI version wasiprobe's runtimes implement.
pub const PREVIEW1: &str = "wasm32-wasip1";
/// `WasiVersion` in the reference's `test_case.py`.
const WASI_VERSIONS: &[&str] = &["wasm32-wasip1", "wasm32-wasip2", "wasm32-wasip3"];
const LEGACY_KEYS: &[&str] = &["args", "dirs", "env", "exit_code", "stderr", "stdout"];
const OPERATION_KEYS: &[&str] = &["operations", "proposals", "world"];
const CLI_WORLD: &str = "wasi:cli/command";
/// Artifacts a test may leave in its dirs; never copied into a test's scratch.
const CLEANUP_SUFFIX: &str = ".cleanup";

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
    /// Relative to the suite directory; preopened under the same name.
    pub dirs: Vec<String>,
    pub stdin: Vec<u8>,
    /// Expected stream contents, read in order (each read continues where the last stopped).
    pub reads: Vec<(StreamId, String)>,
    pub exit_code: i64,
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
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct TestResult {
    pub suite: String,
    pub suite_dir: PathBuf,
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

fn usage(msg: String) -> anyhow::Error {
    UsageError(msg).into()
}

fn line_col(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

// ---------------------------------------------------------------------------------------------
// Suites and specifications

/// Reads a suite directory: manifest, tests, specifications. Malformed input is a usage error
/// naming the file (and for JSON, the line).
pub fn load_suite(dir: &Path) -> Result<Suite> {
    if !dir.is_dir() {
        return Err(usage(format!(
            "{}: no such test suite directory",
            dir.display()
        )));
    }
    let manifest = dir.join("manifest.json");
    if !manifest.is_file() {
        let below: Vec<String> = std::fs::read_dir(dir)
            .map(|rd| {
                let mut v: Vec<String> = rd
                    .flatten()
                    .filter(|e| e.path().join("manifest.json").is_file())
                    .map(|e| e.path().display().to_string())
                    .collect();
                v.sort();
                v
            })
            .unwrap_or_default();
        let hint = match below.is_empty() {
            true => String::new(),
            false => format!("; suites below it: {}", below.join(", ")),
        };
        return Err(usage(format!(
            "{}: not a test suite: it has no manifest.json{hint}",
            dir.display()
        )));
    }
    let v = read_json(&manifest)?;
    let obj = v.as_object().ok_or_else(|| {
        usage(format!(
            "{}: the manifest must be a JSON object",
            manifest.display()
        ))
    })?;
    // The directory name gives the version when it is one (`wasm32-wasip1/`), as in the
    // reference; the manifest's `version` overrides it.
    let mut wasi_version = dir
        .file_name()
        .and_then(|n| n.to_str())
        .filter(|n| WASI_VERSIONS.contains(n))
        .unwrap_or(PREVIEW1)
        .to_string();
    let mut name = None;
    for (k, val) in obj {
        match k.as_str() {
            "name" => {
                name = Some(val.as_str().map(str::to_owned).ok_or_else(|| {
                    usage(format!(
                        "{}: field `name` must be a string",
                        manifest.display()
                    ))
                })?)
            }
            "version" => match val.as_str() {
                Some(s) if WASI_VERSIONS.contains(&s) => wasi_version = s.to_string(),
                _ => {
                    return Err(usage(format!(
                        "{}: field `version` must be one of {}, got {val}",
                        manifest.display(),
                        WASI_VERSIONS.join(", ")
                    )))
                }
            },
            other => {
                return Err(usage(format!(
                    "{}: unexpected manifest field `{other}` (the reference runner rejects it too)",
                    manifest.display()
                )))
            }
        }
    }
    let name =
        name.ok_or_else(|| usage(format!("{}: missing field `name`", manifest.display())))?;
    let mut wasms: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("listing {}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "wasm") && p.is_file())
        .collect();
    wasms.sort();
    let mut tests = Vec::new();
    for wasm in wasms {
        let test = wasm
            .file_stem()
            .and_then(|s| s.to_str())
            .ok_or_else(|| usage(format!("{}: test name is not UTF-8", wasm.display())))?
            .to_string();
        let json = wasm.with_extension("json");
        let plan = if json.is_file() {
            parse_spec(&json, &read_json(&json)?)?
        } else {
            Plan::Run(RunPlan::default())
        };
        tests.push(TestCase {
            name: test,
            wasm,
            plan,
        });
    }
    Ok(Suite {
        dir: dir.to_owned(),
        name,
        wasi_version,
        tests,
    })
}

fn read_json(path: &Path) -> Result<Value> {
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

struct SpecErr<'a>(&'a Path);
impl SpecErr<'_> {
    fn field(&self, field: &str, want: &str) -> anyhow::Error {
        usage(format!(
            "{}: field `{field}` must be {want}",
            self.0.display()
        ))
    }
}

fn strings(v: &Value, field: &str, e: &SpecErr) -> Result<Vec<String>> {
    v.as_array()
        .and_then(|a| {
            a.iter()
                .map(|x| x.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
        })
        .ok_or_else(|| e.field(field, "a list of strings"))
}

fn env_map(v: &Value, field: &str, e: &SpecErr) -> Result<Vec<(String, String)>> {
    v.as_object()
        .and_then(|o| {
            o.iter()
                .map(|(k, x)| x.as_str().map(|s| (k.clone(), s.to_owned())))
                .collect::<Option<Vec<_>>>()
        })
        .ok_or_else(|| e.field(field, "a map of strings to strings"))
}

fn dirs(v: &Value, field: &str, e: &SpecErr) -> Result<Vec<String>> {
    let d = strings(v, field, e)?;
    for x in &d {
        // The reference joins them to the test's directory; an absolute path or `..` would
        // hand the guest a copy of an arbitrary host directory.
        let p = Path::new(x);
        if x.is_empty()
            || p.is_absolute()
            || p.components()
                .any(|c| !matches!(c, std::path::Component::Normal(_)))
        {
            return Err(usage(format!(
                "{}: field `{field}`: {x:?} must be a relative path inside the suite (no `..`)",
                e.0.display()
            )));
        }
    }
    Ok(d)
}

fn exit_code(v: &Value, field: &str, e: &SpecErr) -> Result<i64> {
    v.as_i64().ok_or_else(|| e.field(field, "an integer"))
}

fn string(v: &Value, field: &str, e: &SpecErr) -> Result<String> {
    v.as_str()
        .map(str::to_owned)
        .ok_or_else(|| e.field(field, "a string"))
}

/// Turns one test's JSON into a plan (`Config.from_file` in the reference).
pub fn parse_spec(path: &Path, v: &Value) -> Result<Plan> {
    let e = SpecErr(path);
    let obj = v.as_object().ok_or_else(|| {
        usage(format!(
            "{}: a test specification must be a JSON object",
            path.display()
        ))
    })?;
    let has = |keys: &[&str]| obj.keys().any(|k| keys.contains(&k.as_str()));
    let operation_style = obj.get("operations").is_some_and(|x| !x.is_null())
        || obj.get("proposals").is_some_and(|x| !x.is_null());
    if has(OPERATION_KEYS) && has(LEGACY_KEYS) {
        return Err(usage(format!(
            "{}: cannot mix the legacy keys ({}) with the operation-based keys ({})",
            path.display(),
            LEGACY_KEYS.join(", "),
            OPERATION_KEYS.join(", ")
        )));
    }
    let known = if operation_style {
        OPERATION_KEYS
    } else {
        LEGACY_KEYS
    };
    for k in obj.keys().filter(|k| !known.contains(&k.as_str())) {
        tracing::warn!(
            "{}: unknown field `{k}` ignored (the reference runner ignores it with a warning too)",
            path.display()
        );
    }
    if !operation_style {
        let mut p = RunPlan::default();
        let get = |k: &str| obj.get(k).filter(|x| !x.is_null());
        if let Some(x) = get("args") {
            p.args = strings(x, "args", &e)?;
        }
        if let Some(x) = get("env") {
            p.env = env_map(x, "env", &e)?;
        }
        if let Some(x) = get("dirs") {
            p.dirs = dirs(x, "dirs", &e)?;
        }
        if let Some(x) = get("stdout") {
            p.reads.push((StreamId::Stdout, string(x, "stdout", &e)?));
        }
        if let Some(x) = get("stderr") {
            p.reads.push((StreamId::Stderr, string(x, "stderr", &e)?));
        }
        if let Some(x) = get("exit_code") {
            p.exit_code = exit_code(x, "exit_code", &e)?;
        }
        return Ok(Plan::Run(p));
    }
    parse_operations(path, obj, &e)
}

fn parse_operations(
    path: &Path,
    obj: &serde_json::Map<String, Value>,
    e: &SpecErr,
) -> Result<Plan> {
    let world = match obj.get("world") {
        None | Some(Value::Null) => CLI_WORLD.to_string(),
        Some(w) => string(w, "world", e)?,
    };
    let proposals = match obj.get("proposals") {
        None | Some(Value::Null) => vec![],
        Some(p) => strings(p, "proposals", e)?,
    };
    let ops: Vec<&Value> = match obj.get("operations") {
        None | Some(Value::Null) => vec![],
        Some(Value::Array(a)) => a.iter().collect(),
        Some(_) => return Err(e.field("operations", "a list of operations")),
    };
    let mut plan = RunPlan::default();
    let mut unsupported: Option<String> = None;
    // The reference's `TestCaseValidator`: run, then reads/writes, then wait; every run has
    // its wait.
    let mut running = false;
    let mut runs = 0;
    for (i, op) in ops.iter().enumerate() {
        let field = format!("operations[{i}]");
        let o = op
            .as_object()
            .ok_or_else(|| e.field(&field, "an object with a `type`"))?;
        let ty = o.get("type").and_then(Value::as_str).unwrap_or("");
        let f = |k: &str| format!("{field}.{k}");
        let get = |k: &str| o.get(k).filter(|x| !x.is_null());
        let need_run = |running: bool| -> Result<()> {
            match running {
                true => Ok(()),
                false => Err(usage(format!(
                    "{}: {field} (`{ty}`) comes before a `run` or after its `wait`",
                    path.display()
                ))),
            }
        };
        match ty {
            "run" => {
                if running {
                    return Err(usage(format!(
                        "{}: {field}: `run` while a process is still running (no `wait`)",
                        path.display()
                    )));
                }
                running = true;
                runs += 1;
                if let Some(x) = get("args") {
                    plan.args = strings(x, &f("args"), e)?;
                }
                if let Some(x) = get("env") {
                    plan.env = env_map(x, &f("env"), e)?;
                }
                if let Some(x) = get("dirs") {
                    plan.dirs = dirs(x, &f("dirs"), e)?;
                }
            }
            "wait" => {
                need_run(running)?;
                running = false;
                plan.exit_code = match get("exit_code") {
                    Some(x) => exit_code(x, &f("exit_code"), e)?,
                    None => 0,
                };
            }
            "read" => {
                need_run(running)?;
                let id = match get("id") {
                    Some(x) => string(x, &f("id"), e)?,
                    None => "stdout".into(),
                };
                let stream = match id.as_str() {
                    "stdout" => StreamId::Stdout,
                    "stderr" => StreamId::Stderr,
                    _ => return Err(e.field(&f("id"), "\"stdout\" or \"stderr\"")),
                };
                let payload = match get("payload") {
                    Some(x) => string(x, &f("payload"), e)?,
                    None => String::new(),
                };
                plan.reads.push((stream, payload));
            }
            "write" => {
                need_run(running)?;
                match get("id").map(|x| string(x, &f("id"), e)).transpose()? {
                    Some(id) if id == "stdin" => {}
                    _ => return Err(e.field(&f("id"), "\"stdin\" (the only writable stream)")),
                }
                if let Some(x) = get("payload") {
                    plan.stdin
                        .extend_from_slice(string(x, &f("payload"), e)?.as_bytes());
                }
            }
            "connect" | "send" | "recv" | "request" | "kill" => {
                need_run(running)?;
                unsupported.get_or_insert_with(|| {
                    format!(
                        "operation `{ty}` needs a live process and networking; not supported here"
                    )
                });
            }
            other => {
                return Err(usage(format!(
                    "{}: {field}: unsupported operation type {other:?}",
                    path.display()
                )))
            }
        }
    }
    if running {
        return Err(usage(format!(
            "{}: a `run` operation has no `wait`",
            path.display()
        )));
    }
    // An empty list is the reference's default too: run, then wait for exit code 0.
    if runs > 1 {
        unsupported
            .get_or_insert_with(|| "more than one `run` operation; not supported here".into());
    }
    if let Some(p) = proposals.first() {
        unsupported.get_or_insert_with(|| {
            format!("needs the WASI proposal `{p}`; Preview 1 runtimes have none")
        });
    }
    if world != CLI_WORLD {
        unsupported.get_or_insert_with(|| format!("world `{world}` is not {CLI_WORLD}"));
    }
    Ok(match unsupported {
        Some(why) => Plan::Unsupported(why),
        None => Plan::Run(plan),
    })
}

// ---------------------------------------------------------------------------------------------
// Expectation files

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Expectation {
    pub skip: bool,
    pub expected_fail: bool,
}

/// One expectation file: suite name → test name → expectation, with where each entry is (for
/// warnings about entries that match nothing).
#[derive(Debug, Clone, Default)]
pub struct Expectations {
    pub file: PathBuf,
    pub suites: HashMap<String, HashMap<String, (Expectation, usize)>>,
}

#[derive(serde::Deserialize)]
struct RawExpectations {
    version: Option<toml::Spanned<i64>>,
    #[serde(default)]
    suite: Vec<RawSuite>,
}

#[derive(serde::Deserialize)]
struct RawSuite {
    name: toml::Spanned<String>,
    #[serde(default)]
    test: Vec<RawTest>,
}

#[derive(serde::Deserialize)]
struct RawTest {
    name: toml::Spanned<String>,
    action: Option<toml::Spanned<String>>,
    expected: Option<toml::Spanned<String>>,
}

impl Expectations {
    pub fn load(path: &Path) -> Result<Expectations> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| usage(format!("{}: cannot read: {e}", path.display())))?;
        Expectations::parse(&text, path)
    }

    pub fn parse(text: &str, path: &Path) -> Result<Expectations> {
        let err = |offset: usize, msg: String| {
            usage(format!(
                "{}:{}: {msg}",
                path.display(),
                line_col(text, offset)
            ))
        };
        let raw: RawExpectations = toml::from_str(text).map_err(|e| {
            let at = e.span().map_or(0, |s| s.start);
            err(at, e.message().trim().replace('\n', " "))
        })?;
        warn_unknown_keys(text, path);
        if let Some(v) = &raw.version {
            if *v.get_ref() != 1 {
                return Err(err(
                    v.span().start,
                    format!(
                        "field `version`: expectation file version {} is not supported (1 is)",
                        v.get_ref()
                    ),
                ));
            }
        }
        let mut suites = HashMap::new();
        for s in raw.suite {
            let mut tests = HashMap::new();
            for t in s.test {
                let mut x = Expectation::default();
                if let Some(a) = &t.action {
                    match a.get_ref().as_str() {
                        "skip" => x.skip = true,
                        other => {
                            return Err(err(
                                a.span().start,
                                format!("field `action`: {other:?} is not one of [\"skip\"]"),
                            ))
                        }
                    }
                }
                if let Some(a) = &t.expected {
                    match a.get_ref().as_str() {
                        "fail" => x.expected_fail = true,
                        "pass" => {}
                        other => {
                            return Err(err(
                                a.span().start,
                                format!(
                                    "field `expected`: {other:?} is not one of [\"pass\", \"fail\"]"
                                ),
                            ))
                        }
                    }
                }
                if t.action.is_none() && t.expected.is_none() {
                    return Err(err(
                        t.name.span().start,
                        format!(
                            "test {:?}: each test entry must set `action` and/or `expected`",
                            t.name.get_ref()
                        ),
                    ));
                }
                let line = line_col(text, t.name.span().start);
                tests.insert(t.name.into_inner(), (x, line));
            }
            // A repeated suite replaces the earlier one, as in the reference.
            suites.insert(s.name.into_inner(), tests);
        }
        Ok(Expectations {
            file: path.to_owned(),
            suites,
        })
    }

    pub fn get(&self, suite: &str, test: &str) -> Expectation {
        self.suites
            .get(suite)
            .and_then(|t| t.get(test))
            .map_or_else(Expectation::default, |(x, _)| *x)
    }
}

/// The reference ignores keys it does not know; a typo there silently disables an
/// expectation, so say so.
fn warn_unknown_keys(text: &str, path: &Path) {
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

// ---------------------------------------------------------------------------------------------
// Running

/// Runs every selected test of every suite on every runtime.
pub fn execute(opts: &Options) -> Result<Run> {
    let started = Instant::now();
    if opts.dirs.is_empty() {
        return Err(usage("testsuite: give at least one suite directory".into()));
    }
    let mut suites = Vec::new();
    for d in &opts.dirs {
        suites.push(load_suite(d)?);
    }
    let expectations: Vec<Expectations> = opts
        .expectations
        .iter()
        .map(|p| Expectations::load(p))
        .collect::<Result<_>>()?;
    warn_stale(&suites, &expectations, opts.filter.is_some());
    let names = crate::plan::select_runtimes(&opts.runtimes, &opts.configured)?;
    let mut runtimes: Vec<(RuntimeStatus, Option<Box<dyn Runtime>>)> = Vec::new();
    for n in &names {
        match crate::plan::make_runtime(n, &opts.host, &opts.configured) {
            Ok(rt) => runtimes.push((
                RuntimeStatus {
                    name: n.clone(),
                    version: Some(rt.version()),
                    unavailable: None,
                },
                Some(rt),
            )),
            Err(e) if e.is::<wasiprobe_runtimes::Unavailable>() => runtimes.push((
                RuntimeStatus {
                    name: n.clone(),
                    version: None,
                    unavailable: Some(format!("{e:#}")),
                },
                None,
            )),
            Err(e) => return Err(e),
        }
    }
    // Output order: suite (as given), test (by name), runtime (as given).
    let mut jobs = Vec::new();
    for (si, s) in suites.iter().enumerate() {
        for (ti, t) in s.tests.iter().enumerate() {
            if opts.filter.as_deref().is_some_and(|f| !t.name.contains(f)) {
                continue;
            }
            for ri in 0..runtimes.len() {
                jobs.push((si, ti, ri));
            }
        }
    }
    if jobs.is_empty() {
        tracing::warn!("no test selected (is --filter too narrow, or the suites empty?)");
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.jobs.max(1))
        .build()?;
    let tests: Vec<TestResult> = pool.install(|| {
        jobs.par_iter()
            .map(|&(si, ti, ri)| {
                let s = &suites[si];
                let t = &s.tests[ti];
                let (status, rt) = &runtimes[ri];
                let mut x = Expectation::default();
                let mut skip_by = None;
                for e in &expectations {
                    let one = e.get(&s.name, &t.name);
                    if one.skip && skip_by.is_none() {
                        skip_by = Some(e.file.display().to_string());
                    }
                    x.expected_fail |= one.expected_fail;
                }
                let skip_reason = if let Some(why) = &status.unavailable {
                    Some(format!("runtime unavailable: {why}"))
                } else if let Some(f) = skip_by {
                    Some(format!("skipped by expectation file {f}"))
                } else if s.wasi_version != PREVIEW1 {
                    Some(format!(
                        "WASI version {} unsupported by runtime",
                        s.wasi_version
                    ))
                } else if let Plan::Unsupported(why) = &t.plan {
                    Some(why.clone())
                } else {
                    None
                };
                let base = TestResult {
                    suite: s.name.clone(),
                    suite_dir: s.dir.clone(),
                    test: t.name.clone(),
                    runtime: status.name.clone(),
                    outcome: Verdict::Skip,
                    reason: None,
                    differences: vec![],
                    duration_ms: 0,
                };
                if let Some(why) = skip_reason {
                    return TestResult {
                        reason: Some(why),
                        ..base
                    };
                }
                let (Some(rt), Plan::Run(plan)) = (rt, &t.plan) else {
                    unreachable!("skipped above")
                };
                let start = Instant::now();
                let differences = run_one(rt.as_ref(), s, t, plan, opts);
                let failed = !differences.is_empty();
                TestResult {
                    outcome: match (failed, x.expected_fail) {
                        (false, false) => Verdict::Pass,
                        (true, false) => Verdict::Fail,
                        (true, true) => Verdict::Xfail,
                        (false, true) => Verdict::Xpass,
                    },
                    differences,
                    duration_ms: start.elapsed().as_millis(),
                    ..base
                }
            })
            .collect()
    });
    let mut summary = BTreeMap::new();
    for (st, _) in &runtimes {
        let mut c: BTreeMap<&'static str, usize> =
            Verdict::ALL.iter().map(|v| (v.name(), 0)).collect();
        for t in tests.iter().filter(|t| t.runtime == st.name) {
            *c.get_mut(t.outcome.name()).unwrap() += 1;
        }
        summary.insert(st.name.clone(), c);
    }
    Ok(Run {
        runtimes: runtimes.into_iter().map(|(s, _)| s).collect(),
        tests,
        summary,
        wall_ms: started.elapsed().as_millis(),
    })
}

/// An expectation naming a suite or test that is not there usually means a rename upstream:
/// it would silently stop doing anything.
fn warn_stale(suites: &[Suite], expectations: &[Expectations], filtered: bool) {
    if filtered {
        return;
    }
    for e in expectations {
        for (suite, tests) in &e.suites {
            let Some(s) = suites.iter().find(|s| &s.name == suite) else {
                continue; // a file may cover suites that are not part of this run
            };
            for (test, (_, line)) in tests {
                if !s.tests.iter().any(|t| &t.name == test) {
                    tracing::warn!(
                        "{}:{line}: suite {suite:?} has no test {test:?}; the entry does nothing",
                        e.file.display()
                    );
                }
            }
        }
    }
}

/// Runs one test in its own scratch copy of its dirs; the differences from its specification
/// (empty: it passed).
fn run_one(
    rt: &dyn Runtime,
    s: &Suite,
    t: &TestCase,
    plan: &RunPlan,
    opts: &Options,
) -> Vec<Difference> {
    let setup = |message: String| vec![Difference::Setup { message }];
    let scratch = match tempfile::Builder::new()
        .prefix("wasiprobe-testsuite-")
        .tempdir()
    {
        Ok(d) => d,
        Err(e) => return setup(format!("cannot create a scratch directory: {e}")),
    };
    let mut preopens = Vec::new();
    for d in &plan.dirs {
        let src = s.dir.join(d);
        if !src.is_dir() {
            return setup(format!(
                "`dirs` entry {d:?}: {} is not a directory",
                src.display()
            ));
        }
        let dst = scratch.path().join(d);
        if let Err(e) = copy_tree(&src, &dst) {
            return setup(format!("copying {} to scratch: {e:#}", src.display()));
        }
        preopens.push(Preopen {
            host: dst,
            guest: d.clone(),
        });
    }
    let argv0 = t
        .wasm
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let spec = RunSpec {
        args: std::iter::once(argv0)
            .chain(plan.args.iter().cloned())
            .collect(),
        env: plan.env.clone(),
        preopens,
        stdin: plan.stdin.clone(),
        limits: opts.limits.clone(),
        ..RunSpec::default()
    };
    let outcome = match rt.run(&t.wasm, &spec) {
        Ok(o) => o,
        Err(e) => return setup(format!("the runtime failed: {e:#}")),
    };
    judge(plan, &outcome, &opts.limits, opts.exact_output)
}

/// Compares a run with its plan. Every difference is listed, where the reference stops at the
/// first failing operation: the verdict is the same, the report says more.
pub fn judge(plan: &RunPlan, o: &Outcome, limits: &Limits, exact: bool) -> Vec<Difference> {
    let mut diffs = Vec::new();
    match &o.termination {
        Termination::Exited { code } => {
            if i64::from(*code) != plan.exit_code {
                diffs.push(Difference::ExitCode {
                    expected: plan.exit_code,
                    got: i64::from(*code),
                });
            }
        }
        Termination::Trap { message } => diffs.push(Difference::Trap {
            message: first_line(message),
        }),
        Termination::Timeout => diffs.push(Difference::Timeout {
            wall_ms: limits.wall.as_millis(),
        }),
        Termination::Oom { requested_bytes } => diffs.push(Difference::Oom {
            requested_bytes: *requested_bytes,
        }),
        Termination::OutputLimit { stream } => diffs.push(Difference::OutputLimit {
            stream: stream.clone(),
        }),
        Termination::Crash { message } => diffs.push(Difference::Crash {
            message: first_line(message),
        }),
        Termination::LoadError { message } => diffs.push(Difference::LoadError {
            message: first_line(message),
        }),
    }
    let mut streams = [
        (StreamId::Stdout, text_mode(&o.stdout), 0usize),
        (StreamId::Stderr, text_mode(&o.stderr), 0usize),
    ];
    let mut failed = [false, false];
    for (id, expected) in &plan.reads {
        let i = *id as usize;
        if failed[i] {
            continue;
        }
        let (_, got, pos) = &mut streams[i];
        let rest: Vec<char> = got.chars().skip(*pos).collect();
        let want: Vec<char> = expected.chars().collect();
        let n = want.len();
        let ok = rest.len() >= n && rest[..n] == want[..];
        if ok {
            *pos += n;
            continue;
        }
        failed[i] = true;
        let at = rest
            .iter()
            .zip(&want)
            .position(|(a, b)| a != b)
            .unwrap_or(rest.len().min(n));
        diffs.push(output_diff(*id, "prefix", *pos, at, &want, &rest));
    }
    if exact {
        // Whatever the reads did not consume must be empty; a stream with no read is not
        // checked, as in the reference.
        for (i, (id, got, pos)) in streams.iter().enumerate() {
            let read = plan.reads.iter().any(|(r, _)| r == id);
            if !read || failed[i] {
                continue;
            }
            let rest: Vec<char> = got.chars().skip(*pos).collect();
            if !rest.is_empty() {
                diffs.push(output_diff(*id, "exact", *pos, 0, &[], &rest));
            }
        }
    }
    diffs
}

fn output_diff(
    stream: StreamId,
    mode: &'static str,
    base: usize,
    at: usize,
    want: &[char],
    got: &[char],
) -> Difference {
    // An excerpt around the first difference, so a long output stays one readable line.
    const BEFORE: usize = 20;
    const AFTER: usize = 60;
    let from = at.saturating_sub(BEFORE);
    let cut = |v: &[char]| -> String {
        let end = (at + AFTER).min(v.len());
        let mut s: String = v[from.min(v.len())..end].iter().collect();
        if from > 0 {
            s.insert(0, '…');
        }
        if end < v.len() {
            s.push('…');
        }
        s
    };
    Difference::Output {
        stream,
        mode,
        offset: base + at,
        expected: cut(want),
        got: cut(got),
    }
}

/// Python's text mode as the reference reads output: lossy here where Python would raise, and
/// universal newlines (`\r\n` and `\r` become `\n`).
fn text_mode(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .replace("\r\n", "\n")
        .replace('\r', "\n")
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").to_string()
}

/// Copies a test's directory into its scratch: files, subdirectories and symlinks (as links,
/// so a test about dangling links sees one), without `*.cleanup` entries.
fn copy_tree(src: &Path, dst: &Path) -> Result<()> {
    std::fs::create_dir_all(dst).with_context(|| format!("creating {}", dst.display()))?;
    for entry in std::fs::read_dir(src).with_context(|| format!("listing {}", src.display()))? {
        let entry = entry?;
        let name = entry.file_name();
        if name.to_string_lossy().ends_with(CLEANUP_SUFFIX) {
            continue;
        }
        let from = entry.path();
        let to = dst.join(&name);
        let ty = entry.file_type()?;
        if ty.is_symlink() {
            let target = std::fs::read_link(&from)?;
            #[cfg(unix)]
            std::os::unix::fs::symlink(&target, &to)
                .with_context(|| format!("linking {}", to.display()))?;
            #[cfg(not(unix))]
            anyhow::bail!("{}: symlinks are only copied on Unix", from.display());
        } else if ty.is_dir() {
            copy_tree(&from, &to)?;
        } else {
            std::fs::copy(&from, &to).with_context(|| format!("copying {}", from.display()))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn spec(json: &str) -> Result<Plan> {
        parse_spec(Path::new("t.json"), &serde_json::from_str(json).unwrap())
    }

    fn outcome(code: i32, out: &str, err: &str) -> Outcome {
        Outcome {
            termination: Termination::Exited { code },
            stdout: out.as_bytes().to_vec(),
            stderr: err.as_bytes().to_vec(),
            duration: Duration::ZERO,
            host_calls: Default::default(),
        }
    }

    fn plan(json: &str) -> RunPlan {
        match spec(json).unwrap() {
            Plan::Run(p) => p,
            Plan::Unsupported(w) => panic!("unsupported: {w}"),
        }
    }

    #[test]
    fn legacy_spec_becomes_reads_and_exit_code() {
        let p = plan(
            r#"{"args":["a"],"env":{"K":"v"},"dirs":["d.dir"],"stdout":"x","stderr":"y","exit_code":3}"#,
        );
        assert_eq!(p.args, ["a"]);
        assert_eq!(p.env, [("K".to_string(), "v".to_string())]);
        assert_eq!(p.dirs, ["d.dir"]);
        assert_eq!(
            p.reads,
            [
                (StreamId::Stdout, "x".into()),
                (StreamId::Stderr, "y".into())
            ]
        );
        assert_eq!(p.exit_code, 3);
        assert_eq!(plan("{}"), RunPlan::default());
    }

    #[test]
    fn output_is_a_prefix_unless_exact() {
        let p = plan(r#"{"stdout":"hello"}"#);
        let l = Limits::default();
        assert!(judge(&p, &outcome(0, "hello world\n", ""), &l, false).is_empty());
        let d = judge(&p, &outcome(0, "hello world\n", ""), &l, true);
        assert!(
            matches!(
                &d[..],
                [Difference::Output {
                    mode: "exact",
                    offset: 5,
                    ..
                }]
            ),
            "{d:?}"
        );
        // Negative controls: a different or a shorter output, a wrong exit code.
        let d = judge(&p, &outcome(0, "help", ""), &l, false);
        assert!(
            matches!(&d[..], [Difference::Output { offset: 3, .. }]),
            "{d:?}"
        );
        let d = judge(&p, &outcome(1, "hello", ""), &l, false);
        assert_eq!(
            d,
            [Difference::ExitCode {
                expected: 0,
                got: 1
            }]
        );
        // Unchecked stream: anything goes.
        assert!(judge(&plan("{}"), &outcome(0, "x", "y"), &l, true).is_empty());
    }

    #[test]
    fn newlines_are_read_as_python_text_mode_reads_them() {
        let p = plan(r#"{"stdout":"a\nb\nc\n"}"#);
        assert!(judge(&p, &outcome(0, "a\r\nb\rc\n", ""), &Limits::default(), true).is_empty());
    }

    #[test]
    fn consecutive_reads_continue_where_the_last_stopped() {
        let p = plan(
            r#"{"operations":[{"type":"run"},{"type":"read","payload":"ab"},{"type":"read","payload":"cd"},{"type":"wait"}]}"#,
        );
        let l = Limits::default();
        assert!(judge(&p, &outcome(0, "abcd", ""), &l, true).is_empty());
        let d = judge(&p, &outcome(0, "abce", ""), &l, false);
        assert!(
            matches!(&d[..], [Difference::Output { offset: 3, .. }]),
            "{d:?}"
        );
    }

    #[test]
    fn operation_specs_are_validated_or_skipped() {
        assert!(matches!(
            spec(r#"{"operations":[{"type":"run"},{"type":"connect"},{"type":"wait"}]}"#).unwrap(),
            Plan::Unsupported(w) if w.contains("connect")
        ));
        assert!(matches!(
            spec(r#"{"proposals":["http"],"operations":[{"type":"run"},{"type":"wait"}]}"#).unwrap(),
            Plan::Unsupported(w) if w.contains("http")
        ));
        for bad in [
            r#"{"operations":[{"type":"run"}]}"#,
            r#"{"operations":[{"type":"read"}]}"#,
            r#"{"operations":[{"type":"fly"}]}"#,
            r#"{"operations":[],"stdout":"x"}"#,
            r#"{"args":"not a list"}"#,
            r#"{"dirs":["../escape"]}"#,
            r#"{"exit_code":"zero"}"#,
        ] {
            let e = spec(bad).unwrap_err().to_string();
            assert!(e.contains("t.json"), "{bad}: {e}");
        }
    }

    #[test]
    fn expectation_errors_name_line_and_field() {
        let p = Path::new("x.toml");
        let e = Expectations::parse(
            "version = 1\n[[suite]]\nname = \"s\"\n[[suite.test]]\nname = \"t\"\naction = \"skipp\"\n",
            p,
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("x.toml:6:") && e.contains("action"), "{e}");
        let e = Expectations::parse("version = 2\n", p)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("x.toml:1:") && e.contains("version"), "{e}");
        let e = Expectations::parse("[[suite]]\nname = \"s\"\n[[suite.test]]\nname = \"t\"\n", p)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("x.toml:4:") && e.contains("action"), "{e}");
        let e = Expectations::parse("[[suite]]\nnom = \"s\"\n", p)
            .unwrap_err()
            .to_string();
        assert!(e.contains("x.toml:") && e.contains("name"), "{e}");
        let x = Expectations::parse(
            "[[suite]]\nname = \"s\"\n[[suite.test]]\nname = \"t\"\nexpected = \"fail\"\n",
            p,
        )
        .unwrap();
        assert!(x.get("s", "t").expected_fail && !x.get("s", "t").skip);
        assert_eq!(x.get("s", "other"), Expectation::default());
    }
}
