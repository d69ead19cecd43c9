//! Judging one run against its test: exit code, output, what differed.

use super::*;
use wasiprobe_runtimes::{Limits, Outcome, Termination};

/// Compares a run with its plan. Every difference is listed, where the reference stops at the
/// first failing operation: the verdict is the same, the report says more.
pub fn judge(plan: &RunPlan, o: &Outcome, limits: &Limits, exact: bool) -> Vec<Difference> {
    let mut diffs = Vec::new();
    match &o.termination {
        Termination::Exited { code } => {
            if i64::from(*code) != plan.exit_code {
                diffs.push(Difference::ExitCode {
                    expected: plan.exit_code,
                    got: i64::from(*code),
                });
            }
        }
        Termination::Trap { message } => diffs.push(Difference::Trap {
            message: first_line(message),
        }),
        Termination::Timeout => diffs.push(Difference::Timeout {
            wall_ms: limits.wall.as_millis(),
        }),
        Termination::Oom { requested_bytes } => diffs.push(Difference::Oom {
            requested_bytes: *requested_bytes,
        }),
        Termination::OutputLimit { stream } => diffs.push(Difference::OutputLimit {
            stream: stream.clone(),
        }),
        Termination::Crash { message } => diffs.push(Difference::Crash {
            message: first_line(message),
        }),
        Termination::LoadError { message } => diffs.push(Difference::LoadError {
            message: first_line(message),
        }),
    }
    let mut streams = [
        (StreamId::Stdout, text_mode(&o.stdout), 0usize),
        (StreamId::Stderr, text_mode(&o.stderr), 0usize),
    ];
    let mut failed = [false, false];
    for (id, expected) in &plan.reads {
        let i = *id as usize;
        if failed[i] {
            continue;
        }
        let (_, got, pos) = &mut streams[i];
        let rest: Vec<char> = got.chars().skip(*pos).collect();
        let want: Vec<char> = expected.chars().collect();
        let n = want.len();
        let ok = rest.len() >= n && rest[..n] == want[..];
        if ok {
            *pos += n;
            continue;
        }
        failed[i] = true;
        let at = rest
            .iter()
            .zip(&want)
            .position(|(a, b)| a != b)
            .unwrap_or(rest.len().min(n));
        diffs.push(output_diff(*id, "prefix", *pos, at, &want, &rest));
    }
    if exact {
        // Whatever the reads did not consume must be empty; a stream with no read is not
        // checked, as in the reference.
        for (i, (id, got, pos)) in streams.iter().enumerate() {
            let read = plan.reads.iter().any(|(r, _)| r == id);
            if !read || failed[i] {
                continue;
            }
            let rest: Vec<char> = got.chars().skip(*pos).collect();
            if !rest.is_empty() {
                diffs.push(output_diff(*id, "exact", *pos, 0, &[], &rest));
            }
        }
    }
    diffs
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
