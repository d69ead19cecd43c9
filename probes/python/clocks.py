"""clocks (Python twin): what CPython's time module reports on WASI — clock info, back-to-back
reads, sleeps, process time — in the probe protocol (../PROTOCOL.md), for the same checks as
probes/c/clocks.c."""
import json
import sys
import time

P = "clocks"


def emit(check, **fields):
    sys.stdout.write(json.dumps({"probe": P, "check": check, **fields}) + "\n")


def main():
    emit("clock_realtime", what="realtime", when="start", errno=0, raw_ns=time.time_ns(),
         gettimeofday_us=time.time_ns() // 1000, time_s=int(time.time()))
    for name in ("time", "monotonic", "perf_counter", "process_time"):
        try:
            info = time.get_clock_info(name)
            emit("clock_resolution", what="clock_info", clock=name, implementation=info.implementation,
                 monotonic=info.monotonic, adjustable=info.adjustable, resolution_s=info.resolution)
        except Exception as e:  # noqa: BLE001 - a missing clock is the observation
            emit("clock_resolution", what="clock_info", clock=name, error=repr(e))
    reads = [time.monotonic_ns() for _ in range(100000)]
    steps = [b - a for a, b in zip(reads, reads[1:])]
    emit("clock_monotonic", what="reads", via="python", clock="monotonic", errno=0, n=len(reads),
         zero_steps=sum(1 for d in steps if d == 0), negative_steps=sum(1 for d in steps if d < 0),
         most_negative_ns=min([0] + steps), min_positive_ns=min([d for d in steps if d > 0] or [-1]),
         max_step_ns=max(steps), first=reads[0], last=reads[-1])
    for ns in (0, 1000, 1_000_000, 10_000_000, 100_000_000):
        for _ in range(3):
            t0 = time.monotonic_ns()
            time.sleep(ns / 1e9)
            emit("clock_sleep", what="sleep", method="time.sleep", requested_ns=ns,
                 elapsed_ns=time.monotonic_ns() - t0, ret=0)
    try:
        c0, w0 = time.process_time_ns(), time.monotonic_ns()
        x = 1
        while time.monotonic_ns() - w0 < 50_000_000:
            x = (x * 6364136223846793005 + 1) % (1 << 64)
        c1, w1 = time.process_time_ns(), time.monotonic_ns()
        time.sleep(0.05)
        c2, w2 = time.process_time_ns(), time.monotonic_ns()
        emit("clock_cputime", what="load", clock="process_time", errno=0, busy_wall_ns=w1 - w0,
             busy_cpu_ns=c1 - c0, sleep_wall_ns=w2 - w1, sleep_cpu_ns=c2 - c1)
    except OSError as e:
        emit("clock_cputime", what="load", clock="process_time", errno=e.errno or -1)
    emit("clock_realtime", what="realtime", when="end", errno=0, raw_ns=time.time_ns(),
         gettimeofday_us=time.time_ns() // 1000, time_s=int(time.time()))
    emit("clock_monotonic", what="done")


if __name__ == "__main__":
    main()
