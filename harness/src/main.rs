use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;
use wasiprobe::provision::{self, Provisioned};
use wasiprobe::report::Report;
use wasiprobe::run::{self, Project, RunOptions, UsageError};
use wasiprobe::{build, exit};
use wasiprobe_runtimes::{inject, Injection, Limits};
use wasiprobe_util as util;

/// Conformance harness for WASI SDK / wasi-libc behaviour across Wasm runtimes.
#[derive(Parser)]
#[command(name = "wasiprobe", version, about)]
struct Cli {
    /// Project root holding sdk-matrix.toml and probes/.
    #[arg(long, global = true, default_value = ".")]
    root: PathBuf,
    /// The toolchain matrix (default: ROOT/sdk-matrix.toml).
    #[arg(long, global = true)]
    matrix: Option<PathBuf>,
    /// Cache for toolchains and built probes (default: $WASIPROBE_CACHE, ~/.cache/wasiprobe).
    #[arg(long, global = true)]
    cache: Option<PathBuf>,
    /// Use DIR for the SDK with this id: ID=DIR (repeatable).
    #[arg(long = "sdk-path", global = true, value_name = "ID=DIR")]
    sdk_paths: Vec<String>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
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
        #[arg(long)]
        locked: String,
        #[arg(long)]
        candidate: String,
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
    /// NAME.wasm and NAME.json) on our runtimes, in parallel. Exit 1 on any fail or xpass.
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
    },
}

#[derive(Subcommand)]
enum PythonCmd {
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
struct RunArgs {
    #[arg(long = "sdk", value_name = "ID")]
    sdks: Vec<String>,
    #[arg(long = "runtime", value_name = "NAME")]
    runtimes: Vec<String>,
    #[arg(long = "probe", value_name = "NAME")]
    probes: Vec<String>,
    #[arg(long = "check", value_name = "NAME")]
    checks: Vec<String>,
    /// Replace a Preview 1 function with a liar, FUNCTION:MODE (see `wasiprobe liars`).
    #[arg(long = "inject", value_name = "FUNC:MODE")]
    inject: Vec<Injection>,
    #[arg(long, default_value = "wasiprobe-out")]
    out: PathBuf,
    /// Keep each case's scratch directory (its path goes into the evidence).
    #[arg(long)]
    keep: bool,
    #[arg(long, default_value_t = default_jobs())]
    jobs: usize,
    /// Wall-clock limit per case, in milliseconds.
    #[arg(long, default_value_t = 20_000)]
    timeout_ms: u64,
    /// Linear-memory limit per case, in MiB.
    #[arg(long, default_value_t = 512)]
    memory_mib: u64,
    /// Do not fetch missing toolchains (zig wheels, Debian libcs, and as root Debian compilers)
    /// before the run.
    #[arg(long)]
    no_fetch: bool,
    /// Skip the native floor (probes built with the host's cc and run natively).
    #[arg(long)]
    no_native: bool,
    /// Diff the new report against this one; regressions make the exit status 1.
    #[arg(long, value_name = "REPORT.json")]
    baseline: Option<PathBuf>,
    /// Run only shard K of N (deterministic; `wasiprobe merge` reassembles them).
    #[arg(long, value_name = "K/N")]
    partition: Option<wasiprobe::plan::Partition>,
    /// Add the report to this history database and plot the history in report.html.
    #[arg(long, value_name = "DB")]
    history: Option<PathBuf>,
}

#[derive(Args)]
struct TestsuiteArgs {
    /// Suite directories (each holding manifest.json), e.g. tests/c/testsuite/wasm32-wasip1.
    #[arg(required = true, value_name = "DIR")]
    dirs: Vec<PathBuf>,
    /// Runtime to run on (repeatable; `all` for every one; default wasmtime).
    #[arg(long = "runtime", value_name = "NAME")]
    runtimes: Vec<String>,
    /// Expectation file (TOML: [[suite]] name, [[suite.test]] name, action = "skip" /
    /// expected = "fail"); repeatable. `--exclude-filter` is the reference runner's name.
    #[arg(
        long = "expectations",
        alias = "exclude-filter",
        value_name = "FILE.toml"
    )]
    expectations: Vec<PathBuf>,
    /// One JSON document with every test's outcome instead of the text report.
    #[arg(long)]
    json: bool,
    #[arg(long, default_value_t = default_jobs())]
    jobs: usize,
    /// Run only tests whose name contains SUBSTR.
    #[arg(long, value_name = "SUBSTR")]
    filter: Option<String>,
    /// Wall-clock limit per test, in milliseconds.
    #[arg(long, default_value_t = 20_000)]
    timeout_ms: u64,
    /// Require stdout/stderr to equal the expected text; the reference runner only checks that
    /// the output starts with it.
    #[arg(long)]
    exact_output: bool,
}

#[derive(Subcommand)]
enum HistoryCmd {
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
enum EntropyCmd {
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
enum SdkCmd {
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

fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn main() {
    // The crash-isolated runtime worker (`worker RUNTIME SPEC.json`, started by the runtime's
    // parent side): before logging and argument parsing, so nothing but the guest writes to
    // its stdout and stderr.
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().is_some_and(|a| a == "worker") {
        std::process::exit(worker(&args));
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("WASIPROBE_LOG")
                // wasmtime-wasi warns on every Preview 1 socket call; the p1_calls probe makes
                // them on purpose, and its verdicts already say what came back.
                .unwrap_or_else(|_| "info,wasmtime_wasi=error".into()),
        )
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .init();
    let cli = Cli::parse();
    let code = match real_main(cli) {
        Ok(code) => code,
        Err(e) => {
            // Usage mistakes, a malformed matrix and a broken environment all end here: the
            // message names the cause; the status separates them from findings (0/1).
            eprintln!("wasiprobe: error: {e:#}");
            exit::USAGE
        }
    };
    std::process::exit(code);
}

fn worker(args: &[String]) -> i32 {
    #[cfg(feature = "wamr")]
    if args.get(1).is_some_and(|r| r == "wamr") {
        return wasiprobe_runtimes::wamr_rt::worker_main(args);
    }
    #[cfg(feature = "wasmedge")]
    if args.get(1).is_some_and(|r| r == "wasmedge") {
        let flag = |f: &str| {
            args.iter()
                .position(|a| a == f)
                .and_then(|i| args.get(i + 1))
                .map(PathBuf::from)
        };
        return match (flag("--module"), flag("--spec"), flag("--status")) {
            (Some(m), Some(s), Some(st)) => {
                wasiprobe_runtimes::wasmedge_rt::worker_main(&m, &s, &st).unwrap_or_else(|e| {
                    eprintln!("wasiprobe worker wasmedge: {e:#}");
                    exit::USAGE
                })
            }
            _ => {
                eprintln!("wasiprobe worker wasmedge: needs --module, --spec and --status");
                exit::USAGE
            }
        };
    }
    eprintln!(
        "wasiprobe worker: no worker for '{}' in this build (wamr, with the `wamr` feature)",
        args.get(1).map_or("", String::as_str)
    );
    exit::USAGE
}

fn provision_options(cli: &Cli) -> Result<provision::Options> {
    let cache = cli.cache.clone().unwrap_or_else(util::default_cache_dir);
    let mut o = provision::Options::from_env(cache);
    let mut m = BTreeMap::new();
    for s in &cli.sdk_paths {
        let (id, dir) = s
            .split_once('=')
            .ok_or_else(|| UsageError(format!("--sdk-path '{s}' is not ID=DIR")))?;
        m.insert(id.to_string(), PathBuf::from(dir));
    }
    o.sdk_paths = m;
    Ok(o)
}

fn real_main(cli: Cli) -> Result<i32> {
    let popts = provision_options(&cli)?;
    match &cli.cmd {
        Cmd::Liars => {
            for (f, m, what) in inject::LIARS {
                println!("{f}:{m:<18} {what}");
            }
            return Ok(exit::OK);
        }
        Cmd::Entropy {
            cmd:
                EntropyCmd::Assess {
                    file,
                    format,
                    sequences,
                    json,
                },
        } => {
            return entropy_assess(file, format, *sequences, *json);
        }
        Cmd::Coverage { files, json } => return coverage(files, *json),
        Cmd::Testsuite(a) => return testsuite(a, &popts, &cli),
        Cmd::Evidence {
            report,
            locked,
            candidate,
            json,
            html,
        } => {
            let r = wasiprobe::report::load(report)?;
            let e = wasiprobe::render::evidence(&r, locked, candidate).map_err(UsageError)?;
            if let Some(path) = html {
                let page = wasiprobe_reports::evidence_html(&serde_json::to_value(&e)?)?;
                util::atomic_write(path, page.as_bytes())?;
            }
            if *json {
                println!("{}", serde_json::to_string_pretty(&e)?);
            } else {
                print!("{}", wasiprobe::render::evidence_markdown(&e));
            }
            return Ok(if e.breaking() > 0 {
                exit::FAILURES
            } else {
                exit::OK
            });
        }
        Cmd::Diff { old, new, json } => {
            let (a, b) = (wasiprobe::report::load(old)?, wasiprobe::report::load(new)?);
            let d = wasiprobe::render::diff(&a, &b);
            if *json {
                println!("{}", serde_json::to_string_pretty(&d)?);
            } else {
                print!("{}", wasiprobe::render::diff_text(&d));
            }
            return Ok(if d.regressions() > 0 {
                exit::FAILURES
            } else {
                exit::OK
            });
        }
        Cmd::Report { report, sdk, out } => {
            let r = wasiprobe::report::load(report)?;
            let f = wasiprobe::render::for_sdk(&r, sdk).map_err(UsageError)?;
            let md = wasiprobe::render::sdk_markdown(&f, sdk);
            match out {
                Some(dir) => {
                    write_formats(&f, &md, dir)?;
                    println!("report: {}", dir.join("report.md").display());
                }
                None => print!("{md}"),
            }
            return Ok(if f.has_failures() {
                exit::FAILURES
            } else {
                exit::OK
            });
        }
        Cmd::Compare {
            report,
            reference,
            json,
        } => {
            let r = wasiprobe::report::load(report)?;
            let c = wasiprobe::render::compare_runtimes(&r, reference).map_err(UsageError)?;
            if *json {
                println!("{}", serde_json::to_string_pretty(&c)?);
            } else {
                print!("{}", wasiprobe::render::comparison_markdown(&c));
            }
            return Ok(if c.differences.is_empty() {
                exit::OK
            } else {
                exit::FAILURES
            });
        }
        Cmd::Merge { shards, out } => {
            let paths: Vec<&std::path::Path> = shards.iter().map(|p| p.as_path()).collect();
            let r = wasiprobe::shard::merge(&paths)?;
            write_formats(&r, &wasiprobe::render::markdown(&r), out)?;
            for (id, p) in &r.python {
                if let Some(f) = &p.footprint {
                    wasiprobe::python::footprint::write_strip_plan(&f.strip_plan, out, id)?;
                }
            }
            print!("{}", wasiprobe::report::table(&r));
            println!("report: {}", out.join("report.json").display());
            return Ok(if r.has_failures() {
                exit::FAILURES
            } else {
                exit::OK
            });
        }
        Cmd::History {
            cmd: HistoryCmd::Add { report, db },
        } => {
            let r = wasiprobe::report::load(report)?;
            let mut h = wasiprobe_reports::History::open(db)?;
            let id = h.add(&r)?;
            println!("{}: run {id}", db.display());
            return Ok(exit::OK);
        }
        Cmd::History {
            cmd: HistoryCmd::Show { db, json },
        } => {
            let runs = wasiprobe_reports::History::open(db)?.runs()?;
            if *json {
                println!("{}", serde_json::to_string_pretty(&runs)?);
            } else {
                for r in &runs {
                    let counts: Vec<String> =
                        r.counts.iter().map(|(k, v)| format!("{v} {k}")).collect();
                    println!("{:>4}  {}  {}", r.id, r.started_at, counts.join(", "));
                }
            }
            return Ok(exit::OK);
        }
        Cmd::Dashboard {
            report,
            history,
            out,
        } => {
            let r = wasiprobe::report::load(report)?;
            let runs = match history {
                Some(db) => wasiprobe_reports::History::open(db)?.runs()?,
                None => vec![],
            };
            let page = wasiprobe_reports::dashboard_html(&r, &runs)?;
            util::atomic_write(out, page.as_bytes())?;
            println!("dashboard: {}", out.display());
            return Ok(exit::OK);
        }
        _ => {}
    }
    let project = Project::load(&cli.root, cli.matrix.as_deref())?;
    match cli.cmd {
        Cmd::Liars
        | Cmd::Entropy { .. }
        | Cmd::Coverage { .. }
        | Cmd::Diff { .. }
        | Cmd::Evidence { .. }
        | Cmd::Report { .. }
        | Cmd::Compare { .. }
        | Cmd::Merge { .. }
        | Cmd::History { .. }
        | Cmd::Dashboard { .. }
        | Cmd::Testsuite(_) => {
            unreachable!()
        }
        Cmd::Run(a) => {
            // Read the baseline first: a bad one is a usage error before anything runs.
            let baseline = a
                .baseline
                .as_deref()
                .map(wasiprobe::report::load)
                .transpose()?;
            let opts = RunOptions {
                sdks: a.sdks,
                runtimes: a.runtimes,
                probes: a.probes,
                checks: a.checks,
                inject: a.inject,
                out: a.out,
                keep: a.keep,
                jobs: a.jobs,
                limits: Limits {
                    wall: Duration::from_millis(a.timeout_ms),
                    memory_bytes: a.memory_mib << 20,
                    ..Limits::default()
                },
                provision: popts,
                fetch: !a.no_fetch,
                scratch_root: None,
                native: !a.no_native,
                partition: a.partition,
                worker_exe: None,
            };
            // Open the history first: a corrupt database is a usage error before anything runs.
            let mut history = a
                .history
                .as_deref()
                .map(wasiprobe_reports::History::open)
                .transpose()?;
            let report = run::execute(&project, &opts)?;
            if let Some(h) = history.as_mut() {
                h.add(&report)?;
                wasiprobe_reports::reporter::write_all(
                    &report,
                    &opts.out,
                    &[Box::new(wasiprobe_reports::reporter::Html {
                        history: h.runs()?,
                    })],
                )?;
            }
            print!("{}", wasiprobe::report::table(&report));
            println!(
                "probes: {} compiled, {} from cache, {} failed to compile",
                report.build.compiled, report.build.cached, report.build.failed
            );
            println!("report: {}", opts.out.join("report.json").display());
            let ready = report.sdks.iter().filter(|s| s.is_ready()).count()
                + report
                    .python
                    .values()
                    .filter(|p| p.provisioned.is_ready())
                    .count();
            let missing: Vec<&str> = report
                .sdks
                .iter()
                .filter(|s| !s.is_ready() && opts.sdks.contains(&s.spec.id))
                .map(|s| s.spec.id.as_str())
                .collect();
            if ready == 0 {
                eprintln!("wasiprobe: error: no selected SDK is available; nothing was run (see `wasiprobe sdk list`)");
                return Ok(exit::USAGE);
            }
            let regressions = match &baseline {
                Some(base) => {
                    let d = wasiprobe::render::diff(base, &report);
                    println!(
                        "against the baseline:\n{}",
                        wasiprobe::render::diff_text(&d)
                    );
                    d.regressions()
                }
                None => 0,
            };
            if !missing.is_empty() {
                eprintln!(
                    "wasiprobe: error: requested SDK unavailable: {} (see `wasiprobe sdk list`)",
                    missing.join(", ")
                );
                return Ok(exit::USAGE);
            }
            Ok(if report.has_failures() || regressions > 0 {
                exit::FAILURES
            } else {
                exit::OK
            })
        }
        Cmd::Sdk { cmd } => sdk_cmd(&project, &popts, cmd),
        Cmd::Python {
            cmd:
                PythonCmd::Footprint {
                    entry,
                    python,
                    out,
                    json,
                },
        } => python_footprint(&project, popts, &entry, &python, &out, json),
        Cmd::Python {
            cmd: PythonCmd::Ext { sdks, json },
        } => wasiprobe::python::extension::cli(&project, popts, &sdks, json),
        Cmd::Bench {
            entropy: true,
            iterations,
            ..
        } => bench_entropy(iterations),
        Cmd::Bench {
            sdk, iterations, ..
        } => bench(&project, popts, sdk, iterations),
    }
}

fn testsuite(a: &TestsuiteArgs, popts: &provision::Options, cli: &Cli) -> Result<i32> {
    // The matrix's CLI runtimes can run suites too; without a matrix there are only the
    // built-in runtimes, but a matrix that is there must be valid.
    let has_matrix = cli.matrix.is_some() || cli.root.join("sdk-matrix.toml").exists();
    let configured = if has_matrix {
        run::load_matrix(&cli.root, cli.matrix.as_deref())?.runtimes
    } else {
        Vec::new()
    };
    let opts = wasiprobe::testsuite::Options {
        configured,
        dirs: a.dirs.clone(),
        runtimes: a.runtimes.clone(),
        expectations: a.expectations.clone(),
        jobs: a.jobs,
        filter: a.filter.clone(),
        limits: Limits {
            wall: Duration::from_millis(a.timeout_ms),
            ..Limits::default()
        },
        exact_output: a.exact_output,
        host: wasiprobe_runtimes::HostEnv {
            cache: popts.cache.clone(),
            worker_exe: std::env::current_exe()
                .ok()
                .filter(|p| p.file_stem().is_some_and(|s| s == "wasiprobe")),
        },
    };
    let r = wasiprobe::testsuite::execute(&opts)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        print!("{}", r.text());
    }
    Ok(if r.has_failures() {
        exit::FAILURES
    } else {
        exit::OK
    })
}

/// report.json, report.md (given), report.html and junit.xml into `dir`, each atomically.
fn write_formats(r: &Report, md: &str, dir: &std::path::Path) -> Result<()> {
    use wasiprobe_reports::reporter::{self, Html, Json, Junit, Markdown, Reporter};
    let formats: Vec<Box<dyn Reporter>> = vec![
        Box::new(Json),
        Box::new(Markdown {
            body: Some(md.to_string()),
        }),
        Box::new(Junit),
        Box::new(Html { history: vec![] }),
    ];
    reporter::write_all(r, dir, &formats)
}

fn selected<'a>(
    project: &'a Project,
    ids: &[String],
) -> Result<Vec<&'a wasiprobe::matrix::SdkSpec>> {
    for id in ids {
        if project.matrix.get(id).is_none() {
            return Err(run::unknown("sdk", id, &project.matrix.ids()));
        }
    }
    Ok(project
        .matrix
        .sdks
        .iter()
        .filter(|s| ids.is_empty() || ids.contains(&s.id))
        .collect())
}

fn print_sdks(list: &[Provisioned]) {
    let specs: Vec<wasiprobe::matrix::SdkSpec> = list.iter().map(|p| p.spec.clone()).collect();
    for p in list {
        let status = if p.is_ready() { "ready" } else { "unavailable" };
        println!(
            "{:<18} {:<9} {:<11} {}",
            p.spec.id,
            serde_json::to_value(p.spec.kind)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default(),
            status,
            p.identity.compiler.as_deref().unwrap_or("")
        );
        if let Some(r) = &p.reason {
            println!("{:<18} {r}", "");
        } else {
            println!(
                "{:<18} libc fingerprint {} ({}; matrix says wasi-libc {})",
                "",
                p.identity.libc_fingerprint.as_deref().unwrap_or("?"),
                p.identity.package.as_deref().unwrap_or("no package"),
                p.spec.wasi_libc.as_deref().unwrap_or("?")
            );
        }
        if let Some(line) = provision::provenance_line(&p.spec, &specs) {
            println!("{:<18} {line}", "");
        }
    }
}

fn sdk_cmd(project: &Project, popts: &provision::Options, cmd: SdkCmd) -> Result<i32> {
    match cmd {
        SdkCmd::List { json } => {
            let list: Vec<Provisioned> = project
                .matrix
                .sdks
                .iter()
                .map(|s| provision::locate(s, popts))
                .collect();
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                print_sdks(&list);
            }
            Ok(exit::OK)
        }
        SdkCmd::Fetch { ids } => {
            // `[[runtime]]` and `[[python]]` ids are accepted too: their packages are installed.
            let (rt_ids, rest): (Vec<String>, Vec<String>) = ids
                .iter()
                .cloned()
                .partition(|i| project.matrix.runtime(i).is_some());
            let (py_ids, sdk_ids): (Vec<String>, Vec<String>) = rest
                .into_iter()
                .partition(|id| project.matrix.python(id).is_some());
            let sdks = if !sdk_ids.is_empty() || ids.is_empty() {
                selected(project, &sdk_ids)?
            } else {
                vec![]
            };
            let list: Vec<Provisioned> = sdks
                .into_iter()
                .map(|s| provision::fetch(s, popts))
                .collect();
            print_sdks(&list);
            let mut named_missing = list
                .iter()
                .any(|p| !p.is_ready() && ids.contains(&p.spec.id));
            for r in project
                .matrix
                .runtimes
                .iter()
                .filter(|r| r.pypi.is_some() && (ids.is_empty() || rt_ids.contains(&r.name)))
            {
                let pkg = r.pypi.as_deref().unwrap_or_default();
                match wasiprobe::runtime_fetch::fetch_runtime(r, popts) {
                    Ok(()) => println!("{:<18} runtime   ready       {pkg}", r.name),
                    Err(e) => {
                        println!(
                            "{:<18} runtime   unavailable {pkg}\n{:<18} {e:#}",
                            r.name, ""
                        );
                        named_missing |= rt_ids.contains(&r.name);
                    }
                }
            }
            for spec in project
                .matrix
                .pythons
                .iter()
                .filter(|p| py_ids.contains(&p.id) || (ids.is_empty()))
            {
                let p = wasiprobe::python::fetch(spec, popts);
                println!(
                    "{:<22} {:<11} python {} {}",
                    spec.id,
                    p.status,
                    spec.version,
                    p.reason.clone().unwrap_or_else(|| format!(
                        "{} ({} bytes, sha256 {})",
                        p.wasm
                            .as_deref()
                            .map(|w| w.display().to_string())
                            .unwrap_or_default(),
                        p.wasm_bytes,
                        p.sha256.as_deref().unwrap_or("?")
                    ))
                );
                named_missing |= !p.is_ready() && ids.contains(&spec.id);
            }
            // The C-extension probe's CPython headers (root only; otherwise its cells say why).
            for spec in project
                .matrix
                .python_headers
                .iter()
                .filter(|_| ids.is_empty())
            {
                match wasiprobe::python::extension::fetch_headers(spec, &popts.cache) {
                    Ok(dir) => println!(
                        "{:<22} ready       CPython {} headers in {}",
                        "python-headers",
                        spec.version,
                        dir.display()
                    ),
                    Err(e) => println!(
                        "{:<22} unavailable CPython {} headers: {e}",
                        "python-headers", spec.version
                    ),
                }
            }
            Ok(if named_missing { exit::USAGE } else { exit::OK })
        }
        SdkCmd::Doctor { ids } => {
            let mut bad = 0;
            let rt = wasiprobe_runtimes::WasmtimeRuntime::new()?;
            let dir = tempfile::tempdir()?;
            std::fs::create_dir_all(dir.path().join("c"))?;
            std::fs::write(
                dir.path().join("c/doctor.c"),
                "#include <stdio.h>\nint main(void){puts(\"doctor-ok\");return 0;}\n",
            )?;
            let probe = build::Probe {
                name: "doctor".into(),
                source: dir.path().join("c/doctor.c"),
                requires: vec![],
            };
            let cache = build::Cache::new(popts.cache.join("build"));
            for s in selected(project, &ids)? {
                let p = provision::locate(s, popts);
                if !p.is_ready() {
                    println!("{:<18} unavailable: {}", s.id, p.reason.unwrap_or_default());
                    continue;
                }
                let verdict = match cache.build(&p, &probe)? {
                    build::Built::CompileError { stderr, .. } => {
                        format!("compile error: {}", stderr.trim())
                    }
                    build::Built::Ok { wasm, .. } => {
                        use wasiprobe_runtimes::Runtime;
                        let o = rt.run(&wasm, &Default::default())?;
                        if o.stdout == b"doctor-ok\n" {
                            "ok: compiles, links and runs on wasmtime".to_string()
                        } else {
                            format!(
                                "ran but printed {:?} ({:?})",
                                String::from_utf8_lossy(&o.stdout),
                                o.termination
                            )
                        }
                    }
                };
                if !verdict.starts_with("ok") {
                    bad += 1;
                }
                println!("{:<18} {verdict}", s.id);
            }
            Ok(if bad > 0 { exit::FAILURES } else { exit::OK })
        }
        SdkCmd::Env { id } => {
            selected(project, std::slice::from_ref(&id))?;
            let p = provision::locate(project.matrix.get(&id).unwrap(), popts);
            match provision::sdk_path(&p, popts) {
                Some(dir) => {
                    println!("WASI_SDK_PATH={}", dir.display());
                    Ok(exit::OK)
                }
                None => Err(UsageError(format!(
                    "sdk {id} has no WASI SDK directory: {}",
                    p.reason.as_deref().unwrap_or(
                        "it is not an official wasi-sdk or a deb-libc entry (zig, Debian's system clang and `path` toolchains are not laid out as an SDK)"
                    )
                ))
                .into()),
            }
        }
        SdkCmd::Diff { a, b, json } => {
            selected(project, &[a.clone(), b.clone()])?;
            let mut sides = Vec::new();
            for id in [&a, &b] {
                let p = provision::locate(project.matrix.get(id).unwrap(), popts);
                if !p.is_ready() {
                    let why = p.reason.unwrap_or_default();
                    return Err(UsageError(format!("sdk {id} is unavailable: {why}")).into());
                }
                sides.push((
                    wasiprobe::symbols::libc_symbols(&p)?,
                    wasiprobe::libc::facts(&p),
                ));
            }
            let d = wasiprobe::symbols::diff(&sides[0].0, &sides[1].0);
            let l = wasiprobe_reports::libcdiff::diff(&sides[0].1, &sides[1].1);
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&serde_json::json!({ "symbols": d, "libc": l }))?
                );
            } else {
                print!("{}", wasiprobe::symbols::diff_text(&d));
                println!();
                for (id, (_, f)) in [&a, &b].iter().zip(&sides) {
                    print!("{}", wasiprobe_reports::libcdiff::stubs_text(id, f));
                }
                println!();
                print!("{}", wasiprobe_reports::libcdiff::diff_text(&a, &b, &l));
            }
            Ok(exit::OK)
        }
    }
}

fn bench(
    project: &Project,
    popts: provision::Options,
    sdk: Option<String>,
    iterations: usize,
) -> Result<i32> {
    let specs = selected(project, &sdk.into_iter().collect::<Vec<_>>())?;
    let ready = specs
        .iter()
        .map(|s| provision::locate(s, &popts))
        .find(|p| p.is_ready())
        .context("no ready SDK to build the bench probe with (run `wasiprobe sdk fetch`)")?;
    let check = wasiprobe::checks::args_env::ArgsEnv;
    let probe = project
        .probes
        .iter()
        .find(|p| p.name == "args_env")
        .context("probes/c/args_env.c missing")?;
    let cache = build::Cache::new(popts.cache.join("build"));
    let wasm = match cache.build(&ready, probe)? {
        build::Built::Ok { wasm, .. } => wasm,
        build::Built::CompileError { stderr, .. } => {
            anyhow::bail!("bench probe does not compile: {stderr}")
        }
    };
    // A second build of the unchanged tree must be a cache hit.
    let before = cache
        .stats
        .compiled
        .load(std::sync::atomic::Ordering::Relaxed);
    cache.build(&ready, probe)?;
    let recompiles = cache
        .stats
        .compiled
        .load(std::sync::atomic::Ordering::Relaxed)
        - before;
    let opts = RunOptions {
        fetch: false,
        ..RunOptions::new(popts)
    };
    let f = wasiprobe::bench::measure(&check, &wasm, &opts, iterations)?;
    let (fm, hm) = (
        wasiprobe::bench::median(&f.floor),
        wasiprobe::bench::median(&f.harness),
    );
    println!(
        "sdk {} probe args_env, {iterations} iterations",
        ready.spec.id
    );
    println!(
        "floor (wasmtime API, cached module): median {:.3} ms",
        fm.as_secs_f64() * 1e3
    );
    println!(
        "harness cell (scratch dir, limits, run, parse, judge): median {:.3} ms",
        hm.as_secs_f64() * 1e3
    );
    println!(
        "overhead per cell: {:.3} ms",
        (hm.as_secs_f64() - fm.as_secs_f64()) * 1e3
    );
    println!("recompiles of an unchanged tree: {recompiles}");
    Ok(exit::OK)
}

fn entropy_assess(
    file: &std::path::Path,
    format: &str,
    sequences: usize,
    json: bool,
) -> Result<i32> {
    let raw = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let bytes = if format == "ascii01" {
        let bits = wasiprobe_stats::sp800_22::bits_from_ascii01(&String::from_utf8_lossy(&raw))
            .map_err(|e| UsageError(format!("{}: {e}", file.display())))?;
        bits.chunks(8)
            .map(|c| c.iter().fold(0u8, |a, &b| a << 1 | b) << (8 - c.len()))
            .collect()
    } else {
        raw
    };
    let battery = wasiprobe::checks::entropy::sp800_22::assess(&bytes, sequences);
    let n = bytes
        .len()
        .min(wasiprobe::checks::entropy::min_entropy::SAMPLE_BYTES);
    let h =
        wasiprobe_stats::sp800_90b::assess_bytes(&bytes[..n]).map_err(|e| anyhow::anyhow!(e))?;
    let passed = battery["passed"] == true
        && h.min_entropy >= wasiprobe::checks::entropy::min_entropy::MIN_BITS_PER_BYTE;
    let v = serde_json::json!({ "file": file, "bytes": bytes.len(), "sp800_22": battery, "sp800_90b": h, "passed": passed });
    if json {
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!("{}: {} bytes", file.display(), bytes.len());
        println!(
            "SP 800-22: {} sequences, {} of {} slots fail (≤ {} allowed at tail {}), gross {} → {}",
            battery["sequences"],
            battery["failed_slots"],
            battery["slots"],
            battery["allowed_failed_slots"],
            battery["tail"],
            battery["gross_failures"],
            if battery["passed"] == true {
                "pass"
            } else {
                "FAIL"
            }
        );
        println!(
            "SP 800-90B: min-entropy {:.3} bits/byte over {n} bytes (threshold {})",
            h.min_entropy,
            wasiprobe::checks::entropy::min_entropy::MIN_BITS_PER_BYTE
        );
    }
    Ok(if passed { exit::OK } else { exit::FAILURES })
}

fn coverage(files: &[PathBuf], json: bool) -> Result<i32> {
    let mut all = Vec::new();
    let mut bad = false;
    for f in files {
        let bytes = std::fs::read(f).with_context(|| format!("reading {}", f.display()))?;
        let r = wasiprobe_coverage::analyze(&bytes)
            .map_err(|e| anyhow::anyhow!("{}: {e}", f.display()))?;
        bad |= !r.runnable_on_plain_wasi;
        if !json {
            println!(
                "== {}\n{}",
                f.display(),
                wasiprobe_coverage::render_text(&r)
            );
        }
        all.push(serde_json::json!({ "file": f, "report": r }));
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&all)?);
    }
    Ok(if bad { exit::FAILURES } else { exit::OK })
}

fn bench_entropy(iterations: usize) -> Result<i32> {
    use rand_chacha::rand_core::{RngCore, SeedableRng};
    let mut bytes = vec![0u8; 12_500_000];
    rand_chacha::ChaCha20Rng::seed_from_u64(7).fill_bytes(&mut bytes);
    let mut times = Vec::new();
    for _ in 0..iterations.clamp(1, 20) {
        let t = std::time::Instant::now();
        let v = wasiprobe::checks::entropy::sp800_22::assess(&bytes, 100);
        times.push(t.elapsed());
        anyhow::ensure!(
            v["passed"] == true,
            "the ChaCha20 control failed the battery: {v}"
        );
    }
    println!(
        "SP 800-22, all 15 tests + second level, 100 × 10^6 bits, {} threads: median {:.2} s over {} runs",
        rayon::current_num_threads(),
        wasiprobe::bench::median(&times).as_secs_f64(),
        times.len()
    );
    Ok(exit::OK)
}

fn python_footprint(
    project: &Project,
    popts: provision::Options,
    entry: &str,
    ids: &[String],
    out: &std::path::Path,
    json: bool,
) -> Result<i32> {
    for id in ids {
        if project.matrix.python(id).is_none() {
            return Err(run::unknown("python", id, &project.matrix.python_ids()));
        }
    }
    std::fs::create_dir_all(out)?;
    let opts = RunOptions {
        out: out.to_owned(),
        ..RunOptions::new(popts)
    };
    let rt = wasiprobe_runtimes::WasmtimeRuntime::with_code_cache(
        opts.provision.cache.join("wasmtime-code"),
    )?;
    let mut bad = false;
    for spec in project
        .matrix
        .pythons
        .iter()
        .filter(|p| ids.is_empty() || ids.contains(&p.id))
    {
        let py = wasiprobe::python::fetch(spec, &opts.provision);
        if !py.is_ready() {
            eprintln!(
                "wasiprobe: python {}: {}: {}",
                spec.id,
                py.status,
                py.reason.as_deref().unwrap_or("?")
            );
            bad = true;
            continue;
        }
        let c = wasiprobe::python::census::census(&project.root, &py, &rt, &opts)?;
        let closure = wasiprobe::python::closure(&project.root, &py, &rt, entry, &c, &opts)?;
        let f = wasiprobe::python::footprint::footprint(&c, Some(closure));
        wasiprobe::python::footprint::write_strip_plan(&f.strip_plan, out, &spec.id)?;
        if json {
            println!("{}", serde_json::to_string_pretty(&f)?);
        } else {
            print!(
                "{}",
                wasiprobe::render::python_footprint_md(&spec.id, &c, &f)
            );
        }
        eprintln!(
            "strip plan: {}",
            out.join(format!("strip-plan-{}.txt", spec.id)).display()
        );
    }
    Ok(if bad { exit::USAGE } else { exit::OK })
}
