//! Orchestration: matrix → provision → build → run → check → report.

use crate::build::{self, Built, Cache, Probe};
use crate::checks::{self, Case, Check, Observed};
use crate::matrix::{Kind, Matrix};
use crate::provision::{self, Provisioned};
use crate::report::{self, BuildSummary, Cell, HostInfo, Report, RuntimeInfo, Verdict};
use anyhow::{Context, Result};
use rayon::prelude::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use wasiprobe_runtimes::{
    Capabilities, CliSpec, HostEnv, Injection, Limits, Outcome, Preopen, RunSpec, Runtime,
    Termination, Unavailable,
};

pub use wasiprobe_checks::protocol::{SCRATCH_DIR, SCRATCH_GUEST};

/// A mistake in what the user asked for (exit 2), as opposed to a finding.
#[derive(Debug)]
pub struct UsageError(pub String);
impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for UsageError {}

/// Every runtime wasiprobe knows. Those behind a cargo feature that is off are still listed:
/// asking for one gives an `unavailable` row saying which feature to build with.
pub const RUNTIMES: &[&str] = &["wasmtime", "wasmer", "wasmi", "wamr", "node", "wasmedge"];

/// `--runtime all`: every runtime in [`RUNTIMES`].
pub const ALL_RUNTIMES: &str = "all";

/// Names a `[[runtime]]` may not take: the built-in runtimes and `all`.
pub fn reserved_runtime_names() -> Vec<&'static str> {
    RUNTIMES.iter().copied().chain([ALL_RUNTIMES]).collect()
}

/// The runtimes a run asks for, expanded and validated (unknown names are usage errors). Besides
/// [`RUNTIMES`], the `[[runtime]]` entries of the project's matrix are runtimes by their name.
pub fn select_runtimes(asked: &[String], configured: &[CliSpec]) -> Result<Vec<String>> {
    if asked.is_empty() {
        return Ok(vec!["wasmtime".into()]);
    }
    let known: Vec<&str> = RUNTIMES
        .iter()
        .copied()
        .chain(configured.iter().map(|c| c.name.as_str()))
        .collect();
    let mut out: Vec<String> = Vec::new();
    for r in asked {
        if r == ALL_RUNTIMES {
            out.extend(known.iter().map(|s| s.to_string()));
        } else if known.contains(&r.as_str()) {
            out.push(r.clone());
        } else {
            let mut valid = known.clone();
            valid.push(ALL_RUNTIMES);
            return Err(unknown("runtime", r, &valid));
        }
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|r| seen.insert(r.clone()));
    Ok(out)
}

/// What the runtimes need from the machine: the tool's cache, and the executable that hosts
/// crash-isolated workers (`wasiprobe worker`).
pub fn host_env(opts: &RunOptions) -> HostEnv {
    HostEnv {
        cache: opts.provision.cache.clone(),
        worker_exe: opts.worker_exe.clone().or_else(|| {
            std::env::current_exe()
                .ok()
                .filter(|p| p.file_stem().is_some_and(|s| s == "wasiprobe"))
        }),
    }
}

#[allow(dead_code)]
fn not_built(feature: &str) -> anyhow::Error {
    Unavailable(format!(
        "this wasiprobe was built without the `{feature}` feature \
         (cargo build --release --features {feature})"
    ))
    .into()
}

/// Builds the named runtime. An [`Unavailable`] error means it cannot run on this machine (the
/// report says why in its row); any other error is the harness's own failure.
/// `configured`: the `[[runtime]]` entries of the project's matrix.
pub fn make_runtime(name: &str, env: &HostEnv, configured: &[CliSpec]) -> Result<Box<dyn Runtime>> {
    match name {
        "wasmtime" => Ok(Box::new(
            wasiprobe_runtimes::WasmtimeRuntime::with_code_cache(env.cache.join("wasmtime-code"))?,
        )),
        "node" => Ok(Box::new(wasiprobe_runtimes::NodeRuntime::new(env)?)),
        #[cfg(feature = "wasmi")]
        "wasmi" => Ok(Box::new(wasiprobe_runtimes::WasmiRuntime::new()?)),
        #[cfg(feature = "wamr")]
        "wamr" => Ok(Box::new(wasiprobe_runtimes::WamrRuntime::new(env)?)),
        #[cfg(not(feature = "wasmi"))]
        "wasmi" => Err(not_built(name)),
        #[cfg(not(feature = "wamr"))]
        "wamr" => Err(not_built(name)),
        #[cfg(feature = "wasmer")]
        "wasmer" => Ok(Box::new(wasiprobe_runtimes::WasmerRuntime::new()?)),
        #[cfg(not(feature = "wasmer"))]
        "wasmer" => Err(not_built(name)),
        #[cfg(feature = "wasmedge")]
        "wasmedge" => Ok(Box::new(
            wasiprobe_runtimes::wasmedge_rt::WasmEdgeRuntime::new(env)?,
        )),
        #[cfg(not(feature = "wasmedge"))]
        "wasmedge" => Err(wasmedge_unavailable()),
        _ => match configured.iter().find(|c| c.name == name) {
            Some(c) => Ok(Box::new(wasiprobe_runtimes::CliRuntime::new(
                c.clone(),
                env,
            )?)),
            None => {
                let mut valid = RUNTIMES.to_vec();
                valid.extend(configured.iter().map(|c| c.name.as_str()));
                Err(unknown("runtime", name, &valid))
            }
        },
    }
}

/// Why the embedded WasmEdge cannot run here.
#[cfg(not(feature = "wasmedge"))]
fn wasmedge_unavailable() -> anyhow::Error {
    Unavailable(
        "this wasiprobe was built without the `wasmedge` feature, which needs the native \
         libwasmedge, not obtainable from the package registries reachable here; a `wasmedge` \
         CLI on PATH can be run as a `[[runtime]] kind = \"command\"` (see sdk-matrix.toml)"
            .into(),
    )
    .into()
}

/// Why `caps` cannot run `case` as asked, if it cannot: the cell is then `skip`, not `fail`.
pub fn cannot_run(caps: &Capabilities, case: &Case, opts: &RunOptions) -> Option<String> {
    if !caps.preopen_mapping {
        return Some(format!(
            "the runtime cannot preopen a directory as {SCRATCH_GUEST}"
        ));
    }
    if !case.stdin.is_empty() && !caps.stdin {
        return Some("the case feeds stdin and the runtime cannot".into());
    }
    for inj in &opts.inject {
        if inj.is_worker_fault() {
            if caps.isolation != "worker-process" {
                return Some(format!(
                    "{inj} is a fault of a worker process and the runtime runs {}",
                    caps.isolation
                ));
            }
        } else if !caps.fault_injection {
            return Some(format!(
                "fault injection ({inj}) was asked for and the runtime cannot inject faults"
            ));
        }
    }
    None
}

pub struct Project {
    pub root: PathBuf,
    pub matrix: Matrix,
    pub probes: Vec<Probe>,
}

/// The project's matrix: `matrix`, else `ROOT/sdk-matrix.toml`; its CLI runtimes resolve their
/// adapters relative to `root`.
pub fn load_matrix(root: &Path, matrix: Option<&Path>) -> Result<Matrix> {
    let mpath = matrix
        .map(Path::to_path_buf)
        .unwrap_or_else(|| root.join("sdk-matrix.toml"));
    let mut matrix = Matrix::load(&mpath, &reserved_runtime_names())?;
    for r in &mut matrix.runtimes {
        r.root = root.to_owned();
    }
    Ok(matrix)
}

impl Project {
    pub fn load(root: &Path, matrix: Option<&Path>) -> Result<Project> {
        let matrix = load_matrix(root, matrix)?;
        let probes = build::discover(&root.join("probes"))
            .with_context(|| format!("{} has no probes/ (use --root)", root.display()))?;
        Ok(Project {
            root: root.to_owned(),
            matrix,
            probes,
        })
    }
}

#[derive(Debug, Clone)]
pub struct RunOptions {
    pub sdks: Vec<String>,
    pub runtimes: Vec<String>,
    pub probes: Vec<String>,
    pub checks: Vec<String>,
    pub inject: Vec<Injection>,
    pub out: PathBuf,
    pub keep: bool,
    pub jobs: usize,
    pub limits: Limits,
    pub provision: provision::Options,
    /// Fetch what is missing before the run: zig wheels and Debian libc packages into the cache
    /// (no root needed), and, when running as root, the Debian compilers with apt.
    pub fetch: bool,
    pub scratch_root: Option<PathBuf>,
    /// Also build the probes in `NATIVE_PROBES` with the host's `cc` and run them natively:
    /// the floor a reader compares every runtime against (sdk and runtime "native").
    pub native: bool,
    /// Run only this deterministic share of the cells (`merge` reassembles the shards).
    pub partition: Option<crate::shard::Partition>,
    /// The executable that hosts crash-isolated runtime workers; by default this one, when it
    /// is `wasiprobe`.
    pub worker_exe: Option<PathBuf>,
}

impl RunOptions {
    /// Everything selected, no liars, default limits, one job, toolchains fetched when
    /// missing: what the subcommands that run one thing and the tests start from.
    pub fn new(provision: provision::Options) -> Self {
        RunOptions {
            sdks: vec![],
            runtimes: vec![],
            probes: vec![],
            checks: vec![],
            inject: vec![],
            out: PathBuf::new(),
            keep: false,
            jobs: 1,
            limits: Limits::default(),
            provision,
            fetch: true,
            scratch_root: None,
            native: false,
            partition: None,
            worker_exe: None,
        }
    }
}

/// The pseudo-probe that selects the dark-features census (`probes/dark/`).
pub const DARK: &str = "dark";

/// Whether this run takes the dark-features census: when nothing narrows the selection, or
/// `--probe dark` asks for it.
fn wants_dark(opts: &RunOptions) -> bool {
    opts.checks.is_empty()
        && (opts.probes.is_empty() || opts.probes.iter().any(|p| p == DARK))
        && opts.partition.is_none_or(|p| p.owns(DARK, DARK, DARK))
}

/// Probes with a native stand-in for `<wasi/api.h>` in `probes/c/native/`.
pub const NATIVE_PROBES: &[&str] = &["clocks"];

/// The usage error for a name that is not one of `valid`, listing them.
pub fn unknown(what: &str, name: &str, valid: &[&str]) -> anyhow::Error {
    UsageError(format!(
        "unknown {what} '{name}'; valid: {}",
        valid.join(", ")
    ))
    .into()
}

/// Selected checks, after validating `--probe` and `--check` names.
pub fn select_checks(project: &Project, opts: &RunOptions) -> Result<Vec<Box<dyn Check>>> {
    let all = checks::all();
    let check_names: Vec<&str> = all.iter().map(|c| c.name()).collect();
    let mut probe_names: Vec<&str> = project.probes.iter().map(|p| p.name.as_str()).collect();
    probe_names.push(DARK);
    probe_names.extend(crate::python::probe_names());
    for c in &opts.checks {
        if !check_names.contains(&c.as_str()) {
            return Err(unknown("check", c, &check_names));
        }
    }
    for p in &opts.probes {
        if !probe_names.contains(&p.as_str()) {
            return Err(unknown("probe", p, &probe_names));
        }
    }
    Ok(all
        .into_iter()
        .filter(|c| opts.checks.is_empty() || opts.checks.iter().any(|n| n == c.name()))
        .filter(|c| opts.probes.is_empty() || opts.probes.iter().any(|n| n == c.probe()))
        .collect())
}

pub fn select_sdks(project: &Project, opts: &RunOptions) -> Result<Vec<crate::matrix::SdkSpec>> {
    for s in &opts.sdks {
        if project.matrix.get(s).is_none() && project.matrix.python(s).is_none() {
            let mut valid = project.matrix.ids();
            valid.extend(project.matrix.python_ids());
            return Err(unknown("sdk", s, &valid));
        }
    }
    Ok(project
        .matrix
        .sdks
        .iter()
        .filter(|s| opts.sdks.is_empty() || opts.sdks.contains(&s.id))
        .cloned()
        .collect())
}

pub fn provision_all(specs: &[crate::matrix::SdkSpec], opts: &RunOptions) -> Vec<Provisioned> {
    specs
        .par_iter()
        .map(|s| {
            let fetchable = match s.kind {
                Kind::Zig | Kind::DebLibc => true,
                Kind::Debian => provision::is_root(),
                Kind::WasiSdk | Kind::Path => false,
            };
            if opts.fetch && fetchable {
                provision::fetch(s, &opts.provision)
            } else {
                provision::locate(s, &opts.provision)
            }
        })
        .collect()
}

/// One probe run on one sdk × runtime, judged by every check that asks for the same case.
struct Job<'a> {
    sdk: &'a Provisioned,
    runtime: usize,
    checks: Vec<&'a dyn Check>,
    built: Result<PathBuf, Value>,
}

pub fn execute(project: &Project, opts: &RunOptions) -> Result<Report> {
    let checks = select_checks(project, opts)?;
    let specs = select_sdks(project, opts)?;
    let runtime_names = select_runtimes(&opts.runtimes, &project.matrix.runtimes)?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.jobs.max(1))
        .build()?;
    let started_at = wasiprobe_util::now_rfc3339();

    let sdks = pool.install(|| provision_all(&specs, opts));
    for s in &sdks {
        match &s.reason {
            None => tracing::info!(
                "sdk {}: ready ({})",
                s.spec.id,
                s.identity.compiler.as_deref().unwrap_or("?")
            ),
            Some(r) => tracing::warn!("sdk {}: unavailable: {r}", s.spec.id),
        }
    }

    let cache = Cache::new(opts.provision.cache.join("build"));
    let needed: Vec<&Probe> = project
        .probes
        .iter()
        .filter(|p| checks.iter().any(|c| c.probe() == p.name))
        .collect();
    // What each libc is, read from the toolchain: the report's `libc` section, and the stub
    // census the `libc_stubs` probe is generated from.
    let libc_facts: std::collections::BTreeMap<String, crate::libc::LibcFacts> =
        pool.install(|| {
            sdks.par_iter()
                .filter(|s| s.is_ready())
                .map(|s| (s.spec.id.clone(), crate::libc::facts(s)))
                .collect()
        });
    for (sdk, f) in &libc_facts {
        for e in &f.errors {
            tracing::warn!("sdk {sdk}: libc facts: {e}");
        }
    }
    let builds: Vec<BuildResult> = pool.install(|| {
        sdks.iter()
            .filter(|s| s.is_ready())
            .flat_map(|s| needed.iter().map(move |p| (s, *p)))
            .collect::<Vec<_>>()
            .into_par_iter()
            .map(|(s, p)| {
                let r = build_probe(&cache, s, p, libc_facts.get(&s.spec.id), opts);
                ((s.spec.id.clone(), p.name.clone()), r)
            })
            .collect()
    });

    if opts.fetch {
        for r in &project.matrix.runtimes {
            if runtime_names.contains(&r.name) {
                if let Err(e) = crate::runtime_fetch::fetch_runtime(r, &opts.provision) {
                    // The runtime's row will say it is unavailable, and why.
                    tracing::warn!("runtime {}: {e:#}", r.name);
                }
            }
        }
    }
    let env = host_env(opts);
    let mut runtimes: Vec<Box<dyn Runtime>> = Vec::new();
    let mut runtime_infos = Vec::new();
    let mut results = Vec::new();
    for name in &runtime_names {
        match make_runtime(name, &env, &project.matrix.runtimes) {
            Ok(rt) => {
                runtime_infos.push(RuntimeInfo {
                    name: rt.name().into(),
                    version: rt.version(),
                    status: "ready".into(),
                    reason: None,
                    capabilities: serde_json::to_value(rt.capabilities()).ok(),
                });
                runtimes.push(rt);
            }
            Err(e) if e.downcast_ref::<Unavailable>().is_some() => {
                tracing::warn!("runtime {name}: unavailable: {e}");
                runtime_infos.push(RuntimeInfo {
                    name: name.clone(),
                    version: String::new(),
                    status: "unavailable".into(),
                    reason: Some(e.to_string()),
                    capabilities: None,
                });
                for sdk in &sdks {
                    for check in &checks {
                        if opts
                            .partition
                            .is_none_or(|p| p.owns(&sdk.spec.id, name, check.probe()))
                        {
                            results.push(Cell {
                                sdk: sdk.spec.id.clone(),
                                runtime: name.clone(),
                                probe: check.probe().into(),
                                check: check.name().into(),
                                area: check.area().into(),
                                verdict: Verdict::Unavailable,
                                evidence: json!({ "reason": format!("runtime {name}: {e}") }),
                                duration_ms: 0.0,
                            });
                        }
                    }
                }
            }
            Err(e) => return Err(e.context(format!("starting runtime {name}"))),
        }
    }

    let mut jobs = Vec::new();
    for sdk in &sdks {
        for (ri, rt) in runtimes.iter().enumerate() {
            let caps = rt.capabilities();
            for check in &checks {
                if opts
                    .partition
                    .is_some_and(|p| !p.owns(&sdk.spec.id, rt.name(), check.probe()))
                {
                    continue;
                }
                let cell = |verdict, evidence| Cell {
                    sdk: sdk.spec.id.clone(),
                    runtime: rt.name().into(),
                    probe: check.probe().into(),
                    check: check.name().into(),
                    area: check.area().into(),
                    verdict,
                    evidence,
                    duration_ms: 0.0,
                };
                if !sdk.is_ready() {
                    results.push(cell(Verdict::Unavailable, json!({ "reason": sdk.reason })));
                    continue;
                }
                if let Some(why) = cannot_run(&caps, &check.case(), opts) {
                    results.push(cell(Verdict::Skip, json!({ "reason": why })));
                    continue;
                }
                if let Some(j) = jobs.iter_mut().find(|j: &&mut Job| {
                    j.sdk.spec.id == sdk.spec.id
                        && j.runtime == ri
                        && j.checks[0].probe() == check.probe()
                        && j.checks[0].case() == check.case()
                }) {
                    j.checks.push(check.as_ref());
                    continue;
                }
                let built = builds
                    .iter()
                    .find(|((s, p), _)| *s == sdk.spec.id && p == check.probe())
                    .map(|(_, r)| r.clone())
                    .unwrap_or_else(|| {
                        Err(json!({ "reason": format!("no probe named {}", check.probe()) }))
                    });
                jobs.push(Job {
                    sdk,
                    runtime: ri,
                    checks: vec![check.as_ref()],
                    built,
                });
            }
        }
    }

    let mut report = Report {
        schema_version: report::SCHEMA_VERSION,
        complete: false,
        started_at,
        finished_at: None,
        host: HostInfo::current(),
        options: json!({
            "inject": opts.inject.iter().map(|i| i.to_string()).collect::<Vec<_>>(),
            "limits": opts.limits,
            "sdks": opts.sdks, "runtimes": runtime_names, "probes": opts.probes, "checks": opts.checks,
            "partition": opts.partition,
        }),
        sdks: sdks.clone(),
        runtimes: runtime_infos,
        build: build_summary(&cache),
        results,
        summary: Default::default(),
        imports: imports_of(&builds),
        dark_features: Default::default(),
        python: Default::default(),
        python_ext: None,
        libc: libc_facts.clone(),
    };
    let report_path = opts.out.join("report.json");
    let shared = Mutex::new((report.clone(), Instant::now()));
    let cells: Vec<Cell> = pool.install(|| {
        jobs.par_iter()
            .flat_map_iter(|job| {
                let cells = run_job(job, runtimes[job.runtime].as_ref(), opts);
                // Write what is measured so far, at most every two seconds, so a killed run
                // leaves a readable partial report.
                let mut g = shared.lock().unwrap();
                g.0.results.extend(cells.iter().cloned());
                if g.1.elapsed() > Duration::from_secs(2) {
                    g.0.summarize();
                    if let Err(e) = report::write(&g.0, &report_path) {
                        tracing::warn!("partial report: {e:#}");
                    }
                    g.1 = Instant::now();
                }
                cells
            })
            .collect()
    });
    report.results.extend(cells);
    let rts: Vec<&dyn Runtime> = runtimes.iter().map(|r| r.as_ref()).collect();
    let (py_cells, py_reports) = crate::python::execute(project, &rts, opts, &pool);
    report.results.extend(py_cells);
    report.python = py_reports;
    let rt_name = rts.first().map_or("wasmtime", |r| r.name());
    let (ext_cells, ext) = crate::python::extension::execute(project, &sdks, rt_name, opts, &pool);
    report.results.extend(ext_cells);
    report.python_ext = ext;
    if wants_dark(opts) {
        let rts: Vec<&dyn Runtime> = runtimes.iter().map(|r| r.as_ref()).collect();
        let ready: Vec<&Provisioned> = sdks.iter().filter(|s| s.is_ready()).collect();
        let census: Vec<_> = pool.install(|| {
            ready
                .par_iter()
                .map(|s| {
                    (
                        s.spec.id.clone(),
                        crate::dark::census(&project.root, s, &rts, opts),
                    )
                })
                .collect()
        });
        for (sdk, c) in census {
            match c {
                Ok(c) => {
                    report.dark_features.insert(sdk, c);
                }
                Err(e) => tracing::warn!("dark-features census for {sdk}: {e:#}"),
            }
        }
    }
    if opts.native {
        report.results.extend(native_cells(project, &checks, opts));
    }
    report.results.sort_by_key(|c| c.key());
    report.build = build_summary(&cache);
    report.complete = true;
    report.finished_at = Some(wasiprobe_util::now_rfc3339());
    report.summarize();
    wasiprobe_reports::reporter::write_all(
        &report,
        &opts.out,
        &wasiprobe_reports::reporter::standard(vec![]),
    )?;
    Ok(report)
}

/// Builds one probe with one SDK as a run does: `Ok(module)`, or the error value of its
/// cells — `skip` when the libc lacks a function the probe requires, otherwise `error` (a
/// compile error carries the command and the compiler's message). `facts` is the SDK's libc
/// reading (`crate::libc::facts`), which the stub probe is generated from.
pub fn build_probe(
    cache: &Cache,
    sdk: &Provisioned,
    probe: &Probe,
    facts: Option<&crate::libc::LibcFacts>,
    opts: &RunOptions,
) -> Result<PathBuf, Value> {
    if let Some(f) = facts.filter(|f| !f.symbols.is_empty()) {
        let missing = probe.missing(&f.symbols);
        if !missing.is_empty() {
            return Err(json!({
                SKIP: true,
                "reason": format!("{}'s libc defines no {}: probe {} cannot be linked", sdk.spec.id, missing.join(", "), probe.name),
            }));
        }
    }
    let built = generated_headers(probe, sdk, facts, opts)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .and_then(|g| cache.build_with(sdk, probe, g.as_deref()));
    match built {
        Ok(Built::Ok { wasm, .. }) => Ok(wasm),
        Ok(Built::CompileError { command, stderr }) => Err(json!({
            "reason": format!("probe {} does not compile with {}", probe.name, sdk.spec.id),
            "command": command,
            "stderr": stderr,
        })),
        Err(e) => Err(json!({ "reason": format!("build failed: {e:#}") })),
    }
}

/// The include directory generated for `probe` on `sdk`, if the probe needs one: the stub
/// probe's `wp_stubs.h`, written from the SDK's stub census.
fn generated_headers(
    probe: &Probe,
    sdk: &Provisioned,
    facts: Option<&crate::libc::LibcFacts>,
    opts: &RunOptions,
) -> Result<Option<PathBuf>, String> {
    if probe.name != checks::libc::stubs::PROBE {
        return Ok(None);
    }
    let f = facts.ok_or_else(|| format!("no libc facts for {}", sdk.spec.id))?;
    if let Some(e) = f.errors.iter().find(|e| e.starts_with("stubs:")) {
        return Err(format!("the static stub census failed: {e}"));
    }
    let dir = opts
        .provision
        .cache
        .join("generated")
        .join(&sdk.spec.id)
        .join(&probe.name);
    crate::stubs::write_header(&dir, &sdk.spec.id, &f.stubs)
        .map(Some)
        .map_err(|e| format!("writing the stub probe's header: {e:#}"))
}

type Imports = std::collections::BTreeMap<String, std::collections::BTreeMap<String, Vec<String>>>;

/// In a build result's error value: the probe cannot be built with this SDK by design (a
/// function it requires is not in the libc), so its cells are `skip`, not `error`.
pub const SKIP: &str = "skip";

/// ((sdk, probe), the built module or why there is none).
type BuildResult = ((String, String), Result<PathBuf, Value>);

fn imports_of(builds: &[BuildResult]) -> Imports {
    let mut m = Imports::new();
    for ((sdk, probe), r) in builds {
        let Ok(wasm) = r else { continue };
        let names = std::fs::read(wasm)
            .ok()
            .and_then(|b| wasiprobe_coverage::analyze(&b).ok())
            .map(|rep| rep.p1_names().into_iter().map(String::from).collect())
            .unwrap_or_default();
        m.entry(sdk.clone())
            .or_default()
            .insert(probe.clone(), names);
    }
    m
}

fn build_summary(cache: &Cache) -> BuildSummary {
    let s = &cache.stats;
    BuildSummary {
        compiled: s.compiled.load(Ordering::Relaxed),
        cached: s.cached.load(Ordering::Relaxed),
        failed: s.failed.load(Ordering::Relaxed),
        rebuilt_corrupt: s.rebuilt_corrupt.load(Ordering::Relaxed),
    }
}

fn run_job(job: &Job, rt: &dyn Runtime, opts: &RunOptions) -> Vec<Cell> {
    let start = Instant::now();
    let judged: Vec<(Verdict, Value)> = match &job.built {
        Err(e) => {
            let v = if e.get(SKIP).is_some() {
                Verdict::Skip
            } else {
                Verdict::Error
            };
            job.checks.iter().map(|_| (v, e.clone())).collect()
        }
        Ok(wasm) => match run_case(rt, wasm, &job.checks[0].case(), opts) {
            Ok(rec) => {
                let v = job
                    .checks
                    .iter()
                    .map(|c| judge_record(*c, &rec, opts))
                    .collect();
                if opts.keep {
                    let _ = rec.root.keep();
                }
                v
            }
            Err(e) => {
                let ev = json!({ "reason": format!("{e:#}") });
                job.checks
                    .iter()
                    .map(|_| (Verdict::Error, ev.clone()))
                    .collect()
            }
        },
    };
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    job.checks
        .iter()
        .zip(judged)
        .map(|(check, (verdict, evidence))| Cell {
            sdk: job.sdk.spec.id.clone(),
            runtime: rt.name().into(),
            probe: check.probe().into(),
            check: check.name().into(),
            area: check.area().into(),
            verdict,
            evidence,
            duration_ms: ms,
        })
        .collect()
}

fn tail(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(&b[b.len().saturating_sub(2000)..]);
    s.into_owned()
}

/// What one probe run recorded, shared by every check that judges it.
pub struct RunRecord {
    pub case: Case,
    pub outcome: Outcome,
    /// The case's own directory: `scratch/` (preopened as `/scratch`) and, for a case with a
    /// fixture, what the fixture lays beside it (e.g. the sentinel tree outside the preopen).
    pub root: tempfile::TempDir,
    /// Host wall-clock time (ns since the Unix epoch) just before and just after the run.
    pub host_window_ns: (u128, u128),
    /// The second run, when the case asks for one (`Case::rerun_args`).
    pub rerun: Option<(Outcome, tempfile::TempDir)>,
    /// The `Case::isolated` runs (their scratch directories are gone).
    pub isolated: Vec<checks::Isolated>,
}

fn unix_ns() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

impl RunRecord {
    pub fn scratch(&self) -> PathBuf {
        self.root.path().join(SCRATCH_DIR)
    }
}

/// A fresh case root holding an empty `scratch/`, plus the case's fixture when it has one.
fn case_root(case: &Case, opts: &RunOptions) -> Result<tempfile::TempDir> {
    let mut b = tempfile::Builder::new();
    b.prefix("wasiprobe-case-");
    let root = match &opts.scratch_root {
        Some(r) => b.tempdir_in(r)?,
        None => b.tempdir()?,
    };
    std::fs::create_dir(root.path().join(SCRATCH_DIR))?;
    if let Some(name) = case.fixture {
        crate::checks::filesystem::fixture::create(name, root.path())
            .with_context(|| format!("laying out fixture {name}"))?;
    }
    Ok(root)
}

/// How a case's argv becomes a [`RunSpec`]: the C probes run as themselves; a Python twin
/// runs as `python.wasm -B -c SCRIPT ARGS…` with its interpreter's stack and preopens.
pub struct Launcher<'a> {
    /// (the case's scratch directory, the case's argv) → the spec.
    #[allow(clippy::type_complexity)]
    pub build: &'a dyn Fn(&Path, &[String]) -> RunSpec,
}

/// Runs one case in its own scratch directory (preopened as `/scratch`).
pub fn run_case(
    rt: &dyn Runtime,
    wasm: &Path,
    case: &Case,
    opts: &RunOptions,
) -> Result<RunRecord> {
    let build = |scratch: &Path, args: &[String]| RunSpec {
        args: args.to_vec(),
        env: case.env.clone(),
        preopens: vec![Preopen {
            host: scratch.to_owned(),
            guest: SCRATCH_GUEST.into(),
        }],
        stdin: case.stdin.clone(),
        limits: opts.limits.clone(),
        inject: opts.inject.clone(),
        wasm_stack_bytes: None,
    };
    run_case_with(rt, wasm, case, opts, &Launcher { build: &build })
}

/// [`run_case`] with the spec built by `launch` (the case's env and stdin are added to it).
pub fn run_case_with(
    rt: &dyn Runtime,
    wasm: &Path,
    case: &Case,
    opts: &RunOptions,
    launch: &Launcher,
) -> Result<RunRecord> {
    let root = case_root(case, opts)?;
    let spec = |scratch: &Path, args: &[String]| {
        let mut s = (launch.build)(scratch, args);
        for kv in &case.env {
            if !s.env.contains(kv) {
                s.env.push(kv.clone());
            }
        }
        s.stdin = case.stdin.clone();
        s
    };
    let t0 = unix_ns();
    let outcome = rt.run(wasm, &spec(&root.path().join(SCRATCH_DIR), &case.args))?;
    let t1 = unix_ns();
    let rerun = match &case.rerun_args {
        Some(args) => {
            let dir = case_root(case, opts)?;
            Some((
                rt.run(wasm, &spec(&dir.path().join(SCRATCH_DIR), args))?,
                dir,
            ))
        }
        None => None,
    };
    let mut isolated = Vec::new();
    for args in &case.isolated {
        let dir = case_root(case, opts)?;
        let outcome = rt.run(wasm, &spec(&dir.path().join(SCRATCH_DIR), args))?;
        isolated.push(checks::Isolated {
            args: args.clone(),
            outcome,
        });
    }
    Ok(RunRecord {
        case: case.clone(),
        outcome,
        root,
        host_window_ns: (t0, t1),
        rerun,
        isolated,
    })
}

/// Turns a recorded run into one check's verdict. Limit terminations are classified here,
/// so a check only ever judges a guest that exited.
pub fn judge_record(check: &dyn Check, rec: &RunRecord, opts: &RunOptions) -> (Verdict, Value) {
    let outcome = &rec.outcome;
    let limits = &opts.limits;
    let scratch = rec.scratch();
    let (verdict, mut evidence) = match &outcome.termination {
        Termination::Exited { .. } => {
            let observed = Observed {
                outcome,
                observations: crate::protocol::parse(&outcome.stdout),
                scratch: Some(&scratch),
                case_root: Some(rec.root.path()),
                host_window_ns: rec.host_window_ns,
                rerun: rec.rerun.as_ref().map(|(o, _)| match &o.termination {
                    Termination::Exited { code: 0 } => crate::protocol::parse(&o.stdout),
                    t => Err(format!("the second run ended with {t:?}")),
                }),
                rerun_outcome: rec.rerun.as_ref().map(|(o, _)| o),
                isolated: &rec.isolated,
            };
            let j = check.judge(&rec.case, &observed);
            (j.verdict, j.evidence)
        }
        Termination::Timeout => (
            Verdict::Timeout,
            json!({ "reason": format!("still running after {} ms", limits.wall.as_millis()), "stderr": tail(&outcome.stderr) }),
        ),
        Termination::Oom { requested_bytes } => (
            Verdict::Oom,
            json!({ "reason": format!("tried to grow memory to {requested_bytes} bytes; limit {}", limits.memory_bytes) }),
        ),
        Termination::OutputLimit { stream } => (
            Verdict::OutputLimit,
            json!({ "reason": format!("wrote more than the {stream} limit"), "stream": stream }),
        ),
        Termination::Trap { message } => (
            Verdict::Trap,
            json!({ "reason": message, "stderr": tail(&outcome.stderr) }),
        ),
        Termination::Crash { message } => (Verdict::Crash, json!({ "reason": message })),
        Termination::LoadError { message } => (Verdict::Error, json!({ "reason": message })),
    };
    if !outcome.host_calls.is_empty() {
        evidence["host_calls"] = json!(outcome.host_calls);
    }
    if opts.keep {
        evidence["scratch"] = json!(scratch);
    }
    (verdict, evidence)
}

/// Runs one check's case and judges it: `run_case` + `judge_record`.
pub fn judge_run(
    check: &dyn Check,
    rt: &dyn Runtime,
    wasm: &Path,
    opts: &RunOptions,
) -> Result<(Verdict, Value)> {
    let rec = run_case(rt, wasm, &check.case(), opts)?;
    let r = judge_record(check, &rec, opts);
    if opts.keep {
        let _ = rec.root.keep();
    }
    Ok(r)
}

/// The native floor: each probe of `NATIVE_PROBES` built with the host's C compiler against the
/// POSIX stand-in for `<wasi/api.h>` and run as a host process (its own scratch directory as
/// working directory, the wall-time limit, a clean environment), judged by the same checks.
fn native_cells(project: &Project, checks: &[Box<dyn Check>], opts: &RunOptions) -> Vec<Cell> {
    let mut cells = Vec::new();
    for probe in project
        .probes
        .iter()
        .filter(|p| NATIVE_PROBES.contains(&p.name.as_str()))
    {
        let mine: Vec<&dyn Check> = checks
            .iter()
            .filter(|c| c.probe() == probe.name)
            .map(|c| c.as_ref())
            .collect();
        if mine.is_empty()
            || opts
                .partition
                .is_some_and(|p| !p.owns("native", "native", &probe.name))
        {
            continue;
        }
        let start = Instant::now();
        let judged: Vec<(Verdict, Value)> = match native_build(probe, opts)
            .and_then(|exe| native_run(&exe, &mine[0].case(), opts))
        {
            Ok(rec) => mine.iter().map(|c| judge_record(*c, &rec, opts)).collect(),
            Err(e) => {
                let ev = json!({ "reason": format!("native floor unavailable: {e:#}") });
                mine.iter()
                    .map(|_| (Verdict::Unavailable, ev.clone()))
                    .collect()
            }
        };
        let ms = start.elapsed().as_secs_f64() * 1000.0;
        for (c, (verdict, evidence)) in mine.iter().zip(judged) {
            cells.push(Cell {
                sdk: "native".into(),
                runtime: "native".into(),
                probe: probe.name.clone(),
                check: c.name().into(),
                area: c.area().into(),
                verdict,
                evidence,
                duration_ms: ms,
            });
        }
    }
    cells
}

fn native_build(probe: &Probe, opts: &RunOptions) -> Result<PathBuf> {
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let dir = probe.source.parent().context("probe has no directory")?;
    let src = std::fs::read(&probe.source)?;
    let shim = std::fs::read(dir.join("native/wasi/api.h"))?;
    let header = std::fs::read(dir.join("wasiprobe.h"))?;
    let key: String = {
        use sha2::{Digest, Sha256};
        let h = Sha256::digest([cc.as_bytes(), &src, &shim, &header].concat());
        h.iter().take(10).map(|b| format!("{b:02x}")).collect()
    };
    let out = opts
        .provision
        .cache
        .join("native")
        .join(format!("{}-{key}", probe.name));
    if out.exists() {
        return Ok(out);
    }
    std::fs::create_dir_all(out.parent().unwrap())?;
    let tmp = out.with_extension("tmp");
    let mut cmd = std::process::Command::new(&cc);
    cmd.args(["-O2", "-g0", "-I"])
        .arg(dir.join("native"))
        .arg("-I")
        .arg(dir)
        .arg(&probe.source)
        .arg("-o")
        .arg(&tmp);
    let o = wasiprobe_util::command_output(cmd, Duration::from_secs(120))?;
    anyhow::ensure!(
        o.status.success(),
        "{cc} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    std::fs::rename(&tmp, &out)?;
    Ok(out)
}

fn native_run(exe: &Path, case: &Case, opts: &RunOptions) -> Result<RunRecord> {
    let root = case_root(case, opts)?;
    let mut cmd = std::process::Command::new(exe);
    cmd.args(case.args.iter().skip(1))
        .env_clear()
        .envs(case.env.iter().cloned())
        .current_dir(root.path().join(SCRATCH_DIR));
    let t0 = unix_ns();
    let start = Instant::now();
    let o = wasiprobe_util::command_output(cmd, opts.limits.wall);
    let t1 = unix_ns();
    let outcome = match o {
        Ok(o) => Outcome {
            termination: match o.status.code() {
                Some(code) => Termination::Exited { code },
                None => Termination::Crash {
                    message: format!("killed by a signal: {:?}", o.status),
                },
            },
            stdout: o.stdout,
            stderr: o.stderr,
            duration: start.elapsed(),
            host_calls: Default::default(),
        },
        Err(e) if e.to_string().contains("did not finish") => Outcome {
            termination: Termination::Timeout,
            stdout: vec![],
            stderr: vec![],
            duration: start.elapsed(),
            host_calls: Default::default(),
        },
        Err(e) => return Err(e),
    };
    Ok(RunRecord {
        case: case.clone(),
        outcome,
        root,
        host_window_ns: (t0, t1),
        rerun: None,
        isolated: vec![],
    })
}
