//! Frequency, block frequency, cumulative sums, runs, longest run, rank.

use super::{TestId, TestResult};
use crate::special::{erfc, igamc, normal_cdf};
use std::f64::consts::SQRT_2;

/// §2.1 Frequency (monobit).
pub fn frequency(bits: &[u8]) -> TestResult {
    let n = bits.len();
    if n == 0 {
        return TestResult::not_applicable(TestId::Frequency, "empty sequence");
    }
    let ones = bits.iter().filter(|&&b| b == 1).count() as i64;
    let sum = 2 * ones - n as i64;
    let s_obs = (sum.abs() as f64) / (n as f64).sqrt();
    TestResult::single(TestId::Frequency, erfc(s_obs / SQRT_2))
}

/// §2.2 Frequency within a block, block length `m`.
pub fn block_frequency(bits: &[u8], m: usize) -> TestResult {
    let n = bits.len();
    if m == 0 || n / m == 0 {
        return TestResult::not_applicable(
            TestId::BlockFrequency,
            format!("need at least one block of M = {m} bits, n = {n}"),
        );
    }
    let blocks = n / m;
    let mut sum = 0.0;
    for block in bits.chunks_exact(m).take(blocks) {
        let ones = block.iter().filter(|&&b| b == 1).count();
        let v = ones as f64 / m as f64 - 0.5;
        sum += v * v;
    }
    let chi2 = 4.0 * m as f64 * sum;
    TestResult::single(
        TestId::BlockFrequency,
        igamc(blocks as f64 / 2.0, chi2 / 2.0),
    )
}

/// STS's series for the cusum p-value. Integer divisions truncate toward
/// zero exactly as the C code's `int` arithmetic does; this matters for the
/// summation limits.
fn cusum_p(n: i64, z: i64) -> f64 {
    let sqrt_n = (n as f64).sqrt();
    let mut sum1 = 0.0;
    let mut k = (-n / z + 1) / 4;
    while k <= (n / z - 1) / 4 {
        sum1 += normal_cdf(((4 * k + 1) * z) as f64 / sqrt_n);
        sum1 -= normal_cdf(((4 * k - 1) * z) as f64 / sqrt_n);
        k += 1;
    }
    let mut sum2 = 0.0;
    let mut k = (-n / z - 3) / 4;
    while k <= (n / z - 1) / 4 {
        sum2 += normal_cdf(((4 * k + 3) * z) as f64 / sqrt_n);
        sum2 -= normal_cdf(((4 * k + 1) * z) as f64 / sqrt_n);
        k += 1;
    }
    1.0 - sum1 + sum2
}

/// §2.13 Cumulative sums, forward (label `forward`) and backward (label
/// `reverse`), as the two p-values STS reports.
pub fn cumulative_sums(bits: &[u8]) -> TestResult {
    let n = bits.len() as i64;
    if n == 0 {
        return TestResult::not_applicable(TestId::CumulativeSums, "empty sequence");
    }
    let (mut s, mut sup, mut inf) = (0i64, 0i64, 0i64);
    for &b in bits {
        s += if b == 1 { 1 } else { -1 };
        sup = sup.max(s);
        inf = inf.min(s);
    }
    let z = sup.max(-inf);
    // The backward walk's maximum excursion, derived from the forward one
    // instead of re-walking: max |S_n - S_k| over k.
    let zrev = (sup - s).max(s - inf);
    TestResult::labelled(
        TestId::CumulativeSums,
        vec![
            ("forward".into(), cusum_p(n, z)),
            ("reverse".into(), cusum_p(n, zrev)),
        ],
    )
}

/// §2.3 Runs. As in STS, when the frequency prerequisite fails the p-value
/// is reported as 0.0 (a failure) rather than as not applicable: the
/// sequence is already known to be non-random.
pub fn runs(bits: &[u8]) -> TestResult {
    let n = bits.len();
    if n == 0 {
        return TestResult::not_applicable(TestId::Runs, "empty sequence");
    }
    let ones = bits.iter().filter(|&&b| b == 1).count();
    let pi = ones as f64 / n as f64;
    if (pi - 0.5).abs() > 2.0 / (n as f64).sqrt() {
        return TestResult::single(TestId::Runs, 0.0);
    }
    let v = 1 + bits.windows(2).filter(|w| w[0] != w[1]).count();
    let arg = (v as f64 - 2.0 * n as f64 * pi * (1.0 - pi)).abs()
        / (2.0 * pi * (1.0 - pi) * (2.0 * n as f64).sqrt());
    TestResult::single(TestId::Runs, erfc(arg))
}

/// §2.4 Longest run of ones in a block; M and the category table are chosen
/// from n exactly as STS does (8 for n < 6272, 128 for n < 750000, else
/// 10^4).
pub fn longest_run_of_ones(bits: &[u8]) -> TestResult {
    let n = bits.len();
    if n < 128 {
        return TestResult::not_applicable(TestId::LongestRun, format!("n = {n} < 128"));
    }
    let (m, v, pi): (usize, &[usize], &[f64]) = if n < 6272 {
        (
            8,
            &[1, 2, 3, 4],
            &[0.21484375, 0.3671875, 0.23046875, 0.1875],
        )
    } else if n < 750_000 {
        (
            128,
            &[4, 5, 6, 7, 8, 9],
            &[
                0.1174035788,
                0.242955959,
                0.249363483,
                0.17517706,
                0.102701071,
                0.112398847,
            ],
        )
    } else {
        (
            10_000,
            &[10, 11, 12, 13, 14, 15, 16],
            &[0.0882, 0.2092, 0.2483, 0.1933, 0.1208, 0.0675, 0.0727],
        )
    };
    let k = v.len() - 1;
    let blocks = n / m;
    let mut nu = vec![0u64; k + 1];
    for block in bits.chunks_exact(m).take(blocks) {
        let (mut run, mut longest) = (0usize, 0usize);
        for &b in block {
            if b == 1 {
                run += 1;
                longest = longest.max(run);
            } else {
                run = 0;
            }
        }
        let idx = if longest <= v[0] {
            0
        } else if longest >= v[k] {
            k
        } else {
            longest - v[0]
        };
        nu[idx] += 1;
    }
    let nf = blocks as f64;
    let chi2: f64 = nu
        .iter()
        .zip(pi)
        .map(|(&o, &p)| (o as f64 - nf * p).powi(2) / (nf * p))
        .sum();
    TestResult::single(TestId::LongestRun, igamc(k as f64 / 2.0, chi2 / 2.0))
}

/// Rank of a 32x32 GF(2) matrix computed with the exact elimination sequence
/// of STS `computeRank`: forward pass that only pivots on the diagonal,
/// backward pass, then counting non-zero rows. Row `i`, column `j` is bit
/// `j` of `rows[i]`.
fn sts_rank32(rows: &mut [u32; 32]) -> u32 {
    const M: usize = 32;
    let bit = |r: u32, c: usize| (r >> c) & 1 == 1;
    for i in 0..M - 1 {
        let pivot = if bit(rows[i], i) {
            true
        } else if let Some(idx) = (i + 1..M).find(|&r| bit(rows[r], i)) {
            rows.swap(i, idx);
            true
        } else {
            false
        };
        if pivot {
            // Columns left of i are already zero in rows >= i, so masking
            // only mirrors the reference's `k = i..Q` loop.
            let src = rows[i] & (u32::MAX << i);
            for row in rows.iter_mut().skip(i + 1) {
                if bit(*row, i) {
                    *row ^= src;
                }
            }
        }
    }
    for i in (1..M).rev() {
        let pivot = if bit(rows[i], i) {
            true
        } else if let Some(idx) = (0..i).rev().find(|&r| bit(rows[r], i)) {
            rows.swap(i, idx);
            true
        } else {
            false
        };
        if pivot {
            let src = rows[i];
            for r in (0..i).rev() {
                if bit(rows[r], i) {
                    rows[r] ^= src;
                }
            }
        }
    }
    M as u32 - rows.iter().filter(|&&r| r == 0).count() as u32
}

/// §2.5 Binary matrix rank, 32x32 matrices filled row by row.
pub fn rank(bits: &[u8]) -> TestResult {
    const Q: usize = 32;
    let n = bits.len();
    let count = n / (Q * Q);
    if count == 0 {
        return TestResult::not_applicable(TestId::Rank, format!("n = {n} < 1024"));
    }
    // Probabilities of full rank and rank 31 for a random 32x32 matrix,
    // computed as STS does rather than hard-coded.
    let prob = |r: i32| {
        let mut product = 1.0f64;
        for i in 0..r {
            let a = 1.0 - 2f64.powi(i - 32);
            product *= a * a / (1.0 - 2f64.powi(i - r));
        }
        2f64.powi(r * (64 - r) - 1024) * product
    };
    let p32 = prob(32);
    let p31 = prob(31);
    let p30 = 1.0 - (p32 + p31);
    let (mut f32_, mut f31) = (0u64, 0u64);
    for mat in bits.chunks_exact(Q * Q).take(count) {
        let mut rows = [0u32; 32];
        for (i, row) in rows.iter_mut().enumerate() {
            for j in 0..Q {
                *row |= (mat[i * Q + j] as u32) << j;
            }
        }
        match sts_rank32(&mut rows) {
            32 => f32_ += 1,
            31 => f31 += 1,
            _ => {}
        }
    }
    let nf = count as f64;
    let f30 = nf - (f32_ + f31) as f64;
    let chi2 = (f32_ as f64 - nf * p32).powi(2) / (nf * p32)
        + (f31 as f64 - nf * p31).powi(2) / (nf * p31)
        + (f30 - nf * p30).powi(2) / (nf * p30);
    TestResult::single(TestId::Rank, (-chi2 / 2.0).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rank_of_identity_and_zero() {
        let mut id = [0u32; 32];
        for (i, r) in id.iter_mut().enumerate() {
            *r = 1 << i;
        }
        assert_eq!(sts_rank32(&mut id), 32);
        let mut z = [0u32; 32];
        assert_eq!(sts_rank32(&mut z), 0);
        let mut dup = [0u32; 32];
        dup[0] = 0b10;
        dup[1] = 0b10;
        assert_eq!(sts_rank32(&mut dup), 1);
    }
}
