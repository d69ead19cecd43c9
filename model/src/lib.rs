//! The nouns of wasiprobe, shared by every stage: what `sdk-matrix.toml` declares, what
//! provisioning found, what a guest run is given and how it ended, and what `report.json`
//! holds. Serde types and pure functions only: nothing here reads a file or runs a tool, so
//! every stage can depend on it and it depends on none.

pub mod cli;
pub mod dark;
pub mod libc;
pub mod python;
pub mod report;
pub mod run;
pub mod sdk;
pub mod usage;
pub mod verdict;

pub use report::{Cell, Report, Verdict, SCHEMA_VERSION};
pub use run::{
    Capabilities, HostEnv, Injection, Limits, Outcome, Preopen, RunSpec, Termination, Unavailable,
};
pub use sdk::{Kind, Provisioned, SdkSpec};
