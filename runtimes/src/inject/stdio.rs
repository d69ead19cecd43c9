//! Liars on stdio, arguments, environment and exit: output dropped, strings cut, an exit status changed.

use super::*;
use wiggle::GuestMemory;

/// `files` picks the victims: regular descriptors (fd > 2) or stdout/stderr.
pub(super) fn fd_write_drop_tail(linker: &mut Linker<Host>, files: bool) -> wasmtime::Result<()> {
    linker.func_wrap(
        P1,
        "fd_write",
        move |mut caller: Caller<'_, Host>,
              fd: i32,
              iovs: i32,
              iovs_len: i32,
              nwritten: i32|
              -> wasmtime::Result<i32> {
            caller.data_mut().count(const { calls::id("fd_write") });
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

/// Given the strings, the index of the one to cut and the offset of the cut in it.
type Pick = fn(&[Vec<u8>]) -> Option<(usize, usize)>;

/// Puts a NUL where `pick` says into one of the `count` NUL-terminated strings that the pointer
/// array at `ptrs` leads to, as `args_get` and `environ_get` lay them out.
fn cut_string(
    caller: &mut Caller<'_, Host>,
    ptrs: u32,
    count: u32,
    pick: Pick,
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

/// The argv and environ liars: `name` (`args_get` or `environ_get`; `get` is the real one)
/// succeeds, then one of its strings is cut where `pick` says. Their count is not in guest
/// memory; the host knows it from the spec (`count`).
fn cut_string_liar(
    linker: &mut Linker<Host>,
    name: &'static str,
    get: fn(&mut WasiP1Ctx, &mut GuestMemory<'_>, i32, i32) -> wasmtime::Result<i32>,
    count: fn(&Host) -> u32,
    pick: Pick,
) -> wasmtime::Result<()> {
    let id = calls::id(name);
    linker.func_wrap(
        P1,
        name,
        move |mut caller: Caller<'_, Host>, ptrs: i32, buf: i32| -> wasmtime::Result<i32> {
            caller.data_mut().count(id);
            let errno = real(&mut caller, |ctx, m| get(ctx, m, ptrs, buf))??;
            if errno != 0 {
                return Ok(errno);
            }
            let n = count(caller.data());
            cut_string(&mut caller, ptrs as u32, n, pick)?;
            Ok(0)
        },
    )?;
    Ok(())
}

pub(super) fn args_get_truncate(linker: &mut Linker<Host>) -> wasmtime::Result<()> {
    cut_string_liar(
        linker,
        "args_get",
        p1::args_get,
        |h| h.argc,
        |s| {
            let i = s.iter().rposition(|a| a.len() > 1)?;
            Some((i, s[i].len() / 2))
        },
    )
}

pub(super) fn environ_get_drop_value(linker: &mut Linker<Host>) -> wasmtime::Result<()> {
    cut_string_liar(
        linker,
        "environ_get",
        p1::environ_get,
        |h| h.envc,
        |s| {
            let eq = s.first()?.iter().position(|&b| b == b'=')?;
            Some((0, eq + 1))
        },
    )
}

pub(super) fn proc_exit_zero(linker: &mut Linker<Host>) -> wasmtime::Result<()> {
    linker.func_wrap(
        P1,
        "proc_exit",
        |mut caller: Caller<'_, Host>, _code: i32| -> wasmtime::Result<()> {
            caller.data_mut().count(const { calls::id("proc_exit") });
            Err(wasmtime::Error::new(I32Exit(0)))
        },
    )?;
    Ok(())
}
