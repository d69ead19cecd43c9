//! `wasiprobe bench`: the harness's cost per cell against the floor of running the same cached
//! module straight through wasmtime's API. A measurement, printed — never asserted in a test.

use crate::case::judge_run;
use crate::checks::Check;
use crate::plan::RunOptions;
use anyhow::{Context, Result};
use std::path::Path;
use std::time::{Duration, Instant};
use wasmtime::{Linker, Module, Store};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::WasiCtxBuilder;

pub struct Figures {
    pub floor: Vec<Duration>,
    pub harness: Vec<Duration>,
}

pub fn median(v: &[Duration]) -> Duration {
    let mut s = v.to_vec();
    s.sort();
    s[s.len() / 2]
}

/// The floor: one engine, one compiled module, a fresh store + WASI context per iteration.
fn floor_once(
    engine: &wasmtime::Engine,
    linker: &Linker<WasiP1Ctx>,
    module: &Module,
    args: &[String],
    env: &[(String, String)],
) -> Result<Duration> {
    let start = Instant::now();
    let out = wasmtime_wasi::p2::pipe::MemoryOutputPipe::new(16 << 20);
    let wasi = WasiCtxBuilder::new()
        .args(args)
        .envs(env)
        .stdout(out.clone())
        .stderr(out)
        .build_p1();
    let mut store = Store::new(engine, wasi);
    let inst = linker
        .instantiate(&mut store, module)
        .map_err(anyhow::Error::from)?;
    let f = inst
        .get_typed_func::<(), ()>(&mut store, "_start")
        .map_err(anyhow::Error::from)?;
    let r = f.call(&mut store, ());
    if let Err(e) = r {
        if e.downcast_ref::<wasmtime_wasi::I32Exit>().is_none() {
            return Err(anyhow::Error::from(e).context("floor run trapped"));
        }
    }
    Ok(start.elapsed())
}

pub fn measure(
    check: &dyn Check,
    wasm: &Path,
    opts: &RunOptions,
    iterations: usize,
) -> Result<Figures> {
    let case = check.case();
    let bytes = std::fs::read(wasm).with_context(|| format!("reading {}", wasm.display()))?;
    let engine = wasmtime::Engine::default();
    let module = Module::new(&engine, &bytes).map_err(anyhow::Error::from)?;
    let mut linker: Linker<WasiP1Ctx> = Linker::new(&engine);
    wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |c| c).map_err(anyhow::Error::from)?;
    let rt = wasiprobe_runtimes::WasmtimeRuntime::new()?;
    // Warm both paths (module compile, page faults) before timing.
    floor_once(&engine, &linker, &module, &case.args, &case.env)?;
    judge_run(check, &rt, wasm, opts)?;
    let mut fig = Figures {
        floor: vec![],
        harness: vec![],
    };
    // Interleave the two so machine noise hits both alike.
    for _ in 0..iterations {
        fig.floor.push(floor_once(
            &engine, &linker, &module, &case.args, &case.env,
        )?);
        let t = Instant::now();
        judge_run(check, &rt, wasm, opts)?;
        fig.harness.push(t.elapsed());
    }
    Ok(fig)
}
