/* process_clocks: libc's process CPU-time interfaces — clock(), times() and getrusage() — read
 * across ~100 ms of busy work and ~50 ms of sleep, with the unit each one's standard gives its
 * numbers: CLOCKS_PER_SEC for clock(), sysconf(_SC_CLK_TCK) for times() (both its tms fields and
 * the elapsed real time it returns), microseconds for getrusage(). wasi-libc has them only as an
 * emulation over the monotonic clock, in a library of their own. The raw counts are printed;
 * the check converts and judges them. */
/* flags: -D_WASI_EMULATED_PROCESS_CLOCKS -lwasi-emulated-process-clocks */
#include <errno.h>
#include <sys/resource.h>
#include <sys/times.h>
#include <time.h>
#include <unistd.h>
#include <wasi/api.h>
#include "wasiprobe.h"

#define P "process_clocks"
#define C "libc_process_clocks"

struct reading {
    long long wall_ns;
    long long clock;
    int clock_errno;
    long long tms_cpu, times_ret;
    int times_errno;
    long long rusage_us;
    int rusage_errno;
};

static long long mono(void) {
    __wasi_timestamp_t t = 0;
    (void)__wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &t);
    return (long long)t;
}

static void read_all(struct reading *r) {
    errno = 0;
    clock_t c = clock();
    r->clock = (long long)c;
    r->clock_errno = c == (clock_t)-1 ? (errno ? errno : -1) : 0;
    struct tms t;
    errno = 0;
    clock_t e = times(&t);
    r->times_ret = (long long)e;
    r->tms_cpu = (long long)t.tms_utime + (long long)t.tms_stime;
    r->times_errno = e == (clock_t)-1 ? (errno ? errno : -1) : 0;
    struct rusage u;
    errno = 0;
    int rc = getrusage(RUSAGE_SELF, &u);
    r->rusage_us = (long long)u.ru_utime.tv_sec * 1000000ll + (long long)u.ru_utime.tv_usec +
                   (long long)u.ru_stime.tv_sec * 1000000ll + (long long)u.ru_stime.tv_usec;
    r->rusage_errno = rc ? (errno ? errno : -1) : 0;
    r->wall_ns = mono();
}

/* One interface's line: its counts at the three readings and the counts per second its
 * standard gives them. */
static void line(const char *api, long long per_sec, int err, long long a, long long b,
                 long long c, const struct reading *r) {
    wp_begin(P, C);
    wp_str("what", "interface");
    wp_str("api", api);
    wp_int("errno", err);
    wp_int("per_sec", per_sec);
    wp_int("start", a);
    wp_int("after_busy", b);
    wp_int("after_sleep", c);
    wp_int("busy_wall_ns", r[1].wall_ns - r[0].wall_ns);
    wp_int("sleep_wall_ns", r[2].wall_ns - r[1].wall_ns);
    wp_end();
}

int main(void) {
    struct reading r[3];
    read_all(&r[0]);
    volatile unsigned long long x = 1;
    /* Bounded by iterations too, so a frozen clock cannot make this spin forever. */
    for (long iter = 0; iter < 400000 && mono() - r[0].wall_ns < 100000000ll; iter++)
        for (int i = 0; i < 1000; i++)
            x = x * 6364136223846793005ull + 1;
    read_all(&r[1]);
    struct timespec req = {0, 50000000};
    nanosleep(&req, NULL);
    read_all(&r[2]);
    long tck = sysconf(_SC_CLK_TCK);
    int err = 0;
    for (int i = 0; i < 3; i++)
        err = err ? err : r[i].clock_errno;
    line("clock", (long long)CLOCKS_PER_SEC, err, r[0].clock, r[1].clock, r[2].clock, r);
    err = 0;
    for (int i = 0; i < 3; i++)
        err = err ? err : r[i].times_errno;
    line("times.tms_utime+tms_stime", tck, err, r[0].tms_cpu, r[1].tms_cpu, r[2].tms_cpu, r);
    line("times.return", tck, err, r[0].times_ret, r[1].times_ret, r[2].times_ret, r);
    err = 0;
    for (int i = 0; i < 3; i++)
        err = err ? err : r[i].rusage_errno;
    line("getrusage.ru_utime+ru_stime", 1000000, err, r[0].rusage_us, r[1].rusage_us,
         r[2].rusage_us, r);
    wp_begin(P, C);
    wp_str("what", "done");
    wp_int("clk_tck", tck);
    wp_int("clocks_per_sec", (long long)CLOCKS_PER_SEC);
    wp_end();
    return 0;
}
