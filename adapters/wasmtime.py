#!/usr/bin/env python3
"""The wasmtime CLI behind the wasi-testsuite adapter contract, plus wasiprobe's extensions.

Contract: `--version`; `--test-file F [--arg A]... [--env K=V]... [--dir HOST[::GUEST]]...`;
stdin/stdout/stderr pass through; the exit status is the guest's.

Extensions (environment, see runtimes/src/adapter.rs): WASIPROBE_RUNTIME (the wasmtime binary;
else $WASMTIME, else `wasmtime` on PATH), WASIPROBE_ARGV0 (--argv0), WASIPROBE_MAX_MEMORY
(-W max-memory-size with -W trap-on-grow-failure, so a grow past the limit traps and is reported
as oom instead of quietly returning -1), WASIPROBE_WASM_STACK (-W max-wasm-stack),
WASIPROBE_STATUS (how the guest ended).

How the guest ended is read from wasmtime's own words at the end of its stderr, after the guest's
output: "Error: failed to run main module" followed by "wasm trap: ..." (status 134) is a trap,
"forcing trap when growing memory to N bytes" is an oom, and a failure to parse, compile or
instantiate is a load error. A guest that prints exactly that text as its last stderr output
and exits with the same status would be misread: the CLI offers no other channel. Open files
are not limited: the wasmtime CLI has no such option.
"""

# Only cheap imports: this runs once per guest run (`subprocess` alone costs ~20 ms of CPU).
import os
import re
import sys

TAIL = 16 * 1024
ERROR_HEAD = b"Error: failed to run main module"
LOAD_MARKERS = (
    b"failed to parse WebAssembly module",
    b"failed to compile",
    b"failed to instantiate",
    b"unknown import",
    b"failed to find a `_start`",
    b"failed to run main module",  # no `_start` export and similar command-level failures
)


def wasmtime():
    for var in ("WASIPROBE_RUNTIME", "WASMTIME"):
        if os.environ.get(var):
            return os.environ[var]
    for d in os.environ.get("PATH", "").split(os.pathsep):
        p = os.path.join(d, "wasmtime")
        if os.access(p, os.X_OK):
            return p
    sys.exit("wasmtime adapter: no wasmtime binary (set WASIPROBE_RUNTIME or WASMTIME)")


def parse(argv):
    test_file, args, env, dirs = None, [], [], []
    i = 0
    while i < len(argv):
        flag = argv[i]
        if flag == "--version":
            return "version", None, None, None, None
        if i + 1 >= len(argv):
            sys.exit(f"wasmtime adapter: {flag} needs a value")
        value = argv[i + 1]
        i += 2
        if flag == "--test-file":
            test_file = value
        elif flag == "--arg":
            args.append(value)
        elif flag == "--env":
            if "=" not in value:
                sys.exit(f"wasmtime adapter: --env {value} is not K=V")
            env.append(value)
        elif flag == "--dir":
            dirs.append(value)
        else:
            sys.exit(f"wasmtime adapter: unknown flag {flag}")
    if test_file is None:
        sys.exit("wasmtime adapter: --test-file is required")
    return "run", test_file, args, env, dirs


def classify(code, tail):
    """The termination, from wasmtime's exit status and its closing error message."""
    at = tail.rfind(ERROR_HEAD)
    if code == 0 or at < 0:
        return {"kind": "exited", "code": code}
    err = tail[at:].decode("utf-8", "replace")
    m = re.search(r"forcing trap when growing memory to (\d+) bytes", err)
    if m:
        return {"kind": "oom", "requested_bytes": int(m.group(1))}
    trap = re.search(r"wasm trap: (.*)", err)
    if code == 134 and trap:
        return {"kind": "trap", "message": err.strip()}
    if code == 1 and any(m.decode() in err for m in LOAD_MARKERS) and "error while executing" not in err:
        return {"kind": "load-error", "message": err.strip()}
    # wasmtime failed in a way we do not know; the status alone is not the guest's.
    return {"kind": "trap", "message": f"wasmtime exited with {code}: {err.strip()}"}


def main():
    mode, test_file, args, env, dirs = parse(sys.argv[1:])
    exe = wasmtime()
    if mode == "version":
        os.execv(exe, [exe, "--version"])
    cmd = [exe, "run"]
    if os.environ.get("WASIPROBE_ARGV0") is not None:
        cmd.append(f"--argv0={os.environ['WASIPROBE_ARGV0']}")
    if os.environ.get("WASIPROBE_MAX_MEMORY"):
        cmd += ["-W", f"max-memory-size={os.environ['WASIPROBE_MAX_MEMORY']}",
                "-W", "trap-on-grow-failure=y"]
    if os.environ.get("WASIPROBE_WASM_STACK"):
        cmd += ["-W", f"max-wasm-stack={os.environ['WASIPROBE_WASM_STACK']}"]
    for d in dirs:
        cmd.append(f"--dir={d}")
    for e in env:
        cmd.append(f"--env={e}")
    cmd.append(test_file)
    cmd += args
    # Backtraces of wasmtime itself would only lengthen the error we read.
    child_env = {k: v for k, v in os.environ.items() if k != "RUST_BACKTRACE"}
    # stdin and stdout are inherited; stderr is read here, passed on as it comes, and its tail kept
    # for wasmtime's closing words.
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.dup2(w, 2)
            os.close(r)
            os.close(w)
            os.execve(exe, cmd, child_env)
        finally:
            os._exit(127)
    os.close(w)
    tail = b""
    while True:
        chunk = os.read(r, 65536)
        if not chunk:
            break
        view = memoryview(chunk)
        while view:
            view = view[os.write(2, view):]
        tail = (tail + chunk)[-TAIL:]
    _, wstatus = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(wstatus)
    if code < 0:
        # wasmtime died of a signal: die of the same one, so the harness sees a crash.
        os.kill(os.getpid(), -code)
    status = os.environ.get("WASIPROBE_STATUS")
    if status:
        import json

        with open(status, "w") as f:
            json.dump({"termination": classify(code, tail)}, f)
    return code


if __name__ == "__main__":
    sys.exit(main())
