//! Test-only data generators shared by the integration tests.
#![allow(dead_code)]

use num_bigint::{BigInt, BigUint};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

/// Chudnovsky binary splitting over terms [a, b): returns (P, Q, T).
fn chudnovsky(a: u64, b: u64) -> (BigInt, BigInt, BigInt) {
    const C3_OVER_24: u64 = 10_939_058_860_032_000; // 640320^3 / 24
    if b - a == 1 {
        let (p, q) = if a == 0 {
            (BigInt::from(1u32), BigInt::from(1u32))
        } else {
            let p = BigInt::from(6 * a - 5) * BigInt::from(2 * a - 1) * BigInt::from(6 * a - 1);
            let q = BigInt::from(a) * BigInt::from(a) * BigInt::from(a) * BigInt::from(C3_OVER_24);
            (p, q)
        };
        let mut t = &p * BigInt::from(13_591_409u64 + 545_140_134u64 * a);
        if a % 2 == 1 {
            t = -t;
        }
        return (p, q, t);
    }
    let m = (a + b) / 2;
    let (p1, q1, t1) = chudnovsky(a, m);
    let (p2, q2, t2) = chudnovsky(m, b);
    (&p1 * &p2, &q1 * &q2, &t1 * &q2 + &p1 * &t2)
}

/// floor(sqrt(n)) by precision doubling, so that only the last step works at
/// full size (num-bigint's own sqrt iterates at full precision throughout).
fn isqrt(n: &BigUint) -> BigUint {
    let bits = n.bits();
    if bits < 256 {
        return n.sqrt();
    }
    let k = bits / 4 - 4;
    let x0: BigUint = isqrt(&(n >> (2 * k))) << k;
    // One Newton step from below lands within a few units above the root.
    let mut x = (&x0 + n / &x0) >> 1;
    while &x * &x > *n {
        x -= 1u32;
    }
    while (&x + 1u32) * (&x + 1u32) <= *n {
        x += 1u32;
    }
    x
}

/// The bits of a fixed-point constant from its leading 1, which must be `n` of them. The
/// leading zeros of the first byte are dropped so that the expansion starts at its integer part
/// (pi's "11", e's "10", sqrt's "1").
fn expansion(fixed: &BigUint, n: usize, what: &str) -> Vec<u8> {
    let mut bits = wasiprobe_stats::sp800_22::bits_from_bytes(&fixed.to_bytes_be());
    let lead = bits.iter().position(|&b| b == 1).unwrap();
    bits.drain(..lead);
    assert_eq!(bits.len(), n, "{what} fixed-point has the wrong width");
    bits
}

/// The first `n` bits of pi's binary expansion (11.001001000011111101...),
/// integer part included, as in NIST STS's data/data.pi.
pub fn pi_bits(n: usize) -> Vec<u8> {
    let guard = 64u64;
    let frac_bits = n as u64 - 2 + guard; // pi has 2 integer bits
    let terms = frac_bits / 47 + 2; // ~47.11 bits per Chudnovsky term
    let (_, q, t) = chudnovsky(0, terms);
    let (q, t) = (q.to_biguint().unwrap(), t.to_biguint().unwrap());
    // Drop bits of Q and T that cannot influence the result.
    let keep = frac_bits + 2 * guard;
    let shift = t
        .bits()
        .saturating_sub(keep)
        .min(q.bits().saturating_sub(keep));
    let (q, t) = (q >> shift, t >> shift);
    let root = isqrt(&(BigUint::from(10_005u32) << (2 * frac_bits)));
    let pi_fixed: BigUint = (q * 426_880u32 * root) / t;
    expansion(&(pi_fixed >> guard), n, "pi")
}

/// `n_bytes` bytes of ChaCha20 keystream for a fixed 64-bit seed.
pub fn chacha_bytes(seed: u64, n_bytes: usize) -> Vec<u8> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let mut out = vec![0u8; n_bytes];
    rng.fill_bytes(&mut out);
    out
}

pub fn chacha_bits(seed: u64, n_bits: usize) -> Vec<u8> {
    let mut bits =
        wasiprobe_stats::sp800_22::bits_from_bytes(&chacha_bytes(seed, n_bits.div_ceil(8)));
    bits.truncate(n_bits);
    bits
}

/// Bits that are 1 with probability `p`, by thresholding ChaCha20 output.
pub fn biased_bits(seed: u64, n_bits: usize, p: f64) -> Vec<u8> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let threshold = (p * 4_294_967_296.0) as u64;
    (0..n_bits)
        .map(|_| u8::from((rng.next_u32() as u64) < threshold))
        .collect()
}

/// Binary splitting for sum_{k=a+1}^{b} a!/k!: returns (P, Q) with the sum
/// equal to P/Q.
fn e_split(a: u64, b: u64) -> (BigUint, BigUint) {
    if b - a == 1 {
        return (BigUint::from(1u32), BigUint::from(b));
    }
    let m = (a + b) / 2;
    let (p1, q1) = e_split(a, m);
    let (p2, q2) = e_split(m, b);
    (p1 * &q2 + p2, q1 * q2)
}

/// The first `n` bits of e's binary expansion (10.1011011111100001...),
/// integer part included, as in NIST STS's data/data.e.
pub fn e_bits(n: usize) -> Vec<u8> {
    let guard = 64u64;
    let frac_bits = n as u64 - 2 + guard;
    // smallest N with log2(N!) > frac_bits + guard
    let (mut terms, mut log2_fact) = (1u64, 0f64);
    while log2_fact < (frac_bits + guard) as f64 {
        terms += 1;
        log2_fact += (terms as f64).log2();
    }
    let (p, q) = e_split(0, terms);
    let e_fixed: BigUint = ((q.clone() << frac_bits) + (p << frac_bits)) / q;
    expansion(&(e_fixed >> guard), n, "e")
}

/// The first `n` bits of sqrt(k) (k = 2 or 3: one integer bit), as in NIST
/// STS's data/data.sqrt2 and data.sqrt3.
pub fn sqrt_bits(k: u32, n: usize) -> Vec<u8> {
    let guard = 64u64;
    let frac_bits = n as u64 - 1 + guard;
    let root = isqrt(&(BigUint::from(k) << (2 * frac_bits))) >> guard;
    expansion(&root, n, "sqrt")
}
