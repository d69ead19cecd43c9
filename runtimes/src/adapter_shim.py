"""Loads a wasi-testsuite adapter module and answers wasiprobe's questions about it.

The reference runner (wasi-testsuite `test-runner/wasi_test_runner/runtime_adapter.py`) imports
an adapter module with importlib and calls `get_name()`, `get_version()`, `get_wasi_versions()`,
`get_wasi_worlds()` and `compute_argv(...)`; the argv it gets back is what it runs. This shim does
the importing half only, so any adapter works unchanged, while wasiprobe runs the argv itself
under its own limits. It needs Python 3.8+ (the reference runner needs 3.12), and only the
standard library.

Protocol, one JSON document per line: the first line written is `{"ok": META}` or
`{"error": MESSAGE}`; after it each request line read on stdin gets one reply line,
`{"ok": ARGV}` or `{"error": MESSAGE}`. Whatever the adapter itself prints goes to stderr, so it
can never be taken for a reply.

Three generations of `compute_argv` exist upstream, told apart by their parameters:
- `(test_path, (args, env, root), proposals, wasi_world, wasi_version)`, root being the
  directory the guest sees as `/` or None (the current one);
- `(test_path, (args, env, dirs), proposals, wasi_world, wasi_version)` and
  `(test_path, (args, env, dirs), proposals, wasi_version)`, dirs being `[(host_path, guest)]`;
- `(test_path, args, env, dirs, wasi_version)`.
"""

import importlib.util
import inspect
import json
import os
import sys
import traceback
from pathlib import Path

REQUIRED = ("get_name", "get_version", "get_wasi_versions", "compute_argv")


class Refused(Exception):
    pass


def load(path):
    # An executable adapter (the older contract) parses sys.argv when imported; with
    # `--version` it prints the version and exits instead of running anything.
    sys.argv = [path, "--version"]
    spec = importlib.util.spec_from_file_location(Path(path).stem, path)
    if spec is None or spec.loader is None:
        raise Refused(f"{path}: not a Python module")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except SystemExit:
        raise Refused(
            f"{path} is an executable adapter (it exits when imported): "
            'declare it as kind = "adapter"'
        )
    missing = [f for f in REQUIRED if not callable(getattr(module, f, None))]
    if missing:
        raise Refused(
            f"{path}: not an adapter module, it has no {', '.join(missing)}"
            ' (an executable adapter is kind = "adapter")'
        )
    params = list(inspect.signature(module.compute_argv).parameters)
    if len(params) == 5 and params[1] == "args":
        style = "flat-dirs"
    elif len(params) == 4:
        style = "dirs-no-world"
    elif len(params) == 5:
        style = "dirs" if "dirs" in params[1] else "root"
    else:
        raise Refused(
            f"{path}: compute_argv{tuple(params)} matches no known adapter interface"
        )
    worlds = getattr(module, "get_wasi_worlds", None)
    timeout = getattr(module, "get_timeout_seconds", None)
    meta = {
        "name": str(module.get_name()),
        "version": str(module.get_version()),
        "wasi_versions": [str(v) for v in module.get_wasi_versions()],
        "wasi_worlds": [str(w) for w in worlds()] if callable(worlds) else ["wasi:cli/command"],
        "timeout_s": float(timeout()) if callable(timeout) else None,
        "style": style,
    }
    return module, style, meta


def compute(module, style, req):
    test, args, env = req["test_path"], req["args"], dict(req["env"])
    root, version, world = req["root"], req["wasi_version"], req["wasi_world"]
    proposals = req["proposals"]
    dirs = [(Path(h), g) for h, g in req["dirs"]]
    if root is not None:
        if style == "root":
            pass
        else:
            dirs = [(Path(root), "/")] + dirs
    elif style == "root" and dirs:
        raise Refused("the adapter takes one root directory; this test preopens named dirs")
    f = module.compute_argv
    if style == "root":
        argv = f(test, (args, env, root), proposals, world, version)
    elif style == "dirs":
        argv = f(test, (args, env, dirs), proposals, world, version)
    elif style == "dirs-no-world":
        argv = f(test, (args, env, dirs), proposals, version)
    else:
        argv = f(test, args, env, dirs, version)
    if not isinstance(argv, list) or not argv or not all(isinstance(a, str) for a in argv):
        raise Refused(f"compute_argv returned {argv!r}, not a non-empty list of strings")
    return argv


def main():
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    def say(doc):
        proto.write(json.dumps(doc) + "\n")
        proto.flush()

    try:
        module, style, meta = load(sys.argv[1])
    except Refused as e:
        say({"error": str(e)})
        return
    except BaseException:
        say({"error": "loading the adapter failed:\n" + traceback.format_exc(limit=4)})
        return
    say({"ok": meta})
    for line in sys.stdin:
        try:
            say({"ok": compute(module, style, json.loads(line))})
        except Refused as e:
            say({"error": str(e)})
        except BaseException:
            say({"error": "compute_argv failed:\n" + traceback.format_exc(limit=4)})


main()
