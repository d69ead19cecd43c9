//! `entropy_sp800_22`: NIST SP 800-22 rev 1a, all 15 tests, on the raw `random_get` stream cut
//! into sequences of 10^6 bits (100 by default), with the second-level analysis (proportion
//! within 0.99 ± 3·sqrt(0.0099/m), uniformity χ² P ≥ 0.0001 when m ≥ 55).
//!
//! Verdict: `wasiprobe_stats::sp800_22::second_level_at` with tail `TAIL` — the number of
//! failing slots must be within what chance allows at P ≤ 1e-6 and no slot may fail grossly
//! (Bonferroni over the 188 slots at 1e-6). Family-wise false-alarm rate on an honest source:
//! ≤ 3e-6 per run (1e-6 count rule + 2e-6 gross rule, slots treated as independent). The
//! getentropy and arc4random streams (1 MiB, 8 sequences) are too short for a second-level
//! analysis; they are judged by the other entropy checks.

use super::memo::Memo;
use super::streams_or_judgement;
use crate::{Case, Judged, Judgement, Observed};
use rayon::prelude::*;
use serde_json::json;
use wasiprobe_stats::sp800_22::{bits_from_bytes, run_battery, second_level_at, Config};

pub const TAIL: f64 = 1e-6;
pub const SEQUENCE_BITS: usize = 1_000_000;
pub const MAX_SEQUENCES: usize = 100;

/// Runs the battery on `bytes` cut into sequences of 10^6 bits; shared with `entropy assess`.
pub fn assess(bytes: &[u8], max_sequences: usize) -> serde_json::Value {
    assess_per_sequence(bytes, max_sequences).0
}

/// [`assess`], and every test's p-values for each sequence (what NIST's STS lists per test in
/// its results files), which the report leaves out for size and `entropy assess` prints.
pub fn assess_per_sequence(
    bytes: &[u8],
    max_sequences: usize,
) -> (
    serde_json::Value,
    Vec<Vec<wasiprobe_stats::sp800_22::TestResult>>,
) {
    let bits = bits_from_bytes(bytes);
    let m = (bits.len() / SEQUENCE_BITS).min(max_sequences);
    if m == 0 {
        let v = json!({ "passed": false, "reason": format!("{} bits: shorter than one sequence of {SEQUENCE_BITS}", bits.len()) });
        return (v, vec![]);
    }
    let cfg = Config::default();
    let per: Vec<_> = (0..m)
        .into_par_iter()
        .map(|i| run_battery(&bits[i * SEQUENCE_BITS..(i + 1) * SEQUENCE_BITS], &cfg))
        .collect();
    let s = second_level_at(&per, TAIL);
    let failing: Vec<String> = s
        .failing_slots()
        .take(12)
        .map(|x| {
            format!(
                "{} {} (proportion {:.3}, uniformity {:?})",
                x.name, x.slot, x.proportion, x.uniformity_p
            )
        })
        .collect();
    let frequency = s
        .slots
        .iter()
        .find(|x| x.name.contains("requency") && x.slot.is_empty())
        .map(|x| x.proportion);
    let v = json!({
        "passed": s.passed,
        "sequences": m,
        "failed_slots": s.failed_slots,
        "allowed_failed_slots": s.allowed_failed_slots,
        "expected_false_failures": s.expected_false_failures,
        "gross_failures": s.gross_failures,
        "failing_slots": failing,
        "frequency_proportion": frequency,
        "slots": s.slots.len(),
        "tail": TAIL,
        // Every test's slot: proportion passing, p-value histogram, uniformity P-value_T.
        "per_slot": s.slots,
    });
    (v, per)
}

check! {
    EntropySp80022: "entropy_sp800_22", probe super::PROBE, area "entropy",
    case super::case(),
    controls [
        "random_get:zeros",
        "random_get:counter",
        "random_get:biased",
        "random_get:lcg-low-bits",
        "random_get:repeat-64k",
        "random_get:half-fill",
    ]
}

impl EntropySp80022 {
    fn judge(&self, _case: &Case, o: &Observed) -> Judged {
        let streams = streams_or_judgement(o)?;
        let Some((primary, bytes)) = super::PRIMARY_SOURCES
            .iter()
            .find_map(|p| streams.iter().find(|(s, _)| s == p))
        else {
            return Ok(Judgement::fail(
                json!({ "reason": format!("no stream from any of {:?}", super::PRIMARY_SOURCES) }),
            ));
        };
        // A stream judged before in this process is not judged again (see `memo`).
        static MEMO: Memo<serde_json::Value> = Memo::new();
        let ev = MEMO.get(&[bytes], || assess(bytes, MAX_SEQUENCES));
        let mut problems = vec![];
        if ev["passed"] != true {
            problems.push(format!(
                "{primary}: {} of {} slots fail (≤ {} expected by chance), gross: {}",
                ev["failed_slots"], ev["slots"], ev["allowed_failed_slots"], ev["gross_failures"]
            ));
        }
        Ok(Judgement::from_problems(problems, ev))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entropy::testdata::*;

    #[test]
    fn chacha_passes_and_a_biased_stream_fails() {
        let run = Run::honest(12_500_000, 1);
        let j = run.judge(&EntropySp80022);
        assert_verdict(&j, Verdict::Pass);
        assert_eq!(j.evidence["sequences"], 100);
        // P(1) = 0.51 per bit.
        let mut b = chacha(5, 12_500_000);
        let r = chacha(6, 12_500_000 * 8);
        for (i, byte) in b.iter_mut().enumerate() {
            *byte = (0..8).fold(0u8, |acc, k| acc << 1 | ((r[i * 8 + k] as u32) < 130) as u8);
        }
        run.write("random_get.bin", &b);
        assert_fails_saying(&run.judge(&EntropySp80022), "random_get: ");
    }
}
