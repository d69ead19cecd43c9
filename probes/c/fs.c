/* fs: how guest file I/O maps to the host. The harness lays out fixtures in /scratch before the
 * run (see harness/src/checks/filesystem/fixture.rs: the two sides must agree) and inspects the
 * host tree afterwards; this probe reports what it saw and what it did, one observation per
 * operation, so each check can set the guest's view beside the host's.
 *
 *   /scratch/fixtures  read-only targets with known bytes, sizes, times and symlinks
 *   /scratch/escape    host-made symlinks that point outside the preopen
 *   /scratch/work      everything this probe creates
 *
 * Order matters: metadata is read before anything reads a fixture (a read may move atime). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <wasi/api.h>
#include "wasiprobe.h"

#define P "fs"

/* Weak: older wasi-libc revisions may not define them, and whether they do is a finding. */
extern char *realpath(const char *restrict, char *restrict) __attribute__((weak));

static void lcg_fill(unsigned char *buf, size_t n, uint32_t seed) {
    uint32_t x = seed;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        buf[i] = (unsigned char)(x >> 24);
    }
}

static const char *ename(int e) {
    switch (e) {
    case 0: return "";
#define E(x) case x: return #x;
    E(ENOENT) E(EEXIST) E(ENOTDIR) E(EISDIR) E(ENOTEMPTY) E(EBADF) E(EINVAL) E(ENAMETOOLONG)
    E(ELOOP) E(EACCES) E(EPERM) E(ESPIPE) E(EXDEV) E(EMLINK) E(ENOSYS) E(EFBIG) E(EOVERFLOW)
    E(EFAULT) E(EIO) E(ENOSPC) E(EROFS) E(ENXIO) E(EBUSY) E(EMFILE) E(ENOTSOCK) E(ENOMEM)
#ifdef ENOTCAPABLE
    E(ENOTCAPABLE)
#endif
#if defined(ENOTSUP) && ENOTSUP != EOPNOTSUPP
    E(ENOTSUP)
#endif
    E(EOPNOTSUPP)
#undef E
    default: return "other";
    }
}

/* Starts an observation for one operation: its return value and, when it failed, errno. */
static void op(const char *check, const char *name, long long ret, int err) {
    wp_begin(P, check);
    wp_str("op", name);
    wp_int("ret", ret);
    wp_int("errno", ret < 0 ? err : 0);
    wp_str("errno_name", ret < 0 ? ename(err) : "");
}

static const char *type_name(mode_t m) {
    if (S_ISREG(m)) return "regular";
    if (S_ISDIR(m)) return "directory";
    if (S_ISLNK(m)) return "symlink";
    if (S_ISFIFO(m)) return "fifo";
    if (S_ISSOCK(m)) return "socket";
    if (S_ISCHR(m)) return "char";
    if (S_ISBLK(m)) return "block";
    return "unknown";
}

static void stat_fields(const struct stat *st) {
    wp_str("type", type_name(st->st_mode));
    wp_int("size", (long long)st->st_size);
    wp_int("nlink", (long long)st->st_nlink);
    wp_int("ino", (long long)st->st_ino);
    wp_int("mtime_s", (long long)st->st_mtim.tv_sec);
    wp_int("mtime_ns", (long long)st->st_mtim.tv_nsec);
    wp_int("atime_s", (long long)st->st_atim.tv_sec);
    wp_int("atime_ns", (long long)st->st_atim.tv_nsec);
}

static void stat_op(const char *name, int r, int err, const struct stat *st) {
    op("fs_meta", name, r, err);
    if (r == 0)
        stat_fields(st);
    wp_end();
}

static int put_file(const char *path, const void *data, size_t n) {
    int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
    if (fd < 0)
        return -1;
    int r = wp_write_all(fd, data, n);
    close(fd);
    return r;
}

/* Reads up to cap bytes of a file; returns the count or -1 (errno set). */
static long read_file(const char *path, unsigned char *buf, size_t cap) {
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    size_t got = 0;
    ssize_t r;
    while (got < cap && (r = read(fd, buf + got, cap - got)) > 0)
        got += (size_t)r;
    close(fd);
    return (long)got;
}

/* ---- fs_meta: stat family against the fixtures, and times set by the guest ---- */
static void meta(void) {
    struct stat st;
    int r;
    r = stat("/scratch/fixtures/known.bin", &st);
    stat_op("stat:known.bin", r, errno, &st);
    r = stat("/scratch/fixtures/empty", &st);
    stat_op("stat:empty", r, errno, &st);
    r = stat("/scratch/fixtures/tree", &st);
    stat_op("stat:tree", r, errno, &st);
    r = lstat("/scratch/fixtures/link-to-known", &st);
    stat_op("lstat:link-to-known", r, errno, &st);
    r = stat("/scratch/fixtures/link-to-known", &st);
    stat_op("stat:link-to-known", r, errno, &st);
    int dfd = open("/scratch/fixtures", O_RDONLY | O_DIRECTORY);
    r = dfd < 0 ? -1 : fstatat(dfd, "link-to-known", &st, AT_SYMLINK_NOFOLLOW);
    stat_op("fstatat-nofollow:link-to-known", r, errno, &st);
    r = dfd < 0 ? -1 : fstatat(dfd, "tree/a/b/c.txt", &st, 0);
    stat_op("fstatat:tree/a/b/c.txt", r, errno, &st);
    if (dfd >= 0)
        close(dfd);
    int fd = open("/scratch/fixtures/known.bin", O_RDONLY);
    r = fd < 0 ? -1 : fstat(fd, &st);
    stat_op("fstat:known.bin", r, errno, &st);
    if (fd >= 0)
        close(fd);

    /* Explicit times, down to the nanosecond. */
    put_file("/scratch/work/times.txt", "t", 1);
    struct timespec ts[2] = {{1000000000, 500000000}, {1234567890, 123456789}};
    r = utimensat(AT_FDCWD, "/scratch/work/times.txt", ts, 0);
    op("fs_meta", "utimensat:times.txt", r, errno);
    wp_end();
    r = stat("/scratch/work/times.txt", &st);
    stat_op("stat:times.txt", r, errno, &st);

    /* UTIME_OMIT keeps atime; UTIME_NOW takes the host's clock. */
    put_file("/scratch/work/now.txt", "n", 1);
    struct timespec first[2] = {{1100000000, 250000000}, {1100000000, 250000000}};
    utimensat(AT_FDCWD, "/scratch/work/now.txt", first, 0);
    fd = open("/scratch/work/now.txt", O_RDWR);
    struct timespec now[2] = {{0, UTIME_OMIT}, {0, UTIME_NOW}};
    r = fd < 0 ? -1 : futimens(fd, now);
    op("fs_meta", "futimens:now.txt", r, errno);
    wp_end();
    r = fd < 0 ? -1 : fstat(fd, &st);
    stat_op("fstat:now.txt", r, errno, &st);
    if (fd >= 0)
        close(fd);

    wp_begin(P, "fs_meta");
    wp_str("op", "constants");
    wp_int("S_IFMT", S_IFMT);
    wp_int("S_IFIFO", S_IFIFO);
    wp_int("S_IFCHR", S_IFCHR);
    wp_int("S_IFDIR", S_IFDIR);
    wp_int("S_IFBLK", S_IFBLK);
    wp_int("S_IFREG", S_IFREG);
    wp_int("S_IFLNK", S_IFLNK);
    wp_int("S_IFSOCK", S_IFSOCK);
    wp_int("AT_FDCWD", AT_FDCWD);
    wp_int("O_DIRECTORY", O_DIRECTORY);
    wp_int("O_NOFOLLOW", O_NOFOLLOW);
    wp_end();
}

/* ---- fs_io: the data path ---- */
#define DATA_BYTES 100000
#define SPARSE_AT (5LL << 30)

static void io(void) {
    static unsigned char data[DATA_BYTES], back[DATA_BYTES];
    lcg_fill(data, sizeof data, 11);

    /* Many writes of uneven sizes, so a runtime that mishandles one size shows. */
    int fd = open("/scratch/work/data.bin", O_CREAT | O_EXCL | O_WRONLY, 0644);
    long long total = fd < 0 ? -1 : 0;
    int err = errno;
    static const size_t sizes[] = {1, 7, 4096, 65536, 3, 1000};
    for (size_t i = 0; fd >= 0 && total < DATA_BYTES; i++) {
        size_t n = sizes[i % 6];
        if (n > (size_t)(DATA_BYTES - total))
            n = (size_t)(DATA_BYTES - total);
        ssize_t w = write(fd, data + total, n);
        if (w <= 0) {
            err = errno;
            total = -1;
            break;
        }
        total += w;
    }
    if (fd >= 0)
        close(fd);
    op("fs_io", "write:data.bin", total, err);
    wp_end();

    fd = open("/scratch/work/data.bin", O_RDWR);
    ssize_t r = fd < 0 ? -1 : pwrite(fd, "PWRITE", 6, 5000);
    op("fs_io", "pwrite:data.bin", r, errno);
    wp_end();
    off_t t = fd < 0 ? -1 : lseek(fd, 0, SEEK_CUR);
    op("fs_io", "tell-after-pwrite", t, errno);
    wp_end();
    unsigned char six[6] = {0};
    r = fd < 0 ? -1 : pread(fd, six, 6, 5000);
    op("fs_io", "pread:data.bin", r, errno);
    wp_hex("hex", six, r > 0 ? (size_t)r : 0);
    wp_end();
    t = fd < 0 ? -1 : lseek(fd, 0, SEEK_END);
    op("fs_io", "seek-end", t, errno);
    wp_end();
    unsigned char four[4] = {0};
    t = fd < 0 ? -1 : lseek(fd, 10, SEEK_SET);
    r = t < 0 ? -1 : read(fd, four, 4);
    op("fs_io", "seek-read", r, errno);
    wp_hex("hex", four, r > 0 ? (size_t)r : 0);
    wp_hex("expected_hex", data + 10, 4);
    wp_end();
    if (fd >= 0)
        close(fd);
    long got = read_file("/scratch/work/data.bin", back, sizeof back);
    memcpy(data + 5000, "PWRITE", 6);
    op("fs_io", "read-back:data.bin", got, errno);
    wp_bool("matches", got == DATA_BYTES && memcmp(back, data, DATA_BYTES) == 0);
    wp_end();

    /* O_APPEND writes land at the end whatever the offset says. */
    fd = open("/scratch/work/append.txt", O_CREAT | O_WRONLY | O_APPEND, 0644);
    r = fd < 0 ? -1 : write(fd, "one\n", 4);
    if (fd >= 0) {
        lseek(fd, 0, SEEK_SET);
        r = write(fd, "two\n", 4);
        close(fd);
    }
    op("fs_io", "append", r, errno);
    got = read_file("/scratch/work/append.txt", back, 64);
    wp_hex("hex", back, got > 0 ? (size_t)got : 0);
    wp_end();

    put_file("/scratch/work/trunc.txt", "0123456789", 10);
    fd = open("/scratch/work/trunc.txt", O_WRONLY | O_TRUNC);
    r = fd < 0 ? -1 : write(fd, "ab", 2);
    if (fd >= 0)
        close(fd);
    op("fs_io", "o_trunc", r, errno);
    wp_end();

    /* Shrinking then growing: the regrown tail must read as zeros. */
    lcg_fill(back, 1000, 13);
    put_file("/scratch/work/ftrunc.bin", back, 1000);
    fd = open("/scratch/work/ftrunc.bin", O_RDWR);
    int r1 = fd < 0 ? -1 : ftruncate(fd, 10);
    int r2 = fd < 0 ? -1 : ftruncate(fd, 20);
    if (fd >= 0)
        close(fd);
    op("fs_io", "ftruncate", r1 < 0 ? r1 : r2, errno);
    got = read_file("/scratch/work/ftrunc.bin", back, 64);
    wp_hex("hex", back, got > 0 ? (size_t)got : 0);
    wp_end();

    lcg_fill(back, 65536, 17);
    fd = open("/scratch/work/synced.bin", O_CREAT | O_WRONLY | O_TRUNC, 0644);
    r = fd < 0 ? -1 : wp_write_all(fd, back, 65536);
    r1 = fd < 0 ? -1 : fsync(fd);
    op("fs_io", "fsync", r1, errno);
    wp_end();
    r2 = fd < 0 ? -1 : fdatasync(fd);
    op("fs_io", "fdatasync", r2, errno);
    wp_end();
    if (fd >= 0)
        close(fd);

    /* Offsets past 4 GiB: a 32-bit offset anywhere in the stack wraps here. */
    fd = open("/scratch/work/sparse.bin", O_CREAT | O_RDWR | O_TRUNC, 0644);
    r = fd < 0 ? -1 : pwrite(fd, "END", 3, SPARSE_AT);
    op("fs_io", "sparse-pwrite", r, errno);
    wp_end();
    t = fd < 0 ? -1 : lseek(fd, 0, SEEK_END);
    op("fs_io", "sparse-size", t, errno);
    wp_end();
    unsigned char end[3] = {0};
    r = fd < 0 ? -1 : pread(fd, end, 3, SPARSE_AT);
    op("fs_io", "sparse-pread", r, errno);
    wp_hex("hex", end, r > 0 ? (size_t)r : 0);
    wp_end();
    t = fd < 0 ? -1 : lseek(fd, (4LL << 30) + 1, SEEK_SET);
    op("fs_io", "seek-past-4g", t, errno);
    wp_end();
    if (fd >= 0)
        close(fd);
}

/* ---- fs_dirs: the namespace ---- */
#define MANY 1000

static void dirs(void) {
    int r = mkdir("/scratch/work/d1", 0755);
    op("fs_dirs", "mkdir:d1", r, errno);
    wp_end();
    r = mkdir("/scratch/work/d1/sub", 0755);
    op("fs_dirs", "mkdir:d1/sub", r, errno);
    wp_end();
    r = rmdir("/scratch/work/d1/sub");
    op("fs_dirs", "rmdir:d1/sub", r, errno);
    wp_end();

    /* 1 000 entries: more than one fd_readdir buffer, so cookies carry the listing. */
    mkdir("/scratch/work/many", 0755);
    char path[PATH_MAX];
    int created = 0;
    for (int i = 0; i < MANY; i++) {
        snprintf(path, sizeof path, "/scratch/work/many/f%04d", i);
        int fd = open(path, O_CREAT | O_WRONLY, 0644);
        if (fd >= 0) {
            created++;
            close(fd);
        }
    }
    static unsigned char seen[MANY];
    memset(seen, 0, sizeof seen);
    int entries = 0, dups = 0, dots = 0, others = 0, seek_stable = -1, rewind_count = -1;
    char first_dup[64] = "", at_mark[NAME_MAX + 1] = "", again[NAME_MAX + 1] = "";
    DIR *d = opendir("/scratch/work/many");
    int derr = errno;
    if (d) {
        struct dirent *e;
        long mark = -1;
        while ((e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) {
                dots++;
                continue;
            }
            entries++;
            int n;
            char tail;
            if (sscanf(e->d_name, "f%4d%c", &n, &tail) == 1 && n >= 0 && n < MANY &&
                strlen(e->d_name) == 5) {
                if (seen[n]++ && !first_dup[0])
                    snprintf(first_dup, sizeof first_dup, "%s", e->d_name);
                if (seen[n] > 1)
                    dups++;
            } else {
                others++;
            }
            if (entries == MANY / 2) {
                mark = telldir(d);
                struct dirent *next = readdir(d);
                if (next)
                    snprintf(at_mark, sizeof at_mark, "%s", next->d_name);
                seekdir(d, mark);
            }
        }
        if (mark >= 0) {
            seekdir(d, mark);
            struct dirent *e2 = readdir(d);
            if (e2)
                snprintf(again, sizeof again, "%s", e2->d_name);
            seek_stable = at_mark[0] && !strcmp(at_mark, again);
        }
        rewinddir(d);
        rewind_count = 0;
        while ((e = readdir(d)))
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
                rewind_count++;
        closedir(d);
    }
    int missing = 0;
    for (int i = 0; i < MANY; i++)
        missing += !seen[i];
    op("fs_dirs", "readdir-1000", d ? entries : -1, derr);
    wp_int("created", created);
    wp_int("entries", entries);
    wp_int("duplicates", dups);
    wp_int("missing", missing);
    wp_int("others", others);
    wp_int("dot_entries", dots);
    wp_str("first_duplicate", first_dup);
    wp_int("seek_stable", seek_stable);
    wp_str("at_mark", at_mark);
    wp_str("after_seekdir", again);
    wp_int("rewind_count", rewind_count);
    wp_end();

    mkdir("/scratch/work/r", 0755);
    mkdir("/scratch/work/r2", 0755);
    mkdir("/scratch/work/r/dir1", 0755);
    put_file("/scratch/work/r/dir1/in", "in", 2);
    put_file("/scratch/work/r/a", "A", 1);
    put_file("/scratch/work/r/c", "C-content", 9);
    /* In this order: rename-over replaces the b that rename-file made, rename-across moves it. */
    static const struct { const char *name, *from, *to; } renames[] = {
        {"rename-file", "/scratch/work/r/a", "/scratch/work/r/b"},
        {"rename-dir", "/scratch/work/r/dir1", "/scratch/work/r/dir2"},
        {"rename-over", "/scratch/work/r/c", "/scratch/work/r/b"},
        {"rename-across", "/scratch/work/r/b", "/scratch/work/r2/moved"},
    };
    for (size_t i = 0; i < sizeof renames / sizeof renames[0]; i++) {
        r = rename(renames[i].from, renames[i].to);
        op("fs_dirs", renames[i].name, r, errno);
        wp_end();
    }

    put_file("/scratch/work/u", "u", 1);
    r = unlink("/scratch/work/u");
    op("fs_dirs", "unlink", r, errno);
    wp_end();

    put_file("/scratch/work/l1", "L", 1);
    r = link("/scratch/work/l1", "/scratch/work/l2");
    struct stat st;
    int sr = stat("/scratch/work/l1", &st);
    op("fs_dirs", "link", r, errno);
    wp_int("nlink", sr == 0 ? (long long)st.st_nlink : -1);
    wp_end();

    r = symlink("target-text", "/scratch/work/s");
    char buf[PATH_MAX];
    ssize_t n = readlink("/scratch/work/s", buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    op("fs_dirs", "symlink", r, errno);
    wp_str("readlink", buf);
    wp_end();

    if (realpath) {
        char *p = realpath("/scratch/work/../work/./d1", buf);
        op("fs_dirs", "realpath", p ? 0 : -1, errno);
        wp_str("path", p ? p : "");
    } else {
        op("fs_dirs", "realpath", -1, ENOSYS);
        wp_str("path", "");
    }
    wp_bool("available", realpath != 0);
    wp_end();

    r = chdir("/scratch/work");
    int cerr = errno;
    char *cwd = getcwd(buf, sizeof buf);
    int fd = open("rel.txt", O_CREAT | O_WRONLY | O_TRUNC, 0644);
    if (fd >= 0) {
        wp_write_all(fd, "rel", 3);
        close(fd);
    }
    op("fs_dirs", "chdir", r, cerr);
    wp_str("getcwd", cwd ? cwd : "");
    wp_bool("relative_open", fd >= 0);
    wp_end();
    chdir("/");

    static const char uni[] = "/scratch/work/ünïcødé-ζ-😀.txt"; /* UTF-8 source */
    r = put_file(uni, "u", 1);
    op("fs_dirs", "unicode-name", r, errno);
    wp_int("stat", stat(uni, &st));
    wp_end();

    char longname[300] = "/scratch/work/";
    size_t base = strlen(longname);
    memset(longname + base, 'n', 251);
    memcpy(longname + base + 251, ".txt", 5);
    r = put_file(longname, "l", 1);
    op("fs_dirs", "name-255", r, errno);
    wp_int("length", (long long)strlen(longname + base));
    wp_end();
}

/* ---- fs_errno: every failure path, with the errno the guest sees ---- */
static void err_case(const char *name, long long r, int e) {
    op("fs_errno", name, r, e);
    wp_end();
}

static void errnos(void) {
    int fd;
    errno = 0;
    fd = open("/scratch/fixtures/missing", O_RDONLY);
    err_case("missing", fd, errno);
    fd = open("/scratch/fixtures/known.bin", O_CREAT | O_EXCL | O_WRONLY, 0644);
    err_case("excl-existing", fd, errno);
    fd = open("/scratch/fixtures/known.bin/x", O_RDONLY);
    err_case("file-as-dir", fd, errno);
    fd = open("/scratch/fixtures/tree", O_WRONLY);
    err_case("write-dir", fd, errno);
    err_case("rmdir-nonempty", rmdir("/scratch/fixtures/tree"), errno);
    err_case("close-bad", close(987), errno);
    char c;
    err_case("read-bad", read(987, &c, 1), errno);
    fd = open("/scratch/fixtures/known.bin", O_RDONLY);
    err_case("lseek-negative", fd < 0 ? -2 : lseek(fd, -10, SEEK_SET), errno);
    err_case("ftruncate-readonly", fd < 0 ? -2 : ftruncate(fd, 0), errno);
    err_case("write-readonly", fd < 0 ? -2 : write(fd, "x", 1), errno);
    if (fd >= 0)
        close(fd);
    char longname[300] = "/scratch/work/";
    size_t base = strlen(longname);
    memset(longname + base, 'n', 256);
    longname[base + 256] = 0;
    fd = open(longname, O_CREAT | O_WRONLY, 0644);
    err_case("name-256", fd, errno);
    fd = open("/scratch/fixtures/loop1", O_RDONLY);
    err_case("loop", fd, errno);
    fd = open("/scratch/fixtures/link-to-known", O_RDONLY | O_NOFOLLOW);
    err_case("nofollow", fd, errno);
    fd = open("/scratch/fixtures/known.bin", O_RDONLY | O_DIRECTORY);
    err_case("directory-flag", fd, errno);
    err_case("unlink-dir", unlink("/scratch/fixtures/tree"), errno);
    err_case("rmdir-file", rmdir("/scratch/fixtures/known.bin"), errno);
    err_case("mkdir-existing", mkdir("/scratch/fixtures/tree", 0755), errno);
    fd = open("/scratch/fixtures/dangling", O_RDONLY);
    err_case("dangling", fd, errno);
    fd = open("/nowhere/x", O_RDONLY);
    err_case("outside-preopens", fd, errno);
    char buf[64];
    err_case("readlink-nonlink", readlink("/scratch/fixtures/known.bin", buf, sizeof buf), errno);
    mkdir("/scratch/work/edir", 0755);
    err_case("rename-into-self", rename("/scratch/work/edir", "/scratch/work/edir/sub"), errno);
    /* Probe-made fds are closed by now: anything the guest leaked would show in fs_fds. */
}

/* ---- fs_escape: attempts to leave the preopen; every one must fail ---- */
static void attempt(const char *name, int fd_or_ret, int err, int is_fd, int want_read) {
    unsigned char leak[64];
    ssize_t n = -1;
    if (is_fd && fd_or_ret >= 0 && want_read)
        n = read(fd_or_ret, leak, sizeof leak);
    op("fs_escape", name, fd_or_ret, err);
    if (n > 0)
        wp_hex("leaked_hex", leak, (size_t)n);
    wp_end();
    if (is_fd && fd_or_ret >= 0)
        close(fd_or_ret);
}

/* Opens a file for writing and writes to it, so that an escape also shows in the host's file. */
static int write_pwned(const char *path) {
    int fd = open(path, O_WRONLY | O_TRUNC);
    if (fd >= 0)
        write(fd, "pwned", 5);
    return fd;
}

static void escapes(void) {
    char buf[256];
    ssize_t n = readlink("/scratch/escape/up", buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    op("fs_escape", "fixture-visible", n, errno);
    wp_str("up", buf);
    wp_end();

    int fd;
    fd = open("/scratch/../outside/secret.txt", O_RDONLY);
    attempt("dotdot-open", fd, errno, 1, 1);
    fd = write_pwned("/scratch/../outside/secret.txt");
    attempt("dotdot-write", fd, errno, 1, 0);
    fd = open("/scratch/../pwned.txt", O_CREAT | O_WRONLY, 0644);
    attempt("dotdot-create", fd, errno, 1, 0);
    attempt("dotdot-mkdir", mkdir("/scratch/../pwned-dir", 0755), errno, 0, 0);
    fd = open("/outside/secret.txt", O_RDONLY);
    attempt("absolute-outside", fd, errno, 1, 1);
    fd = open("/etc/passwd", O_RDONLY);
    attempt("absolute-etc-passwd", fd, errno, 1, 1);
    fd = open("/scratch/escape/up/secret.txt", O_RDONLY);
    attempt("symlink-dir-open", fd, errno, 1, 1);
    fd = open("/scratch/escape/file", O_RDONLY);
    attempt("symlink-file-open", fd, errno, 1, 1);
    fd = write_pwned("/scratch/escape/file");
    attempt("symlink-file-write", fd, errno, 1, 0);
    struct stat st;
    attempt("symlink-dir-stat", stat("/scratch/escape/up/secret.txt", &st), errno, 0, 0);
    DIR *d = opendir("/scratch/escape/up");
    int derr = errno;
    op("fs_escape", "symlink-dir-readdir", d ? 0 : -1, derr);
    if (d) {
        struct dirent *e;
        char names[200] = "";
        while ((e = readdir(d)))
            if (strlen(names) + strlen(e->d_name) + 2 < sizeof names) {
                strcat(names, e->d_name);
                strcat(names, "/");
            }
        wp_str("leaked_names", names);
        closedir(d);
    }
    wp_end();
    fd = open("/scratch/escape/up/pwned", O_CREAT | O_WRONLY, 0644);
    attempt("symlink-dir-create", fd, errno, 1, 0);
    fd = open("/scratch/escape/abs/secret.txt", O_RDONLY);
    attempt("symlink-absolute-open", fd, errno, 1, 1);

    put_file("/scratch/work/victim", "v", 1);
    attempt("rename-out", rename("/scratch/work/victim", "/scratch/../victim"), errno, 0, 0);
    attempt("rename-through-symlink",
            rename("/scratch/work/victim", "/scratch/escape/up/victim"), errno, 0, 0);
    attempt("link-out", link("/scratch/work/victim", "/scratch/../victim-link"), errno, 0, 0);
    attempt("link-through-symlink",
            link("/scratch/work/victim", "/scratch/escape/up/victim-link"), errno, 0, 0);

    int dfd = open("/scratch/work", O_RDONLY | O_DIRECTORY);
    fd = dfd < 0 ? -1 : openat(dfd, "../../outside/secret.txt", O_RDONLY);
    attempt("openat-dotdot", fd, errno, 1, 1);
    fd = dfd < 0 ? -1 : openat(dfd, "../..", O_RDONLY | O_DIRECTORY);
    attempt("openat-dotdot-dir", fd, errno, 1, 0);
    if (dfd >= 0)
        close(dfd);

    /* Making a symlink whose text points out is allowed (it is only text); following it is not. */
    int made = symlink("../../outside", "/scratch/work/myup");
    op("fs_escape", "guest-symlink-made", made, errno);
    wp_end();
    fd = open("/scratch/work/myup/secret.txt", O_RDONLY);
    attempt("guest-symlink-open", fd, errno, 1, 1);

    int cr = chdir("/scratch/..");
    int cerr = errno;
    fd = cr == 0 ? open("outside/secret.txt", O_RDONLY) : -1;
    op("fs_escape", "chdir-dotdot", cr, cerr);
    wp_end();
    attempt("chdir-dotdot-open", fd, cr == 0 ? errno : cerr, 1, 1);
    chdir("/");
}

/* ---- fs_fds: preopens, fd_renumber, non-seekable streams ---- */
static void fds(void) {
    char names[512] = "";
    int count = 0;
    for (__wasi_fd_t fd = 3; fd < 64; fd++) {
        __wasi_prestat_t ps;
        if (__wasi_fd_prestat_get(fd, &ps) != 0)
            continue;
        char name[256] = "";
        size_t len = ps.u.dir.pr_name_len < sizeof name - 1 ? ps.u.dir.pr_name_len : sizeof name - 1;
        if (__wasi_fd_prestat_dir_name(fd, (uint8_t *)name, len) != 0)
            len = 0;
        name[len] = 0;
        if (strlen(names) + len + 2 < sizeof names) {
            strcat(names, name);
            strcat(names, "\n");
        }
        count++;
    }
    wp_begin(P, "fs_fds");
    wp_str("op", "preopens");
    wp_int("count", count);
    wp_str("names", names);
    wp_end();

    int a = open("/scratch/fixtures/known.bin", O_RDONLY);
    int b = open("/scratch/fixtures/empty", O_RDONLY);
    __wasi_errno_t e = (a < 0 || b < 0) ? __WASI_ERRNO_BADF : __wasi_fd_renumber(a, b);
    unsigned char head[16] = {0};
    ssize_t n = e == 0 ? read(b, head, sizeof head) : -1;
    char c;
    ssize_t old = read(a, &c, 1);
    int olderr = errno;
    op("fs_fds", "renumber", e ? -1 : 0, e);
    wp_hex("hex", head, n > 0 ? (size_t)n : 0);
    wp_int("old_fd_read", old);
    wp_str("old_fd_errno_name", old < 0 ? ename(olderr) : "");
    wp_end();
    if (b >= 0)
        close(b);

    off_t t = lseek(0, 0, SEEK_CUR);
    op("fs_fds", "seek-stdin", t, errno);
    wp_end();
    t = lseek(1, 0, SEEK_CUR);
    op("fs_fds", "seek-stdout", t, errno);
    wp_end();
}

/* `fs whence` alone: an invalid whence traps on some runtimes, ending the process, so it runs
 * in a second invocation of its own. */
static int whence(void) {
    int fd = open("/scratch/fixtures/known.bin", O_RDONLY);
    err_case("lseek-whence", fd < 0 ? -2 : lseek(fd, 0, 99), errno);
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "whence"))
        return whence();
    int r = mkdir("/scratch/work", 0755);
    op("fs_io", "setup", r, errno);
    wp_end();
    meta();
    io();
    dirs();
    errnos();
    escapes();
    fds();
    wp_begin(P, "fs_io");
    wp_str("op", "done");
    wp_end();
    return 0;
}
