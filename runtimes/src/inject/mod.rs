//! Fault injection: Preview 1 functions shadowed by liars.
//!
//! Every check in wasiprobe proves it can fail by running a probe against one of these. A liar
//! wraps the real wasmtime-wasi function (fetched from the linker for this store) and bends its
//! inputs or outputs, so everything it does not lie about stays real. The same shadowing is used
//! for the open-file limit, which wasmtime-wasi itself does not have.

use crate::host::calls;

mod clocks;
mod counting;
mod fs;
mod random;
mod stdio;

use crate::host::{FdBudget, MemoryBudget, ERRNO_MFILE};
use crate::Injection;
use crate::RunSpec;
pub use clocks::install_poll_deadline;
use clocks::*;
use counting::call as real;
pub use counting::install_call_counting;
use fs::*;
use random::*;
use std::collections::BTreeMap;
use stdio::*;
use wasmtime::{Caller, Extern, Linker, Memory, ResourceLimiter};
use wasmtime_wasi::p1::wasi_snapshot_preview1 as p1;
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::runtime::in_tokio;
use wasmtime_wasi::I32Exit;

const P1: &str = "wasi_snapshot_preview1";

/// The liars that exist, as (function, mode, what it does). Kept as data so `--inject` can list
/// them and reject unknown ones before any run starts.
pub const LIARS: &[(&str, &str, &str)] = &[
    (
        "fd_write",
        "drop-tail",
        "writes to stdout/stderr lose their last eighth (at least one byte) but report full success",
    ),
    (
        "args_get",
        "truncate",
        "the last argument longer than one byte is cut in half with a NUL",
    ),
    (
        "environ_get",
        "drop-value",
        "the first variable's value is cut to empty",
    ),
    (
        "proc_exit",
        "zero",
        "every exit status is reported to the host as 0",
    ),
    (
        "clock_time_get",
        "step-back",
        "the monotonic clock's 1000th reading is 1 ms behind the 999th",
    ),
    (
        "clock_time_get",
        "freeze",
        "the monotonic clock returns its first value forever",
    ),
    (
        "clock_time_get",
        "coarse-claims-1ns",
        "the monotonic clock ticks in 10 ms steps while clock_res_get claims 1 ns",
    ),
    (
        "clock_time_get",
        "realtime-plus-1h",
        "the realtime clock runs one hour ahead of the host",
    ),
    (
        "clock_time_get",
        "cpu-is-wall",
        "the CPU-time clocks exist but return monotonic (wall) time",
    ),
    (
        "random_get",
        "fixed-seed",
        "a good generator (ChaCha20) seeded with 42 in every run",
    ),
    (
        "random_get",
        "repeat-64k",
        "one 64 KiB block of good random bytes, repeated",
    ),
    (
        "random_get",
        "counter",
        "little-endian 64-bit counter words",
    ),
    (
        "random_get",
        "zeros",
        "every byte is zero (a host source that is broken outright)",
    ),
    (
        "random_get",
        "biased",
        "every bit is 1 with probability 0.51",
    ),
    (
        "random_get",
        "half-fill",
        "only the first half of each buffer is written",
    ),
    (
        "random_get",
        "lcg-low-bits",
        "the low byte of a 32-bit LCG",
    ),
    (
        "poll_oneoff",
        "half",
        "clock subscriptions fire after half the requested time",
    ),
    (
        "poll_oneoff",
        "wrong-userdata",
        "events come back with a userdata the guest never gave",
    ),
    (
        "fd_write",
        "short-file-writes",
        "writes to files (not stdout/stderr) lose their last eighth but report full success",
    ),
    (
        "fd_sync",
        "drop-data",
        "fd_sync/fd_datasync succeed, then the file's data is gone (truncated to 0 bytes)",
    ),
    (
        "fd_filestat_get",
        "mtime-plus-1h",
        "fd_filestat_get and path_filestat_get report every mtime one hour late",
    ),
    (
        "fd_readdir",
        "duplicate",
        "each fd_readdir buffer repeats its first entry other than . and ..",
    ),
    (
        "preopen",
        "wrong-dir",
        "the guest's preopen is mapped to an empty host directory instead of the one asked for",
    ),
    (
        "path_open",
        "dotdot-escape",
        "`..` at a preopen's root leads to its host parent directory",
    ),
    (
        "fd_tell",
        "lie",
        "reports the file offset plus one",
    ),
    (
        "fd_seek",
        "einval-on-stream",
        "seeking stdin, stdout or stderr fails with EINVAL instead of ESPIPE",
    ),
    (
        "fd_advise",
        "enosys",
        "returns ENOSYS without calling the real implementation",
    ),
    (
        "worker",
        "segfault",
        "not a liar: the runtime's worker process dies by SIGSEGV before the guest starts \
         (runtimes in a worker process only; the crash-isolation control)",
    ),
];

/// `FUNC:MODE` as a liar this crate knows (`wasiprobe liars` lists them), or why it is not one.
pub fn parse(s: &str) -> Result<Injection, String> {
    let inj: Injection = s.parse()?;
    if !LIARS
        .iter()
        .any(|(f, m, _)| *f == inj.func && *m == inj.mode)
    {
        let known: Vec<String> = LIARS.iter().map(|(f, m, _)| format!("{f}:{m}")).collect();
        return Err(format!(
            "unknown injection '{s}'; known: {}",
            known.join(", ")
        ));
    }
    Ok(inj)
}

/// `mode` of `func` as its name in [`LIARS`], which a liar's closure can keep (`'static`).
fn liar_mode(func: &str, mode: &str) -> wasmtime::Result<&'static str> {
    match LIARS.iter().find(|(f, m, _)| *f == func && *m == mode) {
        Some((_, m, _)) => Ok(m),
        None => wasmtime::bail!("unknown {func} liar {mode}"),
    }
}

/// The guest name of the hidden preopen behind `path_open:dotdot-escape`.
pub const ESCAPE_PREOPEN: &str = "/.wasiprobe-liar-parent";

/// Store data for one guest run.
pub struct Host {
    pub wasi: WasiP1Ctx,
    pub limiter: MemoryLimiter,
    /// Host calls per Preview 1 function, indexed by `calls::id`.
    calls: [u64; calls::N],
    pub started: bool,
    /// State a liar keeps between calls (e.g. the frozen clock value).
    liar_state: BTreeMap<&'static str, u64>,
    /// The random liars' generator and (for repeat-64k) the block they recycle.
    liar_rng: Option<rand_chacha::ChaCha20Rng>,
    liar_block: Vec<u8>,
    argc: u32,
    envc: u32,
    fds: FdBudget,
    /// The case's wall-time deadline, for host calls that would sleep past it.
    deadline: std::time::Instant,
}

impl Host {
    pub fn new(wasi: WasiP1Ctx, spec: &RunSpec) -> Self {
        Host {
            wasi,
            limiter: MemoryLimiter(MemoryBudget::new(spec.limits.memory_bytes)),
            calls: [0; calls::N],
            started: false,
            liar_state: BTreeMap::new(),
            liar_rng: None,
            liar_block: Vec::new(),
            argc: spec.args.len() as u32,
            envc: spec.env.len() as u32,
            fds: FdBudget::new(spec.limits.open_files),
            deadline: std::time::Instant::now() + spec.limits.wall,
        }
    }
    /// One host call of function `id` (`calls::id`, in a `const` block at the call site).
    pub(crate) fn count(&mut self, id: usize) {
        self.calls[id] += 1;
    }
    /// The calls made, by function name; functions never called are left out.
    pub fn host_calls(&self) -> BTreeMap<String, u64> {
        calls::by_name(self.calls)
    }
}

/// Traps (instead of failing `memory.grow`) so that a memory grab is a clear `oom` verdict, not
/// a NULL from malloc that the guest may or may not report. The budget is the store's, so it
/// bounds the sum of every memory and table of the guest.
pub struct MemoryLimiter(pub MemoryBudget);

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if !self.0.admit(current as u64, desired as u64) {
            wasmtime::bail!(
                "memory limit: {desired} bytes requested, {} allowed in all",
                self.0.max()
            );
        }
        Ok(true)
    }
    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if !self.0.admit_table(current, desired) {
            wasmtime::bail!(
                "memory limit: a table of {desired} entries passes the {} bytes allowed in all",
                self.0.max()
            );
        }
        Ok(true)
    }
}

fn memory(caller: &mut Caller<'_, Host>) -> wasmtime::Result<Memory> {
    match caller.get_export("memory") {
        Some(Extern::Memory(m)) => Ok(m),
        _ => wasmtime::bail!("guest exports no memory"),
    }
}

// Guest memory is little-endian; one pair of functions serves every width.
fn read_le<const N: usize>(
    caller: &Caller<'_, Host>,
    mem: &Memory,
    at: u32,
) -> wasmtime::Result<[u8; N]> {
    let mut b = [0u8; N];
    mem.read(caller, at as usize, &mut b)?;
    Ok(b)
}

fn write_le(
    caller: &mut Caller<'_, Host>,
    mem: &Memory,
    at: u32,
    b: &[u8],
) -> wasmtime::Result<()> {
    mem.write(caller, at as usize, b)?;
    Ok(())
}

fn read_u32(caller: &Caller<'_, Host>, mem: &Memory, at: u32) -> wasmtime::Result<u32> {
    read_le(caller, mem, at).map(u32::from_le_bytes)
}

fn write_u32(caller: &mut Caller<'_, Host>, mem: &Memory, at: u32, v: u32) -> wasmtime::Result<()> {
    write_le(caller, mem, at, &v.to_le_bytes())
}

fn read_u64(caller: &Caller<'_, Host>, mem: &Memory, at: u32) -> wasmtime::Result<u64> {
    read_le(caller, mem, at).map(u64::from_le_bytes)
}

fn write_u64(caller: &mut Caller<'_, Host>, mem: &Memory, at: u32, v: u64) -> wasmtime::Result<()> {
    write_le(caller, mem, at, &v.to_le_bytes())
}

/// `path_open`'s arguments as the guest passed them, so a wrapper can bend some and hand all
/// of them to the real function.
#[derive(Clone, Copy)]
struct PathOpen {
    dirfd: i32,
    dirflags: i32,
    path: i32,
    path_len: i32,
    oflags: i32,
    rights_base: i64,
    rights_inh: i64,
    fdflags: i32,
    fd_out: i32,
}

impl PathOpen {
    /// wasmtime-wasi's `path_open` with these arguments; its errno.
    fn real(self, caller: &mut Caller<'_, Host>) -> wasmtime::Result<i32> {
        real(caller, |ctx, m| {
            in_tokio(p1::path_open(
                ctx,
                m,
                self.dirfd,
                self.dirflags,
                self.path,
                self.path_len,
                self.oflags,
                self.rights_base,
                self.rights_inh,
                self.fdflags,
                self.fd_out,
            ))
        })?
    }
}

/// Shadows `path_open` with `f`, which is given the guest's arguments; the call is counted.
fn wrap_path_open(
    linker: &mut Linker<Host>,
    f: impl Fn(&mut Caller<'_, Host>, PathOpen) -> wasmtime::Result<i32> + Send + Sync + 'static,
) -> wasmtime::Result<()> {
    linker.func_wrap(
        P1,
        "path_open",
        move |mut caller: Caller<'_, Host>,
              dirfd: i32,
              dirflags: i32,
              path: i32,
              path_len: i32,
              oflags: i32,
              rights_base: i64,
              rights_inh: i64,
              fdflags: i32,
              fd_out: i32|
              -> wasmtime::Result<i32> {
            caller.data_mut().count(const { calls::id("path_open") });
            let args = PathOpen {
                dirfd,
                dirflags,
                path,
                path_len,
                oflags,
                rights_base,
                rights_inh,
                fdflags,
                fd_out,
            };
            f(&mut caller, args)
        },
    )?;
    Ok(())
}

/// Shadows `path_open`/`fd_close` to count open files, since wasmtime-wasi has no fd limit.
/// Installed once into the runtime's base linker.
pub fn install_fd_accounting(linker: &mut Linker<Host>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    wrap_path_open(linker, |caller, args| {
        let errno = args.real(caller)?;
        if errno != 0 {
            return Ok(errno);
        }
        if caller.data().fds.full() {
            // Over the limit: undo the open and report EMFILE, as a POSIX kernel would.
            let mem = memory(caller)?;
            let fd = read_u32(caller, &mem, args.fd_out as u32)? as i32;
            real(caller, |ctx, m| in_tokio(p1::fd_close(ctx, m, fd)))??;
            return Ok(ERRNO_MFILE);
        }
        caller.data_mut().fds.opened();
        Ok(0)
    })?;
    linker.func_wrap(
        P1,
        "fd_close",
        |mut caller: Caller<'_, Host>, fd: i32| -> wasmtime::Result<i32> {
            caller.data_mut().count(const { calls::id("fd_close") });
            let errno = real(&mut caller, |ctx, m| in_tokio(p1::fd_close(ctx, m, fd)))??;
            caller.data_mut().fds.closed(fd, errno);
            Ok(errno)
        },
    )?;
    Ok(())
}

/// Installs the requested liars into `linker` (a per-run clone of the runtime's linker).
pub fn install_liars(linker: &mut Linker<Host>, inject: &[Injection]) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    for inj in inject {
        match (inj.func.as_str(), inj.mode.as_str()) {
            ("fd_write", "drop-tail") => fd_write_drop_tail(linker, false)?,
            ("fd_write", "short-file-writes") => fd_write_drop_tail(linker, true)?,
            ("fd_sync", "drop-data") => fd_sync_drop_data(linker)?,
            ("fd_filestat_get", "mtime-plus-1h") => filestat_mtime_plus_1h(linker)?,
            ("fd_readdir", "duplicate") => fd_readdir_duplicate(linker)?,
            // Applied where the WASI context is built (the preopen's host directory).
            ("preopen", "wrong-dir") => {}
            ("path_open", "dotdot-escape") => path_open_dotdot_escape(linker)?,
            ("args_get", "truncate") => args_get_truncate(linker)?,
            ("environ_get", "drop-value") => environ_get_drop_value(linker)?,
            ("proc_exit", "zero") => proc_exit_zero(linker)?,
            ("clock_time_get", mode) => clock_liar(linker, mode)?,
            ("poll_oneoff", mode) => poll_liar(linker, mode)?,
            ("random_get", mode) => random_liar(linker, mode)?,
            ("fd_tell", "lie") => fd_tell_lie(linker)?,
            ("fd_advise", "enosys") => fd_advise_enosys(linker)?,
            ("fd_seek", "einval-on-stream") => fd_seek_einval_on_stream(linker)?,
            ("worker", _) => wasmtime::bail!(
                "{inj} kills a runtime's worker process; wasmtime runs in this process and \
                 refuses it"
            ),
            _ => wasmtime::bail!("unknown injection {inj}"),
        }
    }
    Ok(())
}
