//! Runtimes that run as a child process (Node, CLI runtimes, crash-isolated workers) under the
//! same wall-time and output limits the embedded runtimes enforce.
//!
//! The child gets its own process group so a runtime that forks helpers (Node does) is killed
//! whole, and dies with the harness (`PR_SET_PDEATHSIG`; the group is killed on SIGINT/SIGTERM). Output is read on threads with a cap, so a guest that floods stdout is stopped as soon
//! as it passes the limit instead of filling the host's memory or disk.

use crate::{Limits, Outcome, Termination};
use anyhow::{Context, Result};
use std::io::{Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What a child run produced, before a runtime interprets its exit status.
#[derive(Debug)]
pub struct ChildRun {
    /// None when the harness killed it (timeout or output limit).
    pub status: Option<ExitStatus>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub timed_out: bool,
    /// "stdout" or "stderr" when that stream passed its limit.
    pub output_limit: Option<&'static str>,
    pub duration: Duration,
}

impl ChildRun {
    /// The termination when the harness stopped the child or it died of a signal; `None` when
    /// it exited and the runtime must read the exit status itself (its conventions differ).
    pub fn harness_termination(&self) -> Option<Termination> {
        let stops = crate::host::Stops {
            stdout_over: self.output_limit == Some("stdout"),
            stderr_over: self.output_limit == Some("stderr"),
            denied_bytes: None,
            timed_out: self.timed_out,
        };
        if let Some(t) = stops.termination() {
            return Some(t);
        }
        match self.status {
            Some(s) if s.code().is_none() => Some(Termination::Crash {
                message: format!(
                    "the runtime process was killed by signal {}{}",
                    s.signal().unwrap_or(0),
                    signal_name(s.signal().unwrap_or(0))
                ),
            }),
            _ => None,
        }
    }

    /// The exit code, or -1 when there is none (the child was killed).
    pub fn code(&self) -> i32 {
        self.status.and_then(|s| s.code()).unwrap_or(-1)
    }

    /// The outcome of a guest that ended as `termination`: this run's output and duration, and
    /// no host calls (a child process reports none of its own).
    pub fn into_outcome(self, termination: Termination) -> Outcome {
        Outcome {
            termination,
            stdout: self.stdout,
            stderr: self.stderr,
            duration: self.duration,
            host_calls: Default::default(),
        }
    }
}

fn signal_name(sig: i32) -> &'static str {
    match sig {
        libc::SIGSEGV => " (SIGSEGV)",
        libc::SIGABRT => " (SIGABRT)",
        libc::SIGBUS => " (SIGBUS)",
        libc::SIGILL => " (SIGILL)",
        libc::SIGFPE => " (SIGFPE)",
        libc::SIGKILL => " (SIGKILL)",
        _ => "",
    }
}

fn kill_group(pid: u32) {
    // SAFETY: kill(2) with a negative pid signals the process group we created for the child.
    unsafe {
        libc::kill(-(pid as i32), libc::SIGKILL);
    }
}

fn capped_reader(
    mut r: impl Read + Send + 'static,
    cap: usize,
    pid: u32,
    over: Arc<AtomicBool>,
) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let v = crate::host::CappedBuf::new(cap);
        let mut buf = [0u8; 64 * 1024];
        loop {
            match r.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if !v.push(&buf[..n]) {
                        over.store(true, Ordering::SeqCst);
                        kill_group(pid);
                        break;
                    }
                }
            }
        }
        v.take()
    })
}

/// Runs `cmd` with `stdin` fed to it, killed (with its process group) after `limits.wall` or
/// as soon as stdout or stderr passes its limit. `grace` is added to the wall limit for the
/// runtime's own start-up (a Node process takes ~40 ms before the guest runs).
pub fn run_child(
    mut cmd: Command,
    stdin: &[u8],
    limits: &Limits,
    grace: Duration,
) -> Result<ChildRun> {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    // SAFETY: the closure only calls prctl(2), which is async-signal-safe.
    unsafe {
        cmd.pre_exec(wasiprobe_util::scratch::die_with_parent);
    }
    let start = Instant::now();
    let mut child = cmd.spawn().with_context(|| format!("starting {cmd:?}"))?;
    let pid = child.id();
    wasiprobe_util::scratch::track(pid);
    let (out_over, err_over) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicBool::new(false)),
    );
    let t_out = capped_reader(
        child.stdout.take().unwrap(),
        limits.stdout_bytes,
        pid,
        out_over.clone(),
    );
    let t_err = capped_reader(
        child.stderr.take().unwrap(),
        limits.stderr_bytes,
        pid,
        err_over.clone(),
    );
    let mut sin = child.stdin.take().unwrap();
    let input = stdin.to_vec();
    // A guest that never reads stdin must not block the harness on a full pipe.
    let t_in = std::thread::spawn(move || {
        let _ = sin.write_all(&input);
    });
    let deadline = limits.wall + grace;
    let mut timed_out = false;
    let status = loop {
        if let Some(s) = child.try_wait()? {
            break s;
        }
        if start.elapsed() > deadline {
            timed_out = true;
            kill_group(pid);
            break child.wait()?;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    // Helpers the runtime forked may still hold the pipes; the group dies with the runtime.
    kill_group(pid);
    wasiprobe_util::scratch::untrack(pid);
    let stdout = t_out.join().unwrap_or_default();
    let stderr = t_err.join().unwrap_or_default();
    let _ = t_in.join();
    let output_limit = if out_over.load(Ordering::SeqCst) {
        Some("stdout")
    } else if err_over.load(Ordering::SeqCst) {
        Some("stderr")
    } else {
        None
    };
    Ok(ChildRun {
        status: (!timed_out && output_limit.is_none()).then_some(status),
        stdout,
        stderr,
        timed_out,
        output_limit,
        duration: start.elapsed(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `sh -c script` given `stdin`, under a wall limit of `wall_ms` and a stdout cap of
    /// `stdout_bytes`, with no grace.
    fn run_sh(script: &str, stdin: &[u8], wall_ms: u64, stdout_bytes: usize) -> ChildRun {
        let mut sh = Command::new("sh");
        sh.args(["-c", script]);
        let limits = Limits {
            wall: Duration::from_millis(wall_ms),
            stdout_bytes,
            ..Limits::default()
        };
        run_child(sh, stdin, &limits, Duration::ZERO).unwrap()
    }

    #[test]
    fn exit_code_and_output_pass_through() {
        let r = run_sh("cat; echo err >&2; exit 3", b"hi", 5000, 1 << 20);
        assert_eq!(r.status.unwrap().code(), Some(3));
        assert_eq!(r.stdout, b"hi");
        assert_eq!(r.stderr, b"err\n");
        assert!(r.harness_termination().is_none());
    }

    #[test]
    fn a_child_past_the_wall_limit_is_killed_with_its_group() {
        let r = run_sh("sleep 30 & sleep 30", b"", 200, 1 << 20);
        assert!(r.timed_out);
        assert_eq!(r.harness_termination(), Some(Termination::Timeout));
        assert!(r.duration < Duration::from_secs(5), "{:?}", r.duration);
    }

    #[test]
    fn a_flood_is_stopped_at_the_limit() {
        let r = run_sh("yes", b"", 20_000, 4096);
        assert_eq!(r.output_limit, Some("stdout"));
        assert_eq!(r.stdout.len(), 4096);
        assert!(matches!(
            r.harness_termination(),
            Some(Termination::OutputLimit { .. })
        ));
    }

    #[test]
    fn death_by_signal_is_a_crash() {
        let r = run_sh("kill -SEGV $$", b"", 5000, 1024);
        match r.harness_termination() {
            Some(Termination::Crash { message }) => {
                assert!(message.contains("SIGSEGV"), "{message}")
            }
            t => panic!("{t:?}"),
        }
    }
}
