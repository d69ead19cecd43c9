//! The command line: every subcommand and flag, with its help text. Nothing here does work.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use wasiprobe_runtimes::Injection;

/// Conformance harness for WASI SDK / wasi-libc behaviour across Wasm runtimes.
#[derive(Parser)]
#[command(name = "wasiprobe", version, about)]
pub struct Cli {
    /// Project root holding sdk-matrix.toml and probes/.
    #[arg(long, global = true, default_value = ".")]
    pub root: PathBuf,
    /// The toolchain matrix (default: ROOT/sdk-matrix.toml).
    #[arg(long, global = true)]
    pub matrix: Option<PathBuf>,
    /// Cache for toolchains and built probes (default: $WASIPROBE_CACHE, ~/.cache/wasiprobe).
    #[arg(long, global = true)]
    pub cache: Option<PathBuf>,
    /// Use DIR for the SDK with this id: ID=DIR (repeatable).
    #[arg(long = "sdk-path", global = true, value_name = "ID=DIR")]
    pub sdk_paths: Vec<String>,
    /// Read a report whose run did not finish (`diff`, `evidence`, `compare`, `report`,
    /// `run --baseline`); without it such a report is refused (exit 2), since the cells it
    /// lacks would read as gone rather than as failures. Every output says it is incomplete.
    #[arg(long, global = true)]
    pub accept_partial: bool,
    #[command(subcommand)]
    pub cmd: Cmd,
}

#[derive(Subcommand)]
pub enum Cmd {
    /// Build every probe with every selected SDK, run it, judge it, write DIR/report.json.
    Run(RunArgs),
    /// Toolchains: list, fetch, doctor.
    Sdk {
        #[command(subcommand)]
        cmd: SdkCmd,
    },
    /// List the fault-injection liars usable with `run --inject`.
    Liars,
    /// Judge randomness captured elsewhere: the SP 800-22 battery (second level) and
    /// SP 800-90B min-entropy on a file.
    Entropy {
        #[command(subcommand)]
        cmd: EntropyCmd,
    },
    /// Which WASI Preview 1 functions modules import, signature checks, non-WASI imports.
    Coverage {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Compare two reports: verdict changes (regression, fixed, changed, new, gone), import and
    /// toolchain changes. Exit 1 when a regression appears.
    Diff {
        old: PathBuf,
        new: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// The evidence for an SDK-lock change, from one report holding both SDKs: every behaviour
    /// that differs on each runtime (breaking / fixed / changed fact / changed). Exit 1 if any
    /// is breaking.
    Evidence {
        report: PathBuf,
        /// The locked toolchain (an [[sdk]] id).
        #[arg(long)]
        locked: String,
        /// The candidate toolchain (an [[sdk]] id).
        #[arg(long)]
        candidate: String,
        /// A CPython branch (`3.13`): compare its source builds with the two toolchains, per
        /// test case of CPython's own tests, and print the SDK update evidence pack.
        #[arg(long, value_name = "BRANCH")]
        python: Option<String>,
        #[arg(long)]
        json: bool,
        /// Also write the evidence as a self-contained HTML page.
        #[arg(long, value_name = "FILE")]
        html: Option<PathBuf>,
    },
    /// The regression report for one SDK: every cell on every runtime, grouped by area, with
    /// evidence. Writes report.{json,md,html} and junit.xml into --out, or prints the Markdown.
    Report {
        report: PathBuf,
        #[arg(long)]
        sdk: String,
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Where each runtime's verdicts differ from a reference runtime's (default wasmtime) on
    /// the same sdk × probe × check, with both sides' reasons. Exit 1 if any differ.
    Compare {
        report: PathBuf,
        #[arg(long, default_value = "wasmtime")]
        reference: String,
        #[arg(long)]
        json: bool,
    },
    /// Merge the shards of a `run --partition K/N` into one report (and its formats) in --out.
    Merge {
        #[arg(required = true)]
        shards: Vec<PathBuf>,
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Nightly history in SQLite: add a report, or list the runs it holds.
    History {
        #[command(subcommand)]
        cmd: HistoryCmd,
    },
    /// Write the HTML dashboard for a report, with history plots from a history database.
    Dashboard {
        report: PathBuf,
        #[arg(long, value_name = "DB")]
        history: Option<PathBuf>,
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Run test suites in the WebAssembly wasi-testsuite format (a directory with manifest.json,
    /// NAME.wasm and NAME.json) on our runtimes, in parallel. Exit 1 on any fail, xpass or
    /// security (the guest changed the host outside its directories).
    Testsuite(TestsuiteArgs),
    /// CPython-for-WASI: the stdlib footprint, an entry module's import closure and the strip
    /// plan (census on the embedded wasmtime).
    Python {
        #[command(subcommand)]
        cmd: PythonCmd,
    },
    /// Measure the harness's cost per cell against a bare wasmtime run of the same module.
    Bench {
        #[arg(long)]
        sdk: Option<String>,
        #[arg(long, default_value_t = 200)]
        iterations: usize,
        /// Instead: time the full SP 800-22 battery (100 sequences of 10^6 bits of ChaCha20).
        #[arg(long)]
        entropy: bool,
        /// Instead: time wasi-testsuite suites (default: the fixture corpus of the current
        /// format) on embedded wasmtime and on `--module-runtime`, serially, and print the
        /// ratio of their wall times.
        #[arg(long, num_args = 0.., value_name = "DIR")]
        testsuite: Option<Vec<PathBuf>>,
        /// The adapter-module runtime `--testsuite` compares with (a `[[runtime]]` of the matrix).
        #[arg(long, default_value = "wasmtime-cli-42-module")]
        module_runtime: String,
        /// How often `--testsuite` runs the corpus on each runtime (the median round is used).
        #[arg(long, default_value_t = 3)]
        rounds: usize,
        /// How many copies of each fixture test the default corpus holds (4: 72 tests, each
        /// module distinct), so the bench is not a measure of start-up alone.
        #[arg(long, default_value_t = 4)]
        copies: usize,
    },
}

#[derive(Subcommand)]
pub enum PythonCmd {
    /// Build the C-extension probe (probes/python/ext/) with each SDK against the CPython
    /// headers of `[[python_headers]]`: configure, compile, link, the `fork` control.
    Ext {
        #[arg(long = "sdk", value_name = "ID")]
        sdks: Vec<String>,
        #[arg(long)]
        json: bool,
    },
    /// Census the stdlib, measure ENTRY's import closure, write strip-plan-ID.{txt,json}.
    Footprint {
        /// The module whose transitive import closure is measured (and never stripped).
        #[arg(long, default_value = wasiprobe::python::DEFAULT_ENTRY)]
        entry: String,
        /// The `[[python]]` id (default: every one in the matrix).
        #[arg(long = "python", value_name = "ID")]
        python: Vec<String>,
        #[arg(long, value_name = "DIR", default_value = "wasiprobe-out")]
        out: PathBuf,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args)]
pub struct RunArgs {
    /// Only this toolchain of the matrix (repeatable; default: every one).
    #[arg(long = "sdk", value_name = "ID")]
    pub sdks: Vec<String>,
    /// Run on this runtime (repeatable; `all` for every one; default: embedded wasmtime).
    #[arg(long = "runtime", value_name = "NAME")]
    pub runtimes: Vec<String>,
    /// Only this probe (repeatable; `dark` for the dark-features census).
    #[arg(long = "probe", value_name = "NAME")]
    pub probes: Vec<String>,
    /// Only this check (repeatable).
    #[arg(long = "check", value_name = "NAME")]
    pub checks: Vec<String>,
    /// Replace a Preview 1 function with a liar, FUNCTION:MODE (see `wasiprobe liars`).
    #[arg(long = "inject", value_name = "FUNC:MODE", value_parser = wasiprobe_runtimes::inject::parse)]
    pub inject: Vec<Injection>,
    /// Where report.json, report.md, junit.xml and report.html are written.
    #[arg(long, default_value = "wasiprobe-out")]
    pub out: PathBuf,
    /// Keep each case's scratch directory (its path goes into the evidence).
    #[arg(long)]
    pub keep: bool,
    /// Cases run at once.
    #[arg(long, default_value_t = default_jobs(), value_parser = clap::builder::TypedValueParser::map(
        clap::value_parser!(u64).range(1..), |n| n as usize
    ))]
    pub jobs: usize,
    /// Wall-clock limit per case, in milliseconds (at least 1).
    #[arg(long, default_value_t = 20_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout_ms: u64,
    /// Compile-time limit per module on the runtimes that compile in-process (wasmtime, wasmi,
    /// wasmer), in milliseconds: checked when compiling ends (it cannot be interrupted); a
    /// module over it is an error cell and is not run. Child-process runtimes count compiling
    /// in the wall-clock limit.
    #[arg(long, default_value_t = 120_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub compile_limit_ms: u64,
    /// Memory limit per case (all its memories and tables together), in MiB (at least 1).
    #[arg(long, default_value_t = 512, value_parser = clap::value_parser!(u64).range(1..))]
    pub memory_mib: u64,
    /// Do not fetch missing toolchains (zig wheels, Debian libcs, and as root Debian compilers)
    /// before the run.
    #[arg(long)]
    pub no_fetch: bool,
    /// Skip the native floor (probes built with the host's cc and run natively).
    #[arg(long)]
    pub no_native: bool,
    /// Diff the new report against this one; regressions make the exit status 1.
    #[arg(long, value_name = "REPORT.json")]
    pub baseline: Option<PathBuf>,
    /// Run only shard K of N (deterministic; `wasiprobe merge` reassembles them).
    #[arg(long, value_name = "K/N")]
    pub partition: Option<wasiprobe::plan::Partition>,
    /// Add the report to this history database and plot the history in report.html.
    #[arg(long, value_name = "DB")]
    pub history: Option<PathBuf>,
    /// Also build CPython from source with the matrix's toolchains (`[[python]]` entries with
    /// `source`; ≈ 5 min per build cold, cached) and run CPython's own test suite on each
    /// runtime (`py-regrtest`).
    #[arg(long)]
    pub cpython: bool,
    /// Test modules for py-regrtest (repeatable or comma-separated; `all` for the whole
    /// suite; default: a selection of platform-sensitive modules).
    #[arg(long, value_name = "MODULE", value_delimiter = ',')]
    pub regrtest: Vec<String>,
    /// Wall-clock limit per regrtest module (one process each), in seconds (at least 1).
    #[arg(long, value_name = "S", value_parser = clap::value_parser!(u64).range(1..))]
    pub regrtest_timeout_s: Option<u64>,
}

#[derive(Args)]
pub struct TestsuiteArgs {
    /// Suite directories (each holding manifest.json), e.g. tests/c/testsuite/wasm32-wasip1.
    #[arg(required = true, value_name = "DIR")]
    pub dirs: Vec<PathBuf>,
    /// Runtime to run on (repeatable; `all` for every one; default wasmtime).
    #[arg(long = "runtime", value_name = "NAME")]
    pub runtimes: Vec<String>,
    /// Expectation file (TOML: [[suite]] name, [[suite.test]] name, action = "skip" /
    /// expected = "fail"); repeatable. `--exclude-filter` is the reference runner's name.
    #[arg(
        long = "expectations",
        alias = "exclude-filter",
        value_name = "FILE.toml"
    )]
    pub expectations: Vec<PathBuf>,
    /// One JSON document with every test's outcome instead of the text report.
    #[arg(long)]
    pub json: bool,
    #[arg(long, default_value_t = default_jobs())]
    pub jobs: usize,
    /// Run only tests whose name contains SUBSTR.
    #[arg(long, value_name = "SUBSTR")]
    pub filter: Option<String>,
    /// Wall-clock limit per test, in milliseconds.
    #[arg(long, default_value_t = 20_000)]
    pub timeout_ms: u64,
    /// Compile-time limit per module on the runtimes that compile in-process (wasmtime, wasmi,
    /// wasmer), in milliseconds: checked when compiling ends (it cannot be interrupted); a
    /// module over it is an error cell and is not run. Child-process runtimes count compiling
    /// in the wall-clock limit.
    #[arg(long, default_value_t = 120_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub compile_limit_ms: u64,
    /// Require stdout/stderr to equal the expected text; the reference runner only checks that
    /// the output starts with it.
    #[arg(long)]
    pub exact_output: bool,
    /// On a runtime that runs the guest in-process (no process to signal), a test with `kill`
    /// runs this long and then counts as killed by the signal.
    #[arg(long, default_value_t = 500)]
    pub kill_after_ms: u64,
    /// Do not install the selected runtimes' `pypi` packages first.
    #[arg(long)]
    pub no_fetch: bool,
    /// Record pass rates per runtime and WASI version in this history database (the one
    /// `run --history` keeps); `wasiprobe dashboard --history DB` plots them.
    #[arg(long, value_name = "DB")]
    pub history: Option<PathBuf>,
}

#[derive(Subcommand)]
pub enum HistoryCmd {
    /// Add a complete report to the history (one transaction; adding it again is a no-op).
    Add {
        report: PathBuf,
        #[arg(long, value_name = "DB")]
        db: PathBuf,
    },
    /// The runs in the history, oldest first.
    Show {
        #[arg(long, value_name = "DB")]
        db: PathBuf,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
pub enum EntropyCmd {
    /// Run the battery on FILE (raw bytes, or ASCII '0'/'1' with --format ascii01).
    Assess {
        file: PathBuf,
        #[arg(long, default_value = "bytes", value_parser = ["bytes", "ascii01"])]
        format: String,
        /// At most this many sequences of 10^6 bits.
        #[arg(long, default_value_t = 100)]
        sequences: usize,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
pub enum SdkCmd {
    /// Each SDK's status and the identity actually found.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Install or download SDKs, and the PyPI packages of `[[runtime]]` entries named or, when
    /// nothing is named, of all of them.
    Fetch { ids: Vec<String> },
    /// Compile and run a trivial program with each ready SDK.
    Doctor { ids: Vec<String> },
    /// Print `WASI_SDK_PATH=DIR` for a ready SDK (an official one's directory, or the
    /// WASI-SDK-shaped directory of a `deb-libc` entry), for build systems that expect an SDK:
    /// `env $(wasiprobe sdk env ID) python3 Tools/wasm/wasi.py build`.
    Env { id: String },
    /// How B's libc differs from A's: symbols added and removed, each one's stubs (functions
    /// that link but can only fail) and the config.site lines B needs, header macros.
    Diff {
        a: String,
        b: String,
        #[arg(long)]
        json: bool,
    },
}

pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
