//! `entropy_sp800_90b`: NIST SP 800-90B non-IID min-entropy estimate (all ten estimators, as
//! `ea_non_iid` does for 8-bit samples) on 10^6 bytes of each path. Pass threshold
//! `MIN_BITS_PER_BYTE` = 5.0. Calibration (wasiprobe-stats, ChaCha20, 40 seeds × 10^6 bytes):
//! 6.44–7.44 bits/byte, the binding estimator being compression on the bit string; a perfect
//! source scores ≤ 6.0 about once in 1 000 streams (four correct predictions in a row give
//! 5.32), and each further correct prediction in a row costs a factor of about 256, so at 5.0
//! the false-alarm rate is ≈ 4e-6 per stream, ≈ 1e-5 per run of three streams — an estimate,
//! not a proof. Defects score far below: a stuck bit 4.5, 16 byte values 3.2, a counter or a
//! repeated 64 KiB block ≈ 0.

use super::judge_each_stream;
use super::memo::Memo;
use crate::{Case, Judged, Judgement, Observed};
use serde_json::json;
use wasiprobe_stats::sp800_90b::{assess_bytes, Assessment};

pub const MIN_BITS_PER_BYTE: f64 = 5.0;
pub const SAMPLE_BYTES: usize = 1_000_000;

check! {
    EntropyMin: "entropy_sp800_90b", probe super::PROBE, area "entropy",
    case super::case(),
    controls [
        "random_get:zeros",
        "random_get:counter",
        "random_get:repeat-64k",
        "random_get:lcg-low-bits",
        "random_get:half-fill",
    ]
}

impl EntropyMin {
    fn judge(&self, _case: &Case, o: &Observed) -> Judged {
        let (problems, mut ev) = judge_each_stream(o, |source, bytes| {
            // A stream assessed before in this process is not assessed again (see `memo`).
            static MEMO: Memo<Result<Assessment, String>> = Memo::new();
            let sample = &bytes[..bytes.len().min(SAMPLE_BYTES)];
            match MEMO.get(&[sample], || assess_bytes(sample)) {
                Err(e) => (vec![format!("{source}: {e}")], None),
                Ok(a) => {
                    let mut problems = Vec::new();
                    if a.min_entropy < MIN_BITS_PER_BYTE {
                        problems.push(format!(
                            "{source}: {:.3} bits/byte < {MIN_BITS_PER_BYTE}",
                            a.min_entropy
                        ));
                    }
                    let per: serde_json::Map<String, serde_json::Value> = a
                        .estimators
                        .iter()
                        .map(|e| (e.name.clone(), json!(e.per_sample)))
                        .collect();
                    let ev =
                        json!({ "min_entropy_bits_per_byte": a.min_entropy, "estimators": per });
                    (problems, Some(ev))
                }
            }
        })?;
        ev.insert("threshold".into(), json!(MIN_BITS_PER_BYTE));
        Ok(Judgement::from_problems(problems, json!(ev)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entropy::testdata::*;

    #[test]
    fn chacha_passes_a_counter_fails() {
        let counter: Vec<u8> = (0..(1u32 << 20) / 8)
            .flat_map(|i| (i as u64).to_le_bytes())
            .collect();
        let j = Run::honest(1_000_000, 3).assert_caught(
            &EntropyMin,
            |r| r.write("getentropy.bin", &counter),
            "getentropy: ",
        );
        // Only the broken stream: the honest ones around it still pass.
        assert!(
            j.evidence["problems"][0]
                .as_str()
                .unwrap()
                .starts_with("getentropy"),
            "{}",
            j.evidence
        );
    }
}
