//! §2.12 Approximate entropy and §2.11 serial tests: both are built on
//! cyclic (wrap-around) counts of overlapping m-bit patterns.

use super::{TestId, TestResult};
use crate::special::igamc;

/// Counts of every m-bit pattern starting at each of the n positions, with
/// the sequence wrapped around (the first m-1 bits appended), as STS does.
fn cyclic_counts(bits: &[u8], m: usize) -> Vec<u32> {
    let n = bits.len();
    let mut counts = vec![0u32; 1 << m];
    if m == 0 {
        counts[0] = n as u32;
        return counts;
    }
    let mask = (1usize << m) - 1;
    // The bits in the order the windows read them: the sequence, then its first m - 1 bits
    // again (cycled, for a sequence shorter than m - 1), with no modulo per bit.
    let mut stream = bits.iter().chain(bits.iter().cycle().take(m - 1));
    let mut w = 0usize;
    for &b in stream.by_ref().take(m - 1) {
        w = (w << 1) | b as usize;
    }
    for &b in stream {
        w = ((w << 1) | b as usize) & mask;
        counts[w] += 1;
    }
    counts
}

/// §2.12 Approximate entropy with block length `m`.
pub fn approximate_entropy(bits: &[u8], m: usize) -> TestResult {
    let n = bits.len();
    let test = TestId::ApproximateEntropy;
    if n == 0 || m > 24 {
        return TestResult::not_applicable(test, format!("n = {n}, m = {m} unsupported"));
    }
    let nf = n as f64;
    let phi = |block: usize| -> f64 {
        if block == 0 {
            return 0.0;
        }
        let sum: f64 = cyclic_counts(bits, block)
            .iter()
            .filter(|&&c| c > 0)
            .map(|&c| c as f64 * (c as f64 / nf).ln())
            .sum();
        sum / nf
    };
    let apen = phi(m) - phi(m + 1);
    let chi2 = 2.0 * nf * (2f64.ln() - apen);
    TestResult::single(test, igamc(2f64.powi(m as i32 - 1), chi2 / 2.0))
}

/// psi^2_m of §2.11; zero for m <= 0 as in STS.
fn psi2(bits: &[u8], m: i64) -> f64 {
    if m <= 0 {
        return 0.0;
    }
    let n = bits.len() as f64;
    // Integer sum of squares is exact, as the reference's double sum is for
    // these magnitudes.
    let sum: u64 = cyclic_counts(bits, m as usize)
        .iter()
        .map(|&c| c as u64 * c as u64)
        .sum();
    sum as f64 * 2f64.powi(m as i32) / n - n
}

/// §2.11 Serial test with block length `m`; two p-values labelled `p1`
/// (del psi^2) and `p2` (del^2 psi^2).
pub fn serial(bits: &[u8], m: usize) -> TestResult {
    let n = bits.len();
    let test = TestId::Serial;
    if n == 0 || !(2..=24).contains(&m) {
        return TestResult::not_applicable(test, format!("n = {n}, m = {m} unsupported"));
    }
    let mi = m as i64;
    let (p0, p1, p2) = (psi2(bits, mi), psi2(bits, mi - 1), psi2(bits, mi - 2));
    let del1 = p0 - p1;
    let del2 = p0 - 2.0 * p1 + p2;
    TestResult::labelled(
        test,
        vec![
            (
                "p1".into(),
                igamc(2f64.powi(m as i32 - 1) / 2.0, del1 / 2.0),
            ),
            (
                "p2".into(),
                igamc(2f64.powi(m as i32 - 2) / 2.0, del2 / 2.0),
            ),
        ],
    )
}
