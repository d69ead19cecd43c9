/* A native stand-in for <wasi/api.h>: the Preview 1 calls the clocks probe makes, implemented
 * with POSIX on the host, so the same probe source measures the native floor (what the host
 * itself delivers) beside every runtime. Only what the probes use is here. */
#ifndef WASIPROBE_NATIVE_WASI_API_H
#define WASIPROBE_NATIVE_WASI_API_H

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

typedef uint64_t __wasi_timestamp_t;
typedef uint32_t __wasi_clockid_t;
typedef uint16_t __wasi_errno_t;
typedef uint32_t __wasi_size_t;
typedef uint64_t __wasi_userdata_t;

#define __WASI_CLOCKID_REALTIME ((__wasi_clockid_t)0)
#define __WASI_CLOCKID_MONOTONIC ((__wasi_clockid_t)1)
#define __WASI_CLOCKID_PROCESS_CPUTIME_ID ((__wasi_clockid_t)2)
#define __WASI_CLOCKID_THREAD_CPUTIME_ID ((__wasi_clockid_t)3)
#define __WASI_EVENTTYPE_CLOCK ((uint8_t)0)
#define __WASI_SUBCLOCKFLAGS_SUBSCRIPTION_CLOCK_ABSTIME ((uint16_t)1)
#define __WASI_ERRNO_INVAL ((__wasi_errno_t)28)

static const clockid_t wp_native_clock[4] = {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_PROCESS_CPUTIME_ID,
                                             CLOCK_THREAD_CPUTIME_ID};

static inline __wasi_errno_t __wasi_clock_time_get(__wasi_clockid_t id, __wasi_timestamp_t precision,
                                                   __wasi_timestamp_t *out) {
    (void)precision;
    struct timespec ts;
    if (id > 3 || clock_gettime(wp_native_clock[id], &ts))
        return __WASI_ERRNO_INVAL;
    *out = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
    return 0;
}

static inline __wasi_errno_t __wasi_clock_res_get(__wasi_clockid_t id, __wasi_timestamp_t *out) {
    struct timespec ts;
    if (id > 3 || clock_getres(wp_native_clock[id], &ts))
        return __WASI_ERRNO_INVAL;
    *out = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
    return 0;
}

typedef struct {
    __wasi_clockid_t id;
    __wasi_timestamp_t timeout;
    __wasi_timestamp_t precision;
    uint16_t flags;
} __wasi_subscription_clock_t;
typedef union {
    __wasi_subscription_clock_t clock;
} __wasi_subscription_u_u_t;
typedef struct {
    uint8_t tag;
    __wasi_subscription_u_u_t u;
} __wasi_subscription_u_t;
typedef struct {
    __wasi_userdata_t userdata;
    __wasi_subscription_u_t u;
} __wasi_subscription_t;
typedef struct {
    __wasi_userdata_t userdata;
    __wasi_errno_t error;
    uint8_t type;
} __wasi_event_t;

/* One clock subscription, slept with clock_nanosleep — what a native poll would do. */
static inline __wasi_errno_t __wasi_poll_oneoff(const __wasi_subscription_t *in, __wasi_event_t *out,
                                                __wasi_size_t n, __wasi_size_t *nevents) {
    if (n != 1 || in->u.tag != __WASI_EVENTTYPE_CLOCK || in->u.u.clock.id > 3)
        return __WASI_ERRNO_INVAL;
    uint64_t t = in->u.u.clock.timeout;
    struct timespec ts = {(time_t)(t / 1000000000ull), (long)(t % 1000000000ull)};
    int abs = in->u.u.clock.flags & __WASI_SUBCLOCKFLAGS_SUBSCRIPTION_CLOCK_ABSTIME;
    while (clock_nanosleep(wp_native_clock[in->u.u.clock.id], abs ? TIMER_ABSTIME : 0, &ts, abs ? NULL : &ts) == EINTR)
        ;
    memset(out, 0, sizeof *out);
    out->userdata = in->userdata;
    out->type = __WASI_EVENTTYPE_CLOCK;
    *nevents = 1;
    return 0;
}

#endif
