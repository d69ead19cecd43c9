//! One named test per sdk × runtime × probe × check (`sdk::runtime::probe::check`), built with
//! the real toolchains of sdk-matrix.toml and run on the real runtimes; an unavailable SDK is an
//! ignored test and its reason is printed. Beside them: every check's negative controls
//! (`controls::sdk::runtime::liar::check`, which must fail) and the build cache.

use libtest_mimic::{Arguments, Failed, Trial};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use wasiprobe::build::{self, Built, Cache};
use wasiprobe::checks;
use wasiprobe::provision::{self, Provisioned};
use wasiprobe::report::Verdict;
use wasiprobe::run::{self, judge_run, Project, RunOptions};
use wasiprobe_runtimes::{Injection, Limits};

fn options(inject: Vec<Injection>) -> RunOptions {
    RunOptions {
        sdks: vec![],
        runtimes: vec![],
        probes: vec![],
        checks: vec![],
        inject,
        out: PathBuf::new(),
        keep: false,
        jobs: 1,
        limits: Limits::default(),
        provision: provision::Options::from_env(wasiprobe::util::default_cache_dir()),
        fetch_zig: true,
        scratch_root: None,
    }
}

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

fn cell(
    project: &Arc<Project>,
    cache: &Arc<Cache>,
    sdk: &Provisioned,
    check_name: &'static str,
    inject: Option<&'static str>,
) -> Result<(), Failed> {
    let check = checks::all()
        .into_iter()
        .find(|c| c.name() == check_name)
        .unwrap();
    let wasm = build_probe(cache, sdk, project, check.probe())?;
    let rt = run::make_runtime("wasmtime").map_err(|e| format!("{e:#}"))?;
    let inj: Vec<Injection> = inject.map(|i| vec![i.parse().unwrap()]).unwrap_or_default();
    let (verdict, evidence) = judge_run(check.as_ref(), rt.as_ref(), &wasm, &options(inj))
        .map_err(|e| format!("{e:#}"))?;
    let want = if inject.is_some() {
        Verdict::Fail
    } else {
        Verdict::Pass
    };
    if verdict != want {
        return Err(format!("verdict {verdict:?}, expected {want:?}; evidence: {evidence}").into());
    }
    Ok(())
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
    // A probe that does not compile is a result carrying the compiler's message.
    let src = dir.path().join("c/broken.c");
    std::fs::create_dir_all(src.parent().unwrap())?;
    std::fs::write(&src, "int main(void) { return undeclared_symbol; }\n")?;
    let probe = build::Probe {
        name: "broken".into(),
        source: src,
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
    let project = Arc::new(Project::load(&root, None).expect("project"));
    let opts = options(vec![]);
    let specs = run::select_sdks(&project, &opts).expect("sdks");
    eprintln!(
        "provisioning {} toolchains (zig wheels are installed if missing)…",
        specs.len()
    );
    let sdks = run::provision_all(&specs, &opts);
    let cache = Arc::new(Cache::new(opts.provision.cache.join("build")));
    let ready: Vec<&Provisioned> = sdks.iter().filter(|s| s.is_ready()).collect();
    eprintln!("{} of {} toolchains ready", ready.len(), sdks.len());
    let mut trials = Vec::new();
    for sdk in &sdks {
        if let Some(r) = &sdk.reason {
            eprintln!("unavailable: {}: {r}", sdk.spec.id);
        }
        for rt in run::RUNTIMES {
            for check in checks::all() {
                let name = format!("{}::{rt}::{}::{}", sdk.spec.id, check.probe(), check.name());
                let (p, c, s, n) = (project.clone(), cache.clone(), sdk.clone(), check.name());
                let t = Trial::test(name, move || cell(&p, &c, &s, n, None));
                trials.push(if sdk.is_ready() {
                    t
                } else {
                    t.with_kind("unavailable").with_ignored_flag(true)
                });
                if !sdk.is_ready() {
                    continue;
                }
                for liar in check.controls() {
                    let name = format!("controls::{}::{rt}::{liar}::{}", sdk.spec.id, check.name());
                    let (p, c, s) = (project.clone(), cache.clone(), sdk.clone());
                    trials.push(Trial::test(name, move || cell(&p, &c, &s, n, Some(liar))));
                }
            }
        }
    }
    if let Some(sdk) = ready.first() {
        let (p, s) = (project.clone(), (*sdk).clone());
        trials.push(Trial::test(
            format!("cache::{}::unchanged_corrupt_and_broken", s.spec.id),
            move || cache_behaviour(&p, &s),
        ));
    }
    // Fewer than three real toolchains means this machine cannot give the suite its meaning.
    let min: usize = std::env::var("WASIPROBE_MIN_TOOLCHAINS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let n = ready.len();
    trials.push(Trial::test("toolchains::enough_are_ready", move || {
        if n >= min {
            Ok(())
        } else {
            Err(format!("{n} toolchains ready, WASIPROBE_MIN_TOOLCHAINS={min}").into())
        }
    }));
    libtest_mimic::run(&args, trials).exit();
}
