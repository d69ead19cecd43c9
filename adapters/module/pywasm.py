"""wasi-testsuite adapter module for pywasm, the pure-Python WebAssembly runtime.

Follows wasi-testsuite's `adapters/pywasm.py` and `adapters/pywasm-runtime.py`
(WebAssembly/wasi-testsuite), which run pywasm's WASI Preview 1 through a small runner; here the
runner is pywasm's own command line (`python -m pywasm --wasi preview1`, pywasm 2.2), so the
adapter is all there is. pywasm must be importable by the interpreter running this module (it
is installed with pip; wasiprobe puts its install directory on PYTHONPATH).

It is loaded by the reference runner (`test-runner/wasi_test_runner/runtime_adapter.py`) or by
wasiprobe's `[[runtime]] kind = "adapter-module"`, never run as a program.
"""

import sys
from typing import Dict, List, Optional, Tuple


def get_name() -> str:
    return "pywasm"


def get_version() -> str:
    # The installed distribution's version; pywasm.version is not always bumped with it.
    from importlib import metadata  # pylint: disable=import-outside-toplevel

    try:
        return metadata.version("pywasm")
    except metadata.PackageNotFoundError:
        import pywasm  # pylint: disable=import-outside-toplevel

        return pywasm.version


def get_wasi_versions() -> List[str]:
    return ["wasm32-wasip1"]


def get_wasi_worlds() -> List[str]:
    return ["wasi:cli/command"]


def compute_argv(test_path: str,
                 args_env_root: Tuple[List[str], Dict[str, str], Optional[str]],
                 proposals: List[str],
                 wasi_world: str,
                 wasi_version: str) -> List[str]:
    args, env, root = args_env_root
    argv = [sys.executable, "-m", "pywasm", "--wasi", "preview1"]
    for key, value in env.items():
        argv += [f"--wasi-envs={key}={value}"]
    if root:
        # pywasm's form is GUEST:HOST.
        argv += [f"--wasi-dirs=/:{root}"]
    # The `=` form, so an argument that starts with `-` is not taken for an option.
    argv += [f"--wasi-args={arg}" for arg in args]
    return argv + [test_path]
