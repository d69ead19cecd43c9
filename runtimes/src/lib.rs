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
pub mod host;
pub mod inject;
pub mod live;
pub mod process;
pub mod registry;

/// Declares each runtime's module (a stand-in that says how to build it when its cargo feature
/// is off) and the registry's list, in report order.
macro_rules! runtimes {
    ($($name:literal => $module:ident $(if $feature:literal $(else $why:expr)?)?),* $(,)?) => {
        $(runtimes!(@module $name, $module $(, $feature $(, $why)?)?);)*
        /// Every built-in runtime, in report order (see [`registry`]).
        pub const RUNTIMES: &[registry::Entry] = &[$($module::ENTRY),*];
    };
    (@module $name:literal, $module:ident) => {
        pub mod $module;
    };
    (@module $name:literal, $module:ident, $feature:literal $(, $why:expr)?) => {
        #[cfg(feature = $feature)]
        pub mod $module;
        #[cfg(not(feature = $feature))]
        pub mod $module {
            pub const ENTRY: crate::registry::Entry =
                crate::registry::Entry::not_built($name, $feature, runtimes!(@why $($why)?));
        }
    };
    (@why) => { None };
    (@why $why:expr) => { Some($why) };
}

runtimes! {
    "wasmtime" => wasmtime_rt,
    "wasmer" => wasmer_rt if "wasmer",
    "wasmi" => wasmi_rt if "wasmi",
    "wamr" => wamr_rt if "wamr",
    "node" => node_rt,
    "chromium" => chromium_rt if "chromium",
    "chromium-isolated" => chromium_isolated_rt if "chromium",
    "wasmedge" => wasmedge_rt if "wasmedge" else crate::WASMEDGE_WITHOUT,
}

/// Why the embedded WasmEdge is missing: its feature needs a native library.
const WASMEDGE_WITHOUT: &str = "this wasiprobe was built without the `wasmedge` feature, which \
    needs the native libwasmedge, not obtainable from the package registries reachable here; a \
    `wasmedge` CLI on PATH can be run as a `[[runtime]] kind = \"command\"` (see sdk-matrix.toml)";

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
    /// [`Runtime::run`], with the phases of the run the runtime can time on its own (name →
    /// milliseconds since the guest's start, or a byte count for names ending in `_bytes`):
    /// a browser, for one, knows when the module was fetched and compiled and when the guest
    /// first wrote to stdout. Empty for runtimes that time nothing but the whole run.
    fn run_phases(
        &self,
        module: &Path,
        spec: &RunSpec,
    ) -> anyhow::Result<(Outcome, std::collections::BTreeMap<String, f64>)> {
        Ok((self.run(module, spec)?, Default::default()))
    }
}
