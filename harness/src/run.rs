//! Orchestration: matrix → provision → build → run → check → report, in three parts —
//! `plan` (what will run), `execute` (the run), `case` (one probe run and its verdicts) —
//! under the one path the binary and the tests use.

pub use crate::case::*;
pub use crate::execute::*;
pub use crate::plan::*;
pub use wasiprobe_checks::protocol::{SCRATCH_DIR, SCRATCH_GUEST};
