//! `stdio`: bytes written to stdout and stderr arrive intact — all 256 byte values, a single
//! 1 MiB write, and stderr kept apart from stdout.

use super::protocol::first;
use super::{first_difference, Case, Judgement, Observed};
use serde_json::{json, Value};

/// The byte pattern both sides generate: a 32-bit LCG's top byte. Must match `probes/c/stdio.c`.
pub fn lcg_bytes(seed: u32, n: usize) -> Vec<u8> {
    let mut x = seed;
    (0..n)
        .map(|_| {
            x = x.wrapping_mul(1103515245).wrapping_add(12345);
            (x >> 24) as u8
        })
        .collect()
}

pub fn all_bytes() -> Vec<u8> {
    (0..=255u8).collect()
}

pub const BIG: usize = 1 << 20;
pub const STDERR_BIG: usize = 64 << 10;

/// Everything the probe writes to stderr, in order.
pub fn expected_stderr() -> Vec<u8> {
    let mut v = b"stderr-begin\n".to_vec();
    v.extend(all_bytes());
    v.extend(lcg_bytes(2, STDERR_BIG));
    v.extend_from_slice(b"stderr-end\n");
    v
}

fn compare(name: &str, got: &[u8], want: &[u8], problems: &mut Vec<String>) -> Value {
    let diff = first_difference(got, want);
    if let Some(at) = diff {
        problems.push(format!(
            "{name}: {} bytes, expected {}; first difference at byte {at}",
            got.len(),
            want.len()
        ));
    }
    json!({ "bytes": got.len(), "expected": want.len(), "first_difference": diff })
}

check! {
    Stdio: "stdio", probe "stdio", area "process",
    case Case::probe("stdio"),
    controls ["fd_write:drop-tail"]
}

impl Stdio {
    fn judge(&self, _case: &Case, o: &Observed) -> Judgement {
        let mut problems = Vec::new();
        let mut ev = json!({});
        match &o.observations {
            Err(e) => problems.push(format!("stdout: {e}")),
            Ok(obs) => {
                let payload = |pattern: &str| {
                    obs.iter()
                        .find(|ob| ob.str("pattern") == Some(pattern))
                        .and_then(|ob| ob.payload.clone())
                };
                match payload("all-bytes") {
                    Some(p) => {
                        ev["all_bytes"] =
                            compare("stdout all-bytes", &p, &all_bytes(), &mut problems)
                    }
                    None => problems.push("stdout: no all-bytes payload".into()),
                }
                match payload("lcg-1") {
                    Some(p) => {
                        ev["one_mib_write"] =
                            compare("stdout 1 MiB write", &p, &lcg_bytes(1, BIG), &mut problems)
                    }
                    None => problems.push("stdout: no 1 MiB payload".into()),
                }
                if first(obs, "done").is_none() {
                    problems.push("stdout: the probe's final `done` line is missing".into());
                }
            }
        }
        ev["stderr"] = compare(
            "stderr",
            &o.outcome.stderr,
            &expected_stderr(),
            &mut problems,
        );
        Judgement::from_problems(problems, ev)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{judge, outcome};
    use wasiprobe_model::report::Verdict;

    fn honest_stdout() -> Vec<u8> {
        let mut s = b"{\"probe\":\"stdio\",\"check\":\"stdio\",\"what\":\"payload\",\"pattern\":\"all-bytes\",\"payload_bytes\":256}\n".to_vec();
        s.extend(all_bytes());
        s.extend_from_slice(format!("{{\"probe\":\"stdio\",\"check\":\"stdio\",\"what\":\"payload\",\"pattern\":\"lcg-1\",\"payload_bytes\":{BIG}}}\n").as_bytes());
        s.extend(lcg_bytes(1, BIG));
        s.extend_from_slice(b"{\"probe\":\"stdio\",\"check\":\"stdio\",\"what\":\"done\"}\n");
        s
    }

    #[test]
    fn honest_outcome_passes() {
        let j = judge(&Stdio, &outcome(0, honest_stdout(), expected_stderr()));
        assert_eq!(j.verdict, Verdict::Pass, "{}", j.evidence);
    }

    #[test]
    fn one_flipped_byte_in_the_big_write_fails() {
        let mut s = honest_stdout();
        let at = s.len() - 1000;
        s[at] ^= 0x80;
        let j = judge(&Stdio, &outcome(0, s, expected_stderr()));
        assert_eq!(j.verdict, Verdict::Fail);
        assert!(j.evidence.to_string().contains("1 MiB"), "{}", j.evidence);
    }

    #[test]
    fn dropped_tail_and_stderr_damage_fail() {
        let mut s = honest_stdout();
        s.truncate(s.len() - 10);
        assert_eq!(
            judge(&Stdio, &outcome(0, s, expected_stderr())).verdict,
            Verdict::Fail
        );
        let mut e = expected_stderr();
        e.pop();
        assert_eq!(
            judge(&Stdio, &outcome(0, honest_stdout(), e)).verdict,
            Verdict::Fail
        );
        // stderr merged into stdout: stderr empty.
        assert_eq!(
            judge(&Stdio, &outcome(0, honest_stdout(), vec![])).verdict,
            Verdict::Fail
        );
    }

    #[test]
    fn lcg_is_the_documented_generator() {
        // x1 = 1*1103515245 + 12345 = 1103527590 = 0x41C67EA6 → top byte 0x41.
        assert_eq!(lcg_bytes(1, 1), vec![0x41]);
    }
}
