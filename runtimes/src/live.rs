//! A child process driven step by step: write to its stdin, read from its stdout or stderr as
//! output arrives, signal it, wait for it. The wasi-testsuite's operation-based tests need this
//! (`write`, `read`, `kill`, `wait` in any order, on a live process), where `process::run_child`
//! only runs to completion.
//!
//! The same protections as `run_child`: the child leads its own process group and the group is
//! killed when the `LiveChild` is dropped; each stream is read on a thread with a cap, and a
//! child that passes it is killed at once. Every blocking call takes a deadline.

use anyhow::{Context, Result};
use std::io::{Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

#[derive(Default)]
struct State {
    data: Vec<u8>,
    eof: bool,
    over: bool,
}

#[derive(Default)]
struct Stream {
    state: Mutex<State>,
    more: Condvar,
}

/// Which output stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Out {
    Stdout = 0,
    Stderr = 1,
}

pub struct LiveChild {
    child: Child,
    pid: i32,
    stdin: Option<ChildStdin>,
    streams: [Arc<Stream>; 2],
    /// Characters of each stream (after `text`) already consumed by reads.
    consumed: [usize; 2],
    status: Option<ExitStatus>,
    pub started: Instant,
}

/// Python's text mode, which the reference runner reads output in: lossy UTF-8 and universal
/// newlines.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .replace("\r\n", "\n")
        .replace('\r', "\n")
}

fn reader(mut r: impl Read + Send + 'static, cap: usize, pid: i32, s: Arc<Stream>) {
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        loop {
            let n = r.read(&mut buf).unwrap_or(0);
            let mut st = s.state.lock().unwrap();
            if n == 0 {
                st.eof = true;
                s.more.notify_all();
                return;
            }
            let room = cap.saturating_sub(st.data.len());
            st.data.extend_from_slice(&buf[..n.min(room)]);
            if n > room {
                st.over = true;
                st.eof = true;
                kill_group(pid, libc::SIGKILL);
                s.more.notify_all();
                return;
            }
            s.more.notify_all();
        }
    });
}

fn kill_group(pid: i32, sig: i32) {
    // SAFETY: kill(2) with a negative pid signals the process group created for the child.
    unsafe {
        libc::kill(-pid, sig);
    }
}

impl LiveChild {
    /// Starts `cmd` with piped stdio; `caps` are the stdout and stderr limits in bytes.
    pub fn spawn(mut cmd: Command, caps: (usize, usize)) -> Result<Self> {
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let mut child = cmd.spawn().with_context(|| format!("starting {cmd:?}"))?;
        let pid = child.id() as i32;
        let streams = [Arc::new(Stream::default()), Arc::new(Stream::default())];
        reader(
            child.stdout.take().unwrap(),
            caps.0,
            pid,
            streams[0].clone(),
        );
        reader(
            child.stderr.take().unwrap(),
            caps.1,
            pid,
            streams[1].clone(),
        );
        Ok(LiveChild {
            stdin: child.stdin.take(),
            child,
            pid,
            streams,
            consumed: [0, 0],
            status: None,
            started: Instant::now(),
        })
    }

    /// Feeds stdin on a thread: a child that does not read must not block the harness.
    pub fn write_stdin(&mut self, bytes: &[u8]) -> Result<()> {
        let Some(mut sin) = self.stdin.take() else {
            anyhow::bail!("stdin is closed");
        };
        let data = bytes.to_vec();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let r = sin.write_all(&data).and_then(|_| sin.flush());
            let _ = tx.send((r, sin));
        });
        match rx.recv_timeout(Duration::from_secs(5)) {
            Ok((Ok(()), sin)) => {
                self.stdin = Some(sin);
                Ok(())
            }
            Ok((Err(e), _)) => Err(e).context("writing to stdin"),
            Err(_) => anyhow::bail!("writing to stdin: the process did not read it in 5 s"),
        }
    }

    /// Reads `n` characters, as Python's `stream.read(n)`: blocks until there are `n` or the
    /// stream ends. Returns what was read (shorter at end of stream or past `deadline`).
    pub fn read(&mut self, which: Out, n: usize, deadline: Instant) -> String {
        self.read_or_end(which, n, deadline).0
    }

    /// [`LiveChild::read`], and whether the stream had ended (as opposed to the deadline
    /// passing) when it returned.
    pub fn read_or_end(&mut self, which: Out, n: usize, deadline: Instant) -> (String, bool) {
        let s = self.streams[which as usize].clone();
        let mut st = s.state.lock().unwrap();
        loop {
            let all = text(&st.data);
            let avail: Vec<char> = all.chars().skip(self.consumed[which as usize]).collect();
            if avail.len() >= n || st.eof || Instant::now() >= deadline {
                let got: String = avail.iter().take(n).collect();
                self.consumed[which as usize] += got.chars().count();
                return (got, st.eof);
            }
            let wait = deadline.saturating_duration_since(Instant::now());
            st = s.more.wait_timeout(st, wait).unwrap().0;
        }
    }

    /// Reads one line (without its newline), as Python's `readline().strip()` is used by the
    /// reference's `connect`; `None` past `deadline` or at end of stream with nothing read.
    pub fn read_line(&mut self, which: Out, deadline: Instant) -> Option<String> {
        let s = self.streams[which as usize].clone();
        let mut st = s.state.lock().unwrap();
        loop {
            let all = text(&st.data);
            let avail: String = all.chars().skip(self.consumed[which as usize]).collect();
            if let Some(i) = avail.find('\n') {
                self.consumed[which as usize] += avail[..=i].chars().count();
                return Some(avail[..i].trim().to_string());
            }
            if st.eof || Instant::now() >= deadline {
                if avail.is_empty() {
                    return None;
                }
                self.consumed[which as usize] += avail.chars().count();
                return Some(avail.trim().to_string());
            }
            let wait = deadline.saturating_duration_since(Instant::now());
            st = s.more.wait_timeout(st, wait).unwrap().0;
        }
    }

    /// Sends `sig` to the child's process group (a runtime may have started helpers).
    pub fn signal(&mut self, sig: i32) {
        if self.status.is_none() && matches!(self.child.try_wait(), Ok(None)) {
            kill_group(self.pid, sig);
        }
    }

    /// Closes stdin and waits, as Python's `communicate()`; `None` if still running at
    /// `deadline` (the child is then killed).
    pub fn wait(&mut self, deadline: Instant) -> Option<ExitStatus> {
        self.stdin = None;
        if let Some(s) = self.status {
            return Some(s);
        }
        loop {
            if let Ok(Some(s)) = self.child.try_wait() {
                self.status = Some(s);
                // Output still in the pipes belongs to the run: let the readers drain it.
                for st in &self.streams {
                    let mut g = st.state.lock().unwrap();
                    let until = Instant::now() + Duration::from_secs(2);
                    while !g.eof && Instant::now() < until {
                        g = st
                            .more
                            .wait_timeout(g, Duration::from_millis(50))
                            .unwrap()
                            .0;
                    }
                }
                return Some(s);
            }
            if Instant::now() >= deadline {
                self.kill();
                return None;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Kills the whole group and reaps the child.
    pub fn kill(&mut self) {
        kill_group(self.pid, libc::SIGKILL);
        if self.status.is_none() {
            self.status = self.child.wait().ok();
        }
    }

    /// The stream that passed its cap, if one did.
    pub fn over(&self) -> Option<&'static str> {
        for (i, name) in ["stdout", "stderr"].into_iter().enumerate() {
            if self.streams[i].state.lock().unwrap().over {
                return Some(name);
            }
        }
        None
    }

    /// How many characters of the stream reads have taken so far.
    pub fn consumed(&self, which: Out) -> usize {
        self.consumed[which as usize]
    }

    /// What reads have not taken yet (in text mode).
    pub fn rest(&self, which: Out) -> String {
        self.all(which)
            .chars()
            .skip(self.consumed[which as usize])
            .collect()
    }

    /// Everything the stream has produced so far (in text mode).
    pub fn all(&self, which: Out) -> String {
        text(&self.streams[which as usize].state.lock().unwrap().data)
    }
}

/// The exit code as Python's `Popen.returncode` gives it: the status, or minus the signal.
pub fn returncode(s: ExitStatus) -> i64 {
    match (s.code(), s.signal()) {
        (Some(c), _) => i64::from(c),
        (None, Some(sig)) => -i64::from(sig),
        _ => -1,
    }
}

impl Drop for LiveChild {
    fn drop(&mut self) {
        kill_group(self.pid, libc::SIGKILL);
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> LiveChild {
        let mut c = Command::new("sh");
        c.args(["-c", script]);
        LiveChild::spawn(c, (1 << 20, 1 << 20)).unwrap()
    }

    fn soon() -> Instant {
        Instant::now() + Duration::from_secs(5)
    }

    #[test]
    fn steps_interleave_with_a_running_process() {
        let mut c = sh("echo ready; read x; echo got $x; echo e >&2; exit 4");
        assert_eq!(c.read(Out::Stdout, 6, soon()), "ready\n");
        c.write_stdin(b"hi\n").unwrap();
        assert_eq!(c.read(Out::Stdout, 7, soon()), "got hi\n");
        assert_eq!(returncode(c.wait(soon()).unwrap()), 4);
        assert_eq!(c.read(Out::Stderr, 10, soon()), "e\n");
    }

    #[test]
    fn a_signal_ends_it_with_minus_the_signal_and_deadlines_hold() {
        let mut c = sh("echo up; exec sleep 30");
        assert_eq!(c.read_line(Out::Stdout, soon()).as_deref(), Some("up"));
        // Nothing more comes: the read returns at its deadline with what there is.
        let t = Instant::now();
        assert_eq!(
            c.read(Out::Stdout, 3, Instant::now() + Duration::from_millis(200)),
            ""
        );
        assert!(t.elapsed() < Duration::from_secs(3));
        c.signal(libc::SIGTERM);
        assert_eq!(returncode(c.wait(soon()).unwrap()), -15);
        // Negative control: a process that outlives its deadline is killed, not waited for.
        let mut c = sh("exec sleep 30");
        assert!(c
            .wait(Instant::now() + Duration::from_millis(100))
            .is_none());
    }

    #[test]
    fn a_flood_is_cut_at_the_cap() {
        let mut c = Command::new("yes");
        c.stdin(Stdio::null());
        let mut c = LiveChild::spawn(c, (4096, 4096)).unwrap();
        c.wait(soon());
        assert_eq!(c.over(), Some("stdout"));
        assert_eq!(c.all(Out::Stdout).len(), 4096);
    }
}
