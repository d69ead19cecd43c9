//! What the runtime tests share.

use wasiprobe_runtimes::{Outcome, RunSpec, Runtime};

/// Runs `wasm` (a module's bytes, or WAT text for a runtime that reads it) on `rt` from a file
/// of its own, as every runtime takes a guest. An error is the runtime's own failure.
pub fn run(rt: &dyn Runtime, wasm: impl AsRef<[u8]>, spec: &RunSpec) -> anyhow::Result<Outcome> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("guest.wasm");
    std::fs::write(&path, wasm).unwrap();
    rt.run(&path, spec)
}
