//! §2.10 Linear complexity.

use super::{TestId, TestResult};
use crate::special::igamc;

/// Linear complexity of `s` over GF(2) by Berlekamp–Massey, with the
/// polynomials and the sequence held as bitsets so that each discrepancy is a
/// masked parity rather than an O(L) loop.
///
/// The sequence is stored reversed, so the bits `s[N], s[N-1], …, s[N-L]` a
/// discrepancy needs are a window of it read at an offset: nothing is shifted
/// per bit, and only the L/64 + 1 words C can occupy are read (C's degree never
/// exceeds L). The words are XORed before the one population count: the
/// parity is the same, and x86-64's baseline has no `popcnt`.
pub(crate) fn berlekamp_massey(s: &[u8]) -> usize {
    let n = s.len();
    let words = n / 64 + 2;
    // rev bit j = s[n - 1 - j]; one spare word so a window's high half can always be read.
    let mut rev = vec![0u64; words + 1];
    for (j, &bit) in s.iter().rev().enumerate() {
        rev[j / 64] |= (bit as u64 & 1) << (j % 64);
    }
    let mut c = vec![0u64; words];
    let mut b = vec![0u64; words];
    let mut t = vec![0u64; words];
    c[0] = 1;
    b[0] = 1;
    let mut l = 0usize;
    let mut m: isize = -1;
    for pos in 0..n {
        // Bit i of the window at offset n - 1 - pos is s[pos - i].
        let (w, r) = ((n - 1 - pos) / 64, (n - 1 - pos) % 64);
        let mut acc = 0u64;
        for (k, &ck) in c[..=l / 64].iter().enumerate() {
            let mut window = rev[w + k] >> r;
            if r != 0 {
                window |= rev[w + k + 1] << (64 - r);
            }
            acc ^= ck & window;
        }
        if acc.count_ones() & 1 == 1 {
            t.copy_from_slice(&c);
            let shift = (pos as isize - m) as usize;
            let (ws, bs) = (shift / 64, shift % 64);
            // x^shift·B has degree at most pos + 1, so no word past pos / 64 + 1 changes.
            for i in (ws..(pos / 64 + 2).min(words)).rev() {
                let lo = b[i - ws];
                let mut v = lo << bs;
                if bs != 0 && i > ws {
                    v |= b[i - ws - 1] >> (64 - bs);
                }
                c[i] ^= v;
            }
            if l <= pos / 2 {
                l = pos + 1 - l;
                m = pos as isize;
                b.copy_from_slice(&t);
            }
        }
    }
    l
}

/// §2.10 Linear complexity with block length `m` (STS default 500), K = 6.
///
/// The mean and the sign of T follow the STS code, which uses (-1)^M where
/// the publication prints (-1)^(M+1) for the mean's correction term.
pub fn linear_complexity(bits: &[u8], m: usize) -> TestResult {
    const PI: [f64; 7] = [
        0.01047, 0.03125, 0.12500, 0.50000, 0.25000, 0.06250, 0.020833,
    ];
    let test = TestId::LinearComplexity;
    let n = bits.len();
    if m == 0 || n / m == 0 {
        return TestResult::not_applicable(
            test,
            format!("need one block of M = {m} bits, n = {n}"),
        );
    }
    let blocks = n / m;
    let mf = m as f64;
    let sign = if m.is_multiple_of(2) { 1.0 } else { -1.0 };
    let mean = mf / 2.0 + (9.0 + sign) / 36.0 - (mf / 3.0 + 2.0 / 9.0) / 2f64.powf(mf);
    let mut nu = [0u64; 7];
    for block in bits.chunks_exact(m).take(blocks) {
        let l = berlekamp_massey(block) as f64;
        let t = sign * (l - mean) + 2.0 / 9.0;
        let idx = if t <= -2.5 {
            0
        } else if t <= -1.5 {
            1
        } else if t <= -0.5 {
            2
        } else if t <= 0.5 {
            3
        } else if t <= 1.5 {
            4
        } else if t <= 2.5 {
            5
        } else {
            6
        };
        nu[idx] += 1;
    }
    let nf = blocks as f64;
    let chi2: f64 = nu
        .iter()
        .zip(PI)
        .map(|(&o, p)| (o as f64 - nf * p).powi(2) / (nf * p))
        .sum();
    TestResult::single(test, igamc(3.0, chi2 / 2.0))
}

#[cfg(test)]
mod tests {
    use super::berlekamp_massey;

    /// Plain O(n^2) Berlekamp–Massey, transcribed from the STS loop, as an
    /// oracle for the bitset version.
    fn reference(s: &[u8]) -> usize {
        let n = s.len();
        let (mut c, mut b) = (vec![0u8; n + 1], vec![0u8; n + 1]);
        c[0] = 1;
        b[0] = 1;
        let (mut l, mut m) = (0usize, -1isize);
        for pos in 0..n {
            let mut d = s[pos];
            for i in 1..=l {
                d ^= c[i] & s[pos - i];
            }
            if d == 1 {
                let t = c.clone();
                let shift = (pos as isize - m) as usize;
                for j in 0..=n {
                    if b[j] == 1 && j + shift <= n {
                        c[j + shift] ^= 1;
                    }
                }
                if l <= pos / 2 {
                    l = pos + 1 - l;
                    m = pos as isize;
                    b = t;
                }
            }
        }
        l
    }

    #[test]
    fn matches_reference_and_spec_example() {
        // §2.10.4: 1101011110001 has linear complexity 4.
        let s: Vec<u8> = "1101011110001".bytes().map(|c| c - b'0').collect();
        assert_eq!(berlekamp_massey(&s), 4);
        let mut x = 0x1234_5678_9abc_def1u64;
        for len in (0..8).flat_map(|_| [1usize, 2, 63, 64, 65, 127, 128, 129, 300, 500, 1000]) {
            let s: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    (x & 1) as u8
                })
                .collect();
            assert_eq!(berlekamp_massey(&s), reference(&s), "len {len}");
        }
        assert_eq!(berlekamp_massey(&[0; 100]), 0);
    }
}
