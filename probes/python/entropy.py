"""entropy (Python twin): the randomness CPython on WASI hands out — os.urandom, secrets,
and random's seeding — printed in the probe protocol (../PROTOCOL.md). Runs once a CPython
binary is configured for the harness; `entropy.py prefix` prints only the first draws, for the
cross-run comparison (two processes must not agree)."""
import json
import os
import random
import secrets
import sys

P = "entropy"


def emit(check, **fields):
    sys.stdout.write(json.dumps({"probe": P, "check": check, **fields}) + "\n")


def prefix():
    emit("entropy_cross_run", what="prefix", source="os.urandom", errno=0, hex=os.urandom(32).hex())
    emit("entropy_cross_run", what="prefix", source="secrets", errno=0, hex=secrets.token_bytes(32).hex())
    # random seeds itself from os.urandom at import; two processes must not share a stream.
    emit("entropy_cross_run", what="prefix", source="random", errno=0,
         hex=random.getrandbits(256).to_bytes(32, "little").hex())


def stream(source, draw, total, file):
    path = os.path.join("/scratch", file)
    err = 0
    done = 0
    try:
        with open(path, "wb") as f:
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
    stream("os.urandom", os.urandom, total, "os_urandom.bin")
    stream("secrets", secrets.token_bytes, 1 << 20, "secrets.bin")


if __name__ == "__main__":
    main()
