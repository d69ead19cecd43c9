//! §6.3.1 most common value, and the binary-only entropic statistic
//! estimates §6.3.2 collision, §6.3.3 Markov, §6.3.4 compression, ported
//! from NIST's `ea_non_iid` (SP800-90B_EntropyAssessment, cpp/).

use super::ZALPHA;

/// §6.3.1 Most common value estimate over symbols `0..alph_size`.
pub(crate) fn most_common(data: &[u8], alph_size: usize) -> Option<f64> {
    let len = data.len();
    if len < 2 {
        return None;
    }
    let mut counts = vec![0u64; alph_size.max(256)];
    for &s in data {
        counts[s as usize] += 1;
    }
    let mode = *counts.iter().max().unwrap();
    Some(upper_bound_entropy(mode as f64 / len as f64, len))
}

/// §6.3.2 Collision estimate for binary data.
///
/// Uses the closed form the reference tool adopted (due to Uyen Dinh): for
/// binary data the expected-value equation of step 7 reduces to
/// X' = -2p^2 + 2p + 2, solved directly instead of by binary search.
pub(crate) fn collision(data: &[u8]) -> Option<f64> {
    let len = data.len();
    let (mut i, mut v, mut sq) = (0usize, 0u64, 0f64);
    while i + 1 < len {
        let t = if data[i] == data[i + 1] {
            2
        } else if i + 2 < len {
            3
        } else {
            break;
        };
        v += 1;
        sq += (t * t) as f64;
        i += t;
    }
    if v < 2 {
        return None;
    }
    let vf = v as f64;
    let x = i as f64 / vf;
    let s = ((sq - i as f64 * x) / (vf - 1.0)).sqrt();
    Some(collision_entropy(x - ZALPHA * s / vf.sqrt()))
}

fn collision_entropy(x_prime: f64) -> f64 {
    let x = x_prime.max(2.0);
    if x < 2.5 {
        -(0.5 + (1.25 - 0.5 * x).sqrt()).log2()
    } else {
        1.0
    }
}

/// §6.3.3 Markov estimate for binary data (per bit).
pub(crate) fn markov(data: &[u8]) -> Option<f64> {
    let len = data.len();
    if len < 2 {
        return None;
    }
    let (mut c0, mut c00, mut c10) = (0u64, 0u64, 0u64);
    for w in data.windows(2) {
        if w[0] == 0 {
            c0 += 1;
            if w[1] == 0 {
                c00 += 1;
            }
        } else if w[1] == 0 {
            c10 += 1;
        }
    }
    let c1 = len as u64 - 1 - c0;
    let (p00, p01) = if c0 > 0 {
        let p = c00 as f64 / c0 as f64;
        (p, 1.0 - p)
    } else {
        (0.0, 0.0)
    };
    let (p10, p11) = if c1 > 0 {
        let p = c10 as f64 / c1 as f64;
        (p, 1.0 - p)
    } else {
        (0.0, 0.0)
    };
    if data[len - 1] == 0 {
        c0 += 1;
    }
    let p0 = c0 as f64 / len as f64;
    Some(markov_entropy(p0, 1.0 - p0, [p00, p01, p10, p11]))
}

/// -log2 of the most likely 128-bit sequence under the fitted first-order
/// chain, per bit, as in the reference (only the six candidate sequences it
/// considers). `t` = [P00, P01, P10, P11].
fn markov_entropy(p0: f64, p1: f64, t: [f64; 4]) -> f64 {
    let [p00, p01, p10, p11] = t;
    let candidates = [
        (p00 > 0.0, -p0.log2() - 127.0 * p00.log2()),
        (
            p01 > 0.0 && p10 > 0.0,
            -p0.log2() - 64.0 * p01.log2() - 63.0 * p10.log2(),
        ),
        (
            p01 > 0.0 && p11 > 0.0,
            -p0.log2() - p01.log2() - 126.0 * p11.log2(),
        ),
        (
            p10 > 0.0 && p00 > 0.0,
            -p1.log2() - p10.log2() - 126.0 * p00.log2(),
        ),
        (
            p10 > 0.0 && p01 > 0.0,
            -p1.log2() - 64.0 * p10.log2() - 63.0 * p01.log2(),
        ),
        (p11 > 0.0, -p1.log2() - 127.0 * p11.log2()),
    ];
    let h_min = candidates
        .iter()
        .filter(|(ok, _)| *ok)
        .map(|&(_, h)| h)
        .fold(128.0f64, f64::min);
    (h_min / 128.0).min(1.0)
}

fn kahan_add(sum: &mut f64, comp: &mut f64, x: f64) {
    let y = x - *comp;
    let t = *sum + y;
    *comp = (t - *sum) - y;
    *sum = t;
}

/// The G function of §6.3.4 step 9, evaluated with the telescoping scheme of
/// the reference tool (which uses long double for B_i; f64 differs only in
/// where the underflowing tail is cut, far below double resolution of the
/// result).
fn compression_g(z: f64, d: u64, num_blocks: u64) -> f64 {
    let (mut ai, mut ai_comp) = (0.0, 0.0);
    let (mut first, mut first_comp) = (0.0, 0.0);
    let v = num_blocks - d;
    let bterm = 1.0 - z;
    let mut bi = bterm;
    for i in 2..=d {
        kahan_add(&mut ai, &mut ai_comp, (i as f64).log2() * bi);
        bi *= bterm;
    }
    let ad1 = ai;
    let mut truncated = false;
    for i in d + 1..num_blocks {
        let a = (i as f64).log2() * bi;
        kahan_add(&mut ai, &mut ai_comp, a);
        let scaled = (num_blocks - i) as f64 * a;
        // The reference stops once the term rounds to 0 as a double. In f64,
        // B_i instead sticks at the smallest subnormal (x(1-z) rounds back
        // up) and the loop would run to the end in slow subnormal
        // arithmetic; terms below the smallest normal cannot change sums of
        // order 1, so stopping there gives the same doubles.
        if scaled >= f64::MIN_POSITIVE {
            kahan_add(&mut first, &mut first_comp, scaled);
        } else {
            truncated = true;
            break;
        }
        bi *= bterm;
    }
    kahan_add(&mut first, &mut first_comp, (num_blocks - d) as f64 * ad1);
    if !truncated {
        kahan_add(&mut ai, &mut ai_comp, (num_blocks as f64).log2() * bi);
    }
    1.0 / v as f64 * z * (z * first + (ai - ad1))
}

fn compression_expected(p: f64, alph_size: f64, d: u64, num_blocks: u64) -> f64 {
    let q = (1.0 - p) / (alph_size - 1.0);
    compression_g(p, d, num_blocks) + (alph_size - 1.0) * compression_g(q, d, num_blocks)
}

/// Port of the reference's `relEpsilonEqual`: relative closeness, falling
/// back to absolute difference near zero and to a ULP distance otherwise.
pub(crate) fn rel_epsilon_equal(a: f64, b: f64, max_abs: f64, max_rel: f64, max_ulp: u64) -> bool {
    if a.is_nan() || b.is_nan() {
        return false;
    }
    if a == b {
        return true;
    }
    if a.is_infinite() || b.is_infinite() {
        return false;
    }
    let (mut a, mut b) = (a, b);
    if a.abs() > b.abs() {
        std::mem::swap(&mut a, &mut b);
    }
    let (abs_a, abs_b) = (a.abs(), b.abs());
    let diff = (b - a).abs();
    if abs_a < f64::MIN_POSITIVE
        || diff < f64::MIN_POSITIVE
        || diff.is_infinite()
        || abs_b * max_rel < f64::MIN_POSITIVE
    {
        return diff <= max_abs;
    }
    if diff <= abs_b * max_rel {
        return true;
    }
    if a.is_sign_negative() != b.is_sign_negative() {
        return false;
    }
    abs_b.to_bits() - abs_a.to_bits() <= max_ulp
}

pub(crate) const ITERMAX: usize = 1076;

pub(crate) fn in_closed(x: f64, a: f64, b: f64) -> bool {
    if a > b {
        x >= b && x <= a
    } else {
        x >= a && x <= b
    }
}

pub(crate) fn in_open(x: f64, a: f64, b: f64) -> bool {
    if a > b {
        x > b && x < a
    } else {
        x > a && x < b
    }
}

/// Bisection for the p whose expected value equals `target`, for a function
/// `f` decreasing in p on [ldomain, hdomain], with the reference tool's
/// invariant checks. `on_failure` is what the caller wants returned when the
/// search breaks down.
pub(crate) fn bisect(
    f: impl Fn(f64) -> f64,
    target: f64,
    ldomain: f64,
    hdomain: f64,
    on_failure: f64,
) -> f64 {
    let (mut lbound, mut hbound) = (ldomain, hdomain);
    let (mut lvalue, mut hvalue) = (f64::INFINITY, f64::NEG_INFINITY);
    let mut p = (lbound + hbound) / 2.0;
    let mut pval = f(p);
    for _ in 0..ITERMAX {
        if rel_epsilon_equal(pval, target, f64::MIN_POSITIVE, f64::EPSILON, 4) {
            break;
        }
        if target < pval {
            lbound = p;
            lvalue = pval;
        } else {
            hbound = p;
            hvalue = pval;
        }
        if lbound >= hbound {
            p = lbound.max(hbound).min(hdomain);
            break;
        }
        if !(in_closed(lbound, ldomain, hdomain) && in_closed(hbound, ldomain, hdomain)) {
            p = on_failure;
            break;
        }
        if !in_closed(target, lvalue, hvalue) {
            p = on_failure;
            break;
        }
        let last = p;
        p = (lbound + hbound) / 2.0;
        if !in_open(p, lbound, hbound) {
            p = hbound;
            break;
        }
        if last == p {
            p = hbound;
            break;
        }
        pval = f(p);
        if !in_closed(pval, lvalue, hvalue) {
            p = hbound;
            break;
        }
    }
    p
}

/// §6.3.4 Compression estimate for binary data (per bit): 6-bit blocks,
/// 1000-block dictionary.
pub(crate) fn compression(data: &[u8]) -> Option<f64> {
    const B: usize = 6;
    const D: u64 = 1000;
    let num_blocks = (data.len() / B) as u64;
    if num_blocks <= D {
        return None;
    }
    let block = |i: u64| {
        data[i as usize * B..(i as usize + 1) * B]
            .iter()
            .fold(0usize, |acc, &b| (acc << 1) | (b & 1) as usize)
    };
    let mut dict = [0u64; 1 << B];
    for i in 0..D {
        dict[block(i)] = i + 1;
    }
    let v = num_blocks - D;
    let (mut x, mut x_comp) = (0.0, 0.0);
    let (mut sigma, mut sigma_comp) = (0.0, 0.0);
    for i in D..num_blocks {
        let b = block(i);
        let l = ((i + 1 - dict[b]) as f64).log2();
        kahan_add(&mut x, &mut x_comp, l);
        kahan_add(&mut sigma, &mut sigma_comp, l * l);
        dict[b] = i + 1;
    }
    let vf = v as f64;
    x /= vf;
    sigma = 0.5907 * (sigma / (vf - 1.0) - x * x).sqrt();
    x -= ZALPHA * sigma / vf.sqrt();
    Some(compression_entropy(x, num_blocks))
}

/// Steps 8-9 of §6.3.4: solve E[X](p) = X' for p, entropy per bit.
fn compression_entropy(x_prime: f64, num_blocks: u64) -> f64 {
    const B: usize = 6;
    const D: u64 = 1000;
    let alph = (1u32 << B) as f64;
    let f = |p: f64| compression_expected(p, alph, D, num_blocks);
    let ldomain = 1.0 / alph;
    let p = if f(ldomain) > x_prime {
        bisect(f, x_prime, ldomain, 1.0, ldomain)
    } else {
        -1.0
    };
    if p > ldomain {
        -p.log2() / B as f64
    } else {
        1.0
    }
}

/// Step 7-8 of §6.3.1 / §6.3.5: entropy from an estimated probability via
/// its 99% upper confidence bound over `n` samples.
pub(crate) fn upper_bound_entropy(p_hat: f64, n: usize) -> f64 {
    let pu = (p_hat + ZALPHA * (p_hat * (1.0 - p_hat) / (n as f64 - 1.0)).sqrt()).min(1.0);
    -pu.log2()
}

#[cfg(test)]
#[allow(clippy::excessive_precision)] // values verbatim from the reference's output
mod tests {
    //! Checks against the verbose output the reference tool prints for its
    //! own self-test file truerand_8bit.bin (cpp/selftest/refdata/
    //! truerand_8bit.res): given the same intermediate statistics, the same
    //! estimates must come out.
    use super::*;

    fn near(a: f64, b: f64, tol: f64) {
        assert!((a - b).abs() <= tol, "{a} vs {b}");
    }

    #[test]
    fn mcv_bound_matches_reference() {
        near(
            upper_bound_entropy(4_001_353.0 / 8e6, 8_000_000),
            0.9981992801198275,
            1e-12,
        );
        near(
            upper_bound_entropy(4124.0 / 1e6, 1_000_000),
            7.8651180028995897,
            1e-12,
        );
    }

    #[test]
    fn compression_solution_matches_reference() {
        // X-bar' = 5.2154460395011881 over 8e6/6 blocks -> p = 0.0232698...
        let h = compression_entropy(5.2154460395011881, 8_000_000 / 6);
        near(h, 0.90423268189731187, 1e-9);
    }

    #[test]
    fn collision_matches_reference() {
        // X-bar' = 2.4995722134095013 -> p = 0.51462509129032696
        near(
            collision_entropy(2.4995722134095013),
            -(0.51462509129032696f64).log2(),
            1e-12,
        );
        near(
            collision_entropy(2.4995722134095013),
            0.95840629541836875,
            1e-12,
        );
    }

    #[test]
    fn markov_matches_reference() {
        let h = markov_entropy(
            0.49983087500000001,
            0.50016912499999999,
            [
                0.49985620132414821,
                0.50014379867585179,
                0.49980544080964612,
                0.50019455919035383,
            ],
        );
        near(h, 0.99943930316686191, 1e-12);
        near(2f64.powf(-h * 128.0), 3.088625376674869e-39, 1e-50);
    }
}
