//! Judging one run against its test: exit code, output, what differed.

use super::*;
use wasiprobe_runtimes::{Limits, Outcome, Termination};

/// Compares a finished run with its plan, walking its operations in order: each read takes
/// the next characters of its stream, `wait` checks the exit code. Every difference is listed,
/// where the reference stops at the first failing operation: the verdict is the same, the report
/// says more.
///
/// `kill` on a runtime without a live process: the run was given a short wall limit (see
/// `execute.rs`), and a guest still running at its end counts as killed by the signal, with
/// Python's `returncode` for it (minus the signal number).
pub fn judge(plan: &RunPlan, o: &Outcome, limits: &Limits, exact: bool) -> Vec<Difference> {
    let mut diffs = Vec::new();
    let code: Option<i64> = match &o.termination {
        Termination::Exited { code } => Some(i64::from(*code)),
        Termination::Timeout if plan.kill().is_some() => plan.kill().map(|s| -i64::from(s)),
        Termination::Trap { message } => {
            diffs.push(Difference::Trap {
                message: first_line(message),
            });
            None
        }
        Termination::Timeout => {
            diffs.push(Difference::Timeout {
                wall_ms: limits.wall.as_millis(),
            });
            None
        }
        Termination::Oom { requested_bytes } => {
            diffs.push(Difference::Oom {
                requested_bytes: *requested_bytes,
            });
            None
        }
        Termination::OutputLimit { stream } => {
            diffs.push(Difference::OutputLimit {
                stream: stream.clone(),
            });
            None
        }
        Termination::Crash { message } => {
            diffs.push(Difference::Crash {
                message: first_line(message),
            });
            None
        }
        Termination::LoadError { message } => {
            diffs.push(Difference::LoadError {
                message: first_line(message),
            });
            None
        }
    };
    let mut reads = Reads::new([text_mode(&o.stdout), text_mode(&o.stderr)]);
    for op in &plan.ops {
        match op {
            Op::Read(id, expected) => {
                if let Some(d) = reads.next(*id, expected) {
                    diffs.push(d);
                }
            }
            Op::Wait(expected) => {
                if let Some(got) = code {
                    if got != *expected {
                        diffs.push(Difference::ExitCode {
                            expected: *expected,
                            got,
                        });
                    }
                }
            }
            Op::Write(_) | Op::Kill { .. } => {}
            Op::Connect(_) | Op::Send(..) | Op::Recv(..) => diffs.push(Difference::Setup {
                message: "network operations need a live process".into(),
            }),
        }
    }
    if exact {
        diffs.extend(reads.leftovers());
    }
    diffs
}

/// The reads of one run: what each stream holds, how far reads have taken it, and whether a
/// read of it already failed (later reads of a failed stream are not reported again).
pub(crate) struct Reads {
    text: [Vec<char>; 2],
    pos: [usize; 2],
    failed: [bool; 2],
    read: [bool; 2],
}

impl Reads {
    pub(crate) fn new(text: [String; 2]) -> Self {
        Reads {
            text: text.map(|t| t.chars().collect()),
            pos: [0, 0],
            failed: [false, false],
            read: [false, false],
        }
    }

    /// Checks the next `expected.len()` characters of `id`.
    pub(crate) fn next(&mut self, id: StreamId, expected: &str) -> Option<Difference> {
        let i = id as usize;
        self.read[i] = true;
        if self.failed[i] {
            return None;
        }
        let rest = &self.text[i][self.pos[i]..];
        let want: Vec<char> = expected.chars().collect();
        let n = want.len();
        if rest.len() >= n && rest[..n] == want[..] {
            self.pos[i] += n;
            return None;
        }
        self.failed[i] = true;
        let at = rest
            .iter()
            .zip(&want)
            .position(|(a, b)| a != b)
            .unwrap_or(rest.len().min(n));
        Some(output_diff(id, "prefix", self.pos[i], at, &want, rest))
    }

    /// `--exact-output`: what the reads of a stream did not consume must be empty; a stream
    /// with no read is not checked, as in the reference.
    pub(crate) fn leftovers(&self) -> Vec<Difference> {
        let mut v = Vec::new();
        for (i, id) in [StreamId::Stdout, StreamId::Stderr].into_iter().enumerate() {
            if !self.read[i] || self.failed[i] {
                continue;
            }
            let rest = &self.text[i][self.pos[i]..];
            if !rest.is_empty() {
                v.push(output_diff(id, "exact", self.pos[i], 0, &[], rest));
            }
        }
        v
    }
}

pub(crate) fn output_diff(
    stream: StreamId,
    mode: &'static str,
    base: usize,
    at: usize,
    want: &[char],
    got: &[char],
) -> Difference {
    // An excerpt around the first difference, so a long output stays one readable line.
    const BEFORE: usize = 20;
    const AFTER: usize = 60;
    let from = at.saturating_sub(BEFORE);
    let cut = |v: &[char]| -> String {
        let end = (at + AFTER).min(v.len());
        let mut s: String = v[from.min(v.len())..end].iter().collect();
        if from > 0 {
            s.insert(0, '…');
        }
        if end < v.len() {
            s.push('…');
        }
        s
    };
    Difference::Output {
        stream,
        mode,
        offset: base + at,
        expected: cut(want),
        got: cut(got),
    }
}

/// Python's text mode as the reference reads output: lossy here where Python would raise, and
/// universal newlines (`\r\n` and `\r` become `\n`).
pub(crate) fn text_mode(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .replace("\r\n", "\n")
        .replace('\r', "\n")
}

pub(crate) fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").to_string()
}
