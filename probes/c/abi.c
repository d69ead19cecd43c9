/* abi: the type widths, limits and constants a program compiled against this SDK's libc sees —
 * what a C extension or a configure script bakes into a binary. An SDK bump that changes one
 * (S_IFIFO 0xc000 → 0x1000 in wasi-libc #463; int_fast16_t 16 → 32 bits and __WORDSIZE 64 →
 * 32 with musl 1.2.6, #797) changes every program built with it. Each value is printed, or
 * reported undefined; checks/libc/abi.rs judges their consistency and the evidence diffs them
 * between SDKs. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>
#include "wasiprobe.h"

static void size(const char *name, long long v) {
    wp_begin("abi", "libc_abi");
    wp_str("what", "sizeof");
    wp_str("name", name);
    wp_int("value", v);
    wp_end();
}

static void constant(const char *group, const char *name, int defined, long long v) {
    wp_begin("abi", "libc_abi");
    wp_str("what", "const");
    wp_str("group", group);
    wp_str("name", name);
    wp_bool("defined", defined);
    if (defined)
        wp_int("value", v);
    wp_end();
}

#define SIZE(t) size(#t, (long long)sizeof(t))
/* A macro that may be missing: its value, or "undefined" — never a compile error. */
#define C(group, m) constant(group, #m, 1, (long long)(m))
#define U(group, m) constant(group, #m, 0, 0)

int main(void) {
    SIZE(char); SIZE(short); SIZE(int); SIZE(long); SIZE(long long); SIZE(void *);
    SIZE(size_t); SIZE(ssize_t); SIZE(off_t); SIZE(time_t); SIZE(clock_t); SIZE(wchar_t);
    SIZE(int_fast8_t); SIZE(int_fast16_t); SIZE(int_fast32_t); SIZE(int_fast64_t);
    SIZE(int_least16_t); SIZE(intmax_t); SIZE(intptr_t); SIZE(dev_t); SIZE(ino_t);
    SIZE(mode_t); SIZE(nlink_t); SIZE(uid_t); SIZE(pid_t); SIZE(blkcnt_t); SIZE(blksize_t);
    SIZE(struct stat); SIZE(struct timespec); SIZE(long double); SIZE(double);
    SIZE(struct dirent); SIZE(struct pollfd); SIZE(fpos_t); SIZE(mbstate_t);

    C("limit", INT_FAST8_MAX); C("limit", INT_FAST16_MAX); C("limit", INT_FAST32_MAX);
    C("limit", INT_FAST64_MAX); C("limit", SIZE_MAX); C("limit", INTPTR_MAX);
    C("limit", LONG_MAX); C("limit", CLOCKS_PER_SEC); C("limit", RAND_MAX); C("limit", BUFSIZ);
#ifdef __WORDSIZE
    C("limit", __WORDSIZE);
#else
    U("limit", __WORDSIZE);
#endif
#ifdef LONG_BIT
    C("limit", LONG_BIT);
#else
    U("limit", LONG_BIT);
#endif
#ifdef PATH_MAX
    C("limit", PATH_MAX);
#else
    U("limit", PATH_MAX);
#endif
#ifdef NAME_MAX
    C("limit", NAME_MAX);
#else
    U("limit", NAME_MAX);
#endif
#ifdef IOV_MAX
    C("limit", IOV_MAX);
#else
    U("limit", IOV_MAX);
#endif
#ifdef FD_SETSIZE
    C("limit", FD_SETSIZE);
#else
    U("limit", FD_SETSIZE);
#endif

    C("S_IF", S_IFMT); C("S_IF", S_IFSOCK); C("S_IF", S_IFLNK); C("S_IF", S_IFREG);
    C("S_IF", S_IFBLK); C("S_IF", S_IFDIR); C("S_IF", S_IFCHR); C("S_IF", S_IFIFO);

    C("O_access", O_RDONLY); C("O_access", O_WRONLY); C("O_access", O_RDWR);
    C("O_mask", O_ACCMODE);
#ifdef O_SEARCH
    C("O_access", O_SEARCH);
#else
    U("O_access", O_SEARCH);
#endif
#ifdef O_EXEC
    C("O_access", O_EXEC);
#else
    U("O_access", O_EXEC);
#endif
    C("O_flag", O_CREAT); C("O_flag", O_EXCL); C("O_flag", O_TRUNC); C("O_flag", O_APPEND);
    C("O_flag", O_NONBLOCK); C("O_flag", O_DIRECTORY); C("O_flag", O_NOFOLLOW);
    C("O_flag", O_DSYNC); C("O_flag", O_SYNC);
#ifdef O_CLOEXEC
    C("O_other", O_CLOEXEC);
#else
    U("O_other", O_CLOEXEC);
#endif
#ifdef O_NOCTTY
    C("O_other", O_NOCTTY);
#else
    U("O_other", O_NOCTTY);
#endif
#ifdef O_RSYNC
    C("O_other", O_RSYNC);
#else
    U("O_other", O_RSYNC);
#endif

    C("AT", AT_FDCWD); C("AT", AT_SYMLINK_NOFOLLOW); C("AT", AT_SYMLINK_FOLLOW);
    C("AT", AT_REMOVEDIR); C("AT", AT_EACCESS);

    C("POLL", POLLIN); C("POLL", POLLOUT); C("POLL", POLLERR); C("POLL", POLLHUP);
    C("POLL", POLLNVAL); C("POLL", POLLRDNORM); C("POLL", POLLWRNORM);
#ifdef POLLPRI
    C("POLL", POLLPRI);
#else
    U("POLL", POLLPRI);
#endif

    C("errno", E2BIG); C("errno", EACCES); C("errno", EADDRINUSE); C("errno", EAGAIN);
    C("errno", EBADF); C("errno", EBUSY); C("errno", ECHILD); C("errno", EEXIST);
    C("errno", EFAULT); C("errno", EFBIG); C("errno", EINTR); C("errno", EINVAL);
    C("errno", EIO); C("errno", EISDIR); C("errno", ELOOP); C("errno", EMFILE);
    C("errno", EMLINK); C("errno", ENAMETOOLONG); C("errno", ENFILE); C("errno", ENOENT);
    C("errno", ENOEXEC); C("errno", ENOMEM); C("errno", ENOSPC); C("errno", ENOSYS);
    C("errno", ENOTDIR); C("errno", ENOTEMPTY); C("errno", ENOTSUP); C("errno", ENOTTY);
    C("errno", ENXIO); C("errno", EOVERFLOW); C("errno", EPERM); C("errno", EPIPE);
    C("errno", ERANGE); C("errno", EROFS); C("errno", ESPIPE); C("errno", ESRCH);
    C("errno", ETIMEDOUT); C("errno", EXDEV); C("errno", EWOULDBLOCK); C("errno", EOPNOTSUPP);
    C("errno", EDEADLK); C("errno", ENOTSOCK); C("errno", ECONNREFUSED);
#ifdef ENOTCAPABLE
    C("errno", ENOTCAPABLE);
#else
    U("errno", ENOTCAPABLE);
#endif
    wp_begin("abi", "libc_abi");
    wp_str("what", "done");
    wp_end();
    return 0;
}
