//! Known-answer tests for the SP 800-22 implementation.
//!
//! The 10^6-bit expansions of pi, e, sqrt(2) and sqrt(3) are computed here
//! with num-bigint (NIST ships them as data/data.*; we do not ship digits)
//! and checked against Appendix B of SP 800-22 rev 1a.

mod common;

use std::time::Instant;
use wasiprobe_stats::sp800_22::*;

type Expect = (TestId, &'static str, f64);

/// Appendix B reports one p-value per test: cusum both directions,
/// template 000000001, excursion states +1 / -1 and the first serial
/// p-value (del psi^2). Linear complexity uses M = 500 (the table's
/// parameter and the STS default).
fn appendix_b(values: [f64; 16]) -> Vec<Expect> {
    use TestId::*;
    let slots = [
        (Frequency, ""),
        (BlockFrequency, ""),
        (CumulativeSums, "forward"),
        (CumulativeSums, "reverse"),
        (Runs, ""),
        (LongestRun, ""),
        (Rank, ""),
        (DiscreteFourierTransform, ""),
        (NonOverlappingTemplate, "000000001"),
        (OverlappingTemplate, ""),
        (Universal, ""),
        (ApproximateEntropy, ""),
        (RandomExcursions, "x=+1"),
        (RandomExcursionsVariant, "x=-1"),
        (LinearComplexity, ""),
        (Serial, "p1"),
    ];
    slots
        .iter()
        .zip(values)
        .map(|(&(t, l), v)| (t, l, v))
        .collect()
}

fn check(name: &str, results: &[TestResult], expect: &[Expect], tol: f64) {
    let mut bad = Vec::new();
    for &(test, label, want) in expect {
        let r = results.iter().find(|r| r.test == test).unwrap();
        let got = r.p_for(label).unwrap_or(f64::NAN);
        let ok = (got - want).abs() <= tol;
        eprintln!(
            "{name:6} {:24} {label:9} got {got:.6} want {want:.6} {}",
            test.name(),
            if ok { "ok" } else { "MISMATCH" }
        );
        if !ok {
            bad.push(format!(
                "{} {label}: got {got:.7}, want {want}",
                test.name()
            ));
        }
    }
    assert!(bad.is_empty(), "{name}: {bad:#?}");
}

#[test]
fn pi_appendix_b() {
    let t = Instant::now();
    let bits = common::pi_bits(1_000_000);
    let digits = t.elapsed();
    let t = Instant::now();
    let results = run_battery(&bits, &Config::default());
    eprintln!("pi: digits {digits:?}, battery {:?}", t.elapsed());
    check(
        "pi",
        &results,
        &appendix_b([
            0.578211, 0.380615, 0.628308, 0.663369, 0.419268, 0.024390, 0.083553, 0.010186,
            0.165757, 0.296897, 0.669012, 0.361595, 0.844143, 0.760966, 0.255475, 0.143005,
        ]),
        1e-6,
    );
    // Not in Appendix B (it lists only del psi^2): our del^2 psi^2 p-value,
    // kept as a regression value. The 0.766182 sometimes quoted as pi's
    // second serial p-value is e's first one (see `e_appendix_b`).
    let serial = results.iter().find(|r| r.test == TestId::Serial).unwrap();
    assert!((serial.p_for("p2").unwrap() - 0.034354).abs() < 1e-6);
    // Linear complexity with M = 1000 is not an Appendix B entry either.
    assert!((linear_complexity(&bits, 1000).p().unwrap() - 0.078678).abs() < 1e-6);
}

#[test]
fn e_appendix_b() {
    let bits = common::e_bits(1_000_000);
    assert_eq!(bits[..12], [1, 0, 1, 0, 1, 1, 0, 1, 1, 1, 1, 1]);
    // The e column's cusum entries (0.669887, 0.724266) sit 5e-7 and 7e-7
    // above what the STS formula gives with an exact normal CDF
    // (0.6698865, 0.7242653), so they agree to 1e-6 but not after rounding
    // to six places; the pi column's do. We have no explanation beyond the
    // table having been produced with a less accurate normal CDF.
    check(
        "e",
        &run_battery(&bits, &Config::default()),
        &appendix_b([
            0.953749, 0.211072, 0.669887, 0.724266, 0.561917, 0.718945, 0.306156, 0.847187,
            0.078790, 0.110434, 0.282568, 0.700073, 0.786868, 0.826009, 0.826335, 0.766182,
        ]),
        1e-6,
    );
}

#[test]
fn sqrt2_sqrt3_appendix_b() {
    for (name, n, column) in [
        (
            "sqrt2",
            2,
            [
                0.811881, 0.833222, 0.879009, 0.957206, 0.313427, 0.012117, 0.823810, 0.581909,
                0.569461, 0.791982, 0.130805, 0.884740, 0.216235, 0.566118, 0.317127, 0.861925,
            ],
        ),
        (
            "sqrt3",
            3,
            [
                0.610051, 0.473961, 0.917121, 0.689519, 0.261123, 0.446726, 0.314498, 0.776046,
                0.532235, 0.082716, 0.165981, 0.180481, 0.783283, 0.155066, 0.346469, 0.157500,
            ],
        ),
    ] {
        check(
            name,
            &run_battery(&common::sqrt_bits(n, 1_000_000), &Config::default()),
            &appendix_b(column),
            1e-6,
        );
    }
}

fn b(s: &str) -> Vec<u8> {
    bits_from_ascii01(s).unwrap()
}

const PI_100: &str = "1100100100001111110110101010001000100001011010001100001000110100110001001100011001100010100010111000";

fn close(got: Option<f64>, want: f64) {
    let got = got.expect("p-value");
    assert!((got - want).abs() <= 1e-6, "got {got}, want {want}");
}

#[test]
fn small_known_answers() {
    close(frequency(&b("1011010101")).p(), 0.527089);
    let pi100 = b(PI_100);
    assert_eq!(pi100, common::pi_bits(100));
    close(frequency(&pi100).p(), 0.109599);
    close(block_frequency(&pi100, 10).p(), 0.706438);
    close(runs(&pi100).p(), 0.500798);
    close(approximate_entropy(&pi100, 2).p(), 0.235301);
    close(block_frequency(&b("0110011010"), 3).p(), 0.801252);
}

/// Worked examples in the publication's section text that the reference
/// algorithm reproduces. Those it does not: the DFT examples of §2.6.4 and
/// §2.6.8 were computed with the pre-2.1.2 threshold (the 2.1.2 algorithm,
/// as implemented here, gives 0.468160 and 0.646355; the first is asserted
/// below as a regression value); the overlapping-template example
/// (§2.8.4) uses the old category probabilities and M = 10, K = 2, and
/// Maurer's example (§2.9.4) L = 2, Q = 4, neither of which the reference
/// code can be configured to run.
#[test]
fn section_examples_that_match_the_code() {
    close(runs(&b("1001101011")).p(), 0.147232);
    let lr = b("11001100000101010110110001001100111000000000001001001101010100010001001111010110100000001101011111001100111001101101100010110010");
    close(longest_run_of_ones(&lr).p(), 0.180609);
    let s = serial(&b("0011011101"), 3);
    close(s.p_for("p1"), 0.808792);
    close(s.p_for("p2"), 0.670320);
    close(approximate_entropy(&b("0100110101"), 3).p(), 0.261961);
    close(cumulative_sums(&b("1011010111")).p_for("forward"), 0.411658);
    close(cumulative_sums(&b(PI_100)).p_for("forward"), 0.219194);
    close(discrete_fourier_transform(&b("1001010011")).p(), 0.468160);
    // Serial on e with m = 16: p1 = 0.766182 is Appendix B's (checked in
    // `e_appendix_b`); p2 is a regression value.
    let e = common::e_bits(1_000_000);
    close(serial(&e, 16).p_for("p2"), 0.462921);
}
