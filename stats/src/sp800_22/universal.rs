//! §2.9 Maurer's "universal statistical" test.

use super::{TestId, TestResult};
use crate::special::erfc;
use std::f64::consts::SQRT_2;

const EXPECTED: [f64; 17] = [
    0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 5.2177052, 6.1962507, 7.1836656, 8.1764248, 9.1723243, 10.170032,
    11.168765, 12.168070, 13.167693, 14.167488, 15.167379,
];
const VARIANCE: [f64; 17] = [
    0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 2.954, 3.125, 3.238, 3.311, 3.356, 3.384, 3.401, 3.410, 3.416,
    3.419, 3.421,
];

/// Block length L from n, using STS's thresholds (n >= 1010 * 2^L * L
/// rounded as in the code). Returns 5 when n is too short for L = 6.
fn block_length(n: usize) -> usize {
    const THRESHOLDS: [(usize, usize); 11] = [
        (387_840, 6),
        (904_960, 7),
        (2_068_480, 8),
        (4_654_080, 9),
        (10_342_400, 10),
        (22_753_280, 11),
        (49_643_520, 12),
        (107_560_960, 13),
        (231_669_760, 14),
        (496_435_200, 15),
        (1_059_061_760, 16),
    ];
    THRESHOLDS
        .iter()
        .rev()
        .find(|&&(t, _)| n >= t)
        .map_or(5, |&(_, l)| l)
}

/// Maurer's test with L chosen from n and Q = 10 * 2^L initialisation
/// blocks, as in STS 2.1.2.
pub fn universal(bits: &[u8]) -> TestResult {
    let n = bits.len();
    let l = block_length(n);
    if l < 6 {
        return TestResult::not_applicable(
            TestId::Universal,
            format!("n = {n} < 387840 (needs L >= 6)"),
        );
    }
    let q = 10usize << l;
    let k = n / l - q;
    let block = |i: usize| {
        bits[(i - 1) * l..i * l]
            .iter()
            .fold(0usize, |acc, &b| (acc << 1) | b as usize)
    };
    let mut table = vec![0usize; 1 << l];
    for i in 1..=q {
        table[block(i)] = i;
    }
    let mut sum = 0.0;
    for i in q + 1..=q + k {
        let d = block(i);
        // ln(x)/ln(2) rather than log2 to track the reference bit for bit.
        sum += ((i - table[d]) as f64).ln() / 2f64.ln();
        table[d] = i;
    }
    let phi = sum / k as f64;
    let lf = l as f64;
    let kf = k as f64;
    let c = 0.7 - 0.8 / lf + (4.0 + 32.0 / lf) * kf.powf(-3.0 / lf) / 15.0;
    let sigma = c * (VARIANCE[l] / kf).sqrt();
    let arg = (phi - EXPECTED[l]).abs() / (SQRT_2 * sigma);
    TestResult::single(TestId::Universal, erfc(arg))
}
