"""wasi-testsuite adapter module for the wasmtime CLI, in the current upstream interface.

Follows wasi-testsuite's `adapters/wasmtime.py` (WebAssembly/wasi-testsuite): the binary comes
from $WASMTIME (default `wasmtime` on PATH, split with shell quoting so options can ride along),
the test's root directory is mapped to the guest's `/`, the environment is passed with `--env`,
the arguments follow the module. Components (wasm32-wasip2) need no option with wasmtime 42.

It is loaded by the reference runner (`test-runner/wasi_test_runner/runtime_adapter.py`) or by
wasiprobe's `[[runtime]] kind = "adapter-module"`, never run as a program.
"""

import os
import shlex
import subprocess
from typing import Dict, List, Optional, Tuple

WASMTIME = shlex.split(os.getenv("WASMTIME", "wasmtime"))


def get_name() -> str:
    return "wasmtime"


def get_version() -> str:
    # `wasmtime --version` prints e.g. "wasmtime 42.0.1 (c4a1b3b 2025-03-20)".
    out = subprocess.run(WASMTIME[0:1] + ["--version"], encoding="UTF-8",
                         capture_output=True, check=True).stdout
    return out.splitlines()[0].split(" ")[1]


def get_wasi_versions() -> List[str]:
    return ["wasm32-wasip1", "wasm32-wasip2"]


def get_wasi_worlds() -> List[str]:
    return ["wasi:cli/command"]


def compute_argv(test_path: str,
                 args_env_root: Tuple[List[str], Dict[str, str], Optional[str]],
                 proposals: List[str],
                 wasi_world: str,
                 wasi_version: str) -> List[str]:
    args, env, root = args_env_root
    argv = list(WASMTIME)
    for key, value in env.items():
        argv += ["--env", f"{key}={value}"]
    if root:
        argv += ["--dir", f"{root}::/"]
    if "sockets" in proposals:
        argv += ["-Sinherit-network"]
    return argv + [test_path] + args
