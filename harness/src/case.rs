//! One case: its own root (scratch directory plus fixture), the probe run (and its rerun and
//! isolated runs), and the verdict of each check that judges it. Also the native floor.

use crate::build::Probe;
use crate::checks::{self, Case, Check, Observed};
use crate::plan::{Project, RunOptions, NATIVE_PROBES};
use crate::report::{Cell, Verdict};
use anyhow::{Context, Result};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use wasiprobe_checks::protocol::{SCRATCH_DIR, SCRATCH_GUEST};
use wasiprobe_runtimes::{Outcome, Preopen, RunSpec, Runtime, Termination};

pub(crate) fn tail(b: &[u8]) -> String {
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

pub(crate) fn unix_ns() -> u128 {
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
pub(crate) fn case_root(case: &Case, opts: &RunOptions) -> Result<tempfile::TempDir> {
    let root = wasiprobe_util::scratch::dir("case", opts.scratch_root.as_deref())?;
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

/// The cell of `check` (under its own probe) on `sdk` × `runtime`.
pub(crate) fn check_cell(
    sdk: &str,
    runtime: &str,
    check: &dyn Check,
    verdict: Verdict,
    evidence: Value,
    duration_ms: f64,
) -> Cell {
    Cell {
        sdk: sdk.into(),
        runtime: runtime.into(),
        probe: check.probe().into(),
        check: check.name().into(),
        area: check.area().into(),
        verdict,
        evidence,
        duration_ms,
    }
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
pub(crate) fn native_cells(
    project: &Project,
    checks: &[Box<dyn Check>],
    opts: &RunOptions,
) -> Vec<Cell> {
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
            cells.push(check_cell("native", "native", *c, verdict, evidence, ms));
        }
    }
    cells
}

pub(crate) fn native_build(probe: &Probe, opts: &RunOptions) -> Result<PathBuf> {
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

pub(crate) fn native_run(exe: &Path, case: &Case, opts: &RunOptions) -> Result<RunRecord> {
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
