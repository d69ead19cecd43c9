/* libc_edges: POSIX details wasi-libc changed between SDKs, each reported as it is, and which
 * clock each sleep function subscribes to.
 *   poll(): an entry with no requested events (wasi-libc #630, SDK 28: it was -1 ENOSYS), and
 *           POLLPRI (#754);
 *   readdir/scandir: whether `.` and `..` come back (#633);
 *   linkat() with paths relative to the working directory (#690: both names were resolved
 *           into one buffer, so the old name was lost) and with AT_SYMLINK_FOLLOW;
 *   lseek() on stdio, which is not seekable: POSIX says ESPIPE (#843);
 *   sleep clocks: the clock id of each poll_oneoff subscription the libc makes for usleep,
 *           nanosleep, clock_nanosleep and poll's timeout (#753).
 * The subscriptions are seen from inside the guest: libc calls the Preview 1 import through
 * the undefined symbol `__imported_wasi_snapshot_preview1_poll_oneoff`, which this probe
 * defines (wasm-ld binds libc's call to it) and forwards to the real import. A libc that calls
 * the import another way is reported as not observable. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "wasiprobe.h"

__attribute__((import_module("wasi_snapshot_preview1"), import_name("poll_oneoff")))
int32_t wp_real_poll_oneoff(const uint8_t *in, uint8_t *out, size_t n, size_t *nevents);

#define MAX_SUBS 16
static int sub_calls, sub_n;
static uint32_t sub_clock[MAX_SUBS];
static uint16_t sub_flags[MAX_SUBS];

int32_t __imported_wasi_snapshot_preview1_poll_oneoff(const uint8_t *in, uint8_t *out, size_t n,
                                                      size_t *nevents) {
    sub_calls++;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *s = in + 48 * i;
        if (s[8] == 0 && sub_n < MAX_SUBS) { /* a clock subscription */
            memcpy(&sub_clock[sub_n], s + 16, 4);
            memcpy(&sub_flags[sub_n], s + 40, 2);
            sub_n++;
        }
    }
    return wp_real_poll_oneoff(in, out, n, nevents);
}

static long long mono_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void sleep_clock(const char *api, int ret, int err) {
    char ids[64] = "";
    size_t len = 0;
    for (int i = 0; i < sub_n && len < sizeof ids - 8; i++)
        len += (size_t)snprintf(ids + len, sizeof ids - len, "%s%u%s", i ? "," : "",
                                (unsigned)sub_clock[i], (sub_flags[i] & 1) ? "a" : "");
    wp_begin("libc_edges", "libc_sleep_clock");
    wp_str("what", "sleep_clock");
    wp_str("api", api);
    wp_int("ret", ret);
    wp_int("errno", ret ? err : 0);
    wp_int("poll_oneoff_calls", sub_calls);
    wp_str("clocks", ids);
    wp_end();
    sub_calls = sub_n = 0;
}

static void result(const char *what, int ret, int err) {
    wp_begin("libc_edges", "libc_posix");
    wp_str("what", what);
    wp_int("ret", ret);
    wp_int("errno", ret < 0 ? err : 0);
    wp_end();
}

int main(void) {
    struct timespec ms = {0, 1000000};
    int r;
    sub_calls = sub_n = 0;
    errno = 0; r = usleep(1000); sleep_clock("usleep", r, errno);
    errno = 0; r = nanosleep(&ms, NULL); sleep_clock("nanosleep", r, errno);
    errno = 0; r = clock_nanosleep(CLOCK_REALTIME, 0, &ms, NULL); sleep_clock("clock_nanosleep(CLOCK_REALTIME)", r, r);
    errno = 0; r = clock_nanosleep(CLOCK_MONOTONIC, 0, &ms, NULL); sleep_clock("clock_nanosleep(CLOCK_MONOTONIC)", r, r);
    errno = 0; r = poll(NULL, 0, 1); sleep_clock("poll(timeout)", r, errno);

    int fd = open("/scratch/poll.txt", O_CREAT | O_RDWR | O_TRUNC, 0644);
    if (fd < 0)
        return 3;
    if (write(fd, "x", 1) != 1)
        return 3;
    /* An entry with no requested events: POSIX still reports POLLERR/POLLHUP/POLLNVAL on it,
     * so poll must not fail; with nothing to report it times out after 50 ms. */
    struct pollfd p = {fd, 0, 0};
    long long t0 = mono_ms();
    errno = 0;
    r = poll(&p, 1, 50);
    int e = errno;
    wp_begin("libc_edges", "libc_posix");
    wp_str("what", "poll_no_events");
    wp_int("ret", r);
    wp_int("errno", r < 0 ? e : 0);
    wp_int("revents", p.revents);
    wp_int("elapsed_ms", mono_ms() - t0);
    wp_end();
#ifdef POLLPRI
    struct pollfd q = {fd, POLLIN | POLLPRI, 0};
    errno = 0;
    r = poll(&q, 1, 0);
    e = errno;
    wp_begin("libc_edges", "libc_posix");
    wp_str("what", "pollpri");
    wp_bool("defined", 1);
    wp_int("value", POLLPRI);
    wp_int("ret", r);
    wp_int("errno", r < 0 ? e : 0);
    wp_int("revents", q.revents);
    wp_end();
#else
    wp_begin("libc_edges", "libc_posix");
    wp_str("what", "pollpri");
    wp_bool("defined", 0);
    wp_end();
#endif

    mkdir("/scratch/d", 0755);
    close(open("/scratch/d/a.txt", O_CREAT | O_WRONLY, 0644));
    DIR *d = opendir("/scratch/d");
    int n = 0, dot = 0, dotdot = 0;
    struct dirent *de;
    while (d && (de = readdir(d))) {
        n++;
        dot |= strcmp(de->d_name, ".") == 0;
        dotdot |= strcmp(de->d_name, "..") == 0;
    }
    if (d)
        closedir(d);
    struct dirent **list = NULL;
    int sn = scandir("/scratch/d", &list, NULL, alphasort);
    int sdot = 0;
    for (int i = 0; i < sn; i++) {
        sdot |= strcmp(list[i]->d_name, ".") == 0 || strcmp(list[i]->d_name, "..") == 0;
        free(list[i]);
    }
    free(list);
    wp_begin("libc_edges", "libc_posix");
    wp_str("what", "readdir");
    wp_int("entries", n);
    wp_bool("dot", dot);
    wp_bool("dotdot", dotdot);
    wp_int("scandir_entries", sn);
    wp_bool("scandir_dots", sdot);
    wp_end();

    close(open("/scratch/target", O_CREAT | O_WRONLY, 0644));
    if (chdir("/scratch") != 0)
        return 3;
    errno = 0;
    r = linkat(AT_FDCWD, "target", AT_FDCWD, "hl1", 0);
    e = errno;
    struct stat a, b;
    int same = stat("target", &a) == 0 && stat("hl1", &b) == 0 && a.st_ino == b.st_ino;
    wp_begin("libc_edges", "libc_posix");
    wp_str("what", "linkat_relative");
    wp_int("ret", r);
    wp_int("errno", r < 0 ? e : 0);
    wp_bool("same_file", same);
    wp_end();
    errno = 0;
    r = linkat(AT_FDCWD, "/scratch/target", AT_FDCWD, "/scratch/hl2", AT_SYMLINK_FOLLOW);
    result("linkat_symlink_follow", r, errno);

    errno = 0;
    off_t o = lseek(1, 0, SEEK_END);
    result("lseek_stdout", o < 0 ? -1 : (int)o, errno);
    errno = 0;
    o = lseek(0, 0, SEEK_SET);
    result("lseek_stdin", o < 0 ? -1 : (int)o, errno);
    errno = 0;
    o = lseek(fd, 0, SEEK_END);
    result("lseek_file", o < 0 ? -1 : (int)o, errno);
    close(fd);
    wp_begin("libc_edges", "libc_posix");
    wp_str("what", "done");
    wp_end();
    return 0;
}
