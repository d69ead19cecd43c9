//! Liars on the filesystem: data not synced, timestamps shifted, directory entries duplicated, a path that escapes, offsets and errnos that lie.

use super::*;

pub(super) fn fd_sync_drop_data(linker: &mut Linker<Host>) -> wasmtime::Result<()> {
    for name in ["fd_sync", "fd_datasync"] {
        linker.func_wrap(
            P1,
            name,
            move |mut caller: Caller<'_, Host>, fd: i32| -> wasmtime::Result<i32> {
                caller.data_mut().count(calls::id(name));
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
pub(super) const FILESTAT_MTIM: u32 = 48;

pub(super) const HOUR_NS: u64 = 3_600_000_000_000;

pub(super) fn filestat_mtime_plus_1h(linker: &mut Linker<Host>) -> wasmtime::Result<()> {
    linker.func_wrap(
        P1,
        "fd_filestat_get",
        |mut caller: Caller<'_, Host>, fd: i32, out: i32| -> wasmtime::Result<i32> {
            caller
                .data_mut()
                .count(const { calls::id("fd_filestat_get") });
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
                .count(const { calls::id("path_filestat_get") });
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

pub(super) fn shift_mtime(caller: &mut Caller<'_, Host>, filestat: u32) -> wasmtime::Result<()> {
    let mem = memory(caller)?;
    let t = read_u64(caller, &mem, filestat + FILESTAT_MTIM)?;
    write_u64(caller, &mem, filestat + FILESTAT_MTIM, t + HOUR_NS)
}

/// A dirent is 24 bytes (d_next u64, d_ino u64, d_namlen u32, d_type u8, padding) followed by
/// the name. The copy goes right after the original, so cookies stay valid and libc's refill
/// logic (a cut-off last entry is re-read from the previous cookie) still works.
pub(super) fn fd_readdir_duplicate(linker: &mut Linker<Host>) -> wasmtime::Result<()> {
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
            caller.data_mut().count(const { calls::id("fd_readdir") });
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
pub(super) fn path_open_dotdot_escape(linker: &mut Linker<Host>) -> wasmtime::Result<()> {
    wrap_path_open(linker, |caller, mut args| {
        let mem = memory(caller)?;
        let mut p = vec![0u8; args.path_len as u32 as usize];
        mem.read(&*caller, args.path as u32 as usize, &mut p)?;
        if args.dirfd == FIRST_PREOPEN && p.starts_with(b"../") {
            mem.write(&mut *caller, args.path as u32 as usize, &p[3..])?;
            args.dirfd = FIRST_PREOPEN + 1;
            args.path_len -= 3;
        }
        let errno = args.real(caller)?;
        // Put the guest's string back as it was.
        mem.write(&mut *caller, args.path as u32 as usize, &p)?;
        Ok(errno)
    })
}

/// A liar the guest can catch: the offset it reports disagrees with the bytes it just wrote.
/// (Its sibling that is *not* catchable from inside the guest: an `fd_sync` that returns success
/// without syncing — nothing a guest can observe distinguishes it from a real sync, so no check
/// can claim to detect it and there is deliberately no such liar.)
pub(super) fn fd_tell_lie(linker: &mut Linker<Host>) -> wasmtime::Result<()> {
    linker.func_wrap(
        P1,
        "fd_tell",
        |mut caller: Caller<'_, Host>, fd: i32, out: i32| -> wasmtime::Result<i32> {
            caller.data_mut().count(const { calls::id("fd_tell") });
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

pub(super) const ERRNO_NOSYS: i32 = 52;

pub(super) const ERRNO_INVAL: i32 = 28;

/// An unimplemented function: the call reaches the host (and is counted) but does nothing.
pub(super) fn fd_advise_enosys(linker: &mut Linker<Host>) -> wasmtime::Result<()> {
    linker.func_wrap(
        P1,
        "fd_advise",
        |mut caller: Caller<'_, Host>,
         _fd: i32,
         _offset: i64,
         _len: i64,
         _advice: i32|
         -> wasmtime::Result<i32> {
            caller.data_mut().count(const { calls::id("fd_advise") });
            Ok(ERRNO_NOSYS)
        },
    )?;
    Ok(())
}

/// Seeking stdio answers EINVAL (what POSIX gives for a bad `whence`, not for a pipe);
/// every other descriptor seeks for real.
pub(super) fn fd_seek_einval_on_stream(linker: &mut Linker<Host>) -> wasmtime::Result<()> {
    linker.func_wrap(
        P1,
        "fd_seek",
        |mut caller: Caller<'_, Host>,
         fd: i32,
         offset: i64,
         whence: i32,
         out: i32|
         -> wasmtime::Result<i32> {
            caller.data_mut().count(const { calls::id("fd_seek") });
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
pub(super) const FIRST_PREOPEN: i32 = 3;
