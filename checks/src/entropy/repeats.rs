//! `entropy_repeats`: no aligned 64-bit word and no aligned 16-byte block occurs twice within a
//! stream — the signature of a buffer recycled or a generator restarted, which SP 800-22 can
//! miss when the repeat period is long. False alarm on an honest source (birthday bound): for
//! n words, n²/2^65 — 6.6e-8 for the 12.5 MB random_get stream; blocks: < 1e-27.

use super::judge_each_stream;
use crate::{Case, Judged, Judgement, Observed};
use serde_json::json;
use std::collections::HashMap;

fn first_repeat<const N: usize>(b: &[u8]) -> Option<(usize, usize)> {
    let mut seen: HashMap<[u8; N], usize> = HashMap::with_capacity(b.len() / N);
    for (i, c) in b.chunks_exact(N).enumerate() {
        let k: [u8; N] = c.try_into().unwrap();
        if let Some(j) = seen.insert(k, i * N) {
            return Some((j, i * N));
        }
    }
    None
}

check! {
    EntropyRepeats: "entropy_repeats", probe super::PROBE, area "entropy",
    case super::case(),
    controls [
        "random_get:zeros",
        "random_get:repeat-64k",
        "random_get:lcg-low-bits",
        "random_get:half-fill",
    ]
}

impl EntropyRepeats {
    fn judge(&self, _case: &Case, o: &Observed) -> Judged {
        let (problems, ev) = judge_each_stream(o, |source, b| {
            let mut problems = Vec::new();
            let w = first_repeat::<8>(b);
            let k = first_repeat::<16>(b);
            if let Some((a, c)) = w {
                problems.push(format!(
                    "{source}: the 64-bit word at byte {a} repeats at byte {c}"
                ));
            }
            if let Some((a, c)) = k {
                problems.push(format!(
                    "{source}: the 16-byte block at byte {a} repeats at byte {c}"
                ));
            }
            let ev = json!({ "bytes": b.len(), "word_repeat": w, "block_repeat": k });
            (problems, Some(ev))
        })?;
        Ok(Judgement::from_problems(problems, json!(ev)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entropy::testdata::*;

    #[test]
    fn chacha_passes_a_recycled_buffer_fails() {
        let block = chacha(9, 65536);
        let b: Vec<u8> = block.iter().cycle().take(1 << 20).copied().collect();
        Run::honest(2_000_000, 4).assert_caught(
            &EntropyRepeats,
            |r| r.write("arc4random.bin", &b),
            "repeats at byte 65536",
        );
    }
}
