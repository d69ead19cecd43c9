"""entropy (Python twin of probes/c/entropy.c): the randomness CPython on WASI hands out —
os.urandom, secrets and random's self-seeding — in the probe protocol (../PROTOCOL.md), judged
by the same entropy checks. Streams go to files in /scratch named SOURCE.bin (the cross-run
check compares a stream's start with the prefix drawn first). `prefix` as the first argument
prints only the first draws, for the second process of the cross-run check."""
import json
import os
import random
import secrets
import sys

P = "entropy"


def emit(check, **fields):
    sys.stdout.write(json.dumps({"probe": P, "check": check, **fields}) + "\n")
    sys.stdout.flush()


def draw_random(k):
    # random seeds itself from os.urandom at import: a fixed host seed shows here as well.
    return random.getrandbits(8 * k).to_bytes(k, "little") if k else b""


SOURCES = {
    "os.urandom": os.urandom,
    "secrets": secrets.token_bytes,
    "random": draw_random,
}


def prefix():
    for name, draw in SOURCES.items():
        try:
            emit("entropy_cross_run", what="prefix", source=name, errno=0, hex=draw(32).hex())
        except OSError as e:
            emit("entropy_cross_run", what="prefix", source=name, errno=e.errno or -1)


def stream(source, draw, total):
    file = source + ".bin"
    err = 0
    done = 0
    try:
        with open(os.path.join("/scratch", file), "wb") as f:
            while done < total:
                k = min(65536, total - done)
                f.write(draw(k))
                done += k
    except OSError as e:
        err = e.errno or -1
    emit("entropy_sp800_22", what="stream", source=source, file=file, bytes=done, errno=err)


def main():
    if sys.argv[1:2] == ["prefix"]:
        prefix()
        return
    total = int(os.environ.get("WASIPROBE_ENTROPY_BYTES", "12500000"))
    prefix()
    stream("os.urandom", os.urandom, total)
    stream("secrets", secrets.token_bytes, 1 << 20)
    stream("random", draw_random, 1 << 20)


main()
