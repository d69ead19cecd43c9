//! Fault injection: Preview 1 functions shadowed by liars.
//!
//! Every check in wasiprobe proves it can fail by running a probe against one of these. A liar
//! wraps the real wasmtime-wasi function (fetched from the linker for this store) and bends its
//! inputs or outputs, so everything it does not lie about stays real. The same shadowing is used
//! for the open-file limit, which wasmtime-wasi itself does not have.

use crate::count;
use crate::Injection;
use crate::RunSpec;
use std::collections::BTreeMap;
use wasmtime::{AsContextMut, Caller, Extern, Linker, Memory, ResourceLimiter};
use wasmtime_wasi::p1::wasi_snapshot_preview1::{self as p1, WasiSnapshotPreview1 as _};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::runtime::in_tokio;
use wasmtime_wasi::I32Exit;
use wiggle::GuestMemory;

const P1: &str = "wasi_snapshot_preview1";
const ERRNO_MFILE: i32 = 33;

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

/// The guest name of the hidden preopen behind `path_open:dotdot-escape`.
pub const ESCAPE_PREOPEN: &str = "/.wasiprobe-liar-parent";

/// Store data for one guest run.
pub struct Host {
    pub wasi: WasiP1Ctx,
    pub limiter: MemoryLimiter,
    /// Host calls per Preview 1 function, indexed by `count::id`.
    calls: [u64; count::N],
    pub started: bool,
    /// State a liar keeps between calls (e.g. the frozen clock value).
    liar_state: BTreeMap<&'static str, u64>,
    /// The random liars' generator and (for repeat-64k) the block they recycle.
    liar_rng: Option<rand_chacha::ChaCha20Rng>,
    liar_block: Vec<u8>,
    argc: u32,
    envc: u32,
    open_files: u32,
    max_open_files: u32,
}

impl Host {
    pub fn new(wasi: WasiP1Ctx, spec: &RunSpec) -> Self {
        Host {
            wasi,
            limiter: MemoryLimiter {
                max: spec.limits.memory_bytes,
                denied: None,
            },
            calls: [0; count::N],
            started: false,
            liar_state: BTreeMap::new(),
            liar_rng: None,
            liar_block: Vec::new(),
            argc: spec.args.len() as u32,
            envc: spec.env.len() as u32,
            open_files: 0,
            max_open_files: spec.limits.open_files,
        }
    }
    /// One host call of function `id` (`count::id`, in a `const` block at the call site).
    pub(crate) fn count(&mut self, id: usize) {
        self.calls[id] += 1;
    }
    /// The calls made, by function name; functions never called are left out.
    pub fn host_calls(&self) -> BTreeMap<String, u64> {
        (0..count::N)
            .zip(self.calls)
            .filter(|(_, n)| *n > 0)
            .map(|(id, n)| (count::name(id).to_string(), n))
            .collect()
    }
}

/// Traps (instead of failing `memory.grow`) so that a memory grab is a clear `oom` verdict, not
/// a NULL from malloc that the guest may or may not report.
pub struct MemoryLimiter {
    max: u64,
    pub denied: Option<u64>,
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired as u64 > self.max {
            self.denied = Some(desired as u64);
            wasmtime::bail!(
                "memory limit: {desired} bytes requested, {} allowed",
                self.max
            );
        }
        Ok(true)
    }
    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 1 << 20)
    }
}

/// The real wasmtime-wasi implementation of a Preview 1 function, called with this caller's
/// memory and WASI context. Calling the linker's own definition through `Func::call` does not
/// work: a host-to-host call has no calling instance, so it cannot find the guest's memory.
fn real<R>(
    caller: &mut Caller<'_, Host>,
    f: impl FnOnce(&mut WasiP1Ctx, &mut GuestMemory<'_>) -> R,
) -> wasmtime::Result<R> {
    let mem = memory(caller)?;
    // As wiggle's own glue does: the per-call copy budget lives in the store, and without it
    // every call that copies guest data fails with ENOMEM.
    let fuel = caller.as_context_mut().hostcall_fuel();
    let (data, host) = mem.data_and_store_mut(caller);
    host.wasi.set_hostcall_fuel(fuel);
    let mut gm = GuestMemory::Unshared(data);
    Ok(f(&mut host.wasi, &mut gm))
}

fn memory(caller: &mut Caller<'_, Host>) -> wasmtime::Result<Memory> {
    match caller.get_export("memory") {
        Some(Extern::Memory(m)) => Ok(m),
        _ => wasmtime::bail!("guest exports no memory"),
    }
}

fn read_u32(caller: &Caller<'_, Host>, mem: &Memory, at: u32) -> wasmtime::Result<u32> {
    let mut b = [0u8; 4];
    mem.read(caller, at as usize, &mut b)?;
    Ok(u32::from_le_bytes(b))
}

fn write_u32(caller: &mut Caller<'_, Host>, mem: &Memory, at: u32, v: u32) -> wasmtime::Result<()> {
    mem.write(caller, at as usize, &v.to_le_bytes())?;
    Ok(())
}

/// Shadows `path_open`/`fd_close` to count open files, since wasmtime-wasi has no fd limit.
/// Installed once into the runtime's base linker.
pub fn install_fd_accounting(linker: &mut Linker<Host>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    linker.func_wrap(
        P1,
        "path_open",
        |mut caller: Caller<'_, Host>,
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
            caller.data_mut().count(const { count::id("path_open") });
            let errno = real(&mut caller, |ctx, m| {
                in_tokio(p1::path_open(
                    ctx,
                    m,
                    dirfd,
                    dirflags,
                    path,
                    path_len,
                    oflags,
                    rights_base,
                    rights_inh,
                    fdflags,
                    fd_out,
                ))
            })??;
            if errno != 0 {
                return Ok(errno);
            }
            let h = caller.data();
            if h.open_files >= h.max_open_files {
                // Over the limit: undo the open and report EMFILE, as a POSIX kernel would.
                let mem = memory(&mut caller)?;
                let fd = read_u32(&caller, &mem, fd_out as u32)? as i32;
                real(&mut caller, |ctx, m| in_tokio(p1::fd_close(ctx, m, fd)))??;
                return Ok(ERRNO_MFILE);
            }
            caller.data_mut().open_files += 1;
            Ok(0)
        },
    )?;
    linker.func_wrap(
        P1,
        "fd_close",
        |mut caller: Caller<'_, Host>, fd: i32| -> wasmtime::Result<i32> {
            caller.data_mut().count(const { count::id("fd_close") });
            let errno = real(&mut caller, |ctx, m| in_tokio(p1::fd_close(ctx, m, fd)))??;
            // Preopens and stdio are not counted on open, so never let closing them underflow.
            if errno == 0 && fd > 2 {
                let h = caller.data_mut();
                h.open_files = h.open_files.saturating_sub(1);
            }
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

/// `files` picks the victims: regular descriptors (fd > 2) or stdout/stderr.
fn fd_write_drop_tail(linker: &mut Linker<Host>, files: bool) -> wasmtime::Result<()> {
    linker.func_wrap(
        P1,
        "fd_write",
        move |mut caller: Caller<'_, Host>,
              fd: i32,
              iovs: i32,
              iovs_len: i32,
              nwritten: i32|
              -> wasmtime::Result<i32> {
            caller.data_mut().count(const { count::id("fd_write") });
            let write = |caller: &mut Caller<'_, Host>| {
                real(caller, |ctx, m| {
                    in_tokio(p1::fd_write(ctx, m, fd, iovs, iovs_len, nwritten))
                })
            };
            if (fd > 2) != files || fd == 0 {
                return write(&mut caller)?;
            }
            let mem = memory(&mut caller)?;
            let mut lens = Vec::new();
            for i in 0..iovs_len as u32 {
                lens.push(read_u32(&caller, &mem, iovs as u32 + 8 * i + 4)?);
            }
            let total: u64 = lens.iter().map(|&l| l as u64).sum();
            if total == 0 {
                return write(&mut caller)?;
            }
            // Shorten the iovecs from the end, do the real write, restore them, and claim every
            // byte was written.
            let mut drop = (total / 8).max(1);
            let mut patched = lens.clone();
            for l in patched.iter_mut().rev() {
                let cut = drop.min(*l as u64);
                *l -= cut as u32;
                drop -= cut;
                if drop == 0 {
                    break;
                }
            }
            for (i, l) in patched.iter().enumerate() {
                write_u32(&mut caller, &mem, iovs as u32 + 8 * i as u32 + 4, *l)?;
            }
            let errno = write(&mut caller)??;
            for (i, l) in lens.iter().enumerate() {
                write_u32(&mut caller, &mem, iovs as u32 + 8 * i as u32 + 4, *l)?;
            }
            if errno == 0 {
                write_u32(&mut caller, &mem, nwritten as u32, total as u32)?;
            }
            Ok(errno)
        },
    )?;
    Ok(())
}

/// Shared by the argv and environ liars: both lay out a pointer array into NUL-terminated
/// strings, whose count the host already knows from the spec.
fn cut_string(
    caller: &mut Caller<'_, Host>,
    ptrs: u32,
    count: u32,
    pick: impl Fn(&[Vec<u8>]) -> Option<(usize, usize)>,
) -> wasmtime::Result<()> {
    let mem = memory(caller)?;
    let mut strings = Vec::new();
    let mut addrs = Vec::new();
    for i in 0..count {
        let p = read_u32(caller, &mem, ptrs + 4 * i)?;
        let data = mem.data(&*caller);
        let s = data.get(p as usize..).unwrap_or_default();
        let end = s.iter().position(|&b| b == 0).unwrap_or(0);
        strings.push(s[..end].to_vec());
        addrs.push(p);
    }
    if let Some((i, at)) = pick(&strings) {
        mem.write(&mut *caller, addrs[i] as usize + at, &[0])?;
    }
    Ok(())
}

fn args_get_truncate(linker: &mut Linker<Host>) -> wasmtime::Result<()> {
    linker.func_wrap(
        P1,
        "args_get",
        |mut caller: Caller<'_, Host>, argv: i32, buf: i32| -> wasmtime::Result<i32> {
            caller.data_mut().count(const { count::id("args_get") });
            let errno = real(&mut caller, |ctx, m| p1::args_get(ctx, m, argv, buf))??;
            if errno != 0 {
                return Ok(errno);
            }
            let n = caller.data().argc;
            cut_string(&mut caller, argv as u32, n, |s| {
                let i = s.iter().rposition(|a| a.len() > 1)?;
                Some((i, s[i].len() / 2))
            })?;
            Ok(0)
        },
    )?;
    Ok(())
}

fn environ_get_drop_value(linker: &mut Linker<Host>) -> wasmtime::Result<()> {
    linker.func_wrap(
        P1,
        "environ_get",
        |mut caller: Caller<'_, Host>, env: i32, buf: i32| -> wasmtime::Result<i32> {
            caller.data_mut().count(const { count::id("environ_get") });
            let errno = real(&mut caller, |ctx, m| p1::environ_get(ctx, m, env, buf))??;
            if errno != 0 {
                return Ok(errno);
            }
            let n = caller.data().envc;
            cut_string(&mut caller, env as u32, n, |s| {
                let eq = s.first()?.iter().position(|&b| b == b'=')?;
                Some((0, eq + 1))
            })?;
            Ok(0)
        },
    )?;
    Ok(())
}

fn proc_exit_zero(linker: &mut Linker<Host>) -> wasmtime::Result<()> {
    linker.func_wrap(
        P1,
        "proc_exit",
        |mut caller: Caller<'_, Host>, _code: i32| -> wasmtime::Result<()> {
            caller.data_mut().count(const { count::id("proc_exit") });
            Err(wasmtime::Error::new(I32Exit(0)))
        },
    )?;
    Ok(())
}

const CLOCK_REALTIME: i32 = 0;
const CLOCK_MONOTONIC: i32 = 1;

fn read_u64(caller: &Caller<'_, Host>, mem: &Memory, at: u32) -> wasmtime::Result<u64> {
    let mut b = [0u8; 8];
    mem.read(caller, at as usize, &mut b)?;
    Ok(u64::from_le_bytes(b))
}

fn write_u64(caller: &mut Caller<'_, Host>, mem: &Memory, at: u32, v: u64) -> wasmtime::Result<()> {
    mem.write(caller, at as usize, &v.to_le_bytes())?;
    Ok(())
}

fn real_clock(
    caller: &mut Caller<'_, Host>,
    id: i32,
    precision: i64,
    out: i32,
) -> wasmtime::Result<i32> {
    real(caller, |ctx, m| {
        p1::clock_time_get(ctx, m, id, precision, out)
    })?
}

fn clock_liar(linker: &mut Linker<Host>, mode: &str) -> wasmtime::Result<()> {
    let mode: &'static str = match mode {
        "step-back" => "step-back",
        "freeze" => "freeze",
        "coarse-claims-1ns" => "coarse-claims-1ns",
        "realtime-plus-1h" => "realtime-plus-1h",
        "cpu-is-wall" => "cpu-is-wall",
        _ => wasmtime::bail!("unknown clock_time_get liar {mode}"),
    };
    linker.func_wrap(
        P1,
        "clock_time_get",
        move |mut caller: Caller<'_, Host>,
              id: i32,
              precision: i64,
              out: i32|
              -> wasmtime::Result<i32> {
            caller
                .data_mut()
                .count(const { count::id("clock_time_get") });
            let cpu = id == 2 || id == 3;
            let source = if mode == "cpu-is-wall" && cpu {
                CLOCK_MONOTONIC
            } else {
                id
            };
            let errno = real_clock(&mut caller, source, precision, out)?;
            if errno != 0 {
                return Ok(errno);
            }
            let mem = memory(&mut caller)?;
            let t = read_u64(&caller, &mem, out as u32)?;
            let lie = match (mode, id) {
                ("step-back", CLOCK_MONOTONIC) => {
                    let n = caller.data_mut().liar_state.entry("reads").or_insert(0);
                    *n += 1;
                    // One glitch, not a new offset: a persistent offset would also make
                    // absolute-time sleeps (which the host times on the true clock) look early.
                    if *n == 1000 {
                        t.saturating_sub(1_000_000)
                    } else {
                        t
                    }
                }
                ("freeze", CLOCK_MONOTONIC) => {
                    *caller.data_mut().liar_state.entry("frozen").or_insert(t)
                }
                ("coarse-claims-1ns", CLOCK_MONOTONIC) => t - t % 10_000_000,
                ("realtime-plus-1h", CLOCK_REALTIME) => t + 3_600_000_000_000,
                _ => t,
            };
            write_u64(&mut caller, &mem, out as u32, lie)?;
            Ok(0)
        },
    )?;
    if mode == "coarse-claims-1ns" || mode == "cpu-is-wall" {
        linker.func_wrap(
            P1,
            "clock_res_get",
            move |mut caller: Caller<'_, Host>, id: i32, out: i32| -> wasmtime::Result<i32> {
                caller
                    .data_mut()
                    .count(const { count::id("clock_res_get") });
                let claims_1ns = match mode {
                    "coarse-claims-1ns" => id == CLOCK_MONOTONIC,
                    _ => id == 2 || id == 3,
                };
                if !claims_1ns {
                    return real(&mut caller, |ctx, m| p1::clock_res_get(ctx, m, id, out))?;
                }
                let mem = memory(&mut caller)?;
                write_u64(&mut caller, &mem, out as u32, 1)?;
                Ok(0)
            },
        )?;
    }
    Ok(())
}

/// Preview 1 layouts: a subscription is 48 bytes (userdata u64 @0, tag u8 @8, clock id u32 @16,
/// timeout u64 @24, precision u64 @32, flags u16 @40); an event is 32 bytes (userdata u64 @0).
fn poll_liar(linker: &mut Linker<Host>, mode: &str) -> wasmtime::Result<()> {
    let half = match mode {
        "half" => true,
        "wrong-userdata" => false,
        _ => wasmtime::bail!("unknown poll_oneoff liar {mode}"),
    };
    linker.func_wrap(
        P1,
        "poll_oneoff",
        move |mut caller: Caller<'_, Host>,
              subs: i32,
              events: i32,
              n: i32,
              nevents: i32|
              -> wasmtime::Result<i32> {
            caller.data_mut().count(const { count::id("poll_oneoff") });
            let mem = memory(&mut caller)?;
            if half {
                for i in 0..n as u32 {
                    let s = subs as u32 + 48 * i;
                    let mut tag = [0u8; 1];
                    mem.read(&caller, s as usize + 8, &mut tag)?;
                    if tag[0] != 0 {
                        continue;
                    }
                    let timeout = read_u64(&caller, &mem, s + 24)?;
                    let mut flags = [0u8; 2];
                    mem.read(&caller, s as usize + 40, &mut flags)?;
                    let new = if flags[0] & 1 == 1 {
                        // Absolute: halve the time left. The timeout field is borrowed as the
                        // out-parameter for reading "now" on the subscription's own clock.
                        let clock = read_u32(&caller, &mem, s + 16)? as i32;
                        real_clock(&mut caller, clock, 0, (s + 24) as i32)?;
                        let now = read_u64(&caller, &mem, s + 24)?;
                        now + timeout.saturating_sub(now) / 2
                    } else {
                        timeout / 2
                    };
                    write_u64(&mut caller, &mem, s + 24, new)?;
                }
            }
            let errno = real(&mut caller, |ctx, m| {
                in_tokio(p1::poll_oneoff(ctx, m, subs, events, n, nevents))
            })??;
            if !half && errno == 0 {
                let got = read_u32(&caller, &mem, nevents as u32)?;
                for i in 0..got {
                    let at = events as u32 + 32 * i;
                    let u = read_u64(&caller, &mem, at)?;
                    write_u64(&mut caller, &mem, at, u ^ 0xdead_0000)?;
                }
            }
            Ok(errno)
        },
    )?;
    Ok(())
}

/// A seed from the process's own randomness (std's per-instance hasher keys), so the liars
/// that are not meant to be deterministic differ between runs without another dependency.
fn fresh_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish()
}

fn random_liar(linker: &mut Linker<Host>, mode: &str) -> wasmtime::Result<()> {
    use rand_chacha::rand_core::{RngCore, SeedableRng};
    let mode: &'static str = match mode {
        "fixed-seed" => "fixed-seed",
        "repeat-64k" => "repeat-64k",
        "counter" => "counter",
        "biased" => "biased",
        "half-fill" => "half-fill",
        "lcg-low-bits" => "lcg-low-bits",
        "zeros" => "zeros",
        _ => wasmtime::bail!("unknown random_get liar {mode}"),
    };
    linker.func_wrap(
        P1,
        "random_get",
        move |mut caller: Caller<'_, Host>, buf: i32, len: i32| -> wasmtime::Result<i32> {
            caller.data_mut().count(const { count::id("random_get") });
            let len = len as u32 as usize;
            if mode == "half-fill" {
                return real(&mut caller, |ctx, m| {
                    p1::random_get(ctx, m, buf, (len / 2) as i32)
                })?;
            }
            let h = caller.data_mut();
            let offset = *h.liar_state.get("offset").unwrap_or(&0) as usize;
            let seed = if mode == "fixed-seed" {
                42
            } else {
                fresh_seed()
            };
            let rng = h
                .liar_rng
                .get_or_insert_with(|| rand_chacha::ChaCha20Rng::seed_from_u64(seed));
            let mut out = vec![0u8; len];
            match mode {
                "zeros" => {}
                "fixed-seed" => rng.fill_bytes(&mut out),
                "repeat-64k" => {
                    if h.liar_block.is_empty() {
                        h.liar_block = vec![0; 1 << 16];
                        rng.fill_bytes(&mut h.liar_block);
                    }
                    for (i, b) in out.iter_mut().enumerate() {
                        *b = h.liar_block[(offset + i) % (1 << 16)];
                    }
                }
                "counter" => {
                    for (i, b) in out.iter_mut().enumerate() {
                        let at = offset + i;
                        *b = ((at / 8) as u64).to_le_bytes()[at % 8];
                    }
                }
                "biased" => {
                    let mut words = vec![0u32; len * 8];
                    for w in words.iter_mut() {
                        *w = rng.next_u32();
                    }
                    // P(bit = 1) = 0.51: a uniform u32 below 0.51 · 2^32.
                    let cut = (0.51 * 4294967296.0) as u32;
                    for (i, b) in out.iter_mut().enumerate() {
                        *b = (0..8).fold(0u8, |acc, k| acc << 1 | (words[i * 8 + k] < cut) as u8);
                    }
                }
                _ => {
                    let mut x = *h.liar_state.get("lcg").unwrap_or(&12345) as u32;
                    for b in out.iter_mut() {
                        x = x.wrapping_mul(1103515245).wrapping_add(12345);
                        *b = x as u8;
                    }
                    h.liar_state.insert("lcg", x as u64);
                }
            }
            h.liar_state.insert("offset", (offset + len) as u64);
            let mem = memory(&mut caller)?;
            mem.write(&mut caller, buf as u32 as usize, &out)?;
            Ok(0)
        },
    )?;
    Ok(())
}

fn fd_sync_drop_data(linker: &mut Linker<Host>) -> wasmtime::Result<()> {
    for name in ["fd_sync", "fd_datasync"] {
        linker.func_wrap(
            P1,
            name,
            move |mut caller: Caller<'_, Host>, fd: i32| -> wasmtime::Result<i32> {
                caller.data_mut().count(count::id(name));
                let errno = real(&mut caller, |ctx, m| match name {
                    "fd_sync" => in_tokio(p1::fd_sync(ctx, m, fd)),
                    _ => in_tokio(p1::fd_datasync(ctx, m, fd)),
                })??;
                if errno != 0 {
                    return Ok(errno);
                }
                // The durable copy is what a crash would leave; this liar's "disk" keeps nothing.
                real(&mut caller, |ctx, m| {
                    in_tokio(p1::fd_filestat_set_size(ctx, m, fd, 0))
                })??;
                Ok(0)
            },
        )?;
    }
    Ok(())
}

/// Preview 1 filestat layout: dev u64 @0, ino u64 @8, filetype u8 @16, nlink u64 @24,
/// size u64 @32, atim u64 @40, mtim u64 @48, ctim u64 @56.
const FILESTAT_MTIM: u32 = 48;
const HOUR_NS: u64 = 3_600_000_000_000;

fn filestat_mtime_plus_1h(linker: &mut Linker<Host>) -> wasmtime::Result<()> {
    linker.func_wrap(
        P1,
        "fd_filestat_get",
        |mut caller: Caller<'_, Host>, fd: i32, out: i32| -> wasmtime::Result<i32> {
            caller
                .data_mut()
                .count(const { count::id("fd_filestat_get") });
            let errno = real(&mut caller, |ctx, m| {
                in_tokio(p1::fd_filestat_get(ctx, m, fd, out))
            })??;
            if errno == 0 {
                shift_mtime(&mut caller, out as u32)?;
            }
            Ok(errno)
        },
    )?;
    linker.func_wrap(
        P1,
        "path_filestat_get",
        |mut caller: Caller<'_, Host>,
         fd: i32,
         flags: i32,
         path: i32,
         path_len: i32,
         out: i32|
         -> wasmtime::Result<i32> {
            caller
                .data_mut()
                .count(const { count::id("path_filestat_get") });
            let errno = real(&mut caller, |ctx, m| {
                in_tokio(p1::path_filestat_get(
                    ctx, m, fd, flags, path, path_len, out,
                ))
            })??;
            if errno == 0 {
                shift_mtime(&mut caller, out as u32)?;
            }
            Ok(errno)
        },
    )?;
    Ok(())
}

fn shift_mtime(caller: &mut Caller<'_, Host>, filestat: u32) -> wasmtime::Result<()> {
    let mem = memory(caller)?;
    let t = read_u64(caller, &mem, filestat + FILESTAT_MTIM)?;
    write_u64(caller, &mem, filestat + FILESTAT_MTIM, t + HOUR_NS)
}

/// A dirent is 24 bytes (d_next u64, d_ino u64, d_namlen u32, d_type u8, padding) followed by
/// the name. The copy goes right after the original, so cookies stay valid and libc's refill
/// logic (a cut-off last entry is re-read from the previous cookie) still works.
fn fd_readdir_duplicate(linker: &mut Linker<Host>) -> wasmtime::Result<()> {
    linker.func_wrap(
        P1,
        "fd_readdir",
        |mut caller: Caller<'_, Host>,
         fd: i32,
         buf: i32,
         buf_len: i32,
         cookie: i64,
         bufused: i32|
         -> wasmtime::Result<i32> {
            caller.data_mut().count(const { count::id("fd_readdir") });
            let errno = real(&mut caller, |ctx, m| {
                in_tokio(p1::fd_readdir(ctx, m, fd, buf, buf_len, cookie, bufused))
            })??;
            if errno != 0 {
                return Ok(errno);
            }
            let mem = memory(&mut caller)?;
            let used = read_u32(&caller, &mem, bufused as u32)? as usize;
            let mut bytes = vec![0u8; used];
            mem.read(&caller, buf as u32 as usize, &mut bytes)?;
            let mut at = 0;
            while at + 24 <= used {
                let namlen = u32::from_le_bytes(bytes[at + 16..at + 20].try_into().unwrap());
                let end = at + 24 + namlen as usize;
                if end > used {
                    break;
                }
                let name = &bytes[at + 24..end];
                if name != b"." && name != b".." {
                    let entry = bytes[at..end].to_vec();
                    bytes.splice(end..end, entry);
                    bytes.truncate(buf_len as u32 as usize);
                    mem.write(&mut caller, buf as u32 as usize, &bytes)?;
                    write_u32(&mut caller, &mem, bufused as u32, bytes.len() as u32)?;
                    break;
                }
                at = end;
            }
            Ok(0)
        },
    )?;
    Ok(())
}

/// Rewrites `../REST` opened at the first preopen to `REST` at the hidden parent preopen that
/// the runtime adds for this liar, i.e. exactly the escape a confused path resolver allows.
fn path_open_dotdot_escape(linker: &mut Linker<Host>) -> wasmtime::Result<()> {
    linker.func_wrap(
        P1,
        "path_open",
        |mut caller: Caller<'_, Host>,
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
            caller.data_mut().count(const { count::id("path_open") });
            let mem = memory(&mut caller)?;
            let mut p = vec![0u8; path_len as u32 as usize];
            mem.read(&caller, path as u32 as usize, &mut p)?;
            let (mut dirfd, mut path_len) = (dirfd, path_len);
            if dirfd == FIRST_PREOPEN && p.starts_with(b"../") {
                mem.write(&mut caller, path as u32 as usize, &p[3..])?;
                dirfd = FIRST_PREOPEN + 1;
                path_len -= 3;
            }
            let errno = real(&mut caller, |ctx, m| {
                in_tokio(p1::path_open(
                    ctx,
                    m,
                    dirfd,
                    dirflags,
                    path,
                    path_len,
                    oflags,
                    rights_base,
                    rights_inh,
                    fdflags,
                    fd_out,
                ))
            })??;
            // Put the guest's string back as it was.
            mem.write(&mut caller, path as u32 as usize, &p)?;
            Ok(errno)
        },
    )?;
    Ok(())
}

/// A liar the guest can catch: the offset it reports disagrees with the bytes it just wrote.
/// (Its sibling that is *not* catchable from inside the guest: an `fd_sync` that returns success
/// without syncing — nothing a guest can observe distinguishes it from a real sync, so no check
/// can claim to detect it and there is deliberately no such liar.)
fn fd_tell_lie(linker: &mut Linker<Host>) -> wasmtime::Result<()> {
    linker.func_wrap(
        P1,
        "fd_tell",
        |mut caller: Caller<'_, Host>, fd: i32, out: i32| -> wasmtime::Result<i32> {
            caller.data_mut().count(const { count::id("fd_tell") });
            let errno = real(&mut caller, |ctx, m| p1::fd_tell(ctx, m, fd, out))??;
            if errno != 0 {
                return Ok(errno);
            }
            let mem = memory(&mut caller)?;
            let at = read_u64(&caller, &mem, out as u32)?;
            write_u64(&mut caller, &mem, out as u32, at + 1)?;
            Ok(0)
        },
    )?;
    Ok(())
}

const ERRNO_NOSYS: i32 = 52;
const ERRNO_INVAL: i32 = 28;

/// An unimplemented function: the call reaches the host (and is counted) but does nothing.
fn fd_advise_enosys(linker: &mut Linker<Host>) -> wasmtime::Result<()> {
    linker.func_wrap(
        P1,
        "fd_advise",
        |mut caller: Caller<'_, Host>,
         _fd: i32,
         _offset: i64,
         _len: i64,
         _advice: i32|
         -> wasmtime::Result<i32> {
            caller.data_mut().count(const { count::id("fd_advise") });
            Ok(ERRNO_NOSYS)
        },
    )?;
    Ok(())
}

/// Seeking stdio answers EINVAL (what POSIX gives for a bad `whence`, not for a pipe);
/// every other descriptor seeks for real.
fn fd_seek_einval_on_stream(linker: &mut Linker<Host>) -> wasmtime::Result<()> {
    linker.func_wrap(
        P1,
        "fd_seek",
        |mut caller: Caller<'_, Host>,
         fd: i32,
         offset: i64,
         whence: i32,
         out: i32|
         -> wasmtime::Result<i32> {
            caller.data_mut().count(const { count::id("fd_seek") });
            if (0..=2).contains(&fd) {
                return Ok(ERRNO_INVAL);
            }
            real(&mut caller, |ctx, m| {
                in_tokio(p1::fd_seek(ctx, m, fd, offset, whence, out))
            })?
        },
    )?;
    Ok(())
}

/// Preopens are numbered from 3, in the order they are given.
const FIRST_PREOPEN: i32 = 3;
