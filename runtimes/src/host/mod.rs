//! What every embedded runtime must do around a guest, written once: keep its output under a
//! cap, count its open files, bound its memories and tables, decide how it ended when more
//! than one limit tripped, and compile each module once. The engines (`wasmtime_rt`, `wasmi_rt`, `wasmer_rt`) only adapt these
//! to their own host-function and limiter APIs, so a limit means the same on every row.

pub mod calls;
pub mod ending;
pub mod fds;
pub mod memory;
pub mod modules;
pub mod output;
pub mod poll;
pub mod watchdog;

pub use ending::Stops;
pub use fds::{FdBudget, ERRNO_MFILE};
pub use memory::MemoryBudget;
pub use modules::{compile_then_run, ModuleCache};
pub use output::CappedBuf;
