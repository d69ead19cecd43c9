//! One named test per sdk × runtime × probe × check (`sdk::runtime::probe::check`), built with
//! the real toolchains of sdk-matrix.toml and run on the real runtimes; an unavailable SDK is an
//! ignored test and its reason is printed. Beside them: every check's negative controls
//! (`controls::sdk::runtime::liar::check`, which must fail) and the build cache.

mod common;
use common::{host_env, options};

use libtest_mimic::{Arguments, Failed, Trial};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use wasiprobe::build::{self, Built, Cache};
use wasiprobe::checks;
use wasiprobe::provision::Provisioned;
use wasiprobe::report::Verdict;
use wasiprobe::run::{self, Project};
use wasiprobe_runtimes::Injection;

fn build_probe(
    cache: &Cache,
    sdk: &Provisioned,
    project: &Project,
    probe: &str,
) -> Result<PathBuf, Failed> {
    let p = project
        .probes
        .iter()
        .find(|p| p.name == probe)
        .ok_or(format!("no probe {probe}"))?;
    match cache.build(sdk, p).map_err(|e| format!("{e:#}"))? {
        Built::Ok { wasm, .. } => Ok(wasm),
        Built::CompileError { stderr, .. } => {
            Err(format!("{probe} does not compile: {stderr}").into())
        }
    }
}

/// How a probe run for a cell went: it ran, or it cannot be built with this SDK by design
/// (the cell is then `skip` with the reason, as in `wasiprobe run`), or it could not be run.
enum Rec {
    Ran(Box<run::RunRecord>),
    Skipped(serde_json::Value),
    Failed(String),
}

type Record = Arc<Rec>;
/// (sdk, runtime, probe, liar or "").
type RunKey = (String, String, String, String);

/// One run per (sdk, probe, liar), shared by every check that judges it — as `wasiprobe run`
/// does — so the clocks probe's sleeps are paid once, not six times.
#[derive(Default)]
struct Runs {
    records: Mutex<HashMap<RunKey, Arc<OnceLock<Record>>>>,
    facts: Mutex<HashMap<String, Arc<OnceLock<wasiprobe::libc::LibcFacts>>>>,
}

impl Runs {
    fn get(
        &self,
        project: &Project,
        cache: &Cache,
        sdk: &Provisioned,
        runtime: &str,
        probe: &str,
        inject: Option<&str>,
    ) -> Record {
        let key = (
            sdk.spec.id.clone(),
            runtime.to_string(),
            probe.to_string(),
            inject.unwrap_or("").to_string(),
        );
        let slot = self.records.lock().unwrap().entry(key).or_default().clone();
        slot.get_or_init(|| {
            let check = checks::all()
                .into_iter()
                .find(|c| c.probe() == probe)
                .unwrap();
            let Some(p) = project.probes.iter().find(|p| p.name == probe) else {
                return Arc::new(Rec::Failed(format!("no probe {probe}")));
            };
            let facts = self.facts(sdk);
            let wasm = match run::build_probe(cache, sdk, p, Some(&facts), &options(vec![])) {
                Ok(w) => w,
                Err(e) if e.get(run::SKIP).is_some() => return Arc::new(Rec::Skipped(e)),
                Err(e) => return Arc::new(Rec::Failed(e.to_string())),
            };
            let rt = match run::make_runtime(runtime, &host_env(), &project.matrix.runtimes) {
                Ok(rt) => rt,
                Err(e) => return Arc::new(Rec::Failed(format!("{e:#}"))),
            };
            let inj: Vec<Injection> = inject
                .map(|i| vec![wasiprobe_runtimes::inject::parse(i).unwrap()])
                .unwrap_or_default();
            Arc::new(
                match run::run_case(rt.as_ref(), &wasm, &check.case(), &options(inj)) {
                    Ok(r) => Rec::Ran(Box::new(r)),
                    Err(e) => Rec::Failed(format!("{e:#}")),
                },
            )
        })
        .clone()
    }

    /// The SDK's libc reading, once per SDK (the stub probe is generated from it).
    fn facts(&self, sdk: &Provisioned) -> wasiprobe::libc::LibcFacts {
        let slot = self
            .facts
            .lock()
            .unwrap()
            .entry(sdk.spec.id.clone())
            .or_default()
            .clone();
        slot.get_or_init(|| wasiprobe::libc::facts(sdk)).clone()
    }
}

fn judged(rec: &Record, check: &dyn checks::Check) -> Result<(Verdict, serde_json::Value), Failed> {
    match rec.as_ref() {
        Rec::Ran(r) => Ok(run::judge_record(check, r, &options(vec![]))),
        Rec::Skipped(e) => Ok((Verdict::Skip, e.clone())),
        Rec::Failed(e) => Err(Failed::from(e.clone())),
    }
}

/// Real defects of a toolchain that the suite must keep finding (`known-findings.toml`): such
/// a cell must fail, and its evidence must name the defect.
#[derive(serde::Deserialize)]
struct Finding {
    sdk: String,
    /// The runtime it is seen on; every runtime when absent (a defect of the toolchain).
    #[serde(default)]
    runtime: Option<String>,
    /// Or the runtimes it is seen on, when it is the same on several (the browser rows).
    #[serde(default)]
    runtimes: Vec<String>,
    /// The check it is a finding of; or `probe`, for a defect of the probe's run itself (a
    /// runtime that hangs on it), which every check of that probe shows, a new one included.
    #[serde(default)]
    check: Option<String>,
    #[serde(default)]
    probe: Option<String>,
    /// The verdict the cell must have; `fail` when absent (a runtime that hangs or traps on a
    /// probe is a `timeout` or `trap`).
    #[serde(default = "fail")]
    verdict: Verdict,
    contains: String,
    /// Further problems of the same cell that are part of the finding (a libc with two known
    /// defects in one check).
    #[serde(default)]
    also: Vec<String>,
    /// A finding that is sampled rather than certain (a timer that is early in some of its
    /// samples): the cell may pass; when it does not, it must fail with the listed problems and
    /// nothing else, like any other finding.
    #[serde(default)]
    sometimes: bool,
    #[allow(dead_code)]
    why: String,
}

fn fail() -> Verdict {
    Verdict::Fail
}

impl Finding {
    /// Whether a problem text is one of the finding's known ones.
    fn known(&self, problem: &str) -> bool {
        // Findings are written against the evidence's JSON text (quotes escaped) or the plain
        // problem: either form counts.
        let escaped = serde_json::to_string(problem).unwrap_or_default();
        [problem, escaped.as_str()]
            .iter()
            .any(|p| p.contains(&self.contains) || self.also.iter().any(|a| p.contains(a)))
    }

    fn applies(&self, sdk: &str, runtime: &str, check: &str) -> bool {
        let of_check = match (&self.check, &self.probe) {
            (Some(c), _) => c == check,
            (None, Some(p)) => checks::all()
                .iter()
                .any(|c| c.name() == check && c.probe() == p),
            (None, None) => false,
        };
        self.sdk == sdk
            && of_check
            && match (&self.runtime, self.runtimes.is_empty()) {
                (Some(r), _) => r == runtime,
                (None, false) => self.runtimes.iter().any(|r| r == runtime),
                (None, true) => true,
            }
    }

    fn names_a_runtime(&self) -> bool {
        self.runtime.is_some() || !self.runtimes.is_empty()
    }
}

/// The finding for a cell: one that names its runtime wins over one for every runtime.
fn known_finding(sdk: &str, runtime: &str, check: &str) -> Option<Finding> {
    let all: Vec<Finding> = known_findings()
        .into_iter()
        .filter(|f| f.applies(sdk, runtime, check))
        .collect();
    let specific = all.iter().position(|f| f.names_a_runtime());
    all.into_iter().nth(specific.unwrap_or(0))
}

fn known_findings() -> Vec<Finding> {
    #[derive(serde::Deserialize)]
    struct File {
        finding: Vec<Finding>,
    }
    let text = include_str!("known-findings.toml");
    let all = toml::from_str::<File>(text)
        .expect("tests/known-findings.toml")
        .finding;
    for f in &all {
        assert!(
            f.check.is_some() != f.probe.is_some(),
            "known-findings.toml: a finding for {} names exactly one of `check` and `probe`",
            f.sdk
        );
    }
    all
}

fn cell(ctx: &Ctx, sdk: &Provisioned, runtime: &str, check_name: &str) -> Result<(), Failed> {
    let check = checks::all()
        .into_iter()
        .find(|c| c.name() == check_name)
        .unwrap();
    let rec = ctx
        .runs
        .get(&ctx.project, &ctx.cache, sdk, runtime, check.probe(), None);
    let (verdict, evidence) = judged(&rec, check.as_ref())?;
    let known = known_finding(&sdk.spec.id, runtime, check_name);
    match known {
        Some(f) if f.sometimes && verdict == Verdict::Pass => Ok(()),
        Some(f)
            if verdict != f.verdict
                || !evidence.to_string().contains(&f.contains)
                || !f.also.iter().all(|a| {
                    evidence.to_string().contains(a)
                        || evidence["problems"].as_array().is_some_and(|ps| {
                            ps.iter().any(|p| p.as_str().is_some_and(|p| p.contains(a)))
                        })
                }) =>
        {
            Err(format!(
                "known finding ({}) no longer seen: verdict {verdict:?}; evidence: {evidence}",
                f.contains
            )
            .into())
        }
        // Beside a known finding, any further problem is new and must be seen: a runtime's own
        // deviation in a check where the toolchain already fails.
        Some(f) => match evidence["problems"].as_array().and_then(|ps| {
            ps.iter()
                .map(|p| p.as_str().map(String::from).unwrap_or(p.to_string()))
                .find(|p| !f.known(p))
        }) {
            Some(new) => Err(format!(
                "beside the known finding ({}), a problem not listed in known-findings.toml: {new}",
                f.contains
            )
            .into()),
            None => Ok(()),
        },
        None if verdict != Verdict::Pass => {
            Err(format!("verdict {verdict:?}, expected Pass; evidence: {evidence}").into())
        }
        None => Ok(()),
    }
}

/// A liar must be rejected (`fail`) by every check of the probe that lists it in `controls`,
/// and by no other check of that probe (which may pass, or say it cannot judge).
fn control(ctx: &Ctx, sdk: &Provisioned, probe: &str, liar: &str) -> Result<(), Failed> {
    let rec = ctx
        .runs
        .get(&ctx.project, &ctx.cache, sdk, "wasmtime", probe, Some(liar));
    let mut wrong = Vec::new();
    for check in checks::all().into_iter().filter(|c| c.probe() == probe) {
        let (verdict, evidence) = judged(&rec, check.as_ref())?;
        let meant = check.controls().contains(&liar);
        let mut rejected = matches!(verdict, Verdict::Fail | Verdict::Security);
        // A cell that fails honestly (a known finding) rejects a liar only through a problem
        // other than the known one.
        if let Some(f) = known_finding(&sdk.spec.id, "wasmtime", check.name()) {
            rejected = evidence["problems"]
                .as_array()
                .is_some_and(|ps| ps.iter().any(|p| !f.known(&p.to_string())));
        }
        if meant && !rejected {
            wrong.push(format!(
                "{} should reject {liar} but said {verdict:?}: {evidence}",
                check.name()
            ));
        }
        if !meant && rejected {
            wrong.push(format!(
                "{} is not meant for {liar} but failed: {evidence}",
                check.name()
            ));
        }
    }
    if wrong.is_empty() {
        Ok(())
    } else {
        Err(wrong.join("\n").into())
    }
}

/// The same probe run 20 times: every check's verdict must be `pass` every time.
fn stability(ctx: &Ctx, sdk: &Provisioned, probe: &str) -> Result<(), Failed> {
    let wasm = build_probe(&ctx.cache, sdk, &ctx.project, probe)?;
    let rt = run::make_runtime("wasmtime", &host_env(), &[]).map_err(|e| format!("{e:#}"))?;
    let probe_checks: Vec<_> = checks::all()
        .into_iter()
        .filter(|c| c.probe() == probe)
        .collect();
    for i in 0..20 {
        let rec = run::run_case(
            rt.as_ref(),
            &wasm,
            &probe_checks[0].case(),
            &options(vec![]),
        )
        .map_err(|e| format!("{e:#}"))?;
        for c in &probe_checks {
            let (v, ev) = run::judge_record(c.as_ref(), &rec, &options(vec![]));
            let known = known_finding(&sdk.spec.id, "wasmtime", c.name()).is_some();
            if v != if known { Verdict::Fail } else { Verdict::Pass } {
                return Err(format!("run {i}: {} flipped to {v:?}: {ev}", c.name()).into());
            }
        }
    }
    Ok(())
}

/// What the SDK 24 → 33 change of arc4random (wasi-libc #620) means for a broken host source:
/// with `random_get:zeros`, SDK 24's libc turns the zeros into good-looking ChaCha20 output, so
/// no statistical check finds anything wrong with arc4random's stream, and only comparing two
/// runs (`entropy_cross_run`: the same bytes every time) catches it; SDK 33's libc passes the
/// zeros through, and the statistics catch them in arc4random's stream directly.
fn arc4random_hides_a_broken_host(
    ctx: &Ctx,
    old: &Provisioned,
    new: &Provisioned,
) -> Result<(), Failed> {
    const STATISTICAL: &[&str] = &[
        "entropy_repeats",
        "entropy_sp800_90b",
        "entropy_bit_lanes",
        "entropy_sp800_22",
    ];
    let mentions = |sdk: &Provisioned, check: &str| -> Result<bool, Failed> {
        let rec = ctx.runs.get(
            &ctx.project,
            &ctx.cache,
            sdk,
            "wasmtime",
            "entropy",
            Some("random_get:zeros"),
        );
        let c = checks::all()
            .into_iter()
            .find(|c| c.name() == check)
            .unwrap();
        let (v, ev) = judged(&rec, c.as_ref())?;
        if v != Verdict::Fail {
            return Err(format!("{}: {check} said {v:?} under random_get:zeros (the random_get stream is all zeros): {ev}", sdk.spec.id).into());
        }
        Ok(ev["problems"].as_array().is_some_and(|ps| {
            ps.iter()
                .any(|p| p.as_str().is_some_and(|p| p.starts_with("arc4random")))
        }))
    };
    for check in STATISTICAL {
        if mentions(old, check)? {
            return Err(format!("{}: {check} found a problem in arc4random's stream, which SDK 24's in-guest ChaCha20 should hide", old.spec.id).into());
        }
    }
    if !mentions(old, "entropy_cross_run")? {
        return Err(format!(
            "{}: entropy_cross_run did not see arc4random repeat between runs",
            old.spec.id
        )
        .into());
    }
    let caught: Vec<&str> = STATISTICAL
        .iter()
        .copied()
        .filter(|c| mentions(new, c).unwrap_or(false))
        .collect();
    if caught.is_empty() {
        return Err(format!(
            "{}: no statistical check saw the zeros in arc4random's stream",
            new.spec.id
        )
        .into());
    }
    Ok(())
}

struct Ctx {
    project: Project,
    cache: Cache,
    runs: Runs,
}

fn cache_behaviour(project: &Project, sdk: &Provisioned) -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    let cache = Cache::new(dir.path().to_owned());
    let load = |n: &str| {
        std::sync::atomic::AtomicUsize::load(
            match n {
                "compiled" => &cache.stats.compiled,
                "cached" => &cache.stats.cached,
                "corrupt" => &cache.stats.rebuilt_corrupt,
                _ => &cache.stats.failed,
            },
            std::sync::atomic::Ordering::SeqCst,
        )
    };
    let wasm = build_probe(&cache, sdk, project, "args_env")?;
    assert_eq!((load("compiled"), load("cached")), (1, 0));
    let again = build_probe(&cache, sdk, project, "args_env")?;
    assert_eq!(again, wasm);
    assert_eq!(
        (load("compiled"), load("cached")),
        (1, 1),
        "an unchanged tree must not recompile"
    );
    // A truncated module in the cache is detected and rebuilt, never handed to a runtime.
    let bytes = std::fs::read(&wasm)?;
    std::fs::write(&wasm, &bytes[..bytes.len() / 2])?;
    build_probe(&cache, sdk, project, "args_env")?;
    assert_eq!((load("compiled"), load("corrupt")), (2, 1));
    assert!(build::valid_wasm(&std::fs::read(&wasm)?));
    // A module that still validates but is not what was built (one byte changed inside a
    // string: a wrong verdict charged to the SDK) is caught by its recorded sha256.
    let mut bytes = std::fs::read(&wasm)?;
    let at = bytes
        .windows(b"argc".len())
        .position(|w| w == b"argc")
        .or_else(|| bytes.iter().rposition(|b| b.is_ascii_lowercase()))
        .ok_or("no string byte to change in the module")?;
    bytes[at] ^= 0x20;
    assert!(
        build::valid_wasm(&bytes),
        "the tampered module must still validate"
    );
    std::fs::write(&wasm, &bytes)?;
    build_probe(&cache, sdk, project, "args_env")?;
    assert_eq!(
        (load("compiled"), load("corrupt")),
        (3, 2),
        "a valid but altered module must be rebuilt"
    );
    assert_ne!(std::fs::read(&wasm)?, bytes);
    // Without its digest a module is not trusted either (a crash between the two writes).
    std::fs::remove_file(build::digest_path(&wasm))?;
    build_probe(&cache, sdk, project, "args_env")?;
    assert_eq!((load("compiled"), load("corrupt")), (4, 3));
    // An entry replaced by a directory (with something inside) is removed and rebuilt, not a
    // build error charged to the SDK.
    std::fs::remove_file(&wasm)?;
    std::fs::create_dir(&wasm)?;
    std::fs::write(wasm.join("x"), b"x")?;
    build_probe(&cache, sdk, project, "args_env")?;
    assert_eq!((load("compiled"), load("corrupt")), (5, 4));
    assert!(build::valid_wasm(&std::fs::read(&wasm)?));
    // A probe that does not compile is a result carrying the compiler's message.
    let src = dir.path().join("c/broken.c");
    std::fs::create_dir_all(src.parent().unwrap())?;
    std::fs::write(&src, "int main(void) { return undeclared_symbol; }\n")?;
    let probe = build::Probe {
        name: "broken".into(),
        source: src,
        requires: vec![],
        flags: vec![],
    };
    match cache.build(sdk, &probe)? {
        Built::CompileError { stderr, .. } => {
            assert!(stderr.contains("undeclared_symbol"), "{stderr}")
        }
        b => panic!("expected a compile error, got {b:?}"),
    }
    Ok(())
}

fn main() {
    let args = Arguments::from_args();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let project = Project::load(&root, None).expect("project");
    let opts = options(vec![]);
    let specs = run::select_sdks(&project, &opts).expect("sdks");
    eprintln!(
        "provisioning {} toolchains (zig wheels are installed if missing)…",
        specs.len()
    );
    let sdks = run::provision_all(&specs, &opts);
    let ctx = Arc::new(Ctx {
        project,
        cache: Cache::new(opts.provision.cache.join("build")),
        runs: Runs::default(),
    });
    let ready: Vec<&Provisioned> = sdks.iter().filter(|s| s.is_ready()).collect();
    eprintln!("{} of {} toolchains ready", ready.len(), sdks.len());
    let all = checks::all();
    let mut probes: Vec<&str> = all.iter().map(|c| c.probe()).collect();
    probes.sort();
    probes.dedup();
    let mut trials = Vec::new();
    for sdk in &sdks {
        if let Some(r) = &sdk.reason {
            eprintln!("unavailable: {}: {r}", sdk.spec.id);
        }
        // Every check on the reference runtime with every toolchain; the controls (liars)
        // need fault injection, which only the reference runtime has.
        for rt in ["wasmtime"] {
            for check in &all {
                let name = format!("{}::{rt}::{}::{}", sdk.spec.id, check.probe(), check.name());
                let (c, s, n) = (ctx.clone(), sdk.clone(), check.name());
                let t = timed(name, move || cell(&c, &s, rt, n));
                trials.push(if sdk.is_ready() {
                    t
                } else {
                    t.with_kind("unavailable").with_ignored_flag(true)
                });
            }
            if !sdk.is_ready() {
                continue;
            }
            for probe in &probes {
                let mut liars: Vec<&str> = all
                    .iter()
                    .filter(|c| c.probe() == *probe)
                    .flat_map(|c| c.controls().iter().copied())
                    .collect();
                liars.sort();
                liars.dedup();
                // A probe that cannot run with this SDK (every check of it a known error or
                // skip) cannot show that a liar is rejected: its controls are ignored, saying why.
                let cannot_run = all.iter().filter(|c| c.probe() == *probe).all(|c| {
                    known_finding(&sdk.spec.id, rt, c.name())
                        .is_some_and(|f| matches!(f.verdict, Verdict::Error | Verdict::Skip))
                });
                for liar in liars {
                    let name = format!("controls::{}::{rt}::{liar}::{probe}", sdk.spec.id);
                    let (c, s, p) = (ctx.clone(), sdk.clone(), probe.to_string());
                    let t = timed(name, move || control(&c, &s, &p, liar));
                    trials.push(if cannot_run {
                        t.with_kind("the probe cannot run with this SDK (known-findings.toml)")
                            .with_ignored_flag(true)
                    } else {
                        t
                    });
                }
            }
        }
    }
    // Every other runtime built in: every check with one toolchain (the same probe binaries the
    // reference ran). A runtime's real deviations are listed in known-findings.toml with the
    // runtime named; anything else must pass.
    let one = ready
        .iter()
        .find(|s| s.spec.id == "zig-0.13")
        .or(ready.first());
    // Adapter-module runtimes are the wasi-testsuite's (an argv per test from an upstream
    // adapter); they are judged on the testsuite's fixtures by tests/testsuite.rs, and listed
    // here as ignored with that reason rather than run through every check.
    for r in &ctx.project.matrix.runtimes {
        if matches!(r.kind, wasiprobe_runtimes::CliKind::AdapterModule(_)) {
            trials.push(
                timed(format!("runtimes::{}::adapter-module", r.name), || Ok(()))
                    .with_kind("judged by tests/testsuite.rs")
                    .with_ignored_flag(true),
            );
        }
    }
    let names: Vec<String> = wasiprobe_runtimes::registry::names()
        .iter()
        .map(|r| r.to_string())
        .chain(
            ctx.project
                .matrix
                .runtimes
                .iter()
                .filter(|r| !matches!(r.kind, wasiprobe_runtimes::CliKind::AdapterModule(_)))
                .map(|r| r.name.clone()),
        )
        .filter(|r| r != "wasmtime")
        .collect();
    for rt in names {
        let rt = rt.as_str();
        if let Some(spec) = ctx.project.matrix.runtimes.iter().find(|r| r.name == rt) {
            // CLI runtimes from a package are installed like the zig wheels.
            if let Err(e) = wasiprobe::runtime_fetch::fetch_runtime(spec, &opts.provision) {
                eprintln!("runtime {rt}: {e:#}");
            }
        }
        let made = run::make_runtime(rt, &host_env(), &ctx.project.matrix.runtimes);
        let (Some(sdk), Ok(_)) = (one, &made) else {
            let why = match &made {
                Err(e) => format!("{e:#}"),
                Ok(_) => "no toolchain is ready".into(),
            };
            eprintln!("runtime {rt} not tested: {why}");
            trials.push(
                timed(format!("runtimes::{rt}::unavailable"), || Ok(()))
                    .with_kind("unavailable")
                    .with_ignored_flag(true),
            );
            continue;
        };
        for check in &all {
            let name = format!("{}::{rt}::{}::{}", sdk.spec.id, check.probe(), check.name());
            let (c, s, n, r) = (ctx.clone(), (*sdk).clone(), check.name(), rt.to_string());
            trials.push(timed(name, move || cell(&c, &s, &r, n)));
        }
    }
    if let Some(sdk) = ready.first() {
        let (c, s) = (ctx.clone(), (*sdk).clone());
        trials.push(timed(
            format!("cache::{}::unchanged_corrupt_and_broken", s.spec.id),
            move || cache_behaviour(&c.project, &s),
        ));
        for probe in ["clocks", "fs"] {
            let (c, s) = (ctx.clone(), (*sdk).clone());
            trials.push(timed(
                format!("stability::{}::wasmtime::{probe}::20_runs", s.spec.id),
                move || stability(&c, &s, probe),
            ));
        }
    }
    let by_id = |id: &str| {
        sdks.iter()
            .find(|s| s.spec.id == id && s.is_ready())
            .cloned()
    };
    match (by_id("deb-libc-sdk24"), by_id("deb-libc-sdk33")) {
        (Some(old), Some(new)) => {
            let c = ctx.clone();
            trials.push(timed(
                "demonstration::arc4random::sdk24_hides_a_zero_host_sdk33_shows_it",
                move || arc4random_hides_a_broken_host(&c, &old, &new),
            ));
        }
        _ => trials.push(
            timed(
                "demonstration::arc4random::sdk24_hides_a_zero_host_sdk33_shows_it",
                || Ok(()),
            )
            .with_kind("unavailable: deb-libc-sdk24 and deb-libc-sdk33 must both be ready")
            .with_ignored_flag(true),
        ),
    }
    // The known-good control: 20 ChaCha20 runs, every entropy check must pass every time.
    trials.push(timed("stability::chacha20::entropy::20_runs", || {
        for seed in 0..20 {
            let run = wasiprobe::checks::entropy::control::Run::honest(12_500_000, 1000 + seed);
            for c in checks::all().into_iter().filter(|c| c.probe() == "entropy") {
                let j = run.judge(c.as_ref());
                if j.verdict != Verdict::Pass {
                    return Err(format!(
                        "seed {seed}: {} said {:?}: {}",
                        c.name(),
                        j.verdict,
                        j.evidence
                    )
                    .into());
                }
            }
        }
        Ok(())
    }));
    // Fewer than the toolchains CI promises means this machine cannot give the suite its meaning.
    let min: usize = std::env::var("WASIPROBE_MIN_TOOLCHAINS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let n = ready.len();
    trials.push(timed("toolchains::enough_are_ready", move || {
        if n >= min {
            Ok(())
        } else {
            Err(format!("{n} toolchains ready, WASIPROBE_MIN_TOOLCHAINS={min}").into())
        }
    }));
    // Toolchains a run must have (CI names the pinned SDKs' libcs): one missing is a failure
    // naming why it is unavailable, never a suite that quietly measured less.
    let required: Vec<String> = std::env::var("WASIPROBE_REQUIRE_SDKS")
        .unwrap_or_default()
        .split(',')
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect();
    let missing: Vec<String> = required
        .iter()
        .filter_map(|id| match sdks.iter().find(|s| &s.spec.id == id) {
            Some(s) if s.is_ready() => None,
            Some(s) => Some(format!("{id}: {}", s.reason.as_deref().unwrap_or("?"))),
            None => Some(format!("{id}: not in sdk-matrix.toml")),
        })
        .collect();
    trials.push(timed("toolchains::required_are_ready", move || {
        if missing.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "WASIPROBE_REQUIRE_SDKS names toolchains that are not ready: {}",
                missing.join("; ")
            )
            .into())
        }
    }));
    let trials = spread(trials, &probes);
    let conclusion = libtest_mimic::run(&args, trials);
    slowest(20);
    conclusion.exit();
}

/// How long each trial took, for the summary after the run (what the suite's time is spent on
/// decides what CI can afford; nothing here is asserted).
static TIMES: Mutex<Vec<(String, std::time::Duration)>> = Mutex::new(Vec::new());

/// The trials in an order that keeps both test threads busy. The checks of one probe judge one
/// shared run (`Runs`), and libtest-mimic hands trials out in the order given: in declaration
/// order the second check of a probe would wait, idle, for the run the first one is doing. So
/// the first check of every run goes first, then the second of each, and so on; the long
/// stability trials start at once rather than last, where they would run alone.
fn spread(trials: Vec<Trial>, probes: &[&str]) -> Vec<Trial> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut ranked: Vec<(bool, usize, Trial)> = trials
        .into_iter()
        .map(|t| {
            let name = t.name().to_string();
            let parts: Vec<&str> = name.split("::").collect();
            let run = match parts.as_slice() {
                [sdk, rt, probe, _check] if probes.contains(probe) => {
                    format!("{sdk}::{rt}::{probe}")
                }
                _ => name.clone(),
            };
            let rank = seen.entry(run).or_default();
            *rank += 1;
            (!name.starts_with("stability::"), *rank, t)
        })
        .collect();
    ranked.sort_by_key(|(later, rank, _)| (*later, *rank));
    ranked.into_iter().map(|(_, _, t)| t).collect()
}

/// A trial that records its duration in `TIMES`.
fn timed(
    name: impl Into<String>,
    f: impl FnOnce() -> Result<(), Failed> + Send + 'static,
) -> Trial {
    let name: String = name.into();
    let key = name.clone();
    Trial::test(name, move || {
        let start = std::time::Instant::now();
        let r = f();
        TIMES.lock().unwrap().push((key, start.elapsed()));
        r
    })
}

/// The `n` slowest trials of this run, on stderr.
fn slowest(n: usize) {
    let mut times = TIMES.lock().unwrap().clone();
    if times.is_empty() {
        return;
    }
    times.sort_by_key(|t| std::cmp::Reverse(t.1));
    let total: f64 = times.iter().map(|(_, d)| d.as_secs_f64()).sum();
    eprintln!(
        "slowest trials ({} timed, {total:.0} s in all):",
        times.len()
    );
    for (name, d) in times.iter().take(n) {
        eprintln!("  {:>8.1} s  {name}", d.as_secs_f64());
    }
}
