//! Embedded wasmtime 48 with wasmtime-wasi's Preview 1, the default runtime.
//!
//! Limits: wall time by epoch interruption (for guest code); a guest that asks `poll_oneoff` to
//! sleep past the deadline sleeps until the deadline and is stopped there (epochs cannot reach
//! into a host call), and a watchdog gives up on any other host call that blocks; memory by a `ResourceLimiter` that traps;
//! output by capped pipes that trap; open files by shadowing `path_open`/`fd_close`.

use crate::host::watchdog::run_watched;
use crate::host::{CappedBuf, ModuleCache, Stops};
use crate::inject::{self, Host};
use crate::{Capabilities, Outcome, RunSpec, Runtime, Termination};
use anyhow::Result;
use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wasmtime::{Config, Engine, Linker, Module, Store, Trap};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::{FsPerms, I32Exit, WasiCtxBuilder};

/// The default runtime; its compiled modules are cached in the tool's cache.
pub const ENTRY: crate::registry::Entry = crate::registry::Entry::new("wasmtime", |env| {
    Ok(Box::new(WasmtimeRuntime::with_code_cache(
        env.cache.join("wasmtime-code"),
    )?))
});

pub const WASMTIME_VERSION: &str = "48.0.8";

/// The epoch tick; the wall limit is rounded up to it.
const TICK: Duration = Duration::from_millis(10);

/// Native stack the guest thread gets beyond `max_wasm_stack`: host calls and wasmtime's own
/// frames run on the same thread and need room of their own.
const HOST_STACK_MARGIN: usize = 8 << 20;

/// One engine and its linker. `max_wasm_stack` is an engine setting in wasmtime 48, so every
/// distinct [`RunSpec::wasm_stack_bytes`] gets its own, created on first use; the default
/// engine is the one every C probe uses.
struct EngineSet {
    engine: Engine,
    linker: Linker<Host>,
    modules: ModuleCache<Module>,
    /// Where compiled code is kept between processes (see [`WasmtimeRuntime::with_code_cache`]).
    code_cache: Option<std::path::PathBuf>,
}

impl EngineSet {
    fn new(wasm_stack: Option<usize>, code_cache: Option<std::path::PathBuf>) -> Result<Self> {
        let mut config = Config::new();
        config.epoch_interruption(true);
        if let Some(bytes) = wasm_stack {
            // wasmtime validates max_wasm_stack against the async stack even for sync calls.
            config.async_stack_size(bytes + (1 << 20));
            config.max_wasm_stack(bytes);
        }
        let engine = Engine::new(&config)?;
        let mut linker: Linker<Host> = Linker::new(&engine);
        wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |h: &mut Host| &mut h.wasi)?;
        // Counting first: the fd accounting and the liars shadow it and count their own calls.
        inject::install_call_counting(&mut linker)?;
        inject::install_fd_accounting(&mut linker)?;
        inject::install_poll_deadline(&mut linker)?;
        Ok(EngineSet {
            engine,
            linker,
            modules: ModuleCache::default(),
            code_cache,
        })
    }

    fn module(&self, bytes: &[u8]) -> Result<Module> {
        self.modules
            .get_or_compile(bytes, |key| match &self.code_cache {
                Some(dir) => self.module_via_disk(dir, key, bytes),
                None => Module::new(&self.engine, bytes).map_err(anyhow::Error::from),
            })
    }

    /// The compiled module from the on-disk cache, or compiled now and stored there. The file
    /// name hashes the module's bytes with the engine's compatibility hash (wasmtime version,
    /// target, every codegen setting incl. the Wasm stack), so an engine never loads code
    /// compiled for another; a file that does not deserialize (truncated, corrupt) is
    /// recompiled and replaced, never trusted.
    fn module_via_disk(&self, dir: &Path, key: &[u8; 32], bytes: &[u8]) -> Result<Module> {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        self.engine.precompile_compatibility_hash().hash(&mut h);
        let name: String = key.iter().map(|b| format!("{b:02x}")).collect();
        let path = dir.join(format!("{name}-{:016x}.cwasm", h.finish()));
        if path.exists() {
            // SAFETY: wasmtime requires the file to be one it serialized itself. This cache is
            // written only by `serialize` below (atomically, by rename) in the user's own
            // cache directory, which no guest can reach (guests see only their scratch
            // preopens); wasmtime also checks the header's version and engine settings.
            match unsafe { Module::deserialize_file(&self.engine, &path) } {
                Ok(m) => return Ok(m),
                Err(e) => {
                    tracing::warn!("compiled-code cache {}: {e}; recompiling", path.display())
                }
            }
        }
        let m = Module::new(&self.engine, bytes).map_err(anyhow::Error::from)?;
        // Only modules worth it: compiling a probe takes milliseconds, python.wasm ~20 s.
        if bytes.len() >= CODE_CACHE_MIN_BYTES {
            if let Err(e) = store_atomically(dir, &path, &m.serialize()?) {
                tracing::warn!("compiled-code cache {}: {e:#}", path.display());
            }
        }
        Ok(m)
    }
}

/// Modules smaller than this are not written to the on-disk code cache.
pub const CODE_CACHE_MIN_BYTES: usize = 1 << 20;

fn store_atomically(dir: &Path, path: &Path, data: &[u8]) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    std::io::Write::write_all(&mut tmp, data)?;
    tmp.persist(path)?;
    Ok(())
}

pub struct WasmtimeRuntime {
    default: Arc<EngineSet>,
    code_cache: Option<std::path::PathBuf>,
    /// Engines for other Wasm stack sizes, by size.
    stacks: Mutex<HashMap<usize, Arc<EngineSet>>>,
    /// Every engine the epoch ticker advances.
    ticked: Arc<Mutex<Vec<Engine>>>,
    stop_ticker: Arc<AtomicBool>,
}

impl WasmtimeRuntime {
    pub fn new() -> Result<Self> {
        Self::build(None)
    }

    /// Like [`Self::new`], and keeps compiled code of large modules (python.wasm: ~20 s to
    /// compile) in `dir` between processes.
    pub fn with_code_cache(dir: std::path::PathBuf) -> Result<Self> {
        Self::build(Some(dir))
    }

    fn build(code_cache: Option<std::path::PathBuf>) -> Result<Self> {
        let default = Arc::new(EngineSet::new(None, code_cache.clone())?);
        let ticked = Arc::new(Mutex::new(vec![default.engine.clone()]));
        let stop_ticker = Arc::new(AtomicBool::new(false));
        let (engines, stop) = (ticked.clone(), stop_ticker.clone());
        std::thread::Builder::new()
            .name("wasmtime-epoch".into())
            .spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(TICK);
                    for e in engines.lock().unwrap().iter() {
                        e.increment_epoch();
                    }
                }
            })?;
        Ok(WasmtimeRuntime {
            default,
            code_cache,
            stacks: Mutex::new(HashMap::new()),
            ticked,
            stop_ticker,
        })
    }

    pub fn engine(&self) -> &Engine {
        &self.default.engine
    }

    /// The engine for a Wasm stack size (`None`: wasmtime's default), created on first use.
    fn engine_set(&self, wasm_stack: Option<usize>) -> Result<Arc<EngineSet>> {
        let Some(bytes) = wasm_stack else {
            return Ok(self.default.clone());
        };
        let mut stacks = self.stacks.lock().unwrap();
        if let Some(e) = stacks.get(&bytes) {
            return Ok(e.clone());
        }
        let set = Arc::new(EngineSet::new(Some(bytes), self.code_cache.clone())?);
        self.ticked.lock().unwrap().push(set.engine.clone());
        stacks.insert(bytes, set.clone());
        Ok(set)
    }

    /// Compiled modules are cached by content hash, so the same probe binary is compiled once
    /// per process however many cells run it.
    pub fn module(&self, bytes: &[u8]) -> Result<Module> {
        self.default.module(bytes)
    }

    /// Runs an already compiled module. Exposed for benchmarks that want to exclude file I/O.
    /// The module must come from [`Self::module`] (the default engine), unless the spec asks
    /// for another Wasm stack, in which case it is recompiled for that engine (cached).
    pub fn run_module(&self, module: &Module, spec: &RunSpec) -> Result<Outcome> {
        let set = self.engine_set(spec.wasm_stack_bytes)?;
        anyhow::ensure!(
            Engine::same(module.engine(), &set.engine),
            "run_module: the module was compiled for the default engine but the spec asks for \
             a {:?}-byte Wasm stack; use run()",
            spec.wasm_stack_bytes
        );
        self.run_on(&set, module, spec)
    }

    fn run_on(&self, set: &EngineSet, module: &Module, spec: &RunSpec) -> Result<Outcome> {
        let stdout = CappedPipe::new(spec.limits.stdout_bytes);
        let stderr = CappedPipe::new(spec.limits.stderr_bytes);
        let (wasi, _decoy) = build_ctx(spec, &stdout, &stderr)?;
        let engine = set.engine.clone();
        let mut linker = set.linker.clone();
        if !spec.inject.is_empty() {
            inject::install_liars(&mut linker, &spec.inject)?;
        }
        let module = module.clone();
        let spec2 = spec.clone();
        let start = Instant::now();
        let thread = std::thread::Builder::new()
            .name("wasmtime-guest".into())
            .stack_size(spec.wasm_stack_bytes.unwrap_or(0) + HOST_STACK_MARGIN);
        let (termination, host_calls) = match run_watched(thread, spec.limits.wall, move || {
            run_in_store(&engine, linker, &module, &spec2, wasi)
        })? {
            Some(r) => {
                let (result, host) = r?;
                (classify(result, &host, &stdout, &stderr), host.host_calls())
            }
            None => (Termination::Timeout, Default::default()),
        };
        Ok(Outcome {
            termination,
            stdout: stdout.take(),
            stderr: stderr.take(),
            duration: start.elapsed(),
            host_calls,
        })
    }
}

impl Drop for WasmtimeRuntime {
    fn drop(&mut self) {
        self.stop_ticker.store(true, Ordering::Relaxed);
    }
}

/// The WASI context, plus the decoy directory `preopen:wrong-dir` maps the preopens to (it must
/// outlive the run).
fn build_ctx(
    spec: &RunSpec,
    stdout: &CappedPipe,
    stderr: &CappedPipe,
) -> Result<(WasiP1Ctx, Option<tempfile::TempDir>)> {
    let has = |f: &str, m: &str| spec.inject.iter().any(|i| i.func == f && i.mode == m);
    let mut b = WasiCtxBuilder::new();
    b.args(&spec.args)
        .envs(&spec.env)
        .stdout(stdout.clone())
        .stderr(stderr.clone())
        .stdin(wasmtime_wasi::p2::pipe::MemoryInputPipe::new(
            spec.stdin.clone(),
        ));
    let decoy = match has("preopen", "wrong-dir") {
        true => Some(
            wasiprobe_util::scratch::dir("decoy", None)?,
        ),
        false => None,
    };
    for p in &spec.preopens {
        let host = decoy.as_ref().map_or(p.host.as_path(), |d| d.path());
        b.preopened_dir(host, &p.guest, FsPerms::ReadWrite)
            .map_err(|e| anyhow::anyhow!("preopen {} as {}: {e:#}", host.display(), p.guest))?;
    }
    if has("path_open", "dotdot-escape") {
        if let Some(parent) = spec.preopens.first().and_then(|p| p.host.parent()) {
            b.preopened_dir(parent, inject::ESCAPE_PREOPEN, FsPerms::ReadWrite)
                .map_err(|e| anyhow::anyhow!("liar preopen {}: {e:#}", parent.display()))?;
        }
    }
    Ok((b.build_p1(), decoy))
}

type StoreResult = (std::result::Result<(), wasmtime::Error>, Host);

fn run_in_store(
    engine: &Engine,
    linker: Linker<Host>,
    module: &Module,
    spec: &RunSpec,
    wasi: WasiP1Ctx,
) -> Result<StoreResult> {
    let mut store = Store::new(engine, Host::new(wasi, spec));
    store.limiter(|h| &mut h.limiter);
    let ticks = spec
        .limits
        .wall
        .as_millis()
        .div_ceil(TICK.as_millis())
        .max(1) as u64;
    store.set_epoch_deadline(ticks);
    store.epoch_deadline_trap();
    let result = (|| -> wasmtime::Result<()> {
        let instance = linker.instantiate(&mut store, module)?;
        let start = instance.get_typed_func::<(), ()>(&mut store, "_start")?;
        store.data_mut().started = true;
        start.call(&mut store, ())
    })();
    Ok((result, store.into_data()))
}

fn classify(
    result: std::result::Result<(), wasmtime::Error>,
    host: &Host,
    stdout: &CappedPipe,
    stderr: &CappedPipe,
) -> Termination {
    let err = match result {
        Ok(()) => return Termination::Exited { code: 0 },
        Err(e) => e,
    };
    if let Some(exit) = err.downcast_ref::<I32Exit>() {
        return Termination::Exited { code: exit.0 };
    }
    let trap = err.downcast_ref::<Trap>();
    let stops = Stops {
        stdout_over: stdout.overflowed(),
        stderr_over: stderr.overflowed(),
        denied_bytes: host.limiter.0.denied,
        timed_out: matches!(trap, Some(Trap::Interrupt)),
    };
    if let Some(t) = stops.termination() {
        return t;
    }
    match trap {
        // The Debug print starts with "error while executing at wasm backtrace:", which hides
        // which trap it was; its first line names it.
        Some(trap) => Termination::Trap {
            message: format!("{trap}\n{err:?}"),
        },
        // Not a trap: a host function failed (a proc_exit status past 125), or the module
        // could not be linked or had no `_start`. The Debug print starts with the backtrace
        // header here too; the root cause is what went wrong.
        None if host.started => Termination::Trap {
            message: format!("{}\n{err:?}", err.root_cause()),
        },
        None => Termination::LoadError {
            message: format!("{}\n{err:?}", err.root_cause()),
        },
    }
}

impl Runtime for WasmtimeRuntime {
    fn name(&self) -> &str {
        "wasmtime"
    }
    fn version(&self) -> String {
        format!("{WASMTIME_VERSION} (embedded, wasmtime-wasi p1; honours wasm_stack_bytes as max_wasm_stack)")
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            fault_injection: true,
            liars: Vec::new(),
            host_call_counting: true,
            ..Capabilities::preview1("epoch", "in-process")
        }
    }
    fn run(&self, module: &Path, spec: &RunSpec) -> Result<Outcome> {
        let set = self.engine_set(spec.wasm_stack_bytes)?;
        crate::host::compile_then_run(
            module,
            spec.limits.compile,
            |b| set.module(b),
            |m| self.run_on(&set, m, spec),
        )
    }
}

/// A stdout/stderr sink that keeps at most `cap` bytes and traps the guest when it would pass
/// them, so a flooding guest is stopped at once instead of spinning on write errors.
#[derive(Clone)]
pub struct CappedPipe(CappedBuf);

impl CappedPipe {
    pub fn new(cap: usize) -> Self {
        CappedPipe(CappedBuf::new(cap))
    }
}

impl std::ops::Deref for CappedPipe {
    type Target = CappedBuf;
    fn deref(&self) -> &CappedBuf {
        &self.0
    }
}

mod pipe_impls {
    use super::CappedPipe;
    use std::pin::Pin;
    use std::task::{Context, Poll};
    use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
    use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError};

    impl IsTerminal for CappedPipe {
        fn is_terminal(&self) -> bool {
            false
        }
    }
    impl StdoutStream for CappedPipe {
        fn p2_stream(&self) -> Box<dyn OutputStream> {
            Box::new(self.clone())
        }
        fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
            Box::new(self.clone())
        }
    }
    #[wasmtime_wasi::async_trait]
    impl OutputStream for CappedPipe {
        fn write(&mut self, bytes: bytes::Bytes) -> Result<(), StreamError> {
            if self.push(&bytes) {
                Ok(())
            } else {
                Err(StreamError::Trap(wasmtime::format_err!(
                    "output limit of {} bytes reached",
                    self.cap()
                )))
            }
        }
        fn flush(&mut self) -> Result<(), StreamError> {
            Ok(())
        }
        fn check_write(&mut self) -> Result<usize, StreamError> {
            // Always grant a permit, so the overflowing write reaches `write` and traps there.
            Ok(1 << 16)
        }
    }
    #[wasmtime_wasi::async_trait]
    impl Pollable for CappedPipe {
        async fn ready(&mut self) {}
    }
    impl tokio::io::AsyncWrite for CappedPipe {
        fn poll_write(
            self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<std::io::Result<usize>> {
            if self.push(buf) {
                Poll::Ready(Ok(buf.len()))
            } else {
                Poll::Ready(Err(std::io::Error::other("output limit reached")))
            }
        }
        fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }
}
