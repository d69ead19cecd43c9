//! The verdict of one cell.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Pass,
    Fail,
    /// The harness could not produce the cell (e.g. the probe did not compile with this SDK).
    Error,
    /// The runtime cannot run this cell (a capability it lacks), with the reason.
    Skip,
    /// The SDK or runtime is not present on this machine, with the reason.
    Unavailable,
    Timeout,
    Oom,
    OutputLimit,
    Trap,
    /// The runtime itself died.
    Crash,
    /// The guest reached outside its sandbox (read, wrote or listed what it must not see).
    Security,
}

impl Verdict {
    /// Verdicts that make `wasiprobe run` exit 1: the platform did something wrong or the
    /// probe could not even be built or run to completion.
    pub fn is_failure(self) -> bool {
        !matches!(self, Verdict::Pass | Verdict::Skip | Verdict::Unavailable)
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Error => "error",
            Verdict::Skip => "skip",
            Verdict::Unavailable => "unavailable",
            Verdict::Timeout => "timeout",
            Verdict::Oom => "oom",
            Verdict::OutputLimit => "output-limit",
            Verdict::Trap => "trap",
            Verdict::Crash => "crash",
            Verdict::Security => "security",
        }
    }
}
