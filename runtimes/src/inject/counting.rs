//! Host-call counting on wasmtime: every `wasi_snapshot_preview1` function is wrapped around the real
//! wasmtime-wasi implementation so that a run reports how often the guest called each one.
//!
//! The count is the proof that a call reached the host (a probe's printed errno could come from
//! libc without any host call). It must be cheap — the clock and entropy probes make ~10^5 calls
//! — so a call bumps one slot of a fixed array in the store; the names are attached once, when
//! the run ends (`Host::host_calls`).
//!
//! Liars and the fd accounting shadow these wrappers and count their own calls.

use super::{Host, P1};
use crate::host::calls::id;
use wasmtime::{AsContextMut, Caller, Extern, Linker};
use wasmtime_wasi::p1::wasi_snapshot_preview1::{self as p1, WasiSnapshotPreview1 as _};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::runtime::in_tokio;
use wiggle::GuestMemory;

/// Calls the real implementation with this caller's memory and WASI context, as wiggle's own
/// glue does (including a shared memory, which the liars never meet but any guest may export).
pub(super) fn call<R>(
    caller: &mut Caller<'_, Host>,
    f: impl FnOnce(&mut WasiP1Ctx, &mut GuestMemory<'_>) -> R,
) -> wasmtime::Result<R> {
    // Without the per-call copy budget every call that copies guest data fails with ENOMEM.
    let fuel = caller.as_context_mut().hostcall_fuel();
    match caller.get_export("memory") {
        Some(Extern::Memory(m)) => {
            let (data, host) = m.data_and_store_mut(caller);
            host.wasi.set_hostcall_fuel(fuel);
            Ok(f(&mut host.wasi, &mut GuestMemory::Unshared(data)))
        }
        Some(Extern::SharedMemory(m)) => {
            let host = caller.data_mut();
            host.wasi.set_hostcall_fuel(fuel);
            Ok(f(&mut host.wasi, &mut GuestMemory::Shared(m.data())))
        }
        _ => wasmtime::bail!("missing required memory export"),
    }
}

/// One counted wrapper: `sync` functions are called directly, `async` ones on wasmtime-wasi's
/// blocking executor, as `add_to_linker_sync` does.
macro_rules! counted {
    ($linker:ident, sync $name:ident($($a:ident: $t:ty),*)) => {
        counted!(@via std::convert::identity, $linker, $name($($a: $t),*))
    };
    ($linker:ident, async $name:ident($($a:ident: $t:ty),*)) => {
        counted!(@via in_tokio, $linker, $name($($a: $t),*))
    };
    (@via $run:path, $linker:ident, $name:ident($($a:ident: $t:ty),*)) => {
        $linker.func_wrap(
            P1,
            stringify!($name),
            |mut caller: Caller<'_, Host>, $($a: $t),*| -> wasmtime::Result<i32> {
                caller.data_mut().count(const { id(stringify!($name)) });
                call(&mut caller, |ctx, m| $run(p1::$name(ctx, m, $($a),*)))?
            },
        )?;
    };
}

/// Shadows all 46 functions of `linker` (which must already hold wasmtime-wasi's Preview 1)
/// with counting wrappers around the real implementation.
pub fn install_call_counting(linker: &mut Linker<Host>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    counted!(linker, sync args_get(argv: i32, buf: i32));
    counted!(linker, sync args_sizes_get(argc: i32, size: i32));
    counted!(linker, sync environ_get(env: i32, buf: i32));
    counted!(linker, sync environ_sizes_get(count: i32, size: i32));
    counted!(linker, sync clock_res_get(id: i32, out: i32));
    counted!(linker, sync clock_time_get(id: i32, precision: i64, out: i32));
    counted!(linker, async fd_advise(fd: i32, offset: i64, len: i64, advice: i32));
    counted!(linker, sync fd_allocate(fd: i32, offset: i64, len: i64));
    counted!(linker, async fd_close(fd: i32));
    counted!(linker, async fd_datasync(fd: i32));
    counted!(linker, async fd_fdstat_get(fd: i32, out: i32));
    counted!(linker, sync fd_fdstat_set_flags(fd: i32, flags: i32));
    counted!(linker, sync fd_fdstat_set_rights(fd: i32, base: i64, inheriting: i64));
    counted!(linker, async fd_filestat_get(fd: i32, out: i32));
    counted!(linker, async fd_filestat_set_size(fd: i32, size: i64));
    counted!(linker, async fd_filestat_set_times(fd: i32, atim: i64, mtim: i64, flags: i32));
    counted!(linker, async fd_pread(fd: i32, iovs: i32, n: i32, offset: i64, out: i32));
    counted!(linker, sync fd_prestat_get(fd: i32, out: i32));
    counted!(linker, sync fd_prestat_dir_name(fd: i32, path: i32, len: i32));
    counted!(linker, async fd_pwrite(fd: i32, iovs: i32, n: i32, offset: i64, out: i32));
    counted!(linker, async fd_read(fd: i32, iovs: i32, n: i32, out: i32));
    counted!(linker, async fd_readdir(fd: i32, buf: i32, len: i32, cookie: i64, out: i32));
    counted!(linker, async fd_renumber(fd: i32, to: i32));
    counted!(linker, async fd_seek(fd: i32, offset: i64, whence: i32, out: i32));
    counted!(linker, async fd_sync(fd: i32));
    counted!(linker, sync fd_tell(fd: i32, out: i32));
    counted!(linker, async fd_write(fd: i32, iovs: i32, n: i32, out: i32));
    counted!(linker, async path_create_directory(fd: i32, path: i32, len: i32));
    counted!(linker, async path_filestat_get(fd: i32, flags: i32, path: i32, len: i32, out: i32));
    counted!(linker, async path_filestat_set_times(
        fd: i32, flags: i32, path: i32, len: i32, atim: i64, mtim: i64, fst: i32
    ));
    counted!(linker, async path_link(
        old_fd: i32, flags: i32, old: i32, old_len: i32, new_fd: i32, new: i32, new_len: i32
    ));
    counted!(linker, async path_open(
        fd: i32, dirflags: i32, path: i32, len: i32, oflags: i32, base: i64, inheriting: i64,
        fdflags: i32, out: i32
    ));
    counted!(linker, async path_readlink(
        fd: i32, path: i32, len: i32, buf: i32, buf_len: i32, out: i32
    ));
    counted!(linker, async path_remove_directory(fd: i32, path: i32, len: i32));
    counted!(linker, async path_rename(
        fd: i32, old: i32, old_len: i32, new_fd: i32, new: i32, new_len: i32
    ));
    counted!(linker, async path_symlink(old: i32, old_len: i32, fd: i32, new: i32, new_len: i32));
    counted!(linker, async path_unlink_file(fd: i32, path: i32, len: i32));
    counted!(linker, async poll_oneoff(subs: i32, events: i32, n: i32, out: i32));
    linker.func_wrap(
        P1,
        "proc_exit",
        |mut caller: Caller<'_, Host>, code: i32| -> wasmtime::Result<()> {
            caller.data_mut().count(const { id("proc_exit") });
            // The real one ends the run with I32Exit (or refuses a status >= 126).
            call(&mut caller, |ctx, m| p1::proc_exit(ctx, m, code))?
        },
    )?;
    counted!(linker, sync proc_raise(sig: i32));
    counted!(linker, sync sched_yield());
    counted!(linker, sync random_get(buf: i32, len: i32));
    counted!(linker, sync sock_accept(fd: i32, flags: i32, out: i32));
    counted!(linker, sync sock_recv(
        fd: i32, iovs: i32, n: i32, flags: i32, out: i32, oflags: i32
    ));
    counted!(linker, sync sock_send(fd: i32, iovs: i32, n: i32, flags: i32, out: i32));
    counted!(linker, sync sock_shutdown(fd: i32, how: i32));
    Ok(())
}
