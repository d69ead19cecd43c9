/* p1_calls: every one of the 46 wasi_snapshot_preview1 functions called directly, with valid
 * arguments and with invalid ones (a bad fd, an out-of-bounds pointer, bad flags or whence,
 * missing rights, a socket call on a file), one observation per call:
 *   {"probe":"p1_calls","check":"p1_dynamic","what":"result","func":"fd_read","case":"bad-fd","errno":8}
 * plus "ret" (a count, offset or size the call returned) and "ok" (the probe's own check of
 * what the call produced) where they mean something. The expected outcomes live in the harness
 * (harness/src/checks/p1_dynamic.toml), not here: the probe only reports.
 *
 * The imports are declared here with their raw core signatures instead of <wasi/api.h>, whose
 * spelling differs between the SDKs; every call therefore reaches the host as written.
 *
 *   p1_calls                 every case that cannot end the process, then proc_exit(7)
 *   p1_calls one FUNC CASE   one case that may trap (an out-of-bounds pointer, an invalid enum
 *                            or flags value): a trap ends only that run. It prints
 *                            "what":"attempt" just before the call, so a trap is attributable. */
#include <stdint.h>
#include <string.h>
#include "wasiprobe.h"

#define P "p1_calls"
#define CHECK "p1_dynamic"

#define WASI(name) \
    __attribute__((import_module("wasi_snapshot_preview1"), import_name(#name))) extern
typedef int32_t i32;
typedef int64_t i64;

WASI(args_get) i32 w_args_get(i32, i32);
WASI(args_sizes_get) i32 w_args_sizes_get(i32, i32);
WASI(environ_get) i32 w_environ_get(i32, i32);
WASI(environ_sizes_get) i32 w_environ_sizes_get(i32, i32);
WASI(clock_res_get) i32 w_clock_res_get(i32, i32);
WASI(clock_time_get) i32 w_clock_time_get(i32, i64, i32);
WASI(fd_advise) i32 w_fd_advise(i32, i64, i64, i32);
WASI(fd_allocate) i32 w_fd_allocate(i32, i64, i64);
WASI(fd_close) i32 w_fd_close(i32);
WASI(fd_datasync) i32 w_fd_datasync(i32);
WASI(fd_fdstat_get) i32 w_fd_fdstat_get(i32, i32);
WASI(fd_fdstat_set_flags) i32 w_fd_fdstat_set_flags(i32, i32);
WASI(fd_fdstat_set_rights) i32 w_fd_fdstat_set_rights(i32, i64, i64);
WASI(fd_filestat_get) i32 w_fd_filestat_get(i32, i32);
WASI(fd_filestat_set_size) i32 w_fd_filestat_set_size(i32, i64);
WASI(fd_filestat_set_times) i32 w_fd_filestat_set_times(i32, i64, i64, i32);
WASI(fd_pread) i32 w_fd_pread(i32, i32, i32, i64, i32);
WASI(fd_prestat_get) i32 w_fd_prestat_get(i32, i32);
WASI(fd_prestat_dir_name) i32 w_fd_prestat_dir_name(i32, i32, i32);
WASI(fd_pwrite) i32 w_fd_pwrite(i32, i32, i32, i64, i32);
WASI(fd_read) i32 w_fd_read(i32, i32, i32, i32);
WASI(fd_readdir) i32 w_fd_readdir(i32, i32, i32, i64, i32);
WASI(fd_renumber) i32 w_fd_renumber(i32, i32);
WASI(fd_seek) i32 w_fd_seek(i32, i64, i32, i32);
WASI(fd_sync) i32 w_fd_sync(i32);
WASI(fd_tell) i32 w_fd_tell(i32, i32);
WASI(fd_write) i32 w_fd_write(i32, i32, i32, i32);
WASI(path_create_directory) i32 w_path_create_directory(i32, i32, i32);
WASI(path_filestat_get) i32 w_path_filestat_get(i32, i32, i32, i32, i32);
WASI(path_filestat_set_times) i32 w_path_filestat_set_times(i32, i32, i32, i32, i64, i64, i32);
WASI(path_link) i32 w_path_link(i32, i32, i32, i32, i32, i32, i32);
WASI(path_open) i32 w_path_open(i32, i32, i32, i32, i32, i64, i64, i32, i32);
WASI(path_readlink) i32 w_path_readlink(i32, i32, i32, i32, i32, i32);
WASI(path_remove_directory) i32 w_path_remove_directory(i32, i32, i32);
WASI(path_rename) i32 w_path_rename(i32, i32, i32, i32, i32, i32);
WASI(path_symlink) i32 w_path_symlink(i32, i32, i32, i32, i32);
WASI(path_unlink_file) i32 w_path_unlink_file(i32, i32, i32);
WASI(poll_oneoff) i32 w_poll_oneoff(i32, i32, i32, i32);
WASI(proc_exit) _Noreturn void w_proc_exit(i32);
WASI(proc_raise) i32 w_proc_raise(i32);
WASI(sched_yield) i32 w_sched_yield(void);
WASI(random_get) i32 w_random_get(i32, i32);
WASI(sock_accept) i32 w_sock_accept(i32, i32, i32);
WASI(sock_recv) i32 w_sock_recv(i32, i32, i32, i32, i32, i32);
WASI(sock_send) i32 w_sock_send(i32, i32, i32, i32, i32);
WASI(sock_shutdown) i32 w_sock_shutdown(i32, i32);

/* A guest pointer as the ABI passes it. */
#define A(p) ((i32)(uintptr_t)(p))
/* Far past the end of any linear memory a probe has (it would need 4 GiB), 16-aligned so that
 * only the bounds are wrong. */
#define OOB ((i32)0xfffffff0u)
/* Never opened: the harness gives the guest stdio, one preopen and the files it opens. */
#define BAD 1234

/* Preview 1 constants (typenames.witx). */
#define E_BADF 8
#define CLOCK_REALTIME 0
#define CLOCK_MONOTONIC 1
#define CLOCK_PROCESS_CPUTIME 2
#define O_CREAT 1
#define O_DIRECTORY 2
#define O_EXCL 4
#define O_TRUNC 8
#define FDFLAG_APPEND 1
#define FDFLAG_SYNC 16
#define FST_ATIM 1
#define FST_ATIM_NOW 2
#define FST_MTIM 4
#define R_FD_READ (1ll << 1)
#define R_FD_WRITE (1ll << 6)
#define R_FD_ALLOCATE (1ll << 8)
#define R_ALL 0x1fffffffll
#define FILETYPE_DIRECTORY 3
#define FILETYPE_REGULAR 4
#define FILETYPE_SYMLINK 7
#define SIG_CHLD 16

typedef struct { uint32_t buf, len; } iov_t;

static const char *cur_func = "", *cur_case = "";
static i32 S = -1; /* the /scratch preopen */
static i32 F = -1; /* scratch/f, opened read-write */

static void line(const char *what) {
    wp_begin(P, CHECK);
    wp_str("what", what);
    wp_str("func", cur_func);
    wp_str("case", cur_case);
}

/* A result: the errno, and ret/ok when given (has_ret / has_ok). */
static void result(i32 err, int has_ret, long long ret, int has_ok, int ok) {
    line("result");
    wp_int("errno", err);
    if (has_ret && err == 0)
        wp_int("ret", ret);
    if (has_ok)
        wp_bool("ok", err == 0 && ok);
    wp_end();
}
#define R(e) result((e), 0, 0, 0, 0)
#define RR(e, r) result((e), 1, (long long)(r), 0, 0)
#define RO(e, o) result((e), 0, 0, 1, (o))
#define RRO(e, r, o) result((e), 1, (long long)(r), 1, (o))
/* Just before a call that may trap. */
#define ATTEMPT() line("attempt"), wp_end()

static i32 plen(const char *s) { return (i32)strlen(s); }

static i32 open_at(i32 dir, const char *path, i32 oflags, i64 rights, i32 fdflags, i32 *fd) {
    return w_path_open(dir, 0, A(path), plen(path), oflags, rights, rights, fdflags, A(fd));
}

static i32 put(i32 fd, const char *s, uint32_t *n) {
    iov_t iov = {(uint32_t)(uintptr_t)s, (uint32_t)strlen(s)};
    return w_fd_write(fd, A(&iov), 1, A(n));
}

static i32 get(i32 fd, char *buf, uint32_t cap, uint32_t *n) {
    iov_t iov = {(uint32_t)(uintptr_t)buf, cap};
    return w_fd_read(fd, A(&iov), 1, A(n));
}

static uint64_t u64_at(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static uint32_t u32_at(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* Finds the /scratch preopen as wasi-libc does (fd 3 up, until EBADF), recording the two
 * prestat calls when `record`. */
static void find_scratch(int record) {
    for (i32 fd = 3; fd < 64; fd++) {
        uint8_t prestat[8] = {0};
        i32 e = w_fd_prestat_get(fd, A(prestat));
        if (e == E_BADF)
            break;
        if (e != 0 || prestat[0] != 0)
            continue;
        uint32_t len = u32_at(prestat + 4);
        char name[64] = {0};
        if (len >= sizeof name)
            continue;
        i32 e2 = w_fd_prestat_dir_name(fd, A(name), (i32)len);
        if (e2 == 0 && strcmp(name, "/scratch") == 0) {
            S = fd;
            if (record) {
                cur_func = "fd_prestat_get", cur_case = "valid";
                RR(e, len);
                cur_func = "fd_prestat_dir_name", cur_case = "valid";
                RO(e2, 1);
            }
            return;
        }
    }
}

/* ------------------------------------------------------------ args, environ, clocks */

static void args_sizes_get_valid(void) {
    uint32_t c = 0, s = 0;
    RR(w_args_sizes_get(A(&c), A(&s)), c);
}

static void args_get_valid(void) {
    static uint32_t argv[64];
    static char buf[4096];
    uint32_t c = 0, s = 0;
    w_args_sizes_get(A(&c), A(&s));
    if (c > 64 || s > sizeof buf) {
        RO(-1, 0);
        return;
    }
    i32 e = w_args_get(A(argv), A(buf));
    RO(e, c > 0 && strcmp((const char *)(uintptr_t)argv[0], "p1_calls") == 0);
}

static void environ_sizes_get_valid(void) {
    uint32_t c = 0, s = 0;
    RR(w_environ_sizes_get(A(&c), A(&s)), c);
}

static void environ_get_valid(void) {
    static uint32_t env[64];
    static char buf[4096];
    uint32_t c = 0, s = 0;
    w_environ_sizes_get(A(&c), A(&s));
    if (c > 64 || s > sizeof buf) {
        RO(-1, 0);
        return;
    }
    i32 e = w_environ_get(A(env), A(buf));
    RO(e, c > 0 && strcmp((const char *)(uintptr_t)env[0], "WASIPROBE_P1=1") == 0);
}

static void clock_res_get_valid(void) {
    uint64_t r = 0;
    i32 e = w_clock_res_get(CLOCK_MONOTONIC, A(&r));
    RO(e, r > 0);
}

static void clock_res_get_cputime(void) {
    uint64_t r = 0;
    R(w_clock_res_get(CLOCK_PROCESS_CPUTIME, A(&r)));
}

static void clock_time_get_valid(void) {
    uint64_t t = 0;
    i32 e = w_clock_time_get(CLOCK_MONOTONIC, 1, A(&t));
    RO(e, t > 0);
}

static void clock_time_get_realtime(void) {
    uint64_t t = 0;
    i32 e = w_clock_time_get(CLOCK_REALTIME, 1, A(&t));
    RO(e, t > 1500000000ull * 1000000000ull); /* after 2017 */
}

static void clock_time_get_cputime(void) {
    uint64_t t = 0;
    R(w_clock_time_get(CLOCK_PROCESS_CPUTIME, 1, A(&t)));
}

/* ------------------------------------------------------------ one open file */

static void path_open_valid(void) {
    i32 e = open_at(S, "f", O_CREAT | O_TRUNC, R_ALL, 0, &F);
    RO(e, F >= 0 && F != S);
}

static void fd_write_valid(void) {
    uint32_t n = 0;
    RR(put(F, "hello", &n), n);
}

static void fd_tell_valid(void) {
    uint64_t off = 0;
    RR(w_fd_tell(F, A(&off)), off);
}

static void fd_seek_valid(void) {
    uint64_t pos = 0;
    RR(w_fd_seek(F, 2, 0, A(&pos)), pos);
}

static void fd_seek_cur(void) {
    uint64_t pos = 99;
    RR(w_fd_seek(F, -2, 1, A(&pos)), pos);
}

static void fd_seek_end(void) {
    uint64_t pos = 0;
    RR(w_fd_seek(F, 0, 2, A(&pos)), pos);
}

static void fd_read_valid(void) {
    char buf[16] = {0};
    uint32_t n = 0;
    uint64_t pos = 0;
    w_fd_seek(F, 0, 0, A(&pos));
    i32 e = get(F, buf, sizeof buf, &n);
    RRO(e, n, n == 5 && memcmp(buf, "hello", 5) == 0);
}

static void fd_pread_valid(void) {
    char buf[4] = {0};
    iov_t iov = {(uint32_t)(uintptr_t)buf, 4};
    uint32_t n = 0;
    i32 e = w_fd_pread(F, A(&iov), 1, 1, A(&n));
    RRO(e, n, n == 4 && memcmp(buf, "ello", 4) == 0);
}

static void fd_pwrite_valid(void) {
    iov_t iov = {(uint32_t)(uintptr_t) "J", 1};
    uint32_t n = 0;
    RR(w_fd_pwrite(F, A(&iov), 1, 0, A(&n)), n);
}

/* pread/pwrite neither use nor move the offset: still 5 after reading "hello". */
static void fd_tell_after_pwrite(void) { fd_tell_valid(); }

static void fd_pread_after_pwrite(void) {
    char buf[8] = {0};
    iov_t iov = {(uint32_t)(uintptr_t)buf, 8};
    uint32_t n = 0;
    i32 e = w_fd_pread(F, A(&iov), 1, 0, A(&n));
    RRO(e, n, n == 5 && memcmp(buf, "Jello", 5) == 0);
}

static void fd_filestat_get_valid(void) {
    uint8_t st[64] = {0};
    i32 e = w_fd_filestat_get(F, A(st));
    RRO(e, u64_at(st + 32), st[16] == FILETYPE_REGULAR);
}

static void fd_fdstat_get_valid(void) {
    uint8_t st[24] = {0};
    i32 e = w_fd_fdstat_get(F, A(st));
    RRO(e, st[0], st[0] == FILETYPE_REGULAR);
}

static void fd_fdstat_set_flags_valid(void) {
    i32 e = w_fd_fdstat_set_flags(F, FDFLAG_APPEND);
    uint8_t st[24] = {0};
    w_fd_fdstat_get(F, A(st));
    RO(e, (st[2] & FDFLAG_APPEND) != 0);
    w_fd_fdstat_set_flags(F, 0);
}

static void fd_fdstat_set_flags_sync(void) {
    R(w_fd_fdstat_set_flags(F, FDFLAG_SYNC));
    w_fd_fdstat_set_flags(F, 0);
}

static void fd_advise_valid(void) { R(w_fd_advise(F, 0, 5, 0)); }
static void fd_allocate_valid(void) { R(w_fd_allocate(F, 0, 16)); }
static void fd_datasync_valid(void) { R(w_fd_datasync(F)); }
static void fd_sync_valid(void) { R(w_fd_sync(F)); }
static void fd_filestat_set_size_valid(void) { R(w_fd_filestat_set_size(F, 3)); }

static void fd_filestat_get_after_set_size(void) {
    uint8_t st[64] = {0};
    RR(w_fd_filestat_get(F, A(st)), u64_at(st + 32));
}

#define MTIM 1600000001000000000ll

static void fd_filestat_set_times_valid(void) {
    R(w_fd_filestat_set_times(F, MTIM - 1000000000ll, MTIM, FST_ATIM | FST_MTIM));
}

static void fd_filestat_get_after_set_times(void) {
    uint8_t st[64] = {0};
    i32 e = w_fd_filestat_get(F, A(st));
    RO(e, u64_at(st + 48) == (uint64_t)MTIM);
}

static void fd_filestat_set_times_both_now(void) {
    R(w_fd_filestat_set_times(F, 0, 0, FST_ATIM | FST_ATIM_NOW));
}

static void fd_seek_negative(void) {
    uint64_t pos = 0;
    R(w_fd_seek(F, -1, 0, A(&pos)));
}

static void fd_seek_not_seekable(void) {
    uint64_t pos = 0;
    R(w_fd_seek(1, 0, 1, A(&pos)));
}

static void fd_tell_not_seekable(void) {
    uint64_t pos = 0;
    R(w_fd_tell(1, A(&pos)));
}

static void fd_pread_not_seekable(void) {
    char buf[4];
    iov_t iov = {(uint32_t)(uintptr_t)buf, 4};
    uint32_t n = 0;
    R(w_fd_pread(0, A(&iov), 1, 0, A(&n)));
}

/* stderr, not stdout: a runtime that accepted the pwrite must not garble the protocol. */
static void fd_pwrite_not_seekable(void) {
    iov_t iov = {(uint32_t)(uintptr_t) "x", 1};
    uint32_t n = 0;
    R(w_fd_pwrite(2, A(&iov), 1, 0, A(&n)));
}

static i32 RO_FD = -1, WO_FD = -1;

/* Opened without the write right, then written: the missing right must stop the write. */
static void fd_write_read_only(void) {
    uint32_t n = 0;
    open_at(S, "f", 0, R_ALL & ~R_FD_WRITE, 0, &RO_FD);
    R(put(RO_FD, "x", &n));
}

static void fd_pwrite_read_only(void) {
    iov_t iov = {(uint32_t)(uintptr_t) "x", 1};
    uint32_t n = 0;
    R(w_fd_pwrite(RO_FD, A(&iov), 1, 0, A(&n)));
}

static void fd_read_write_only(void) {
    char buf[4];
    uint32_t n = 0;
    open_at(S, "f", 0, R_ALL & ~R_FD_READ, 0, &WO_FD);
    R(get(WO_FD, buf, sizeof buf, &n));
}

static void fd_close_valid(void) {
    R(w_fd_close(RO_FD));
    w_fd_close(WO_FD);
}

static void fd_close_closed(void) { R(w_fd_close(RO_FD)); }

/* ------------------------------------------------------------ bad fd, everywhere */

static void fd_advise_bad_fd(void) { R(w_fd_advise(BAD, 0, 1, 0)); }
static void fd_allocate_bad_fd(void) { R(w_fd_allocate(BAD, 0, 1)); }
static void fd_close_bad_fd(void) { R(w_fd_close(BAD)); }
static void fd_datasync_bad_fd(void) { R(w_fd_datasync(BAD)); }
static void fd_sync_bad_fd(void) { R(w_fd_sync(BAD)); }

static void fd_fdstat_get_bad_fd(void) {
    uint8_t st[24];
    R(w_fd_fdstat_get(BAD, A(st)));
}

static void fd_fdstat_set_flags_bad_fd(void) { R(w_fd_fdstat_set_flags(BAD, 0)); }
static void fd_fdstat_set_rights_bad_fd(void) { R(w_fd_fdstat_set_rights(BAD, 0, 0)); }

static void fd_filestat_get_bad_fd(void) {
    uint8_t st[64];
    R(w_fd_filestat_get(BAD, A(st)));
}

static void fd_filestat_set_size_bad_fd(void) { R(w_fd_filestat_set_size(BAD, 0)); }

static void fd_filestat_set_times_bad_fd(void) {
    R(w_fd_filestat_set_times(BAD, 0, 0, FST_ATIM_NOW));
}

static void fd_pread_bad_fd(void) {
    char buf[4];
    iov_t iov = {(uint32_t)(uintptr_t)buf, 4};
    uint32_t n;
    R(w_fd_pread(BAD, A(&iov), 1, 0, A(&n)));
}

static void fd_pwrite_bad_fd(void) {
    iov_t iov = {(uint32_t)(uintptr_t) "x", 1};
    uint32_t n;
    R(w_fd_pwrite(BAD, A(&iov), 1, 0, A(&n)));
}

static void fd_read_bad_fd(void) {
    char buf[4];
    uint32_t n;
    R(get(BAD, buf, sizeof buf, &n));
}

static void fd_write_bad_fd(void) {
    uint32_t n;
    R(put(BAD, "x", &n));
}

static void fd_seek_bad_fd(void) {
    uint64_t pos;
    R(w_fd_seek(BAD, 0, 0, A(&pos)));
}

static void fd_tell_bad_fd(void) {
    uint64_t pos;
    R(w_fd_tell(BAD, A(&pos)));
}

static void fd_prestat_get_bad_fd(void) {
    uint8_t prestat[8];
    R(w_fd_prestat_get(BAD, A(prestat)));
}

static void fd_prestat_dir_name_bad_fd(void) {
    char name[16];
    R(w_fd_prestat_dir_name(BAD, A(name), sizeof name));
}

static void fd_readdir_bad_fd(void) {
    uint8_t buf[256];
    uint32_t n;
    R(w_fd_readdir(BAD, A(buf), sizeof buf, 0, A(&n)));
}

static void fd_renumber_bad_fd(void) { R(w_fd_renumber(BAD, F)); }

static void path_create_directory_bad_fd(void) {
    R(w_path_create_directory(BAD, A("x"), 1));
}

static void path_filestat_get_bad_fd(void) {
    uint8_t st[64];
    R(w_path_filestat_get(BAD, 0, A("f"), 1, A(st)));
}

static void path_filestat_set_times_bad_fd(void) {
    R(w_path_filestat_set_times(BAD, 0, A("f"), 1, 0, 0, FST_ATIM_NOW));
}

static void path_link_bad_fd(void) { R(w_path_link(BAD, 0, A("f"), 1, S, A("y"), 1)); }

static void path_open_bad_fd(void) {
    i32 fd;
    R(open_at(BAD, "f", 0, R_ALL, 0, &fd));
}

static void path_readlink_bad_fd(void) {
    char buf[16];
    uint32_t n;
    R(w_path_readlink(BAD, A("f"), 1, A(buf), sizeof buf, A(&n)));
}

static void path_remove_directory_bad_fd(void) {
    R(w_path_remove_directory(BAD, A("d"), 1));
}

static void path_rename_bad_fd(void) { R(w_path_rename(BAD, A("f"), 1, S, A("y"), 1)); }
static void path_symlink_bad_fd(void) { R(w_path_symlink(A("f"), 1, BAD, A("y"), 1)); }
static void path_unlink_file_bad_fd(void) { R(w_path_unlink_file(BAD, A("f"), 1)); }

/* ------------------------------------------------------------ directories and paths */

static int has_entry(const uint8_t *buf, uint32_t n, const char *name) {
    uint32_t at = 0, len = (uint32_t)strlen(name);
    while (at + 24 <= n) {
        uint32_t namlen = u32_at(buf + at + 16);
        if (at + 24 + namlen > n)
            break;
        if (namlen == len && memcmp(buf + at + 24, name, len) == 0)
            return 1;
        at += 24 + namlen;
    }
    return 0;
}

static void fd_readdir_valid(void) {
    static uint8_t buf[4096];
    uint32_t n = 0;
    i32 e = w_fd_readdir(S, A(buf), sizeof buf, 0, A(&n));
    RO(e, n > 0 && has_entry(buf, n, "f"));
}

static void fd_readdir_not_dir(void) {
    uint8_t buf[256];
    uint32_t n;
    R(w_fd_readdir(F, A(buf), sizeof buf, 0, A(&n)));
}

static void path_create_directory_valid(void) { R(w_path_create_directory(S, A("d"), 1)); }
static void path_create_directory_exists(void) { R(w_path_create_directory(S, A("d"), 1)); }
static void path_create_directory_not_dir_fd(void) {
    R(w_path_create_directory(F, A("x"), 1));
}

static void path_filestat_get_valid(void) {
    uint8_t st[64] = {0};
    i32 e = w_path_filestat_get(S, 0, A("f"), 1, A(st));
    RRO(e, u64_at(st + 32), st[16] == FILETYPE_REGULAR);
}

static void path_filestat_get_noent(void) {
    uint8_t st[64];
    R(w_path_filestat_get(S, 0, A("nope"), 4, A(st)));
}

static void path_filestat_get_directory(void) {
    uint8_t st[64] = {0};
    i32 e = w_path_filestat_get(S, 0, A("d"), 1, A(st));
    RO(e, st[16] == FILETYPE_DIRECTORY);
}

static void path_filestat_set_times_valid(void) {
    R(w_path_filestat_set_times(S, 0, A("f"), 1, MTIM, MTIM, FST_ATIM | FST_MTIM));
}

static void path_filestat_set_times_noent(void) {
    R(w_path_filestat_set_times(S, 0, A("nope"), 4, 0, 0, FST_ATIM_NOW));
}

static void path_link_valid(void) { R(w_path_link(S, 0, A("f"), 1, S, A("f.link"), 6)); }
static void path_link_exists(void) { R(w_path_link(S, 0, A("f"), 1, S, A("f.link"), 6)); }
static void path_link_noent(void) { R(w_path_link(S, 0, A("nope"), 4, S, A("y"), 1)); }

static void path_symlink_valid(void) { R(w_path_symlink(A("f"), 1, S, A("f.sym"), 5)); }
static void path_symlink_exists(void) { R(w_path_symlink(A("f"), 1, S, A("f.sym"), 5)); }

/* Without symlink_follow the link itself is described. */
static void path_filestat_get_symlink(void) {
    uint8_t st[64] = {0};
    i32 e = w_path_filestat_get(S, 0, A("f.sym"), 5, A(st));
    RO(e, st[16] == FILETYPE_SYMLINK);
}

static void path_readlink_valid(void) {
    char buf[64] = {0};
    uint32_t n = 0;
    i32 e = w_path_readlink(S, A("f.sym"), 5, A(buf), sizeof buf, A(&n));
    RRO(e, n, n == 1 && buf[0] == 'f');
}

static void path_readlink_not_link(void) {
    char buf[64];
    uint32_t n;
    R(w_path_readlink(S, A("f"), 1, A(buf), sizeof buf, A(&n)));
}

static void path_readlink_noent(void) {
    char buf[64];
    uint32_t n;
    R(w_path_readlink(S, A("nope"), 4, A(buf), sizeof buf, A(&n)));
}

static void path_rename_valid(void) { R(w_path_rename(S, A("f.link"), 6, S, A("f.moved"), 7)); }
static void path_rename_noent(void) { R(w_path_rename(S, A("nope"), 4, S, A("y"), 1)); }

static void path_unlink_file_valid(void) { R(w_path_unlink_file(S, A("f.moved"), 7)); }
static void path_unlink_file_isdir(void) { R(w_path_unlink_file(S, A("d"), 1)); }
static void path_unlink_file_noent(void) { R(w_path_unlink_file(S, A("nope"), 4)); }

static void path_remove_directory_not_empty(void) {
    i32 fd = -1;
    w_path_create_directory(S, A("d2"), 2);
    open_at(S, "d2/x", O_CREAT, R_ALL, 0, &fd);
    w_fd_close(fd);
    R(w_path_remove_directory(S, A("d2"), 2));
}

static void path_remove_directory_not_dir(void) { R(w_path_remove_directory(S, A("f"), 1)); }
static void path_remove_directory_valid(void) { R(w_path_remove_directory(S, A("d"), 1)); }
static void path_remove_directory_noent(void) { R(w_path_remove_directory(S, A("d"), 1)); }

static void path_open_noent(void) {
    i32 fd;
    R(open_at(S, "nope", 0, R_ALL, 0, &fd));
}

static void path_open_excl_exists(void) {
    i32 fd;
    R(open_at(S, "f", O_CREAT | O_EXCL, R_ALL, 0, &fd));
}

static void path_open_directory_on_file(void) {
    i32 fd;
    R(open_at(S, "f", O_DIRECTORY, R_ALL, 0, &fd));
}

static void path_open_directory(void) {
    i32 fd = -1;
    uint8_t st[24] = {0};
    i32 e = open_at(S, "d2", O_DIRECTORY, R_ALL & ~R_FD_WRITE, 0, &fd);
    w_fd_fdstat_get(fd, A(st));
    RO(e, st[0] == FILETYPE_DIRECTORY);
    w_fd_close(fd);
}

/* Asking for the write right on a directory: the runtime may drop the right (path_open's
 * rights may shrink to those that apply) or refuse the open. */
static void path_open_directory_write_right(void) {
    i32 fd = -1;
    i32 e = open_at(S, "d2", O_DIRECTORY, R_ALL, 0, &fd);
    R(e);
    if (e == 0)
        w_fd_close(fd);
}

/* Out of the sandbox: must fail; which errno is the runtime's choice. */
static void path_open_escape(void) {
    i32 fd;
    R(open_at(S, "../escape", O_CREAT, R_ALL, 0, &fd));
}

static void path_open_not_dir_fd(void) {
    i32 fd;
    R(open_at(F, "x", 0, R_ALL, 0, &fd));
}

/* ------------------------------------------------------------ renumber and rights */

static i32 FA = -1, FB = -1;

static void fd_renumber_valid(void) {
    open_at(S, "a", O_CREAT, R_ALL, 0, &FA);
    open_at(S, "b", O_CREAT, R_ALL, 0, &FB);
    R(w_fd_renumber(FA, FB));
}

/* After renumber(a, b) the old number is closed. */
static void fd_fdstat_get_after_renumber(void) {
    uint8_t st[24];
    R(w_fd_fdstat_get(FA, A(st)));
}

/* Last use of FB: a runtime that allows this moves FB to 1000. */
static void fd_renumber_to_unopened(void) {
    R(w_fd_renumber(FB, 1000));
    w_fd_close(FB);
    w_fd_close(1000);
}

static void fd_fdstat_set_rights_valid(void) {
    R(w_fd_fdstat_set_rights(FB, R_ALL & ~R_FD_ALLOCATE, R_ALL & ~R_FD_ALLOCATE));
}

static void fd_fdstat_set_rights_add(void) {
    R(w_fd_fdstat_set_rights(FB, R_ALL, R_ALL));
}

static void fd_prestat_get_not_preopen(void) {
    uint8_t prestat[8];
    R(w_fd_prestat_get(F, A(prestat)));
}

static void fd_prestat_dir_name_too_short(void) {
    char name[16];
    R(w_fd_prestat_dir_name(S, A(name), 2));
}

/* ------------------------------------------------------------ poll, process, random, sockets */

static void sub_clock(uint8_t *s, uint64_t userdata, uint32_t clock, uint64_t timeout) {
    memset(s, 0, 48);
    memcpy(s, &userdata, 8);
    s[8] = 0; /* eventtype clock */
    memcpy(s + 16, &clock, 4);
    memcpy(s + 24, &timeout, 8);
}

static void poll_oneoff_valid(void) {
    uint8_t sub[48], ev[32] = {0};
    uint32_t n = 0;
    sub_clock(sub, 0x5eed, CLOCK_MONOTONIC, 0);
    ATTEMPT();
    i32 e = w_poll_oneoff(A(sub), A(ev), 1, A(&n));
    uint16_t err;
    memcpy(&err, ev + 8, 2);
    RRO(e, n, n == 1 && u64_at(ev) == 0x5eed && err == 0 && ev[10] == 0);
}

static void poll_oneoff_zero_subs(void) {
    uint8_t sub[48], ev[32];
    uint32_t n = 0;
    ATTEMPT();
    R(w_poll_oneoff(A(sub), A(ev), 0, A(&n)));
}

static void poll_oneoff_bad_fd_sub(void) {
    uint8_t sub[48] = {0}, ev[32] = {0};
    uint32_t n = 0, fd = BAD;
    sub[8] = 1; /* fd_read */
    memcpy(sub + 16, &fd, 4);
    R(w_poll_oneoff(A(sub), A(ev), 1, A(&n)));
}

/* SIGCHLD: its default action is to be ignored, so a runtime that delivers it goes on. These
 * three run alone: runtimes trap in proc_raise or block for ever in these polls, which would
 * hide every later case of the main run. */
static void proc_raise_valid(void) {
    ATTEMPT();
    R(w_proc_raise(SIG_CHLD));
}
static void sched_yield_valid(void) { R(w_sched_yield()); }

static void random_get_valid(void) {
    uint8_t buf[32] = {0};
    i32 e = w_random_get(A(buf), sizeof buf);
    int nonzero = 0;
    for (unsigned i = 0; i < sizeof buf; i++)
        nonzero |= buf[i];
    RO(e, nonzero != 0);
}

static void random_get_zero_len(void) {
    uint8_t buf[1];
    R(w_random_get(A(buf), 0));
}

static void sock_accept_not_socket(void) {
    i32 fd;
    R(w_sock_accept(F, 0, A(&fd)));
}

static void sock_accept_bad_fd(void) {
    i32 fd;
    R(w_sock_accept(BAD, 0, A(&fd)));
}

static void sock_recv_on(i32 fd) {
    char buf[4];
    iov_t iov = {(uint32_t)(uintptr_t)buf, 4};
    uint32_t n;
    uint16_t flags;
    R(w_sock_recv(fd, A(&iov), 1, 0, A(&n), A(&flags)));
}

static void sock_recv_not_socket(void) { sock_recv_on(F); }
static void sock_recv_bad_fd(void) { sock_recv_on(BAD); }

static void sock_send_on(i32 fd) {
    iov_t iov = {(uint32_t)(uintptr_t) "x", 1};
    uint32_t n;
    R(w_sock_send(fd, A(&iov), 1, 0, A(&n)));
}

static void sock_send_not_socket(void) { sock_send_on(F); }
static void sock_send_bad_fd(void) { sock_send_on(BAD); }
static void sock_shutdown_not_socket(void) { R(w_sock_shutdown(F, 3)); }
static void sock_shutdown_bad_fd(void) { R(w_sock_shutdown(BAD, 3)); }

/* ------------------------------------------------------------ one per run: may trap */

static void oob_args_get(void) {
    static char buf[4096];
    ATTEMPT();
    R(w_args_get(OOB, A(buf)));
}

static void oob_args_sizes_get(void) {
    uint32_t s;
    ATTEMPT();
    R(w_args_sizes_get(OOB, A(&s)));
}

static void oob_environ_get(void) {
    static char buf[4096];
    ATTEMPT();
    R(w_environ_get(OOB, A(buf)));
}

static void oob_environ_sizes_get(void) {
    uint32_t s;
    ATTEMPT();
    R(w_environ_sizes_get(OOB, A(&s)));
}

static void oob_clock_res_get(void) {
    ATTEMPT();
    R(w_clock_res_get(CLOCK_MONOTONIC, OOB));
}

static void oob_clock_time_get(void) {
    ATTEMPT();
    R(w_clock_time_get(CLOCK_MONOTONIC, 1, OOB));
}

static void oob_fd_fdstat_get(void) {
    ATTEMPT();
    R(w_fd_fdstat_get(F, OOB));
}

static void oob_fd_filestat_get(void) {
    ATTEMPT();
    R(w_fd_filestat_get(F, OOB));
}

static void oob_fd_pread(void) {
    uint32_t n;
    ATTEMPT();
    R(w_fd_pread(F, OOB, 1, 0, A(&n)));
}

static void oob_fd_prestat_get(void) {
    ATTEMPT();
    R(w_fd_prestat_get(S, OOB));
}

static void oob_fd_prestat_dir_name(void) {
    ATTEMPT();
    R(w_fd_prestat_dir_name(S, OOB, 8));
}

static void oob_fd_pwrite(void) {
    uint32_t n;
    ATTEMPT();
    R(w_fd_pwrite(F, OOB, 1, 0, A(&n)));
}

static void oob_fd_read(void) {
    uint32_t n;
    ATTEMPT();
    R(w_fd_read(F, OOB, 1, A(&n)));
}

static void oob_fd_readdir(void) {
    uint32_t n;
    ATTEMPT();
    R(w_fd_readdir(S, OOB, 256, 0, A(&n)));
}

static void oob_fd_seek(void) {
    ATTEMPT();
    R(w_fd_seek(F, 0, 0, OOB));
}

static void oob_fd_tell(void) {
    ATTEMPT();
    R(w_fd_tell(F, OOB));
}

static void oob_fd_write(void) {
    uint32_t n;
    ATTEMPT();
    R(w_fd_write(F, OOB, 1, A(&n)));
}

static void oob_path_create_directory(void) {
    ATTEMPT();
    R(w_path_create_directory(S, OOB, 4));
}

static void oob_path_filestat_get(void) {
    uint8_t st[64];
    ATTEMPT();
    R(w_path_filestat_get(S, 0, OOB, 4, A(st)));
}

static void oob_path_filestat_set_times(void) {
    ATTEMPT();
    R(w_path_filestat_set_times(S, 0, OOB, 4, 0, 0, FST_ATIM_NOW));
}

static void oob_path_link(void) {
    ATTEMPT();
    R(w_path_link(S, 0, OOB, 4, S, A("y"), 1));
}

static void oob_path_open(void) {
    i32 fd;
    ATTEMPT();
    R(w_path_open(S, 0, OOB, 4, O_CREAT, R_ALL, R_ALL, 0, A(&fd)));
}

static void oob_path_readlink(void) {
    uint32_t n;
    w_path_symlink(A("f"), 1, S, A("f.sym"), 5);
    ATTEMPT();
    R(w_path_readlink(S, A("f.sym"), 5, OOB, 64, A(&n)));
}

static void oob_path_remove_directory(void) {
    ATTEMPT();
    R(w_path_remove_directory(S, OOB, 4));
}

static void oob_path_rename(void) {
    ATTEMPT();
    R(w_path_rename(S, OOB, 4, S, A("y"), 1));
}

static void oob_path_symlink(void) {
    ATTEMPT();
    R(w_path_symlink(OOB, 4, S, A("y"), 1));
}

static void oob_path_unlink_file(void) {
    ATTEMPT();
    R(w_path_unlink_file(S, OOB, 4));
}

static void oob_poll_oneoff(void) {
    uint8_t ev[32];
    uint32_t n;
    ATTEMPT();
    R(w_poll_oneoff(OOB, A(ev), 1, A(&n)));
}

static void oob_random_get(void) {
    ATTEMPT();
    R(w_random_get(OOB, 16));
}

static void clock_res_get_bad_clock(void) {
    uint64_t r;
    ATTEMPT();
    R(w_clock_res_get(99, A(&r)));
}

static void clock_time_get_bad_clock(void) {
    uint64_t t;
    ATTEMPT();
    R(w_clock_time_get(99, 1, A(&t)));
}

static void fd_advise_bad_advice(void) {
    ATTEMPT();
    R(w_fd_advise(F, 0, 1, 99));
}

static void fd_seek_bad_whence(void) {
    uint64_t pos;
    ATTEMPT();
    R(w_fd_seek(F, 0, 3, A(&pos)));
}

static void fd_fdstat_set_flags_bad_flags(void) {
    ATTEMPT();
    R(w_fd_fdstat_set_flags(F, 0x20));
}

static void fd_filestat_set_times_bad_flags(void) {
    ATTEMPT();
    R(w_fd_filestat_set_times(F, 0, 0, 0x10));
}

static void path_open_bad_oflags(void) {
    i32 fd;
    ATTEMPT();
    R(open_at(S, "f", 0x10, R_ALL, 0, &fd));
}

static void proc_raise_bad_signal(void) {
    ATTEMPT();
    R(w_proc_raise(99));
}

static void sock_shutdown_bad_how(void) {
    ATTEMPT();
    R(w_sock_shutdown(F, 4));
}

static void poll_oneoff_bad_clock_sub(void) {
    uint8_t sub[48], ev[32];
    uint32_t n;
    sub_clock(sub, 1, 99, 0);
    ATTEMPT();
    R(w_poll_oneoff(A(sub), A(ev), 1, A(&n)));
}

/* WASI exit statuses are below 126 in some runtimes' reading; which is the runtime's choice. */
static void proc_exit_out_of_range(void) {
    ATTEMPT();
    w_proc_exit(200);
}

/* ------------------------------------------------------------ the table, in execution order */

typedef struct {
    const char *func, *kase;
    int one; /* run only on its own (`one FUNC CASE`) */
    void (*run)(void);
} case_t;

static const case_t CASES[] = {
    {"args_sizes_get", "valid", 0, args_sizes_get_valid},
    {"args_get", "valid", 0, args_get_valid},
    {"environ_sizes_get", "valid", 0, environ_sizes_get_valid},
    {"environ_get", "valid", 0, environ_get_valid},
    {"clock_res_get", "valid", 0, clock_res_get_valid},
    {"clock_res_get", "cputime", 0, clock_res_get_cputime},
    {"clock_time_get", "valid", 0, clock_time_get_valid},
    {"clock_time_get", "realtime", 0, clock_time_get_realtime},
    {"clock_time_get", "cputime", 0, clock_time_get_cputime},
    {"path_open", "valid", 0, path_open_valid},
    {"fd_write", "valid", 0, fd_write_valid},
    {"fd_tell", "valid", 0, fd_tell_valid},
    {"fd_seek", "valid", 0, fd_seek_valid},
    {"fd_seek", "cur", 0, fd_seek_cur},
    {"fd_seek", "end", 0, fd_seek_end},
    {"fd_read", "valid", 0, fd_read_valid},
    {"fd_pread", "valid", 0, fd_pread_valid},
    {"fd_pwrite", "valid", 0, fd_pwrite_valid},
    {"fd_tell", "after-pwrite", 0, fd_tell_after_pwrite},
    {"fd_pread", "after-pwrite", 0, fd_pread_after_pwrite},
    {"fd_filestat_get", "valid", 0, fd_filestat_get_valid},
    {"fd_fdstat_get", "valid", 0, fd_fdstat_get_valid},
    {"fd_fdstat_set_flags", "valid", 0, fd_fdstat_set_flags_valid},
    {"fd_fdstat_set_flags", "sync", 0, fd_fdstat_set_flags_sync},
    {"fd_advise", "valid", 0, fd_advise_valid},
    {"fd_allocate", "valid", 0, fd_allocate_valid},
    {"fd_datasync", "valid", 0, fd_datasync_valid},
    {"fd_sync", "valid", 0, fd_sync_valid},
    {"fd_filestat_set_size", "valid", 0, fd_filestat_set_size_valid},
    {"fd_filestat_get", "after-set-size", 0, fd_filestat_get_after_set_size},
    {"fd_filestat_set_times", "valid", 0, fd_filestat_set_times_valid},
    {"fd_filestat_get", "after-set-times", 0, fd_filestat_get_after_set_times},
    {"fd_filestat_set_times", "both-now", 0, fd_filestat_set_times_both_now},
    {"fd_seek", "negative", 0, fd_seek_negative},
    {"fd_seek", "not-seekable", 0, fd_seek_not_seekable},
    {"fd_tell", "not-seekable", 0, fd_tell_not_seekable},
    {"fd_pread", "not-seekable", 0, fd_pread_not_seekable},
    {"fd_pwrite", "not-seekable", 0, fd_pwrite_not_seekable},
    {"fd_write", "read-only", 0, fd_write_read_only},
    {"fd_pwrite", "read-only", 0, fd_pwrite_read_only},
    {"fd_read", "write-only", 0, fd_read_write_only},
    {"fd_close", "valid", 0, fd_close_valid},
    {"fd_close", "closed", 0, fd_close_closed},
    {"fd_advise", "bad-fd", 0, fd_advise_bad_fd},
    {"fd_allocate", "bad-fd", 0, fd_allocate_bad_fd},
    {"fd_close", "bad-fd", 0, fd_close_bad_fd},
    {"fd_datasync", "bad-fd", 0, fd_datasync_bad_fd},
    {"fd_sync", "bad-fd", 0, fd_sync_bad_fd},
    {"fd_fdstat_get", "bad-fd", 0, fd_fdstat_get_bad_fd},
    {"fd_fdstat_set_flags", "bad-fd", 0, fd_fdstat_set_flags_bad_fd},
    {"fd_fdstat_set_rights", "bad-fd", 0, fd_fdstat_set_rights_bad_fd},
    {"fd_filestat_get", "bad-fd", 0, fd_filestat_get_bad_fd},
    {"fd_filestat_set_size", "bad-fd", 0, fd_filestat_set_size_bad_fd},
    {"fd_filestat_set_times", "bad-fd", 0, fd_filestat_set_times_bad_fd},
    {"fd_pread", "bad-fd", 0, fd_pread_bad_fd},
    {"fd_pwrite", "bad-fd", 0, fd_pwrite_bad_fd},
    {"fd_read", "bad-fd", 0, fd_read_bad_fd},
    {"fd_write", "bad-fd", 0, fd_write_bad_fd},
    {"fd_seek", "bad-fd", 0, fd_seek_bad_fd},
    {"fd_tell", "bad-fd", 0, fd_tell_bad_fd},
    {"fd_prestat_get", "bad-fd", 0, fd_prestat_get_bad_fd},
    {"fd_prestat_dir_name", "bad-fd", 0, fd_prestat_dir_name_bad_fd},
    {"fd_readdir", "bad-fd", 0, fd_readdir_bad_fd},
    {"fd_renumber", "bad-fd", 0, fd_renumber_bad_fd},
    {"path_create_directory", "bad-fd", 0, path_create_directory_bad_fd},
    {"path_filestat_get", "bad-fd", 0, path_filestat_get_bad_fd},
    {"path_filestat_set_times", "bad-fd", 0, path_filestat_set_times_bad_fd},
    {"path_link", "bad-fd", 0, path_link_bad_fd},
    {"path_open", "bad-fd", 0, path_open_bad_fd},
    {"path_readlink", "bad-fd", 0, path_readlink_bad_fd},
    {"path_remove_directory", "bad-fd", 0, path_remove_directory_bad_fd},
    {"path_rename", "bad-fd", 0, path_rename_bad_fd},
    {"path_symlink", "bad-fd", 0, path_symlink_bad_fd},
    {"path_unlink_file", "bad-fd", 0, path_unlink_file_bad_fd},
    {"fd_readdir", "valid", 0, fd_readdir_valid},
    {"fd_readdir", "not-dir", 0, fd_readdir_not_dir},
    {"path_create_directory", "valid", 0, path_create_directory_valid},
    {"path_create_directory", "exists", 0, path_create_directory_exists},
    {"path_create_directory", "not-dir-fd", 0, path_create_directory_not_dir_fd},
    {"path_filestat_get", "valid", 0, path_filestat_get_valid},
    {"path_filestat_get", "noent", 0, path_filestat_get_noent},
    {"path_filestat_get", "directory", 0, path_filestat_get_directory},
    {"path_filestat_set_times", "valid", 0, path_filestat_set_times_valid},
    {"path_filestat_set_times", "noent", 0, path_filestat_set_times_noent},
    {"path_link", "valid", 0, path_link_valid},
    {"path_link", "exists", 0, path_link_exists},
    {"path_link", "noent", 0, path_link_noent},
    {"path_symlink", "valid", 0, path_symlink_valid},
    {"path_symlink", "exists", 0, path_symlink_exists},
    {"path_filestat_get", "symlink", 0, path_filestat_get_symlink},
    {"path_readlink", "valid", 0, path_readlink_valid},
    {"path_readlink", "not-link", 0, path_readlink_not_link},
    {"path_readlink", "noent", 0, path_readlink_noent},
    {"path_rename", "valid", 0, path_rename_valid},
    {"path_rename", "noent", 0, path_rename_noent},
    {"path_unlink_file", "valid", 0, path_unlink_file_valid},
    {"path_unlink_file", "isdir", 0, path_unlink_file_isdir},
    {"path_unlink_file", "noent", 0, path_unlink_file_noent},
    {"path_remove_directory", "not-empty", 0, path_remove_directory_not_empty},
    {"path_remove_directory", "not-dir", 0, path_remove_directory_not_dir},
    {"path_remove_directory", "valid", 0, path_remove_directory_valid},
    {"path_remove_directory", "noent", 0, path_remove_directory_noent},
    {"path_open", "noent", 0, path_open_noent},
    {"path_open", "excl-exists", 0, path_open_excl_exists},
    {"path_open", "directory-on-file", 0, path_open_directory_on_file},
    {"path_open", "directory", 0, path_open_directory},
    {"path_open", "directory-write-right", 0, path_open_directory_write_right},
    {"path_open", "escape", 0, path_open_escape},
    {"path_open", "not-dir-fd", 0, path_open_not_dir_fd},
    {"fd_renumber", "valid", 0, fd_renumber_valid},
    {"fd_fdstat_get", "after-renumber", 0, fd_fdstat_get_after_renumber},
    {"fd_fdstat_set_rights", "valid", 0, fd_fdstat_set_rights_valid},
    {"fd_fdstat_set_rights", "add", 0, fd_fdstat_set_rights_add},
    {"fd_renumber", "to-unopened", 0, fd_renumber_to_unopened},
    {"fd_prestat_get", "not-preopen", 0, fd_prestat_get_not_preopen},
    {"fd_prestat_dir_name", "too-short", 0, fd_prestat_dir_name_too_short},
    {"poll_oneoff", "valid", 1, poll_oneoff_valid},
    {"poll_oneoff", "zero-subs", 1, poll_oneoff_zero_subs},
    {"poll_oneoff", "bad-fd-sub", 0, poll_oneoff_bad_fd_sub},
    {"proc_raise", "valid", 1, proc_raise_valid},
    {"sched_yield", "valid", 0, sched_yield_valid},
    {"random_get", "valid", 0, random_get_valid},
    {"random_get", "zero-len", 0, random_get_zero_len},
    {"sock_accept", "not-socket", 0, sock_accept_not_socket},
    {"sock_accept", "bad-fd", 0, sock_accept_bad_fd},
    {"sock_recv", "not-socket", 0, sock_recv_not_socket},
    {"sock_recv", "bad-fd", 0, sock_recv_bad_fd},
    {"sock_send", "not-socket", 0, sock_send_not_socket},
    {"sock_send", "bad-fd", 0, sock_send_bad_fd},
    {"sock_shutdown", "not-socket", 0, sock_shutdown_not_socket},
    {"sock_shutdown", "bad-fd", 0, sock_shutdown_bad_fd},
    {"args_get", "oob", 1, oob_args_get},
    {"args_sizes_get", "oob", 1, oob_args_sizes_get},
    {"environ_get", "oob", 1, oob_environ_get},
    {"environ_sizes_get", "oob", 1, oob_environ_sizes_get},
    {"clock_res_get", "oob", 1, oob_clock_res_get},
    {"clock_time_get", "oob", 1, oob_clock_time_get},
    {"fd_fdstat_get", "oob", 1, oob_fd_fdstat_get},
    {"fd_filestat_get", "oob", 1, oob_fd_filestat_get},
    {"fd_pread", "oob", 1, oob_fd_pread},
    {"fd_prestat_get", "oob", 1, oob_fd_prestat_get},
    {"fd_prestat_dir_name", "oob", 1, oob_fd_prestat_dir_name},
    {"fd_pwrite", "oob", 1, oob_fd_pwrite},
    {"fd_read", "oob", 1, oob_fd_read},
    {"fd_readdir", "oob", 1, oob_fd_readdir},
    {"fd_seek", "oob", 1, oob_fd_seek},
    {"fd_tell", "oob", 1, oob_fd_tell},
    {"fd_write", "oob", 1, oob_fd_write},
    {"path_create_directory", "oob", 1, oob_path_create_directory},
    {"path_filestat_get", "oob", 1, oob_path_filestat_get},
    {"path_filestat_set_times", "oob", 1, oob_path_filestat_set_times},
    {"path_link", "oob", 1, oob_path_link},
    {"path_open", "oob", 1, oob_path_open},
    {"path_readlink", "oob", 1, oob_path_readlink},
    {"path_remove_directory", "oob", 1, oob_path_remove_directory},
    {"path_rename", "oob", 1, oob_path_rename},
    {"path_symlink", "oob", 1, oob_path_symlink},
    {"path_unlink_file", "oob", 1, oob_path_unlink_file},
    {"poll_oneoff", "oob", 1, oob_poll_oneoff},
    {"random_get", "oob", 1, oob_random_get},
    {"clock_res_get", "bad-clock", 1, clock_res_get_bad_clock},
    {"clock_time_get", "bad-clock", 1, clock_time_get_bad_clock},
    {"fd_advise", "bad-advice", 1, fd_advise_bad_advice},
    {"fd_seek", "bad-whence", 1, fd_seek_bad_whence},
    {"fd_fdstat_set_flags", "bad-flags", 1, fd_fdstat_set_flags_bad_flags},
    {"fd_filestat_set_times", "bad-flags", 1, fd_filestat_set_times_bad_flags},
    {"path_open", "bad-oflags", 1, path_open_bad_oflags},
    {"proc_raise", "bad-signal", 1, proc_raise_bad_signal},
    {"sock_shutdown", "bad-how", 1, sock_shutdown_bad_how},
    {"poll_oneoff", "bad-clock-sub", 1, poll_oneoff_bad_clock_sub},
    {"proc_exit", "out-of-range", 1, proc_exit_out_of_range},
};

#define NCASES (sizeof CASES / sizeof CASES[0])

int main(int argc, char **argv) {
    if (argc == 4 && strcmp(argv[1], "one") == 0) {
        /* The state every single case may need: the preopen and scratch/f holding "hello". */
        uint32_t n = 0;
        find_scratch(0);
        open_at(S, "f", O_CREAT | O_TRUNC, R_ALL, 0, &F);
        put(F, "hello", &n);
        for (size_t i = 0; i < NCASES; i++) {
            if (CASES[i].one && strcmp(CASES[i].func, argv[2]) == 0 &&
                strcmp(CASES[i].kase, argv[3]) == 0) {
                cur_func = CASES[i].func, cur_case = CASES[i].kase;
                CASES[i].run();
                return 0;
            }
        }
        cur_func = argv[2], cur_case = argv[3];
        line("unknown-case");
        wp_end();
        return 0;
    }
    find_scratch(1);
    int ran = 0;
    for (size_t i = 0; i < NCASES; i++) {
        if (CASES[i].one)
            continue;
        cur_func = CASES[i].func, cur_case = CASES[i].kase;
        CASES[i].run();
        ran++;
    }
    cur_func = "proc_exit", cur_case = "valid";
    line("attempt");
    wp_int("cases", ran);
    wp_int("code", 7);
    wp_end();
    w_proc_exit(7);
}
