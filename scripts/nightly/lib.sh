# shellcheck shell=sh
# Sourced by the scripts beside it: the paths and the build they share, so that a local run and
# the workflow's jobs name the same directories and the same binary.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
: "${WASIPROBE_CACHE:=${HOME:-/root}/.cache/wasiprobe}"
export WASIPROBE_CACHE
# The number of shards of each runtime row; the workflow's matrix and `merge` must agree.
: "${NIGHTLY_SHARDS:=4}"
# Where a job leaves what it hands on (report dirs, history, site): under act there are no
# artifacts, so every job of a local run reads and writes this one directory.
: "${NIGHTLY_OUT:=$ROOT/nightly-out}"
# Extra `wasiprobe run` arguments, the same for every shard (merge refuses shards of different
# options), e.g. NIGHTLY_RUN_ARGS=--no-native for a quicker local run.
: "${NIGHTLY_RUN_ARGS:=}"

# The cargo feature that builds a runtime row in; wasmtime is embedded in every build.
features_of() {
    case "$1" in
        wasmtime) echo "" ;;
        *) echo "$1" ;;
    esac
}

# Builds wasiprobe with the row's feature and sets BIN. `--locked`: a nightly measures the
# committed Cargo.lock, never whatever resolves that night.
build() {
    f=$(features_of "$1")
    cargo build --release --locked -p wasiprobe ${f:+--features "$f"}
    BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/wasiprobe"
}

now() { date +%s; }
