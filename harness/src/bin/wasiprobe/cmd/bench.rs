//! `wasiprobe bench`: the harness's cost per cell, and the entropy battery's.

use crate::cmd::sdk::selected;
use anyhow::{Context, Result};
use wasiprobe::provision::{self};
use wasiprobe::run::{Project, RunOptions};
use wasiprobe::{build, exit};

pub fn bench(
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

pub fn bench_entropy(iterations: usize) -> Result<i32> {
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

/// `bench --testsuite`: embedded wasmtime against an adapter-module runtime on the same corpus.
pub fn bench_testsuite(
    project: &Project,
    popts: provision::Options,
    dirs: &[std::path::PathBuf],
    module_runtime: &str,
    rounds: usize,
    copies: usize,
) -> Result<i32> {
    use wasiprobe::bench_testsuite as bt;
    let tmp = tempfile::tempdir()?;
    let dirs: Vec<std::path::PathBuf> = if dirs.is_empty() {
        let to = tmp.path().join("fixtures").join("wasm32-wasip1");
        bt::compile_fixtures(&project.root.join(bt::FIXTURES), &to, copies)?;
        vec![to]
    } else {
        dirs.to_vec()
    };
    let mut kept = Vec::new();
    let mut dropped = Vec::new();
    for d in &dirs {
        let kill = bt::kill_tests(d)?;
        dropped.extend(kill.iter().cloned());
        kept.push(match kill.is_empty() {
            true => d.clone(),
            false => bt::without(d, &kill, &tmp.path().join("kept"))?,
        });
    }
    let base = wasiprobe::testsuite::Options {
        configured: project.matrix.runtimes.clone(),
        dirs: kept,
        runtimes: vec![],
        expectations: vec![],
        jobs: 1,
        filter: None,
        limits: wasiprobe_runtimes::Limits {
            wall: std::time::Duration::from_secs(20),
            ..Default::default()
        },
        exact_output: false,
        host: wasiprobe_runtimes::HostEnv {
            cache: popts.cache.clone(),
            worker_exe: None,
        },
        fetch: Some(popts.clone()),
        kill_after: std::time::Duration::from_millis(500),
    };
    let median = |t: &bt::Timing| wasiprobe::bench::median(&t.rounds).as_secs_f64();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let serial = bt::time_runtime(&base, "wasmtime", rounds, 1)?;
    let parallel = bt::time_runtime(&base, "wasmtime", rounds, cores)?;
    let module = bt::time_runtime(&base, module_runtime, rounds, 1)?;
    if !dropped.is_empty() {
        println!(
            "left out {} test(s) with `kill` ({}): in-process they last --kill-after-ms by design",
            dropped.len(),
            dropped.join(", ")
        );
    }
    for t in [&serial, &parallel, &module] {
        println!(
            "{} ({}), --jobs {}: {} tests, median of {} rounds {:.1} ms = {:.2} ms per test \
             ({:.1} ms of it inside the tests)",
            t.runtime,
            t.version,
            t.jobs,
            t.tests,
            t.rounds.len(),
            median(t) * 1e3,
            median(t) * 1e3 / t.tests.max(1) as f64,
            wasiprobe::bench::median(&t.in_tests).as_secs_f64() * 1e3
        );
    }
    for t in [&serial, &parallel] {
        println!(
            "ratio: embedded wasmtime --jobs {} takes {:.3} of {}'s wall time ({:.1}x faster)",
            t.jobs,
            median(t) / median(&module),
            module.runtime,
            median(&module) / median(t)
        );
    }
    Ok(exit::OK)
}
