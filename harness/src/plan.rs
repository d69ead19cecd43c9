//! What a run will do: the project, the options, and the selection of SDKs, runtimes, probes
//! and checks (names checked against what exists: unknown ones are usage errors); provisioning
//! each toolchain and building each probe.

use crate::build::{self, Built, Cache, Probe};
use crate::checks::{self, Case, Check};
use crate::matrix::{Kind, Matrix};
use crate::provision::{self, Provisioned};
use anyhow::{Context, Result};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use wasiprobe_checks::protocol::SCRATCH_GUEST;
use wasiprobe_runtimes::{registry, Capabilities, CliSpec, HostEnv, Injection, Limits};

pub use wasiprobe_model::usage::UsageError;
pub use wasiprobe_runtimes::registry::make as make_runtime;

/// The runtimes a run asks for, expanded and validated against the runtimes' registry and the
/// `[[runtime]]` entries of the project's matrix (unknown names are usage errors).
pub fn select_runtimes(asked: &[String], configured: &[CliSpec]) -> Result<Vec<String>> {
    Ok(registry::select(asked, configured)?)
}

/// What the runtimes of a run need from the machine (see [`host_env_for`]).
pub fn host_env(opts: &RunOptions) -> HostEnv {
    host_env_for(&opts.provision.cache, opts.worker_exe.clone())
}

/// What the runtimes need from the machine: the tool's `cache`, and the executable that hosts
/// crash-isolated workers (`wasiprobe worker`): `worker_exe`, else this one when it is
/// `wasiprobe` (a test binary or another embedder has no `worker` subcommand).
pub fn host_env_for(cache: &Path, worker_exe: Option<PathBuf>) -> HostEnv {
    HostEnv {
        cache: cache.to_path_buf(),
        worker_exe: worker_exe.or_else(|| {
            std::env::current_exe()
                .ok()
                .filter(|p| p.file_stem().is_some_and(|s| s == "wasiprobe"))
        }),
    }
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
        } else if !caps.liars.is_empty() && !caps.liars.contains(&inj.to_string()) {
            return Some(format!(
                "the runtime has no liar {inj} (it has {})",
                caps.liars.join(", ")
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
    let mut matrix = Matrix::load(&mpath, &registry::reserved_names())?;
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
    pub partition: Option<Partition>,
    /// The executable that hosts crash-isolated runtime workers; by default this one, when it
    /// is `wasiprobe`.
    pub worker_exe: Option<PathBuf>,
    /// CPython built from source (`[[python]]` entries with `source`): what `--cpython` asks for.
    pub cpython: CpythonOptions,
}

/// The named, slow part of the main job: CPython built from source with the matrix's
/// toolchains, and its own test suite run on each runtime.
#[derive(Debug, Clone, Default)]
pub struct CpythonOptions {
    /// Build and run every source entry (an entry named with `--sdk` runs without it).
    pub enabled: bool,
    /// Test modules for `py-regrtest`: empty → [`crate::python::regrtest::DEFAULT_MODULES`];
    /// `all` → the whole suite (`python -m test --list-tests`).
    pub regrtest: Vec<String>,
    /// Per test module (one process each).
    pub regrtest_timeout: Option<std::time::Duration>,
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
            cpython: CpythonOptions::default(),
        }
    }
}

/// The pseudo-probe that selects the dark-features census (`probes/dark/`).
pub const DARK: &str = "dark";

/// Whether this run takes the dark-features census: when nothing narrows the selection, or
/// `--probe dark` asks for it.
pub(crate) fn wants_dark(opts: &RunOptions) -> bool {
    opts.checks.is_empty()
        && (opts.probes.is_empty() || opts.probes.iter().any(|p| p == DARK))
        && opts.partition.is_none_or(|p| p.owns(DARK, DARK, DARK))
}

/// Probes with a native stand-in for `<wasi/api.h>` in `probes/c/native/`.
pub const NATIVE_PROBES: &[&str] = &["clocks"];

/// The usage error for a name that is not one of `valid`, listing them.
pub fn unknown(what: &str, name: &str, valid: &[&str]) -> anyhow::Error {
    wasiprobe_model::usage::unknown(what, name, valid).into()
}

/// Selected checks, after validating `--probe` and `--check` names.
pub fn select_checks(project: &Project, opts: &RunOptions) -> Result<Vec<Box<dyn Check>>> {
    let all = checks::all();
    let check_names: Vec<&str> = all.iter().map(|c| c.name()).collect();
    let mut probe_names: Vec<&str> = project.probes.iter().map(|p| p.name.as_str()).collect();
    probe_names.push(DARK);
    probe_names.extend(crate::python::twins::probe_names());
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
    // A path for an id the matrix does not have would be silently unused.
    for id in opts.provision.sdk_paths.keys() {
        if project.matrix.get(id).is_none() {
            let e = unknown("sdk", id, &project.matrix.ids());
            return Err(UsageError(format!("--sdk-path: {e}")).into());
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
                Kind::Debian => wasiprobe_util::is_root(),
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
pub(crate) fn generated_headers(
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

/// In a build result's error value: the probe cannot be built with this SDK by design (a
/// function it requires is not in the libc), so its cells are `skip`, not `error`.
pub const SKIP: &str = "skip";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Partition {
    /// 1-based.
    pub index: u32,
    pub count: u32,
}

impl FromStr for Partition {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("partition '{s}' is not K/N with 1 <= K <= N");
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count): (u32, u32) = (
            k.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        if index == 0 || count == 0 || index > count {
            return Err(bad());
        }
        Ok(Partition { index, count })
    }
}

impl std::fmt::Display for Partition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Partition {
    /// Whether the probe run (sdk, runtime, probe) belongs to this shard. A stable hash (not
    /// std's randomized one), so every machine of a CI matrix agrees.
    pub fn owns(&self, sdk: &str, runtime: &str, probe: &str) -> bool {
        let h = Sha256::digest(format!("{sdk}\0{runtime}\0{probe}"));
        let v = u32::from_le_bytes([h[0], h[1], h[2], h[3]]);
        v % self.count == self.index - 1
    }
}
