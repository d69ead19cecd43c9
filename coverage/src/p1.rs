//! The 46 functions of `wasi_snapshot_preview1` as core Wasm signatures.
//!
//! Hand-lowered from `wasi_snapshot_preview1.witx` (wasmtime-wasi 48.0.8,
//! `witx/p1/`). `tests/cross_check.rs` re-derives every entry from the witx
//! itself and from wasi-libc's generated import declarations, so a typo here
//! fails a test rather than silently mis-flagging modules.

use serde::{Deserialize, Serialize};

/// Import module name every Preview 1 function lives under.
pub const P1_MODULE: &str = "wasi_snapshot_preview1";

/// The only value types the Preview 1 ABI lowers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ValTy {
    I32,
    I64,
}

impl ValTy {
    pub fn as_str(self) -> &'static str {
        match self {
            ValTy::I32 => "i32",
            ValTy::I64 => "i64",
        }
    }
}

/// One Preview 1 function and the core signature it is imported with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct P1Func {
    pub name: &'static str,
    pub params: &'static [ValTy],
    pub results: &'static [ValTy],
}

use ValTy::{I32, I64};

// Every fallible call returns its errno as i32; only proc_exit (noreturn)
// has no result.
const ERRNO: &[ValTy] = &[I32];

const fn f(name: &'static str, params: &'static [ValTy]) -> P1Func {
    P1Func {
        name,
        params,
        results: ERRNO,
    }
}

// Lowering used below: handles, pointers, sizes and enums/flags whose repr
// is <= 32 bits are i32; u64/s64 typenames (filesize, timestamp, rights,
// dircookie, filedelta) and `rights` flags (repr u64) are i64; strings and
// lists are (ptr, len); each `expected` ok-value becomes a trailing i32
// out-pointer (a tuple gets one per element).
pub const PREVIEW1: &[P1Func] = &[
    // (argv, argv_buf)
    f("args_get", &[I32, I32]),
    // -> (argc*, argv_buf_size*)
    f("args_sizes_get", &[I32, I32]),
    f("environ_get", &[I32, I32]),
    f("environ_sizes_get", &[I32, I32]),
    // (clockid) -> timestamp*
    f("clock_res_get", &[I32, I32]),
    // (clockid, precision: timestamp) -> timestamp*
    f("clock_time_get", &[I32, I64, I32]),
    // (fd, offset, len, advice)
    f("fd_advise", &[I32, I64, I64, I32]),
    f("fd_allocate", &[I32, I64, I64]),
    f("fd_close", &[I32]),
    f("fd_datasync", &[I32]),
    f("fd_fdstat_get", &[I32, I32]),
    // fdflags is a u16 flags set
    f("fd_fdstat_set_flags", &[I32, I32]),
    f("fd_fdstat_set_rights", &[I32, I64, I64]),
    f("fd_filestat_get", &[I32, I32]),
    f("fd_filestat_set_size", &[I32, I64]),
    // (fd, atim, mtim, fstflags)
    f("fd_filestat_set_times", &[I32, I64, I64, I32]),
    // (fd, iovs, iovs_len, offset) -> size*
    f("fd_pread", &[I32, I32, I32, I64, I32]),
    f("fd_prestat_get", &[I32, I32]),
    // (fd, path_buf, path_len): an out buffer, not a string
    f("fd_prestat_dir_name", &[I32, I32, I32]),
    f("fd_pwrite", &[I32, I32, I32, I64, I32]),
    f("fd_read", &[I32, I32, I32, I32]),
    // (fd, buf, buf_len, cookie) -> size*
    f("fd_readdir", &[I32, I32, I32, I64, I32]),
    f("fd_renumber", &[I32, I32]),
    // (fd, filedelta, whence) -> filesize*
    f("fd_seek", &[I32, I64, I32, I32]),
    f("fd_sync", &[I32]),
    f("fd_tell", &[I32, I32]),
    f("fd_write", &[I32, I32, I32, I32]),
    f("path_create_directory", &[I32, I32, I32]),
    // (fd, lookupflags, path, path_len) -> filestat*
    f("path_filestat_get", &[I32, I32, I32, I32, I32]),
    f(
        "path_filestat_set_times",
        &[I32, I32, I32, I32, I64, I64, I32],
    ),
    // (old_fd, old_flags, old_path, old_len, new_fd, new_path, new_len)
    f("path_link", &[I32, I32, I32, I32, I32, I32, I32]),
    // (fd, dirflags, path, path_len, oflags, rights_base, rights_inheriting,
    //  fdflags) -> fd*
    f("path_open", &[I32, I32, I32, I32, I32, I64, I64, I32, I32]),
    // (fd, path, path_len, buf, buf_len) -> size*
    f("path_readlink", &[I32, I32, I32, I32, I32, I32]),
    f("path_remove_directory", &[I32, I32, I32]),
    // (fd, old_path, old_len, new_fd, new_path, new_len)
    f("path_rename", &[I32, I32, I32, I32, I32, I32]),
    // (old_path, old_len, fd, new_path, new_len)
    f("path_symlink", &[I32, I32, I32, I32, I32]),
    f("path_unlink_file", &[I32, I32, I32]),
    // (in, out, nsubscriptions) -> size*
    f("poll_oneoff", &[I32, I32, I32, I32]),
    P1Func {
        name: "proc_exit",
        params: &[I32],
        results: &[],
    },
    f("proc_raise", &[I32]),
    f("sched_yield", &[]),
    f("random_get", &[I32, I32]),
    // (fd, fdflags) -> fd*
    f("sock_accept", &[I32, I32, I32]),
    // (fd, ri_data, ri_data_len, riflags) -> (size*, roflags*)
    f("sock_recv", &[I32, I32, I32, I32, I32, I32]),
    // (fd, si_data, si_data_len, siflags) -> size*
    f("sock_send", &[I32, I32, I32, I32, I32]),
    f("sock_shutdown", &[I32, I32]),
];

/// Looks a Preview 1 function up by its import name.
pub fn lookup(name: &str) -> Option<&'static P1Func> {
    PREVIEW1.iter().find(|f| f.name == name)
}
