//! Embedded wasmi 2.0 (an interpreter) with wasmi_wasi's Preview 1, which is wasi-common 36.
//!
//! Limits: wall time by fuel, spent in slices with the clock read between them (a resumable
//! call); a guest that asks `poll_oneoff` to sleep past the deadline sleeps until the deadline
//! and is stopped there (fuel cannot reach into a host call); a watchdog gives up on any other
//! host call that blocks. Memory by a `ResourceLimiter` that traps; output by capped
//! stdout/stderr files that trap; open files by shadowing `path_open`/`fd_close`, since
//! wasi-common has no descriptor limit.
//!
//! Not available here: the liars (`inject.rs` is written against wasmtime-wasi), and the Wasm
//! stack size, which wasmi fixes per engine (its value stack, not a native stack).

use crate::host::calls;
use crate::host::poll::slept_to_deadline;
use crate::host::watchdog::run_watched;
use crate::host::{compile_then_run, FdBudget, MemoryBudget, ModuleCache, Stops, ERRNO_MFILE};
use crate::wasmtime_rt::CappedPipe;
use crate::{Capabilities, Outcome, RunSpec, Runtime, Termination};
use anyhow::{Context as _, Result};
use std::collections::BTreeMap;
use std::future::Future;
use std::path::Path;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};
use wasmi::{Caller, Config, Engine, Extern, Linker, Module, Store, TypedResumableCall};
use wasmi_core::LimiterError;
use wasmi_wasi::sync::snapshots::preview_1::wrapped;
use wasmi_wasi::wasi_common::snapshots::preview_1::wasi_snapshot_preview1 as p1;
use wasmi_wasi::wasi_common::{self, WasiCtx};

pub const ENTRY: crate::registry::Entry =
    crate::registry::Entry::new("wasmi", |_| Ok(Box::new(WasmiRuntime::new()?)));

pub const WASMI_VERSION: &str = "2.0.0";

const P1: &str = "wasi_snapshot_preview1";
/// Fuel per slice between two looks at the clock: a few milliseconds of interpretation, so the
/// wall limit is kept to within that, at no measurable cost per slice.
const FUEL_SLICE: u64 = 1 << 22;

pub struct WasmiRuntime {
    engine: Engine,
    linker: Arc<Linker<WHost>>,
    modules: ModuleCache<Module>,
}

/// Store data for one guest run.
pub struct WHost {
    wasi: WasiCtx,
    limiter: MemoryLimiter,
    /// Host calls per Preview 1 function, indexed by `calls::id`.
    calls: [u64; calls::N],
    fds: FdBudget,
    deadline: Instant,
    /// Set when `poll_oneoff` was stopped at the deadline.
    slept_into_deadline: bool,
}

impl WHost {
    fn host_calls(&self) -> BTreeMap<String, u64> {
        calls::by_name(self.calls)
    }
}

/// Traps (instead of failing `memory.grow`) so that a memory grab is a clear `oom` verdict, as
/// with wasmtime; also called for the initial memory at instantiation. One budget for every
/// memory and table of the store.
struct MemoryLimiter(MemoryBudget);

impl wasmi::ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> Result<bool, LimiterError> {
        if !self.0.admit(current as u64, desired as u64) {
            return Err(LimiterError::ResourceLimiterDeniedAllocation);
        }
        Ok(true)
    }
    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> Result<bool, LimiterError> {
        if !self.0.admit_table(current, desired) {
            return Err(LimiterError::ResourceLimiterDeniedAllocation);
        }
        Ok(true)
    }
    fn instances(&self) -> usize {
        1
    }
    fn tables(&self) -> usize {
        16
    }
    fn memories(&self) -> usize {
        1
    }
}

/// Registers every Preview 1 function from wasmi_wasi, each with a context getter that counts
/// the call: wasmi_wasi calls the getter exactly once per call, before the real work.
macro_rules! counted {
    ($linker:expr, $($name:ident),* $(,)?) => {$(
        $linker.func_wrap(
            P1,
            stringify!($name),
            wrapped::$name::<WHost, WasiCtx>(|h: &mut WHost| {
                h.calls[const { calls::id(stringify!($name)) }] += 1;
                &mut h.wasi
            }),
        )?;
    )*};
}

/// wasi-common's futures never wait in its synchronous flavour (they block the thread
/// instead), so one poll completes them; wasmi_wasi does the same.
fn block_on<F: Future>(f: F) -> std::result::Result<F::Output, wasmi::Error> {
    let mut f = pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => Ok(v),
        Poll::Pending => Err(wasmi::Error::new("a WASI call would wait on a future")),
    }
}

/// A wasi-common error as wasmi_wasi reports it: `proc_exit` as an exit status, others as
/// traps with their message.
fn to_wasmi(e: anyhow::Error) -> wasmi::Error {
    match e.downcast::<wasi_common::I32Exit>() {
        Ok(wasi_common::I32Exit(status)) => wasmi::Error::i32_exit(status),
        Err(e) => wasmi::Error::new(format!("{e:#}")),
    }
}

/// The real wasi-common implementation of `$f`, with the caller's memory and WASI context.
macro_rules! real {
    ($caller:expr, $f:ident($($arg:expr),* $(,)?)) => {{
        let Some(Extern::Memory(m)) = $caller.get_export("memory") else {
            return Err(wasmi::Error::new("missing required WASI memory export"));
        };
        let (data, host) = m.data_and_store_mut(&mut $caller);
        let mut gm = wasmi_wasi::WasmiGuestMemory::Unshared(data);
        block_on(p1::$f(&mut host.wasi, &mut gm, $($arg),*))?.map_err(to_wasmi)?
    }};
}

impl WasmiRuntime {
    pub fn new() -> Result<Self> {
        let mut config = Config::default();
        config.consume_fuel(true);
        // Eager: wasmi's lazy translation charges fuel for compiling a function on its first
        // call, and when the slice's fuel left is short it fails with a non-resumable
        // "ran out of fuel while calling a resumable function" error — python.wasm trapped
        // that way at random points.
        config.compilation_mode(wasmi::CompilationMode::Eager);
        let engine = Engine::new(&config);
        let mut linker: Linker<WHost> = Linker::new(&engine);
        counted!(
            linker,
            args_get,
            args_sizes_get,
            environ_get,
            environ_sizes_get,
            clock_res_get,
            clock_time_get,
            fd_advise,
            fd_allocate,
            fd_datasync,
            fd_fdstat_get,
            fd_fdstat_set_flags,
            fd_fdstat_set_rights,
            fd_filestat_get,
            fd_filestat_set_size,
            fd_filestat_set_times,
            fd_pread,
            fd_prestat_get,
            fd_prestat_dir_name,
            fd_pwrite,
            fd_read,
            fd_readdir,
            fd_renumber,
            fd_seek,
            fd_sync,
            fd_tell,
            fd_write,
            path_create_directory,
            path_filestat_get,
            path_filestat_set_times,
            path_link,
            path_readlink,
            path_remove_directory,
            path_rename,
            path_symlink,
            path_unlink_file,
            proc_exit,
            proc_raise,
            sched_yield,
            random_get,
            sock_accept,
            sock_recv,
            sock_send,
            sock_shutdown,
        );
        install_fd_accounting(&mut linker)?;
        install_poll_deadline(&mut linker)?;
        Ok(WasmiRuntime {
            engine,
            linker: Arc::new(linker),
            modules: ModuleCache::default(),
        })
    }

    /// Modules are cached by content hash (wasmi validates eagerly and translates function
    /// bodies lazily, on first call).
    pub fn module(&self, bytes: &[u8]) -> Result<Module> {
        self.modules.get_or_compile(bytes, |_| {
            Module::new(&self.engine, bytes).map_err(|e| anyhow::anyhow!("{e}"))
        })
    }

    pub fn run_module(&self, module: &Module, spec: &RunSpec) -> Result<Outcome> {
        if let Some(inj) = spec.inject.first() {
            anyhow::bail!(
                "wasmi cannot inject {inj}: the liars are written against wasmtime-wasi \
                 (capabilities say fault_injection: false)"
            );
        }
        let stdout = CappedPipe::new(spec.limits.stdout_bytes);
        let stderr = CappedPipe::new(spec.limits.stderr_bytes);
        let wasi = build_ctx(spec, &stdout, &stderr)?;
        let start = Instant::now();
        let host = WHost {
            wasi,
            limiter: MemoryLimiter(MemoryBudget::new(spec.limits.memory_bytes)),
            calls: [0; calls::N],
            fds: FdBudget::new(spec.limits.open_files),
            deadline: start + spec.limits.wall,
            slept_into_deadline: false,
        };
        let (engine, linker, module) = (self.engine.clone(), self.linker.clone(), module.clone());
        let (out, err) = (stdout.clone(), stderr.clone());
        let thread = std::thread::Builder::new().name("wasmi-guest".into());
        let (termination, host_calls) = run_watched(thread, spec.limits.wall, move || {
            run_in_store(&engine, &linker, &module, host, &out, &err)
        })?
        .unwrap_or((Termination::Timeout, Default::default()));
        Ok(Outcome {
            termination,
            stdout: stdout.take(),
            stderr: stderr.take(),
            duration: start.elapsed(),
            host_calls,
        })
    }
}

fn build_ctx(spec: &RunSpec, stdout: &CappedPipe, stderr: &CappedPipe) -> Result<WasiCtx> {
    use wasmi_wasi::sync::{ambient_authority, Dir, WasiCtxBuilder};
    let mut b = WasiCtxBuilder::new();
    b.args(&spec.args)
        .map_err(|e| anyhow::anyhow!("argv: {e}"))?
        .envs(&spec.env)
        .map_err(|e| anyhow::anyhow!("environment: {e}"))?
        .stdin(Box::new(wasi_common::pipe::ReadPipe::from(
            spec.stdin.clone(),
        )))
        .stdout(Box::new(stdout.clone()))
        .stderr(Box::new(stderr.clone()));
    for p in &spec.preopens {
        let dir = Dir::open_ambient_dir(&p.host, ambient_authority())
            .with_context(|| format!("preopen {}", p.host.display()))?;
        b.preopened_dir(dir, &p.guest)
            .map_err(|e| anyhow::anyhow!("preopen {} as {}: {e}", p.host.display(), p.guest))?;
    }
    Ok(b.build())
}

fn run_in_store(
    engine: &Engine,
    linker: &Linker<WHost>,
    module: &Module,
    host: WHost,
    stdout: &CappedPipe,
    stderr: &CappedPipe,
) -> (Termination, BTreeMap<String, u64>) {
    let mut store = Store::new(engine, host);
    store.limiter(|h| &mut h.limiter);
    let t = (|| {
        if let Err(e) = store.set_fuel(FUEL_SLICE) {
            return Termination::Crash {
                message: format!("wasmi refused fuel: {e}"),
            };
        }
        let instance = match linker.instantiate_and_start(&mut store, module) {
            Ok(i) => i,
            Err(e) => {
                return match store.data().limiter.0.denied {
                    Some(requested) => Termination::Oom {
                        requested_bytes: requested,
                    },
                    None if e.as_trap_code().is_some() => Termination::Trap {
                        message: format!("in the start function: {e}"),
                    },
                    None => Termination::LoadError {
                        message: format!("{e}"),
                    },
                }
            }
        };
        let start = match instance.get_typed_func::<(), ()>(&store, "_start") {
            Ok(f) => f,
            Err(e) => {
                return Termination::LoadError {
                    message: format!("no _start of type () -> (): {e}"),
                }
            }
        };
        let mut call = start.call_resumable(&mut store, ());
        loop {
            match call {
                Ok(TypedResumableCall::Finished(())) => return Termination::Exited { code: 0 },
                Ok(TypedResumableCall::OutOfFuel(c)) => {
                    if Instant::now() >= store.data().deadline {
                        return Termination::Timeout;
                    }
                    // A bulk memory operation may need more than one slice at once.
                    if let Err(e) = store.set_fuel(FUEL_SLICE.max(c.required_fuel())) {
                        return Termination::Crash {
                            message: format!("wasmi refused fuel: {e}"),
                        };
                    }
                    call = c.resume(&mut store);
                }
                Ok(TypedResumableCall::HostTrap(c)) => {
                    return classify(c.host_error(), store.data(), stdout, stderr)
                }
                Err(e) => return classify(&e, store.data(), stdout, stderr),
            }
        }
    })();
    (t, store.data().host_calls())
}

fn classify(
    err: &wasmi::Error,
    host: &WHost,
    stdout: &CappedPipe,
    stderr: &CappedPipe,
) -> Termination {
    if let Some(code) = err.i32_exit_status() {
        return Termination::Exited { code };
    }
    let stops = Stops {
        stdout_over: stdout.overflowed(),
        stderr_over: stderr.overflowed(),
        denied_bytes: host.limiter.0.denied,
        timed_out: host.slept_into_deadline,
    };
    if let Some(t) = stops.termination() {
        return t;
    }
    Termination::Trap {
        message: format!("{err}"),
    }
}

/// Counts open files, since wasi-common has no descriptor limit. Past the limit `path_open`
/// fails with EMFILE before it touches the path, as Linux's open(2) does.
fn install_fd_accounting(linker: &mut Linker<WHost>) -> Result<()> {
    linker.func_wrap(
        P1,
        "path_open",
        |mut caller: Caller<'_, WHost>,
         dirfd: i32,
         dirflags: i32,
         path: i32,
         path_len: i32,
         oflags: i32,
         rights_base: i64,
         rights_inh: i64,
         fdflags: i32,
         fd_out: i32|
         -> std::result::Result<i32, wasmi::Error> {
            let h = caller.data_mut();
            h.calls[const { calls::id("path_open") }] += 1;
            if h.fds.full() {
                return Ok(ERRNO_MFILE);
            }
            let errno = real!(
                caller,
                path_open(
                    dirfd,
                    dirflags,
                    path,
                    path_len,
                    oflags,
                    rights_base,
                    rights_inh,
                    fdflags,
                    fd_out
                )
            );
            if errno == 0 {
                caller.data_mut().fds.opened();
            }
            Ok(errno)
        },
    )?;
    linker.func_wrap(
        P1,
        "fd_close",
        |mut caller: Caller<'_, WHost>, fd: i32| -> std::result::Result<i32, wasmi::Error> {
            caller.data_mut().calls[const { calls::id("fd_close") }] += 1;
            let errno = real!(caller, fd_close(fd));
            caller.data_mut().fds.closed(fd, errno);
            Ok(errno)
        },
    )?;
    Ok(())
}

/// `poll_oneoff` that will not sleep past the wall limit: when every subscription is a clock
/// and the earliest would fire after the deadline, the guest sleeps until the deadline and is
/// stopped there (a timeout). Anything else goes to wasi-common unchanged.
fn install_poll_deadline(linker: &mut Linker<WHost>) -> Result<()> {
    linker.func_wrap(
        P1,
        "poll_oneoff",
        |mut caller: Caller<'_, WHost>,
         subs: i32,
         events: i32,
         n: i32,
         nevents: i32|
         -> std::result::Result<i32, wasmi::Error> {
            caller.data_mut().calls[const { calls::id("poll_oneoff") }] += 1;
            let wait = clock_wait(&caller, subs as u32, n as u32);
            if slept_to_deadline(wait, caller.data().deadline) {
                caller.data_mut().slept_into_deadline = true;
                return Err(wasmi::Error::new(
                    "wall-clock limit reached while the guest slept in poll_oneoff",
                ));
            }
            Ok(real!(caller, poll_oneoff(subs, events, n, nevents)))
        },
    )?;
    Ok(())
}

/// How long wasi-common's `poll_oneoff` would block on these subscriptions, when that is
/// known ([`crate::host::poll::clock_wait`]); an absolute deadline only on the monotonic clock,
/// read as wasi-common does (since the context's creation).
fn clock_wait(caller: &Caller<'_, WHost>, subs: u32, n: u32) -> Option<Duration> {
    let Some(Extern::Memory(m)) = caller.get_export("memory") else {
        return None;
    };
    let mem = m.data(caller);
    let bytes = mem.get(subs as usize..)?;
    crate::host::poll::clock_wait(bytes, n as usize, |id| {
        if id != 1 {
            return None;
        }
        let clock = caller.data().wasi.clocks.monotonic().ok()?;
        let now = clock.abs_clock.now(Duration::ZERO);
        let since = now.checked_duration_since(clock.creation_time)?;
        u64::try_from(since.as_nanos()).ok()
    })
}

/// stdout/stderr as wasi-common sees them: a pipe (as its own in-memory `WritePipe`), whose
/// write traps at the cap so a flooding guest is stopped at once.
#[async_trait::async_trait]
impl wasi_common::WasiFile for CappedPipe {
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    async fn get_filetype(
        &self,
    ) -> std::result::Result<wasi_common::file::FileType, wasi_common::Error> {
        Ok(wasi_common::file::FileType::Pipe)
    }
    async fn get_fdflags(
        &self,
    ) -> std::result::Result<wasi_common::file::FdFlags, wasi_common::Error> {
        Ok(wasi_common::file::FdFlags::APPEND)
    }
    async fn write_vectored<'a>(
        &self,
        bufs: &[std::io::IoSlice<'a>],
    ) -> std::result::Result<u64, wasi_common::Error> {
        let mut n = 0u64;
        for b in bufs {
            if !self.push(b) {
                return Err(wasi_common::Error::trap(anyhow::anyhow!(
                    "output limit of {} bytes reached",
                    self.cap()
                )));
            }
            n += b.len() as u64;
        }
        Ok(n)
    }
    async fn writable(&self) -> std::result::Result<(), wasi_common::Error> {
        Ok(())
    }
}

impl Runtime for WasmiRuntime {
    fn name(&self) -> &str {
        "wasmi"
    }
    fn version(&self) -> String {
        format!("{WASMI_VERSION} (embedded interpreter, wasmi_wasi/wasi-common 36 p1; Wasm stack size fixed)")
    }
    fn capabilities(&self) -> Capabilities {
        // The liars wrap wasmtime-wasi's functions; none is written for wasi-common.
        Capabilities {
            host_call_counting: true,
            ..Capabilities::preview1("fuel", "in-process")
        }
    }
    fn run(&self, module: &Path, spec: &RunSpec) -> Result<Outcome> {
        compile_then_run(module, spec.limits.compile, |b| self.module(b), |m| self.run_module(m, spec))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::watchdog::WATCHDOG_GRACE;
    use crate::Limits;

    /// A guest that asks poll_oneoff for one relative clock sleep of `ns` and exits 0.
    fn sleeper(ns: u64) -> Vec<u8> {
        wat::parse_str(format!(
            r#"(module
              (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
              (memory (export "memory") 1)
              (func (export "_start")
                (i64.store (i32.const 0) (i64.const 1))
                (i32.store8 (i32.const 8) (i32.const 0))
                (i32.store (i32.const 16) (i32.const 1))
                (i64.store (i32.const 24) (i64.const {ns}))
                (drop (call $poll (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128)))))"#
        ))
        .unwrap()
    }

    fn spec(wall_ms: u64) -> RunSpec {
        RunSpec {
            args: vec!["guest".into()],
            limits: Limits {
                wall: Duration::from_millis(wall_ms),
                ..Limits::default()
            },
            ..Default::default()
        }
    }

    #[test]
    fn a_long_sleep_is_stopped_at_the_deadline_not_by_the_watchdog() {
        let rt = WasmiRuntime::new().unwrap();
        let m = rt.module(&sleeper(3_600_000_000_000)).unwrap();
        let o = rt.run_module(&m, &spec(300)).unwrap();
        assert_eq!(o.termination, Termination::Timeout);
        // The watchdog would answer only after wall + WATCHDOG_GRACE.
        assert!(
            o.duration < Duration::from_millis(300) + WATCHDOG_GRACE / 2,
            "{:?}",
            o.duration
        );
        assert!(o.duration >= Duration::from_millis(300), "{:?}", o.duration);
    }

    #[test]
    fn a_sleep_within_the_limit_is_left_alone() {
        let rt = WasmiRuntime::new().unwrap();
        let m = rt.module(&sleeper(100_000_000)).unwrap();
        let o = rt.run_module(&m, &spec(2000)).unwrap();
        assert_eq!(o.termination, Termination::Exited { code: 0 });
        assert!(o.duration >= Duration::from_millis(100), "{:?}", o.duration);
        assert_eq!(o.host_calls.get("poll_oneoff"), Some(&1));
    }

    #[test]
    fn calls_are_counted_per_function() {
        let rt = WasmiRuntime::new().unwrap();
        let m = rt
            .module(
                &wat::parse_str(
                    r#"(module
                  (import "wasi_snapshot_preview1" "args_sizes_get" (func $a (param i32 i32) (result i32)))
                  (memory (export "memory") 1)
                  (func (export "_start")
                    (drop (call $a (i32.const 0) (i32.const 4)))
                    (drop (call $a (i32.const 0) (i32.const 4)))))"#,
                )
                .unwrap(),
            )
            .unwrap();
        let o = rt.run_module(&m, &spec(2000)).unwrap();
        assert_eq!(o.termination, Termination::Exited { code: 0 });
        assert_eq!(
            o.host_calls,
            BTreeMap::from([("args_sizes_get".to_string(), 2)])
        );
    }
}
