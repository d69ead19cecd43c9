//! How a guest ended when a limit tripped. A limit stops a guest by making it trap (or by
//! killing its process), so the trap itself says nothing: the flags the host set say why. The
//! order is fixed for every runtime: output limit, then memory, then time.

use crate::Termination;

/// What the host observed while the guest ran.
#[derive(Debug, Default, Clone, Copy)]
pub struct Stops {
    pub stdout_over: bool,
    pub stderr_over: bool,
    /// Total bytes asked for when the memory budget refused them.
    pub denied_bytes: Option<u64>,
    pub timed_out: bool,
}

impl Stops {
    /// The termination a tripped limit decides, or None when the guest's own end stands.
    pub fn termination(&self) -> Option<Termination> {
        if self.stdout_over {
            return Some(Termination::OutputLimit {
                stream: "stdout".into(),
            });
        }
        if self.stderr_over {
            return Some(Termination::OutputLimit {
                stream: "stderr".into(),
            });
        }
        if let Some(requested) = self.denied_bytes {
            return Some(Termination::Oom {
                requested_bytes: requested,
            });
        }
        if self.timed_out {
            return Some(Termination::Timeout);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_beats_memory_beats_time() {
        let all = Stops {
            stdout_over: false,
            stderr_over: true,
            denied_bytes: Some(1),
            timed_out: true,
        };
        assert!(matches!(
            all.termination(),
            Some(Termination::OutputLimit { stream }) if stream == "stderr"
        ));
        let mem = Stops {
            stderr_over: false,
            ..all
        };
        assert!(matches!(mem.termination(), Some(Termination::Oom { .. })));
        let time = Stops {
            denied_bytes: None,
            ..mem
        };
        assert_eq!(time.termination(), Some(Termination::Timeout));
        assert_eq!(Stops::default().termination(), None);
    }
}
