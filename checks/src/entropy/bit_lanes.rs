//! `entropy_bit_lanes`: each bit position is unbiased — bit k of every byte (8 lanes) and of
//! every 64-bit word (64 lanes) — which a whole-stream frequency test can average away (one
//! stuck lane among 64 moves the overall frequency by < 1%). Rule: |z| ≤ `Z_MAX` for every lane,
//! z = (ones − n/2)/sqrt(n/4). Per lane the two-sided false-alarm probability at 6.5 is 8e-11;
//! over 72 lanes × 3 streams, < 2e-8 per run.

use super::judge_each_stream;
use crate::{Case, Judged, Judgement, Observed};
use serde_json::json;

pub const Z_MAX: f64 = 6.5;

fn lanes(b: &[u8], width: usize) -> Vec<f64> {
    let mut ones = vec![0u64; width * 8];
    let n = b.len() / width;
    for c in b.chunks_exact(width) {
        for (byte_i, byte) in c.iter().enumerate() {
            for bit in 0..8 {
                ones[byte_i * 8 + bit] += ((byte >> bit) & 1) as u64;
            }
        }
    }
    let n = n as f64;
    ones.iter()
        .map(|&o| (o as f64 - n / 2.0) / (n / 4.0).sqrt())
        .collect()
}

check! {
    EntropyBitLanes: "entropy_bit_lanes", probe super::PROBE, area "entropy",
    case super::case(),
    controls [
        "random_get:zeros",
        "random_get:biased",
        "random_get:counter",
        "random_get:repeat-64k",
        "random_get:lcg-low-bits",
        "random_get:half-fill",
    ]
}

impl EntropyBitLanes {
    fn judge(&self, _case: &Case, o: &Observed) -> Judged {
        let (mut problems, mut ev) = judge_each_stream(o, |source, b| {
            let mut problems = Vec::new();
            let mut worst = (0.0f64, String::new());
            for (width, unit) in [(1, "byte"), (8, "word")] {
                for (lane, z) in lanes(b, width).into_iter().enumerate() {
                    if z.abs() > worst.0.abs() {
                        worst = (z, format!("{unit} bit {lane}"));
                    }
                    if z.abs() > Z_MAX {
                        problems.push(format!(
                            "{source}: {unit} bit {lane} is biased (z = {z:.1})"
                        ));
                    }
                }
            }
            let ev = json!({ "worst_lane": worst.1, "worst_z": worst.0 });
            (problems, Some(ev))
        })?;
        problems.truncate(20);
        ev.insert("z_max".into(), json!(Z_MAX));
        Ok(Judgement::from_problems(problems, json!(ev)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entropy::testdata::*;

    #[test]
    fn chacha_passes_one_stuck_word_bit_fails() {
        let mut b = chacha(11, 1 << 20);
        for c in b.chunks_exact_mut(8) {
            c[7] |= 0x80;
        }
        Run::honest(2_000_000, 5).assert_caught(
            &EntropyBitLanes,
            |r| r.write("getentropy.bin", &b),
            "word bit 63",
        );
    }
}
