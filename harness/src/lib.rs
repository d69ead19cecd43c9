//! wasiprobe: builds C probes with every WASI toolchain of a matrix, runs them on Wasm
//! runtimes, judges what they observed, and reports. See ARCHITECTURE.md for the flow.

pub mod bench;
pub mod bench_testsuite;
pub mod runtime_fetch;
// The toolchains stage, under the paths the harness has always used.
pub use wasiprobe_checks::{self as checks, protocol};
pub use wasiprobe_reports::{json as report, render};
pub use wasiprobe_toolchains::{apt, build, libc, matrix, provision, stubs, symbols};
pub mod case;
pub mod dark;
pub mod execute;
pub mod plan;
pub mod progress;
pub mod python;
mod resume;
pub mod run;
pub mod shard;
pub mod testsuite;

/// Exit statuses of the `wasiprobe` binary.
pub mod exit {
    /// Every cell passed (or was honestly skipped / unavailable).
    pub const OK: i32 = 0;
    /// At least one conformance failure (fail, error, timeout, oom, output-limit, trap, crash).
    pub const FAILURES: i32 = 1;
    /// Usage or environment error: bad flags or names, a malformed matrix, a requested SDK that
    /// is unavailable, nothing that could be run.
    pub const USAGE: i32 = 2;
    /// Stopped by SIGINT or SIGTERM (128 + SIGINT, the shell's convention): the report on disk,
    /// if any, is the partial one, and a rerun with the same `--out` resumes it.
    pub const SIGNALLED: i32 = 130;

    /// [`FAILURES`] when there were any, else [`OK`].
    pub fn failures_if(any: bool) -> i32 {
        if any {
            FAILURES
        } else {
            OK
        }
    }
}
