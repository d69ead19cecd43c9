/* clocks: what the four Preview 1 clocks claim and do, through the raw WASI calls and through
 * libc — resolution claims, back-to-back reads, the tick actually seen, sleeps by every route,
 * realtime, and whether CPU-time clocks exist and count CPU rather than wall time. */
#include <errno.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <wasi/api.h>
#include "wasiprobe.h"

#define P "clocks"
#define READS 100000

static const char *clock_names[4] = {"realtime", "monotonic", "process_cputime", "thread_cputime"};

static uint64_t mono(void) {
    __wasi_timestamp_t t = 0;
    (void)__wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &t);
    return t;
}

/* Back-to-back reads summarised: zero steps, negative steps, and a log2 histogram of positive
 * steps (bucket k counts steps in [2^k, 2^(k+1)) ns) instead of 100 000 lines. */
static void reads(const char *via, int id) {
    static uint64_t v[READS];
    int err = 0;
    for (int i = 0; i < READS; i++) {
        if (via[0] == 'r') {
            __wasi_timestamp_t t = 0;
            err = __wasi_clock_time_get((__wasi_clockid_t)id, 1, &t);
            v[i] = t;
        } else {
            struct timespec ts;
            err = clock_gettime(id == 0 ? CLOCK_REALTIME : CLOCK_MONOTONIC, &ts) ? errno : 0;
            v[i] = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
        }
        if (err)
            break;
    }
    long long zero = 0, negative = 0, most_negative = 0, min_pos = -1, max_step = 0;
    long long hist[64] = {0};
    for (int i = 1; i < READS && !err; i++) {
        long long d = (long long)(v[i] - v[i - 1]);
        if (d == 0) {
            zero++;
        } else if (d < 0) {
            negative++;
            if (d < most_negative)
                most_negative = d;
        } else {
            if (min_pos < 0 || d < min_pos)
                min_pos = d;
            if (d > max_step)
                max_step = d;
            int k = 63 - __builtin_clzll((unsigned long long)d);
            hist[k]++;
        }
    }
    wp_begin(P, "clock_monotonic");
    wp_str("what", "reads");
    wp_str("via", via);
    wp_str("clock", clock_names[id]);
    wp_int("errno", err);
    wp_int("n", READS);
    wp_int("zero_steps", zero);
    wp_int("negative_steps", negative);
    wp_int("most_negative_ns", most_negative);
    wp_int("min_positive_ns", min_pos);
    wp_int("max_step_ns", max_step);
    wp_int("first", (long long)v[0]);
    wp_int("last", (long long)v[READS - 1]);
    wp_key("log2_hist");
    wp_put("[", 1);
    for (int k = 0; k < 64; k++) {
        char b[24];
        snprintf(b, sizeof b, k ? ",%lld" : "%lld", hist[k]);
        wp_puts(b);
    }
    wp_put("]", 1);
    wp_end();
}

/* Reads until the clock has changed 50 times (or a read budget runs out): the steps between
 * changes are the tick the clock really has, and reads per change tells whether reads were
 * faster than the tick (only then is the smallest step a measure of resolution). */
static void ticks(int id) {
    __wasi_timestamp_t prev = 0, t = 0, min_step = 0, max_step = 0;
    long long changes = 0, reads_n = 0;
    (void)__wasi_clock_time_get((__wasi_clockid_t)id, 1, &prev);
    while (changes < 50 && reads_n < 5000000) {
        (void)__wasi_clock_time_get((__wasi_clockid_t)id, 1, &t);
        reads_n++;
        if (t != prev) {
            __wasi_timestamp_t s = t > prev ? t - prev : prev - t;
            if (!min_step || s < min_step)
                min_step = s;
            if (s > max_step)
                max_step = s;
            changes++;
            prev = t;
        }
    }
    wp_begin(P, "clock_resolution");
    wp_str("what", "ticks");
    wp_str("clock", clock_names[id]);
    wp_int("changes", changes);
    wp_int("reads", reads_n);
    wp_int("min_step_ns", (long long)min_step);
    wp_int("max_step_ns", (long long)max_step);
    wp_end();
}

static void claims(void) {
    for (int id = 0; id < 4; id++) {
        __wasi_timestamp_t res = 0, t = 0;
        __wasi_errno_t e1 = __wasi_clock_res_get((__wasi_clockid_t)id, &res);
        __wasi_errno_t e2 = __wasi_clock_time_get((__wasi_clockid_t)id, 1, &t);
        wp_begin(P, "clock_resolution");
        wp_str("what", "raw");
        wp_str("clock", clock_names[id]);
        wp_int("res_errno", e1);
        wp_int("res_ns", e1 ? -1 : (long long)res);
        wp_int("time_errno", e2);
        wp_end();
    }
    /* Compile-time facts: which clocks this SDK's headers define (a weak-symbol probe would
     * say what links, not what the SDK offers). */
    wp_begin(P, "clock_cputime");
    wp_str("what", "headers");
#ifdef CLOCK_PROCESS_CPUTIME_ID
    wp_bool("process_cputime_defined", 1);
#else
    wp_bool("process_cputime_defined", 0);
#endif
#ifdef CLOCK_THREAD_CPUTIME_ID
    wp_bool("thread_cputime_defined", 1);
#else
    wp_bool("thread_cputime_defined", 0);
#endif
    wp_end();
#ifdef CLOCK_PROCESS_CPUTIME_ID
    {
        struct timespec ts = {0, 0};
        int r = clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
        wp_begin(P, "clock_cputime");
        wp_str("what", "libc");
        wp_int("ret", r);
        wp_int("errno", r ? errno : 0);
        wp_end();
    }
#endif
    for (int id = 0; id < 2; id++) {
        struct timespec ts = {0, 0};
        int r = clock_getres(id == 0 ? CLOCK_REALTIME : CLOCK_MONOTONIC, &ts);
        wp_begin(P, "clock_resolution");
        wp_str("what", "libc");
        wp_str("clock", clock_names[id]);
        wp_int("ret", r);
        wp_int("res_ns", (long long)ts.tv_sec * 1000000000ll + ts.tv_nsec);
        wp_end();
    }
}

static void realtime(const char *when) {
    __wasi_timestamp_t t = 0;
    __wasi_errno_t e = __wasi_clock_time_get(__WASI_CLOCKID_REALTIME, 1, &t);
    struct timeval tv = {0, 0};
    gettimeofday(&tv, NULL);
    time_t secs = time(NULL);
    wp_begin(P, "clock_realtime");
    wp_str("what", "realtime");
    wp_str("when", when);
    wp_int("errno", e);
    wp_int("raw_ns", (long long)t);
    wp_int("gettimeofday_us", (long long)tv.tv_sec * 1000000ll + tv.tv_usec);
    wp_int("time_s", (long long)secs);
    wp_end();
}

static int poll_sleep(uint64_t ns, int absolute, __wasi_event_t *ev, __wasi_size_t *n) {
    __wasi_subscription_t sub;
    memset(&sub, 0, sizeof sub);
    sub.userdata = 0x5eed0000ull + ns;
    sub.u.tag = __WASI_EVENTTYPE_CLOCK;
    sub.u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
    sub.u.u.clock.timeout = absolute ? mono() + ns : ns;
    sub.u.u.clock.precision = 0;
    sub.u.u.clock.flags = absolute ? __WASI_SUBCLOCKFLAGS_SUBSCRIPTION_CLOCK_ABSTIME : 0;
    return __wasi_poll_oneoff(&sub, ev, 1, n);
}

static void sleeps(void) {
    static const uint64_t durations[] = {0, 1000, 1000000, 10000000, 100000000};
    static const char *methods[] = {"nanosleep", "clock_nanosleep", "clock_nanosleep_abstime", "usleep",
                                    "poll_oneoff", "poll_oneoff_abstime"};
    for (int m = 0; m < 6; m++) {
        for (int d = 0; d < 5; d++) {
            for (int rep = 0; rep < 3; rep++) {
                uint64_t ns = durations[d];
                struct timespec req = {(time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull)};
                __wasi_event_t ev;
                memset(&ev, 0, sizeof ev);
                __wasi_size_t nev = 0;
                int ret = 0, is_poll = m >= 4;
                uint64_t t0 = mono();
                switch (m) {
                case 0:
                    ret = nanosleep(&req, NULL);
                    break;
                case 1:
                    ret = clock_nanosleep(CLOCK_MONOTONIC, 0, &req, NULL);
                    break;
                case 2: {
                    struct timespec now;
                    clock_gettime(CLOCK_MONOTONIC, &now);
                    uint64_t at = (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec + ns;
                    struct timespec abs = {(time_t)(at / 1000000000ull), (long)(at % 1000000000ull)};
                    t0 = (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
                    ret = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &abs, NULL);
                    break;
                }
                case 3:
                    ret = usleep((useconds_t)(ns / 1000));
                    break;
                case 4:
                    ret = poll_sleep(ns, 0, &ev, &nev);
                    break;
                case 5:
                    ret = poll_sleep(ns, 1, &ev, &nev);
                    break;
                }
                uint64_t t1 = mono();
                /* usleep takes whole microseconds: that is what was asked. */
                uint64_t asked = m == 3 ? (ns / 1000) * 1000 : ns;
                wp_begin(P, is_poll ? "clock_poll" : "clock_sleep");
                wp_str("what", "sleep");
                wp_str("method", methods[m]);
                wp_int("requested_ns", (long long)asked);
                wp_int("elapsed_ns", (long long)(t1 - t0));
                wp_int("ret", ret);
                if (is_poll) {
                    wp_int("nevents", nev);
                    wp_int("event_error", ev.error);
                    wp_int("event_type", ev.type);
                    wp_bool("userdata_ok", ev.userdata == 0x5eed0000ull + ns);
                }
                wp_end();
            }
        }
    }
}

/* CPU time across ~50 ms of busy work and ~50 ms of sleep, through the raw clock ids. */
static void cputime(void) {
    for (int id = 2; id < 4; id++) {
        __wasi_timestamp_t c0 = 0, c1 = 0, c2 = 0;
        __wasi_errno_t e = __wasi_clock_time_get((__wasi_clockid_t)id, 1, &c0);
        uint64_t w0 = mono();
        volatile uint64_t x = 1;
        /* Bounded by iterations too, so a frozen clock cannot make this spin forever. */
        for (long iter = 0; iter < 200000 && mono() - w0 < 50000000ull; iter++)
            for (int i = 0; i < 1000; i++)
                x = x * 6364136223846793005ull + 1;
        uint64_t w1 = mono();
        (void)__wasi_clock_time_get((__wasi_clockid_t)id, 1, &c1);
        struct timespec req = {0, 50000000};
        nanosleep(&req, NULL);
        uint64_t w2 = mono();
        (void)__wasi_clock_time_get((__wasi_clockid_t)id, 1, &c2);
        wp_begin(P, "clock_cputime");
        wp_str("what", "load");
        wp_str("clock", clock_names[id]);
        wp_int("errno", e);
        wp_int("busy_wall_ns", (long long)(w1 - w0));
        wp_int("busy_cpu_ns", e ? -1 : (long long)(c1 - c0));
        wp_int("sleep_wall_ns", (long long)(w2 - w1));
        wp_int("sleep_cpu_ns", e ? -1 : (long long)(c2 - c1));
        wp_end();
    }
}

int main(void) {
    realtime("start");
    claims();
    reads("raw", 1);
    reads("raw", 0);
    reads("libc", 1);
    ticks(1);
    ticks(0);
    sleeps();
    cputime();
    realtime("end");
    wp_begin(P, "clock_monotonic");
    wp_str("what", "done");
    wp_end();
    return 0;
}
