//! Operations on a live process: what the reference's `TestCaseRunner` does (`do_run`,
//! `do_write`, `do_read`, `do_kill`, `do_wait`, `do_connect`, `do_send`, `do_recv` in
//! `test_suite_runner.py`), for runtimes whose guest runs as a child process (adapter modules).
//!
//! Where it departs: every step has a deadline (the test's wall limit; the reference waits
//! forever on a `read` and 5 s on a `wait`), output is capped, `connect` only goes to loopback
//! addresses (the guest chooses the address it prints; a test must not make the harness reach
//! for another host), and the run stops at the first failing step, as there.

use super::judge::output_diff;
use super::*;
use std::ffi::OsString;
use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::process::Command;
use std::time::{Duration, Instant};
use wasiprobe_runtimes::live::{returncode, LiveChild, Out};

/// A runtime's own start-up is not the guest's time.
const GRACE: Duration = Duration::from_secs(2);

fn out(id: StreamId) -> Out {
    match id {
        StreamId::Stdout => Out::Stdout,
        StreamId::Stderr => Out::Stderr,
    }
}

/// Runs `argv` in `cwd` and carries out the plan's operations on it.
pub(crate) fn run_live(
    argv: &[String],
    env: &[(String, OsString)],
    cwd: &Path,
    plan: &RunPlan,
    limits: &Limits,
    exact: bool,
) -> Vec<Difference> {
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..])
        .envs(env.iter().map(|(k, v)| (k, v)))
        .current_dir(cwd);
    let mut c = match LiveChild::spawn(cmd, (limits.stdout_bytes, limits.stderr_bytes)) {
        Ok(c) => c,
        Err(e) => {
            return vec![Difference::Setup {
                message: format!("{e:#}"),
            }]
        }
    };
    let deadline = Instant::now() + limits.wall + GRACE;
    let timeout = || Difference::Timeout {
        wall_ms: limits.wall.as_millis(),
    };
    let mut diffs = Vec::new();
    let mut read = [false, false];
    let mut conns: BTreeMap<String, TcpStream> = BTreeMap::new();
    for op in &plan.ops {
        if !diffs.is_empty() {
            break;
        }
        match op {
            Op::Write(payload) => {
                if let Err(e) = c.write_stdin(payload.as_bytes()) {
                    diffs.push(Difference::Setup {
                        message: format!("{e:#}"),
                    });
                }
            }
            Op::Read(id, want) => {
                read[*id as usize] = true;
                let base = c.consumed(out(*id));
                let n = want.chars().count();
                let (got, ended) = c.read_or_end(out(*id), n, deadline);
                if got == *want {
                    continue;
                }
                if let Some(stream) = c.over() {
                    diffs.push(Difference::OutputLimit {
                        stream: stream.into(),
                    });
                } else if got.chars().count() < n && !ended {
                    diffs.push(timeout());
                } else {
                    let (w, g): (Vec<char>, Vec<char>) =
                        (want.chars().collect(), got.chars().collect());
                    let at = g
                        .iter()
                        .zip(&w)
                        .position(|(a, b)| a != b)
                        .unwrap_or(g.len().min(n));
                    diffs.push(output_diff(*id, "prefix", base, at, &w, &g));
                }
            }
            Op::Kill { number, .. } => c.signal(*number),
            Op::Wait(expected) => match c.wait(deadline) {
                None => diffs.push(timeout()),
                Some(status) => {
                    if let Some(stream) = c.over() {
                        diffs.push(Difference::OutputLimit {
                            stream: stream.into(),
                        });
                    } else if returncode(status) != *expected {
                        diffs.push(Difference::ExitCode {
                            expected: *expected,
                            got: returncode(status),
                        });
                    }
                }
            },
            Op::Connect(id) => match connect(&mut c, deadline) {
                Ok(s) => {
                    conns.insert(id.clone(), s);
                }
                Err(message) => diffs.push(Difference::Setup { message }),
            },
            Op::Send(id, payload) => {
                let s = conns.get_mut(id).expect("validated: connect comes first");
                if let Err(e) = s.write_all(payload.as_bytes()) {
                    diffs.push(Difference::Setup {
                        message: format!("send on {id}: {e}"),
                    });
                }
            }
            Op::Recv(id, want) => {
                let s = conns.get_mut(id).expect("validated: connect comes first");
                let _ = s.set_read_timeout(Some(
                    deadline
                        .saturating_duration_since(Instant::now())
                        .max(Duration::from_millis(1)),
                ));
                // One `recv` of at most the expected length, as the reference's `sock.recv`.
                let mut buf = vec![0u8; want.len()];
                match s.read(&mut buf) {
                    Ok(n) => {
                        let got = String::from_utf8_lossy(&buf[..n]).into_owned();
                        if got != *want {
                            diffs.push(Difference::Network {
                                message: format!("recv on {id}: expected {want:?}, got {got:?}"),
                            });
                        }
                    }
                    Err(e) => diffs.push(Difference::Network {
                        message: format!("recv on {id}: {e}"),
                    }),
                }
            }
        }
    }
    if diffs.is_empty() && exact {
        for (i, id) in [StreamId::Stdout, StreamId::Stderr].into_iter().enumerate() {
            let rest: Vec<char> = c.rest(out(id)).chars().collect();
            if read[i] && !rest.is_empty() {
                diffs.push(output_diff(id, "exact", c.consumed(out(id)), 0, &[], &rest));
            }
        }
    }
    diffs
}

/// `connect`: the guest prints `HOST:PORT` as its next stdout line.
fn connect(c: &mut LiveChild, deadline: Instant) -> Result<TcpStream, String> {
    let line = c
        .read_line(Out::Stdout, deadline)
        .ok_or_else(|| "connect: the guest printed no HOST:PORT line".to_string())?;
    let Some((host, port)) = line.rsplit_once(':') else {
        return Err(format!(
            "connect: expected HOST:PORT on stdout, found {line:?}"
        ));
    };
    let port: u16 = port
        .parse()
        .map_err(|_| format!("connect: {line:?}: the port is not a number"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("connect: {line:?}: {e}"))?
        .collect();
    let loopback: Vec<SocketAddr> = addrs
        .into_iter()
        .filter(|a| match a.ip() {
            IpAddr::V4(ip) => ip.is_loopback(),
            IpAddr::V6(ip) => ip.is_loopback(),
        })
        .collect();
    let Some(addr) = loopback.first() else {
        return Err(format!(
            "connect: {line:?} is not a loopback address; only loopback is connected to"
        ));
    };
    let left = deadline
        .saturating_duration_since(Instant::now())
        .max(Duration::from_millis(1));
    TcpStream::connect_timeout(addr, left).map_err(|e| format!("connect to {addr}: {e}"))
}
