"""fs (Python twin of probes/c/fs.c): how a Python program's file I/O maps to the host, through
os, pathlib, shutil and tempfile, in the probe protocol (../PROTOCOL.md) with the operation
names and fields the filesystem checks read. The harness lays out the same fixture as for the C
probe (harness/src/checks/filesystem/fixture.rs) and inspects the host tree afterwards.

Where Python adds a check of its own in front of the system call (builtin open() refuses a
directory after fstat, listdir drops . and ..), the raw os call is used instead, so the errno is
the runtime's and not CPython's. What Python cannot express at all (UTIME_OMIT, telldir/seekdir,
rewinddir, fd_prestat_get, fd_renumber) is declared harness-side in python::TWINS, not here: a
guest must not be able to excuse itself. `fs whence` as the only argument runs the invalid-whence
case alone, as the C probe does, because it may trap."""
import errno
import json
import os
import pathlib
import shutil
import stat
import sys
import tempfile

P = "fs"
W = "/scratch/work"
FX = "/scratch/fixtures"

# The names the C probe's ename() knows, in its order; anything else is "other".
ERRNO_NAMES = ["ENOENT", "EEXIST", "ENOTDIR", "EISDIR", "ENOTEMPTY", "EBADF", "EINVAL",
               "ENAMETOOLONG", "ELOOP", "EACCES", "EPERM", "ESPIPE", "EXDEV", "EMLINK", "ENOSYS",
               "EFBIG", "EOVERFLOW", "EFAULT", "EIO", "ENOSPC", "EROFS", "ENXIO", "EBUSY",
               "EMFILE", "ENOTSOCK", "ENOMEM", "ENOTCAPABLE", "ENOTSUP", "EOPNOTSUPP"]


def ename(e):
    if not e:
        return ""
    for n in ERRNO_NAMES:
        if n == "ENOTSUP" and getattr(errno, "ENOTSUP", None) == getattr(errno, "EOPNOTSUPP", None):
            continue
        if getattr(errno, n, None) == e:
            return n
    return "other"


def emit(check, **fields):
    sys.stdout.write(json.dumps({"probe": P, "check": check, "via": "python", **fields}) + "\n")
    sys.stdout.flush()


def op(check, name, ret, err=0, **fields):
    emit(check, op=name, ret=ret, errno=err if ret < 0 else 0,
         errno_name=ename(err) if ret < 0 else "", **fields)


def call(fn, *args, **kw):
    """(ret, errno) of one call: an int result is the return value, anything else is 0."""
    try:
        r = fn(*args, **kw)
    except OSError as e:
        return -1, e.errno or -1, None
    if isinstance(r, bool) or not isinstance(r, int):
        return 0, 0, r
    return r, 0, r


def lcg(n, seed):
    x = seed
    out = bytearray(n)
    for i in range(n):
        x = (x * 1103515245 + 12345) & 0xFFFFFFFF
        out[i] = x >> 24
    return bytes(out)


def put_file(path, data):
    pathlib.Path(path).write_bytes(data)


def head(path):
    """The first 64 bytes of a file, or b"" when it cannot be read: the op's own errno is the
    observation, the content only its evidence."""
    try:
        with open(path, "rb") as f:
            return f.read(64)
    except OSError:
        return b""


def type_name(m):
    for test, name in ((stat.S_ISREG, "regular"), (stat.S_ISDIR, "directory"),
                       (stat.S_ISLNK, "symlink"), (stat.S_ISFIFO, "fifo"),
                       (stat.S_ISSOCK, "socket"), (stat.S_ISCHR, "char"), (stat.S_ISBLK, "block")):
        if test(m):
            return name
    return "unknown"


def stat_op(name, fn, *args, **kw):
    try:
        st = fn(*args, **kw)
    except OSError as e:
        op("fs_meta", name, -1, e.errno or -1)
        return
    ms, mn = divmod(st.st_mtime_ns, 1_000_000_000)
    as_, an = divmod(st.st_atime_ns, 1_000_000_000)
    op("fs_meta", name, 0, type=type_name(st.st_mode), size=st.st_size, nlink=st.st_nlink,
       ino=st.st_ino, mtime_s=ms, mtime_ns=mn, atime_s=as_, atime_ns=an)


# ---- fs_meta: the stat family against the fixtures (before anything reads them: atime) ----
def meta():
    stat_op("stat:known.bin", os.stat, FX + "/known.bin")
    stat_op("stat:empty", os.stat, FX + "/empty")
    stat_op("stat:tree", os.stat, FX + "/tree")
    stat_op("lstat:link-to-known", os.lstat, FX + "/link-to-known")
    stat_op("stat:link-to-known", os.stat, FX + "/link-to-known")
    r, err, dfd = call(os.open, FX, os.O_RDONLY | os.O_DIRECTORY)
    if r < 0:
        op("fs_meta", "fstatat-nofollow:link-to-known", -1, err)
        op("fs_meta", "fstatat:tree/a/b/c.txt", -1, err)
    else:
        stat_op("fstatat-nofollow:link-to-known", os.stat, "link-to-known", dir_fd=dfd,
                follow_symlinks=False)
        stat_op("fstatat:tree/a/b/c.txt", os.stat, "tree/a/b/c.txt", dir_fd=dfd)
        os.close(dfd)
    r, err, fd = call(os.open, FX + "/known.bin", os.O_RDONLY)
    if r < 0:
        op("fs_meta", "fstat:known.bin", -1, err)
    else:
        stat_op("fstat:known.bin", os.fstat, fd)
        os.close(fd)

    # Explicit times to the nanosecond, as os.utime(ns=...) passes them to utimensat.
    put_file(W + "/times.txt", b"t")
    r, err, _ = call(os.utime, W + "/times.txt",
                     ns=(1_000_000_000_500_000_000, 1_234_567_890_123_456_789))
    op("fs_meta", "utimensat:times.txt", r, err)
    stat_op("stat:times.txt", os.stat, W + "/times.txt")
    # futimens(UTIME_OMIT, UTIME_NOW) has no Python spelling (declared in python::TWINS).

    # S_IFMT is a function in Python, not the mask: not reported.
    emit("fs_meta", op="constants", S_IFIFO=stat.S_IFIFO, S_IFCHR=stat.S_IFCHR,
         S_IFDIR=stat.S_IFDIR, S_IFBLK=stat.S_IFBLK, S_IFREG=stat.S_IFREG, S_IFLNK=stat.S_IFLNK,
         S_IFSOCK=stat.S_IFSOCK, O_DIRECTORY=os.O_DIRECTORY, O_NOFOLLOW=os.O_NOFOLLOW)


# ---- fs_io: the data path ----
DATA_BYTES = 100000
SPARSE_AT = 5 << 30


def io():
    data = lcg(DATA_BYTES, 11)
    total, err = 0, 0
    try:
        fd = os.open(W + "/data.bin", os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except OSError as e:
        fd, total, err = -1, -1, e.errno
    sizes = (1, 7, 4096, 65536, 3, 1000)
    i = 0
    while fd >= 0 and total < DATA_BYTES:
        n = min(sizes[i % 6], DATA_BYTES - total)
        i += 1
        try:
            w = os.write(fd, data[total:total + n])
        except OSError as e:
            total, err = -1, e.errno
            break
        if w <= 0:
            total = -1
            break
        total += w
    if fd >= 0:
        os.close(fd)
    op("fs_io", "write:data.bin", total, err)

    r, err, fd = call(os.open, W + "/data.bin", os.O_RDWR)
    if r < 0:
        fd = None
    for name, fn in (("pwrite:data.bin", lambda: os.pwrite(fd, b"PWRITE", 5000)),
                     ("tell-after-pwrite", lambda: os.lseek(fd, 0, os.SEEK_CUR))):
        r, e, _ = call(fn) if fd is not None else (-1, err, None)
        op("fs_io", name, r, e)
    r, e, six = call(os.pread, fd, 6, 5000) if fd is not None else (-1, err, None)
    op("fs_io", "pread:data.bin", len(six) if r == 0 else r, e, hex=(six or b"").hex())
    r, e, _ = call(os.lseek, fd, 0, os.SEEK_END) if fd is not None else (-1, err, None)
    op("fs_io", "seek-end", r, e)
    four = b""
    r, e, _ = call(os.lseek, fd, 10, os.SEEK_SET) if fd is not None else (-1, err, None)
    if r >= 0:
        r, e, four = call(os.read, fd, 4)
        r = len(four) if r == 0 else r
    op("fs_io", "seek-read", r, e, hex=(four or b"").hex(), expected_hex=data[10:14].hex())
    if fd is not None:
        os.close(fd)
    want = data[:5000] + b"PWRITE" + data[5006:]
    try:
        back = pathlib.Path(W + "/data.bin").read_bytes()
        op("fs_io", "read-back:data.bin", len(back), matches=back == want)
    except OSError as e:
        op("fs_io", "read-back:data.bin", -1, e.errno, matches=False)

    # O_APPEND (mode 'ab'), unbuffered so each write is one system call whose count is seen.
    r = -1
    try:
        with open(W + "/append.txt", "ab", buffering=0) as f:
            r = f.write(b"one\n")
            f.seek(0)
            r = f.write(b"two\n")
        e = 0
    except OSError as ex:
        e = ex.errno
    op("fs_io", "append", r, e, hex=head(W + "/append.txt").hex())

    put_file(W + "/trunc.txt", b"0123456789")
    r, e, fd = call(os.open, W + "/trunc.txt", os.O_WRONLY | os.O_TRUNC)
    if r >= 0:
        r, e, _ = call(os.write, fd, b"ab")
        os.close(fd)
    op("fs_io", "o_trunc", r, e)

    put_file(W + "/ftrunc.bin", lcg(1000, 13))
    r, e, fd = call(os.open, W + "/ftrunc.bin", os.O_RDWR)
    if r >= 0:
        r, e, _ = call(os.ftruncate, fd, 10)
        if r >= 0:
            r, e, _ = call(os.ftruncate, fd, 20)
        os.close(fd)
    op("fs_io", "ftruncate", r, e, hex=head(W + "/ftrunc.bin").hex())

    # The atomic-write idiom: a tempfile beside the target, synced, then os.replace'd into place.
    try:
        fd, tmp = tempfile.mkstemp(dir=W, prefix=".synced.", suffix=".tmp")
    except OSError as ex:
        op("fs_io", "fsync", -1, ex.errno)
        op("fs_io", "fdatasync", -1, ex.errno)
    else:
        blob = lcg(65536, 17)
        done = 0
        while done < len(blob):
            done += os.write(fd, blob[done:])
        r, e, _ = call(os.fsync, fd)
        op("fs_io", "fsync", r, e)
        r, e, _ = call(os.fdatasync, fd)
        op("fs_io", "fdatasync", r, e)
        os.close(fd)
        os.replace(tmp, W + "/synced.bin")

    # Offsets past 4 GiB: a 32-bit offset anywhere in the stack wraps here.
    r, err, fd = call(os.open, W + "/sparse.bin", os.O_CREAT | os.O_RDWR | os.O_TRUNC, 0o644)
    ok = r >= 0
    r, e, _ = call(os.pwrite, fd, b"END", SPARSE_AT) if ok else (-1, err, None)
    op("fs_io", "sparse-pwrite", r, e)
    r, e, _ = call(os.lseek, fd, 0, os.SEEK_END) if ok else (-1, err, None)
    op("fs_io", "sparse-size", r, e)
    r, e, end = call(os.pread, fd, 3, SPARSE_AT) if ok else (-1, err, None)
    op("fs_io", "sparse-pread", len(end) if r == 0 else r, e, hex=(end or b"").hex())
    r, e, _ = call(os.lseek, fd, (4 << 30) + 1, os.SEEK_SET) if ok else (-1, err, None)
    op("fs_io", "seek-past-4g", r, e)
    if ok:
        os.close(fd)


# ---- fs_dirs: the namespace ----
MANY = 1000


def tally(names, seen):
    dups = others = 0
    first_dup = ""
    for n in names:
        if len(n) == 5 and n[0] == "f" and n[1:].isdigit():
            k = int(n[1:])
            seen[k] += 1
            if seen[k] > 1:
                dups += 1
                first_dup = first_dup or n
        else:
            others += 1
    return dups, others, first_dup


def dirs():
    for name, fn, p in (("mkdir:d1", os.mkdir, W + "/d1"), ("mkdir:d1/sub", os.mkdir, W + "/d1/sub"),
                        ("rmdir:d1/sub", os.rmdir, W + "/d1/sub")):
        r, e, _ = call(fn, p)
        op("fs_dirs", name, r, e)

    # 1 000 entries: more than one fd_readdir buffer, so cookies carry the listing. Listed with
    # os.scandir and again with os.listdir (each opens the directory afresh: Python has no
    # rewinddir, telldir or seekdir, declared in python::TWINS).
    many = pathlib.Path(W + "/many")
    call(many.mkdir)
    created = 0
    for i in range(MANY):
        try:
            (many / f"f{i:04d}").touch()
            created += 1
        except OSError:
            pass
    try:
        with os.scandir(many) as it:
            names = [e.name for e in it]
        listed = os.listdir(many)
        r, derr = len(names), 0
    except OSError as ex:
        names, listed, r, derr = [], [], -1, ex.errno
    seen = [0] * MANY
    dups, others, first_dup = tally(names, seen)
    seen2 = [0] * MANY
    dups2, others2, first_dup2 = tally(listed, seen2)
    missing = sum(1 for i in range(MANY) if not seen[i] or not seen2[i])
    op("fs_dirs", "readdir-1000", r, derr, created=created, entries=len(names),
       duplicates=dups + dups2, missing=missing, others=others + others2,
       dot_entries=None, first_duplicate=first_dup or first_dup2,
       listdir_entries=len(listed), how="os.scandir + os.listdir")

    for d in ("r", "r2", "r/dir1"):
        os.mkdir(W + "/" + d)
    put_file(W + "/r/dir1/in", b"in")
    put_file(W + "/r/a", b"A")
    # shutil.copy makes r/c; the rename chain carries its bytes to r2/moved, checked on the host.
    src = pathlib.Path(tempfile.mkdtemp(dir=W)) / "c-src"
    src.write_bytes(b"C-content")
    shutil.copy(src, W + "/r/c")
    shutil.rmtree(src.parent)
    for name, fn, a, b in (("rename-file", os.rename, "r/a", "r/b"),
                           ("rename-dir", os.rename, "r/dir1", "r/dir2"),
                           ("rename-over", os.replace, "r/c", "r/b"),
                           ("rename-across", os.rename, "r/b", "r2/moved")):
        r, e, _ = call(fn, W + "/" + a, W + "/" + b)
        op("fs_dirs", name, r, e)

    put_file(W + "/u", b"u")
    r, e, _ = call(os.unlink, W + "/u")
    op("fs_dirs", "unlink", r, e)

    put_file(W + "/l1", b"L")
    r, e, _ = call(os.link, W + "/l1", W + "/l2")
    try:
        nlink = os.stat(W + "/l1").st_nlink
    except OSError:
        nlink = -1
    op("fs_dirs", "link", r, e, nlink=nlink)

    r, e, _ = call(os.symlink, "target-text", W + "/s")
    try:
        text = os.readlink(W + "/s")
    except OSError:
        text = ""
    op("fs_dirs", "symlink", r, e, readlink=text)

    try:
        p = str(pathlib.Path(W + "/../work/./d1").resolve(strict=True))
        op("fs_dirs", "realpath", 0, path=p, available=True, how="pathlib.Path.resolve")
    except OSError as ex:
        op("fs_dirs", "realpath", -1, ex.errno, path="", available=True,
           how="pathlib.Path.resolve")

    r, cerr, _ = call(os.chdir, W)
    try:
        cwd = os.getcwd()
    except OSError:
        cwd = ""
    try:
        with open("rel.txt", "wb") as f:
            f.write(b"rel")
        rel = True
    except OSError:
        rel = False
    op("fs_dirs", "chdir", r, cerr, getcwd=cwd, relative_open=rel)
    call(os.chdir, "/")

    uni = W + "/ünïcødé-ζ-😀.txt"
    r, e, _ = call(put_file, uni, b"u")
    st, _, _ = call(os.stat, uni)
    op("fs_dirs", "unicode-name", r, e, stat=st)

    long = "n" * 251 + ".txt"
    r, e, _ = call(put_file, W + "/" + long, b"l")
    op("fs_dirs", "name-255", r, e, length=len(long.encode()))


# ---- fs_errno: every failure path, with the errno the guest sees ----
def err_case(name, fn, *args, **kw):
    r, e, v = call(fn, *args, **kw)
    if r >= 0 and hasattr(v, "close"):
        v.close()
    elif r > 2 and fn is os.open:
        os.close(r)
    op("fs_errno", name, r, e)


def errnos():
    known = FX + "/known.bin"
    err_case("missing", open, FX + "/missing", "rb")
    err_case("excl-existing", open, known, "xb")
    err_case("file-as-dir", open, known + "/x", "rb")
    # os.open, not open(): open() fstat()s and raises EISDIR itself, hiding what the runtime did.
    err_case("write-dir", os.open, FX + "/tree", os.O_WRONLY)
    err_case("rmdir-nonempty", os.rmdir, FX + "/tree")
    err_case("close-bad", os.close, 987)
    err_case("read-bad", os.read, 987, 1)
    r, e, fd = call(os.open, known, os.O_RDONLY)
    for name, fn in (("lseek-negative", lambda: os.lseek(fd, -10, os.SEEK_SET)),
                     ("ftruncate-readonly", lambda: os.ftruncate(fd, 0)),
                     ("write-readonly", lambda: os.write(fd, b"x"))):
        if r < 0:
            op("fs_errno", name, -2, e)
        else:
            err_case(name, fn)
    if r >= 0:
        os.close(fd)
    err_case("name-256", os.open, W + "/" + "n" * 256, os.O_CREAT | os.O_WRONLY, 0o644)
    err_case("loop", open, FX + "/loop1", "rb")
    err_case("nofollow", os.open, FX + "/link-to-known", os.O_RDONLY | os.O_NOFOLLOW)
    err_case("directory-flag", os.open, known, os.O_RDONLY | os.O_DIRECTORY)
    err_case("unlink-dir", os.unlink, FX + "/tree")
    err_case("rmdir-file", os.rmdir, known)
    err_case("mkdir-existing", os.mkdir, FX + "/tree")
    err_case("dangling", open, FX + "/dangling", "rb")
    err_case("outside-preopens", open, "/nowhere/x", "rb")
    err_case("readlink-nonlink", os.readlink, known)
    os.mkdir(W + "/edir")
    err_case("rename-into-self", os.rename, W + "/edir", W + "/edir/sub")


# ---- fs_escape: attempts to leave the preopen; every one must fail ----
def attempt(name, fn, read=False, **extra):
    try:
        h = fn()
    except OSError as e:
        op("fs_escape", name, -1, e.errno or -1, **extra)
        return
    leaked = b""
    fd = h if isinstance(h, int) and not isinstance(h, bool) else (
        h.fileno() if hasattr(h, "fileno") else 0)
    try:
        if read and hasattr(h, "read"):
            leaked = h.read(64)
        elif read and isinstance(h, int):
            leaked = os.read(h, 64)
    except OSError:
        pass
    fields = dict(extra)
    if leaked:
        fields["leaked_hex"] = leaked.hex()
    op("fs_escape", name, fd, **fields)
    if hasattr(h, "close"):
        h.close()
    elif isinstance(h, int) and not isinstance(h, bool) and h > 2:
        os.close(h)


def write_pwned(path):
    fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
    try:
        os.write(fd, b"pwned")
    except OSError:
        pass
    return fd


def escapes():
    try:
        up = os.readlink("/scratch/escape/up")
        op("fs_escape", "fixture-visible", len(up.encode()), up=up)
    except OSError as e:
        op("fs_escape", "fixture-visible", -1, e.errno, up="")

    secret = "/scratch/../outside/secret.txt"
    attempt("dotdot-open", lambda: open(secret, "rb"), read=True)
    attempt("dotdot-write", lambda: write_pwned(secret))
    attempt("dotdot-create", lambda: open("/scratch/../pwned.txt", "wb"))
    attempt("dotdot-mkdir", lambda: os.mkdir("/scratch/../pwned-dir"))
    attempt("absolute-outside", lambda: open("/outside/secret.txt", "rb"), read=True)
    attempt("absolute-etc-passwd", lambda: open("/etc/passwd", "rb"), read=True)
    attempt("symlink-dir-open", lambda: open("/scratch/escape/up/secret.txt", "rb"), read=True)
    attempt("symlink-file-open", lambda: open("/scratch/escape/file", "rb"), read=True)
    attempt("symlink-file-write", lambda: write_pwned("/scratch/escape/file"))
    attempt("symlink-dir-stat", lambda: os.stat("/scratch/escape/up/secret.txt") and 0)
    try:
        names = os.listdir("/scratch/escape/up")
        op("fs_escape", "symlink-dir-readdir", 0, leaked_names="".join(n + "/" for n in names))
    except OSError as e:
        op("fs_escape", "symlink-dir-readdir", -1, e.errno)
    attempt("symlink-dir-create", lambda: open("/scratch/escape/up/pwned", "wb"))
    attempt("symlink-absolute-open", lambda: open("/scratch/escape/abs/secret.txt", "rb"),
            read=True)

    # shutil.move is how Python moves a file: os.rename, then copy-and-delete if that fails, so
    # both routes out are tried.
    put_file(W + "/victim", b"v")
    attempt("rename-out", lambda: shutil.move(W + "/victim", "/scratch/../victim") and 0,
            how="shutil.move")
    attempt("rename-through-symlink",
            lambda: shutil.move(W + "/victim", "/scratch/escape/up/victim") and 0,
            how="shutil.move")
    attempt("link-out", lambda: os.link(W + "/victim", "/scratch/../victim-link"))
    attempt("link-through-symlink",
            lambda: os.link(W + "/victim", "/scratch/escape/up/victim-link"))

    r, e, dfd = call(os.open, W, os.O_RDONLY | os.O_DIRECTORY)
    if r < 0:
        op("fs_escape", "openat-dotdot", -1, e)
        op("fs_escape", "openat-dotdot-dir", -1, e)
    else:
        attempt("openat-dotdot",
                lambda: os.open("../../outside/secret.txt", os.O_RDONLY, dir_fd=dfd), read=True)
        attempt("openat-dotdot-dir",
                lambda: os.open("../..", os.O_RDONLY | os.O_DIRECTORY, dir_fd=dfd))
        os.close(dfd)

    # Making a symlink whose text points out is allowed (it is only text); following it is not.
    r, e, _ = call(os.symlink, "../../outside", W + "/myup")
    op("fs_escape", "guest-symlink-made", r, e)
    attempt("guest-symlink-open", lambda: open(W + "/myup/secret.txt", "rb"), read=True)

    cr, cerr, _ = call(os.chdir, "/scratch/..")
    op("fs_escape", "chdir-dotdot", cr, cerr)
    if cr == 0:
        attempt("chdir-dotdot-open", lambda: open("outside/secret.txt", "rb"), read=True)
    else:
        op("fs_escape", "chdir-dotdot-open", -1, cerr)
    call(os.chdir, "/")

    # Python's own helpers over the same links. Every `attempt` must fail; shutil.rmtree of a
    # tree holding a link out must succeed and leave the sentinel alone (the host compares it).
    attempt("py-shutil-copy-in", lambda: shutil.copy("/scratch/escape/file", W + "/leak") and 0,
            attempt=True)
    attempt("py-shutil-copy-out",
            lambda: shutil.copy(W + "/l1", "/scratch/escape/up/copied") and 0, attempt=True)
    attempt("py-pathlib-read",
            lambda: pathlib.Path("/scratch/escape/abs/dir/inner.txt").read_bytes() and 0,
            attempt=True)
    attempt("py-tempfile-in-link",
            lambda: tempfile.mkstemp(dir="/scratch/escape/up") and 0, attempt=True)
    attempt("py-rmtree-link", lambda: shutil.rmtree("/scratch/escape/up") or 0, attempt=True)
    made = [call(os.makedirs, W + "/rt/inner")[0],
            call(os.symlink, "../../../../outside", W + "/rt/inner/up")[0],
            call(os.symlink, "/scratch/escape/up", W + "/rt/up2")[0]]
    r, e, _ = call(shutil.rmtree, W + "/rt")
    op("fs_escape", "py-rmtree-tree-with-links", r, e, links_made=sum(1 for m in made[1:] if m == 0))


# ---- fs_fds: what Python can reach (stdin/stdout seeks) ----
def fds():
    for name, fd in (("seek-stdin", 0), ("seek-stdout", 1)):
        r, e, _ = call(os.lseek, fd, 0, os.SEEK_CUR)
        op("fs_fds", name, r, e)


def whence():
    r, e, fd = call(os.open, FX + "/known.bin", os.O_RDONLY)
    if r < 0:
        op("fs_errno", "lseek-whence", -2, e)
    else:
        err_case("lseek-whence", os.lseek, fd, 0, 99)


def main():
    if sys.argv[1:2] == ["whence"]:
        whence()
        return
    r, e, _ = call(os.mkdir, W)
    op("fs_io", "setup", r, e)
    meta()
    io()
    dirs()
    errnos()
    escapes()
    fds()
    emit("fs_io", op="done")


main()
