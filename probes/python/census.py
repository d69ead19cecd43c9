"""census: the stdlib as this CPython binary sees it, in the probe protocol (../PROTOCOL.md).

  list          every stdlib module from the binary's own listing (sys.stdlib_module_names,
                sys.builtin_module_names, and a walk of the stdlib directory), with the bytes of
                each module's source and .pyc files; nothing is imported
  import M...   imports each module in turn, one line each, flushed, so a trap loses nothing
                already reported
  closure M     the modules loaded after importing M (its transitive closure, with startup)
  dark F        one dark feature with a small real use (see DARK)
"""
import json
import os
import sys

P = "census"


OUT = sys.stdout


def emit(check, **fields):
    # Always the real stdout: a module that prints on import (`this`) is sent elsewhere.
    OUT.write(json.dumps({"probe": P, "check": check, **fields}) + "\n")
    OUT.flush()


def stdlib_dirs():
    """The stdlib directories, and the stdlib zip (pythonXY.zip) when sys.path has one: some
    WASI builds ship the stdlib as a zip of sourceless .pyc files."""
    import sysconfig
    paths = sysconfig.get_paths()
    out = []
    for p in [e for e in sys.path if e.endswith(".zip") and e.startswith(sys.prefix)]:
        if os.path.isfile(p):
            out.append(p)
    # A build run from its checkout (CPython's own WASI host runner maps the checkout to /)
    # keeps its stdlib in /Lib, not where sysconfig's install scheme says: where `os` was
    # loaded from is where the stdlib is.
    here = os.path.dirname(os.__file__)
    for d in [paths.get("stdlib"), paths.get("platstdlib"), here]:
        if d and os.path.isdir(d) and d not in out:
            out.append(d)
    return out


def walk_zip(archive):
    """(module, kind, path, source bytes, pyc bytes) for every module in a stdlib zip; sizes
    are uncompressed, as the importer hands them to the interpreter."""
    import zipfile
    with zipfile.ZipFile(archive) as z:
        for info in z.infolist():
            name = info.filename
            stem, ext = os.path.splitext(name)
            if ext not in (".py", ".pyc"):
                continue
            parts = stem.split("/")
            if not all(p.isidentifier() for p in parts) or "__pycache__" in parts:
                continue
            pkg = parts[-1] == "__init__"
            mod = ".".join(parts[:-1] if pkg else parts)
            if not mod:
                continue
            src = info.file_size if ext == ".py" else 0
            pyc = info.file_size if ext == ".pyc" else 0
            yield (mod, "package" if pkg else "module", archive + "/" + name, src, pyc)


def size(path):
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def walk(root):
    """(module, kind, source path, source bytes, pyc bytes) for every module file under root."""
    tag = sys.implementation.cache_tag
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames
                             if d != "__pycache__" and d != "site-packages"
                             and (d.isidentifier() or d == "lib-dynload"))
        rel = os.path.relpath(dirpath, root)
        parts = [] if rel == "." else rel.split(os.sep)
        if parts and parts[0] == "lib-dynload":
            parts = parts[1:]
        if parts and not all(p.isidentifier() for p in parts):
            continue
        cache = os.path.join(dirpath, "__pycache__")
        cached = os.listdir(cache) if os.path.isdir(cache) else []
        for f in sorted(filenames):
            stem, ext = os.path.splitext(f)
            if ext not in (".py", ".so", ".pyc") or not stem.split(".")[0].isidentifier():
                continue
            stem = stem.split(".")[0]
            if ext == ".pyc" and stem + ".py" in filenames:
                continue
            name = ".".join(parts + ([] if stem == "__init__" else [stem]))
            if not name:
                continue
            pyc = sum(size(os.path.join(cache, c)) for c in cached
                      if c.startswith(stem + "." + tag))
            yield (name, "package" if stem == "__init__" else ("extension" if ext == ".so" else "module"),
                   os.path.join(dirpath, f), size(os.path.join(dirpath, f)), pyc)


def do_list():
    emit("stdlib_census", what="identity", version=sys.version, platform=sys.platform,
         prefix=sys.prefix, dirs=stdlib_dirs(), cache_tag=sys.implementation.cache_tag)
    seen = set()
    for d in stdlib_dirs():
        for name, kind, path, src, pyc in (walk_zip(d) if d.endswith(".zip") else walk(d)):
            if name in seen:
                continue
            seen.add(name)
            emit("stdlib_census", what="module", module=name, kind=kind, path=path,
                 source_bytes=src, pyc_bytes=pyc)
    for name in sorted(sys.builtin_module_names):
        if name not in seen:
            seen.add(name)
            emit("stdlib_census", what="module", module=name, kind="builtin", path=None,
                 source_bytes=0, pyc_bytes=0)
    for name in sorted(getattr(sys, "stdlib_module_names", ())):
        if name not in seen:
            emit("stdlib_census", what="module", module=name, kind="absent", path=None,
                 source_bytes=0, pyc_bytes=0)
    emit("stdlib_census", what="done")


def do_import(names):
    import contextlib
    import importlib
    import io
    for name in names:
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                importlib.import_module(name)
            emit("stdlib_census", what="import", module=name, result="ok")
        except BaseException as e:  # SystemExit and KeyboardInterrupt from odd modules, too
            emit("stdlib_census", what="import", module=name,
                 result="import-error" if isinstance(e, ImportError) else "exception",
                 error=type(e).__name__, message=str(e)[:300])
    emit("stdlib_census", what="done")


def do_closure(name):
    import importlib
    importlib.import_module(name)
    for m, mod in sorted(sys.modules.items()):
        emit("footprint", what="loaded", module=m,
             file=getattr(mod, "__file__", None), cached=getattr(mod, "__cached__", None))
    emit("footprint", what="done")


def _socket():
    import socket
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    return "bound to %r" % (s.getsockname(),)


def _select():
    import select
    return "select([], [], [], 0.01) -> %r" % (select.select([], [], [], 0.01),)


def _threading():
    import threading
    out = []
    t = threading.Thread(target=lambda: out.append(1))
    t.start()
    t.join()
    return "a thread ran: %r" % out


def _subprocess():
    import subprocess
    return "echo: %r" % subprocess.run(["echo", "hi"], capture_output=True).stdout


def _multiprocessing():
    import multiprocessing
    with multiprocessing.Pool(1) as p:
        return "pool map: %r" % p.map(abs, [-1])


def _signal():
    import signal
    got = []
    signal.signal(signal.SIGUSR1, lambda *a: got.append(1))
    signal.raise_signal(signal.SIGUSR1)
    return "handler ran: %r" % got


def _mmap():
    import mmap
    m = mmap.mmap(-1, 4096)
    m[:5] = b"hello"
    return "anonymous map: %r" % m[:5]


def _ctypes():
    import ctypes
    return "c_int(7).value = %r" % ctypes.c_int(7).value


def _ssl():
    import ssl
    return "context: %r" % ssl.create_default_context().protocol


def _sqlite3():
    import sqlite3
    c = sqlite3.connect(":memory:")
    return "select 1+1 -> %r" % c.execute("select 1+1").fetchone()


def _zlib():
    import zlib
    return "round trip: %r" % (zlib.decompress(zlib.compress(b"x" * 100)) == b"x" * 100)


def _lzma():
    import lzma
    return "round trip: %r" % (lzma.decompress(lzma.compress(b"x" * 100)) == b"x" * 100)


def _bz2():
    import bz2
    return "round trip: %r" % (bz2.decompress(bz2.compress(b"x" * 100)) == b"x" * 100)


def _zoneinfo():
    import zoneinfo
    z = zoneinfo.ZoneInfo("Europe/Paris")
    return "Europe/Paris key: %r" % z.key


def _locale():
    import locale
    return "setlocale(LC_ALL, 'C.UTF-8') -> %r" % locale.setlocale(locale.LC_ALL, "C.UTF-8")


DARK = {
    "socket": ("socket", _socket), "select": ("select", _select),
    "threading": ("threading", _threading), "subprocess": ("subprocess", _subprocess),
    "multiprocessing": ("multiprocessing", _multiprocessing), "signal": ("signal", _signal),
    "mmap": ("mmap", _mmap), "ctypes": ("ctypes", _ctypes), "ssl": ("ssl", _ssl),
    "sqlite3": ("sqlite3", _sqlite3), "zlib": ("zlib", _zlib), "lzma": ("lzma", _lzma),
    "bz2": ("bz2", _bz2), "zoneinfo": ("zoneinfo", _zoneinfo), "locale": ("locale", _locale),
}


def do_dark(feature):
    module, use = DARK[feature]
    try:
        __import__(module)
    except BaseException as e:
        emit("dark_features", what="dark", feature=feature, status="absent",
             error=type(e).__name__, message=str(e)[:300])
        return
    try:
        detail = use()
        emit("dark_features", what="dark", feature=feature, status="works", detail=detail)
    except BaseException as e:
        emit("dark_features", what="dark", feature=feature, status="fails-on-use",
             error=type(e).__name__, message=str(e)[:300])


def main():
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "list":
        do_list()
    elif mode == "import":
        do_import(args)
    elif mode == "closure":
        do_closure(args[0])
    elif mode == "dark":
        if args == ["--names"]:
            emit("dark_features", what="names", names=list(DARK))
        else:
            do_dark(args[0])


main()
