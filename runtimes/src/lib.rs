//! The one abstraction every Wasm runtime sits behind.
//!
//! A runtime takes a compiled probe (`.wasm` on disk) and a [`RunSpec`] and returns an
//! [`Outcome`]. It never judges: judging is the harness's job. It must enforce the limits in
//! the spec (or say in [`Capabilities`] which it cannot), because probes are untrusted.

use std::path::Path;

// The run nouns live in the model crate, which the checks and reports share without depending
// on any engine; they are re-exported here because every runtime speaks them.
pub use wasiprobe_model::run::{
    all_limits, Capabilities, HostEnv, Injection, Limits, Outcome, Preopen, RunSpec, Termination,
    Unavailable, ALL_LIMITS,
};

pub mod adapter;
pub mod adapter_module;
pub mod cli_rt;
pub mod count;
pub mod inject;
pub mod live;
pub mod node_rt;
pub mod process;
#[cfg(feature = "wamr")]
pub mod wamr_rt;
#[cfg(feature = "wasmedge")]
pub mod wasmedge_rt;
#[cfg(feature = "wasmer")]
pub mod wasmer_rt;
#[cfg(feature = "wasmi")]
pub mod wasmi_rt;
pub mod wasmtime_rt;

pub use cli_rt::{CliKind, CliRuntime, CliSpec};
pub use node_rt::NodeRuntime;
#[cfg(feature = "wamr")]
pub use wamr_rt::WamrRuntime;
#[cfg(feature = "wasmer")]
pub use wasmer_rt::WasmerRuntime;
#[cfg(feature = "wasmi")]
pub use wasmi_rt::WasmiRuntime;
pub use wasmtime_rt::{WasmtimeRuntime, CODE_CACHE_MIN_BYTES};

pub trait Runtime: Send + Sync {
    fn name(&self) -> &str;
    fn version(&self) -> String;
    fn capabilities(&self) -> Capabilities;
    /// Run `module` to completion under `spec`. Errors are for the harness's own failures
    /// (e.g. a worker that cannot be started); anything the guest does is an [`Outcome`].
    fn run(&self, module: &Path, spec: &RunSpec) -> anyhow::Result<Outcome>;
}
