"""clocks (Python twin of probes/c/clocks.c): what CPython's time module reports on WASI —
clock resolution claims against the observed tick, back-to-back reads, time.sleep, CPU time,
the wall clock — in the probe protocol (../PROTOCOL.md), with the observation names the clock
checks read. `via` says the values come through Python's time module, not raw WASI calls."""
import json
import sys
import time

P = "clocks"


def emit(check, **fields):
    sys.stdout.write(json.dumps({"probe": P, "check": check, **fields}) + "\n")
    sys.stdout.flush()


def realtime(when):
    ns = time.time_ns()
    emit("clock_realtime", what="realtime", when=when, via="python", errno=0, raw_ns=ns,
         time_s=int(time.time()))


def resolution(clock, name):
    # time.get_clock_info(...).resolution is clock_getres, i.e. WASI clock_res_get.
    try:
        info = time.get_clock_info(name)
        emit("clock_resolution", what="raw", via="python", clock=clock, res_errno=0,
             res_ns=max(int(round(info.resolution * 1e9)), 0), time_errno=0,
             implementation=info.implementation)
    except OSError as e:
        emit("clock_resolution", what="raw", via="python", clock=clock, res_errno=e.errno or -1,
             res_ns=-1, time_errno=e.errno or -1)
    except Exception as e:  # a clock the build lacks altogether
        emit("clock_resolution", what="raw", via="python", clock=clock, res_errno=-1, res_ns=-1,
             time_errno=-1, error=repr(e))


def ticks(clock, read):
    # Read until the value changed 50 times (or 2 000 000 reads): the smallest step is the tick.
    prev = read()
    changes = reads = 0
    min_step = max_step = None
    while changes < 50 and reads < 2_000_000:
        v = read()
        reads += 1
        if v != prev:
            d = v - prev
            changes += 1
            min_step = d if min_step is None else min(min_step, d)
            max_step = d if max_step is None else max(max_step, d)
            prev = v
    emit("clock_resolution", what="ticks", via="python", clock=clock, changes=changes,
         reads=reads, min_step_ns=min_step if min_step is not None else -1,
         max_step_ns=max_step if max_step is not None else -1)


def reads(clock, read, n=100000):
    vals = [read() for _ in range(n)]
    steps = [b - a for a, b in zip(vals, vals[1:])]
    emit("clock_monotonic", what="reads", via="python", clock=clock, errno=0, n=n,
         zero_steps=sum(1 for d in steps if d == 0),
         negative_steps=sum(1 for d in steps if d < 0),
         most_negative_ns=min([0] + steps),
         min_positive_ns=min([d for d in steps if d > 0] or [-1]),
         max_step_ns=max(steps), first=vals[0], last=vals[-1])


def cputime(clock, name):
    try:
        read = getattr(time, name)
        read()
    except OSError as e:
        emit("clock_cputime", what="load", via="python", clock=clock, errno=e.errno or -1,
             busy_wall_ns=0, busy_cpu_ns=-1, sleep_wall_ns=0, sleep_cpu_ns=-1)
        return
    except Exception as e:
        emit("clock_cputime", what="load", via="python", clock=clock, errno=-1, busy_wall_ns=0,
             busy_cpu_ns=-1, sleep_wall_ns=0, sleep_cpu_ns=-1, error=repr(e))
        return
    c0, w0 = read(), time.monotonic_ns()
    x = 1
    while time.monotonic_ns() - w0 < 50_000_000:
        x = (x * 6364136223846793005 + 1) % (1 << 64)
    c1, w1 = read(), time.monotonic_ns()
    time.sleep(0.05)
    c2, w2 = read(), time.monotonic_ns()
    emit("clock_cputime", what="load", via="python", clock=clock, errno=0, busy_wall_ns=w1 - w0,
         busy_cpu_ns=c1 - c0, sleep_wall_ns=w2 - w1, sleep_cpu_ns=c2 - c1)


def main():
    realtime("start")
    resolution("realtime", "time")
    resolution("monotonic", "monotonic")
    ticks("monotonic", time.monotonic_ns)
    ticks("realtime", time.time_ns)
    reads("monotonic", time.monotonic_ns)
    reads("realtime", time.time_ns)
    for ns in (0, 1000, 1_000_000, 10_000_000, 100_000_000):
        for _ in range(3):
            t0 = time.monotonic_ns()
            time.sleep(ns / 1e9)
            emit("clock_sleep", what="sleep", method="time.sleep", requested_ns=ns,
                 elapsed_ns=time.monotonic_ns() - t0, ret=0)
    cputime("process_cputime", "process_time_ns")
    cputime("thread_cputime", "thread_time_ns")
    realtime("end")
    emit("clock_monotonic", what="done")


main()
