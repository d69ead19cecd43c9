//! `entropy_fill`: every byte of a request is written. Buffers prefilled with 0x00 and with 0xFF
//! are filled by each path; a run of `MAX_RUN` or more sentinel bytes means bytes were left
//! untouched (e.g. only the first half filled). False alarm: a specific byte value repeated 12
//! times somewhere in 64 KiB of honest output has probability < 65536 · 256^-12 ≈ 8e-25.

use super::{announced_file, find};
use crate::{Case, Judged, Judgement, Observed};
use serde_json::json;

pub const MAX_RUN: usize = 12;

fn longest_run(b: &[u8], v: u8) -> (usize, usize) {
    let (mut best, mut at, mut cur) = (0, 0, 0);
    for (i, &x) in b.iter().enumerate() {
        cur = if x == v { cur + 1 } else { 0 };
        if cur > best {
            best = cur;
            at = i + 1 - cur;
        }
    }
    (best, at)
}

check! {
    EntropyFill: "entropy_fill", probe super::PROBE, area "entropy",
    case super::case(),
    controls ["random_get:half-fill", "random_get:zeros"]
}

impl EntropyFill {
    fn judge(&self, _case: &Case, o: &Observed) -> Judged {
        let obs = o.parsed()?;
        let mut problems = Vec::new();
        let mut ev = Vec::new();
        let sentinels = find(obs, "sentinel");
        if sentinels.is_empty() {
            problems.push("the probe reported no sentinel buffers".into());
        }
        for s in sentinels {
            let source = s.str("source").unwrap_or("?");
            let v = s.i64("sentinel").unwrap_or(0) as u8;
            match announced_file(o, s, "filling") {
                Err(e) => problems.push(e),
                Ok(b) => {
                    let (run, at) = longest_run(&b, v);
                    if run >= MAX_RUN {
                        problems.push(format!("{source}: {run} bytes at offset {at} still hold the sentinel 0x{v:02x} (of {})", b.len()));
                    }
                    ev.push(json!({ "source": source, "sentinel": v, "longest_sentinel_run": run, "at": at }));
                }
            }
        }
        Ok(Judgement::from_problems(
            problems,
            json!({ "buffers": ev, "max_run": MAX_RUN }),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entropy::testdata::*;

    #[test]
    fn full_buffers_pass_a_half_filled_one_fails() {
        let mut b = chacha(12, 65536);
        b[32768..].fill(0xff);
        Run::honest(1_000_000, 6).assert_caught(
            &EntropyFill,
            |r| r.write("fill_random_get_ff.bin", &b),
            "32768 bytes at offset 32768",
        );
    }
}
