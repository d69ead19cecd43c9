//! Liars on stdio, arguments, environment and exit: output dropped, strings cut, an exit status changed.

use super::*;

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

/// Shared by the argv and environ liars: both lay out a pointer array into NUL-terminated
/// strings, whose count the host already knows from the spec.
pub(super) fn cut_string(
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

pub(super) fn args_get_truncate(linker: &mut Linker<Host>) -> wasmtime::Result<()> {
    linker.func_wrap(
        P1,
        "args_get",
        |mut caller: Caller<'_, Host>, argv: i32, buf: i32| -> wasmtime::Result<i32> {
            caller.data_mut().count(const { calls::id("args_get") });
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

pub(super) fn environ_get_drop_value(linker: &mut Linker<Host>) -> wasmtime::Result<()> {
    linker.func_wrap(
        P1,
        "environ_get",
        |mut caller: Caller<'_, Host>, env: i32, buf: i32| -> wasmtime::Result<i32> {
            caller.data_mut().count(const { calls::id("environ_get") });
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
