//! Negative controls (defective generators must be caught) and a positive
//! control (ChaCha20 must pass second-level analysis).

mod common;

use rayon::prelude::*;
use std::time::Instant;
use wasiprobe_stats::sp800_22::*;

const N: usize = 1_000_000;

fn p(results: &[TestResult], test: TestId) -> f64 {
    results
        .iter()
        .find(|r| r.test == test)
        .unwrap()
        .p_values
        .iter()
        .map(|p| p.value)
        .fold(f64::INFINITY, f64::min)
}

fn no_nans(results: &[TestResult]) {
    for r in results {
        assert!(
            r.p_values.iter().all(|p| (0.0..=1.0).contains(&p.value)),
            "{} produced an out-of-range p-value: {:?}",
            r.name,
            r.p_values
        );
    }
}

#[test]
fn all_zeros_fails() {
    let r = run_battery(&vec![0u8; N], &Config::default());
    no_nans(&r);
    for t in [
        TestId::Frequency,
        TestId::BlockFrequency,
        TestId::CumulativeSums,
        TestId::Runs,
        TestId::DiscreteFourierTransform,
        TestId::ApproximateEntropy,
        TestId::Serial,
        TestId::LinearComplexity,
    ] {
        assert!(p(&r, t) < 1e-10, "{t:?} missed an all-zero stream");
    }
    // One cycle only: the excursion tests must decline, not fail.
    let re = r
        .iter()
        .find(|r| r.test == TestId::RandomExcursions)
        .unwrap();
    assert!(re.not_applicable.is_some() && re.p_values.is_empty());
}

#[test]
fn bias_of_one_percent_fails_frequency() {
    let bits = common::biased_bits(7, N, 0.51);
    let r = run_battery(&bits, &Config::default());
    no_nans(&r);
    // 2% excess of ones over 10^6 bits is 20 standard deviations.
    assert!(p(&r, TestId::Frequency) < 1e-20);
    assert!(p(&r, TestId::CumulativeSums) < 1e-20);
    assert!(p(&r, TestId::Runs) < 0.01);
}

#[test]
fn repeated_64k_block_fails_pattern_tests() {
    let block = common::chacha_bits(11, 65_536);
    let bits: Vec<u8> = block.iter().cycle().take(N).copied().collect();
    let r = run_battery(&bits, &Config::default());
    no_nans(&r);
    // Each 16-bit pattern count is ~15x a Poisson(1) draw: far too uneven.
    assert!(p(&r, TestId::Serial) < 1e-10);
    assert!(p(&r, TestId::ApproximateEntropy) < 1e-10);
    // A periodic signal has a line spectrum.
    assert!(p(&r, TestId::DiscreteFourierTransform) < 1e-10);
    // Frequency cannot see it (the block itself is balanced): the battery,
    // not any single test, is what catches this defect.
    assert!(p(&r, TestId::Frequency) > 0.01);
}

#[test]
fn chacha20_passes_second_level() {
    let cfg = Config::default();
    let t = Instant::now();
    let per_seq: Vec<Vec<TestResult>> = (0..100u64)
        .into_par_iter()
        .map(|seed| run_battery(&common::chacha_bits(1000 + seed, N), &cfg))
        .collect();
    eprintln!("100 x 10^6-bit battery: {:?}", t.elapsed());
    for r in &per_seq {
        no_nans(r);
    }
    let summary = second_level(&per_seq);
    eprintln!(
        "slots {}, failed {}, expected by chance {:.2}, allowed {}, gross {:?}",
        summary.slots.len(),
        summary.failed_slots,
        summary.expected_false_failures,
        summary.allowed_failed_slots,
        summary.gross_failures
    );
    for s in summary.failing_slots() {
        eprintln!(
            "  {} {}: {}/{} passed, uniformity {:?}",
            s.name, s.slot, s.passed, s.sequences, s.uniformity_p
        );
    }
    assert_eq!(summary.slots.len(), 188);
    assert!(summary.passed, "ChaCha20 failed the battery verdict");
    // Every slot that had enough sequences got a uniformity P-value.
    for s in &summary.slots {
        assert_eq!(
            s.uniformity_p.is_some(),
            s.sequences >= 55,
            "{} {}",
            s.name,
            s.slot
        );
    }
    // Excursion slots only count sequences where the test applied.
    let re = summary
        .slots
        .iter()
        .find(|s| s.test == TestId::RandomExcursions)
        .unwrap();
    assert!(re.sequences < 100 && re.sequences > 0);
}

#[test]
fn defective_generator_fails_second_level() {
    let cfg = Config::default();
    let per_seq: Vec<Vec<TestResult>> = (0..60u64)
        .into_par_iter()
        .map(|seed| run_battery(&common::biased_bits(500 + seed, 200_000, 0.505), &cfg))
        .collect();
    let summary = second_level(&per_seq);
    assert!(!summary.passed);
    assert!(summary.gross_failures.iter().any(|g| g == "Frequency"));
}
