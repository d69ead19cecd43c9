//! §6.3.5 t-tuple and §6.3.6 longest repeated substring (LRS) estimates,
//! from a suffix array (SA-IS, linear time) and its LCP array (Kasai).
//!
//! The reference tool uses libdivsufsort plus Kaufer's tuple-count
//! algorithm; both estimates only need, for every length t, the largest
//! number of occurrences of a t-tuple (Q[t]) and the number of pairs of
//! positions sharing a t-tuple (sum over tuples of C(count, 2)). Both fall
//! out of one bottom-up walk of the LCP-interval tree: an interval of size s
//! whose LCP value is l and whose parent's is l' is exactly one group of
//! equal t-tuples for every t in (l', l].

// Index loops mirror the reference algorithms' neighbour arithmetic.
#![allow(clippy::needless_range_loop)]

use super::estimators::upper_bound_entropy;

/// Suffix array by induced sorting (SA-IS), after the AtCoder Library's
/// formulation. `upper` is the largest symbol value.
pub(crate) fn suffix_array(s: &[u32], upper: u32) -> Vec<u32> {
    let n = s.len();
    match n {
        0 => return Vec::new(),
        1 => return vec![0],
        2 => return if s[0] < s[1] { vec![0, 1] } else { vec![1, 0] },
        _ => {}
    }
    if n < 16 {
        let mut sa: Vec<u32> = (0..n as u32).collect();
        sa.sort_by(|&a, &b| s[a as usize..].cmp(&s[b as usize..]));
        return sa;
    }
    let upper = upper as usize;
    const EMPTY: u32 = u32::MAX;
    let mut sa = vec![EMPTY; n];
    // ls[i]: suffix i is S-type (smaller than suffix i+1).
    let mut ls = vec![false; n];
    for i in (0..n - 1).rev() {
        ls[i] = if s[i] == s[i + 1] {
            ls[i + 1]
        } else {
            s[i] < s[i + 1]
        };
    }
    let mut sum_l = vec![0usize; upper + 2];
    let mut sum_s = vec![0usize; upper + 2];
    for i in 0..n {
        if !ls[i] {
            sum_s[s[i] as usize] += 1;
        } else {
            sum_l[s[i] as usize + 1] += 1;
        }
    }
    for i in 0..=upper {
        sum_s[i] += sum_l[i];
        if i < upper {
            sum_l[i + 1] += sum_s[i];
        }
    }

    let induce = |sa: &mut Vec<u32>, lms: &[u32]| {
        sa.fill(EMPTY);
        let mut buf = sum_s.clone();
        for &d in lms {
            let d = d as usize;
            if d == n {
                continue;
            }
            let c = s[d] as usize;
            sa[buf[c]] = d as u32;
            buf[c] += 1;
        }
        buf.copy_from_slice(&sum_l);
        let c = s[n - 1] as usize;
        sa[buf[c]] = (n - 1) as u32;
        buf[c] += 1;
        for i in 0..n {
            let v = sa[i];
            if v != EMPTY && v >= 1 && !ls[v as usize - 1] {
                let c = s[v as usize - 1] as usize;
                sa[buf[c]] = v - 1;
                buf[c] += 1;
            }
        }
        buf.copy_from_slice(&sum_l);
        for i in (0..n).rev() {
            let v = sa[i];
            if v != EMPTY && v >= 1 && ls[v as usize - 1] {
                let c = s[v as usize - 1] as usize + 1;
                buf[c] -= 1;
                sa[buf[c]] = v - 1;
            }
        }
    };

    let mut lms_map = vec![u32::MAX; n + 1];
    let mut lms = Vec::new();
    for i in 1..n {
        if !ls[i - 1] && ls[i] {
            lms_map[i] = lms.len() as u32;
            lms.push(i as u32);
        }
    }
    let m = lms.len();
    induce(&mut sa, &lms);

    if m > 0 {
        let mut sorted_lms: Vec<u32> = sa
            .iter()
            .copied()
            .filter(|&v| lms_map[v as usize] != u32::MAX)
            .collect();
        let mut rec_s = vec![0u32; m];
        let mut rec_upper = 0u32;
        for i in 1..m {
            let (mut l, mut r) = (sorted_lms[i - 1] as usize, sorted_lms[i] as usize);
            let next = |x: usize| {
                let k = lms_map[x] as usize + 1;
                if k < m {
                    lms[k] as usize
                } else {
                    n
                }
            };
            let (end_l, end_r) = (next(l), next(r));
            let mut same = end_l - l == end_r - r;
            if same {
                while l < end_l && s[l] == s[r] {
                    l += 1;
                    r += 1;
                }
                // Reaching n means hitting the virtual sentinel, which
                // differs from every symbol.
                if l == n || r == n || s[l] != s[r] {
                    same = false;
                }
            }
            if !same {
                rec_upper += 1;
            }
            rec_s[lms_map[sorted_lms[i] as usize] as usize] = rec_upper;
        }
        let rec_sa = suffix_array(&rec_s, rec_upper);
        for (dst, &r) in sorted_lms.iter_mut().zip(&rec_sa) {
            *dst = lms[r as usize];
        }
        induce(&mut sa, &sorted_lms);
    }
    sa
}

/// lcp[i] = length of the longest common prefix of suffixes sa[i], sa[i+1].
pub(crate) fn lcp_array(s: &[u32], sa: &[u32]) -> Vec<u32> {
    let n = s.len();
    if n < 2 {
        return Vec::new();
    }
    let mut rank = vec![0u32; n];
    for (i, &p) in sa.iter().enumerate() {
        rank[p as usize] = i as u32;
    }
    let mut lcp = vec![0u32; n - 1];
    let mut h = 0usize;
    for i in 0..n {
        h = h.saturating_sub(1);
        let r = rank[i] as usize;
        if r == 0 {
            continue;
        }
        let j = sa[r - 1] as usize;
        while i + h < n && j + h < n && s[i + h] == s[j + h] {
            h += 1;
        }
        lcp[r - 1] = h as u32;
    }
    lcp
}

/// Tuple statistics of a sequence, indexed by tuple length t (index 0
/// unused).
pub(crate) struct TupleStats {
    /// Length of the longest repeated substring.
    pub v: usize,
    /// q[t]: largest number of (overlapping) occurrences of any t-tuple.
    pub q: Vec<u64>,
    /// pairs[t]: number of position pairs i < j sharing their t-tuple.
    pub pairs: Vec<u64>,
}

/// Adjacent LCPs of the suffixes of `text` (symbols of `bits` bits each),
/// sorted by their first `64 / bits` symbols packed into a u64, or `None`
/// when some repeat reaches that length.
///
/// When every repeat is shorter than the packed width, this order is a
/// valid suffix-array order and the capped LCPs are the true ones, so the
/// tuple statistics are exact; that is the case for any reasonable entropy
/// source (the LRS of 8 x 10^6 random bits is ~45 bits, of 10^6 random
/// bytes ~5 bytes), and a radix sort of 64-bit keys is several times faster
/// than building the full suffix array and LCP. Short suffixes near the end
/// are zero-padded and ordered before equal keys, so they sit at the start
/// of any group they would otherwise split (their LCPs are capped at their
/// length).
fn packed_adjacent_lcp(text: &[u8], bits: u32) -> Option<Vec<u32>> {
    let n = text.len();
    let cap = (64 / bits) as usize;
    let used = cap as u32 * bits;
    let keep = if used == 64 {
        u64::MAX
    } else {
        !(u64::MAX >> used)
    };
    let mut keys = vec![0u64; n];
    let mut key = 0u64;
    for i in (0..n).rev() {
        key = ((key >> bits) | ((text[i] as u64) << (64 - bits))) & keep;
        keys[i] = key;
    }
    // Suffixes shorter than `cap` (zero-padded keys) are merged in
    // separately, so the bulk sort moves bare u64 keys: half the memory
    // traffic of sorting (key, position) pairs.
    let full = n.saturating_sub(cap - 1);
    let mut short: Vec<(u64, usize)> = (full..n).map(|p| (keys[p], n - p)).collect();
    short.sort_unstable();
    keys.truncate(full);
    radix_sort_u64(&mut keys, 64 - used);

    // Merge: on equal keys the shorter suffix sorts first.
    let mut lcp = Vec::with_capacity(n.saturating_sub(1));
    let (mut a, mut b) = (0usize, 0usize);
    let mut prev: Option<(u64, usize)> = None;
    while a < keys.len() || b < short.len() {
        let take_short = b < short.len() && (a == keys.len() || short[b].0 <= keys[a]);
        let cur = if take_short {
            b += 1;
            short[b - 1]
        } else {
            a += 1;
            (keys[a - 1], cap)
        };
        if let Some((pk, plen)) = prev {
            let common = ((pk ^ cur.0).leading_zeros() / bits) as usize;
            let l = common.min(plen).min(cur.1);
            if l >= cap {
                return None;
            }
            lcp.push(l as u32);
        }
        prev = Some(cur);
    }
    Some(lcp)
}

/// LSD radix sort on bytes; 256 buckets keep the scatter writes
/// cache-resident. `skip_bits` low bits are known to be zero.
fn radix_sort_u64(keys: &mut Vec<u64>, skip_bits: u32) {
    let mut scratch = vec![0u64; keys.len()];
    for d in skip_bits / 8..8 {
        let shift = 8 * d;
        let mut count = [0usize; 256];
        for &k in keys.iter() {
            count[(k >> shift) as usize & 0xff] += 1;
        }
        if count.contains(&keys.len()) {
            continue; // every key has the same byte here
        }
        let mut sum = 0;
        for c in count.iter_mut() {
            let t = *c;
            *c = sum;
            sum += t;
        }
        for &k in keys.iter() {
            let b = &mut count[(k >> shift) as usize & 0xff];
            scratch[*b] = k;
            *b += 1;
        }
        std::mem::swap(keys, &mut scratch);
    }
}

pub(crate) fn tuple_stats(text: &[u8]) -> TupleStats {
    let upper = text.iter().copied().max().unwrap_or(0) as u32;
    let bits = (32 - upper.leading_zeros()).max(1);
    let lcp = packed_adjacent_lcp(text, bits).unwrap_or_else(|| {
        let s: Vec<u32> = text.iter().map(|&b| b as u32).collect();
        let sa = suffix_array(&s, upper);
        lcp_array(&s, &sa)
    });
    tuple_stats_from_lcp(&lcp, text.len())
}

/// Q[t] and pair counts from the adjacent-LCP sequence of a suffix array of
/// an n-symbol text.
fn tuple_stats_from_lcp(lcp: &[u32], n: usize) -> TupleStats {
    let v = lcp.iter().copied().max().unwrap_or(0) as usize;

    let mut best = vec![1u64; v + 2];
    // Difference array for pairs[t]; wrapping arithmetic is exact because
    // every prefix sum is a true non-negative count below 2^64.
    let mut diff = vec![0u64; v + 2];
    let mut stack: Vec<(u32, usize)> = vec![(0, 0)];
    for k in 0..n {
        let cur = if k + 1 < n { lcp[k] } else { 0 };
        let mut lb = k;
        while cur < stack.last().unwrap().0 {
            let (l, top_lb) = stack.pop().unwrap();
            let size = (k - top_lb + 1) as u64;
            let parent = cur.max(stack.last().unwrap().0);
            let l = l as usize;
            best[l] = best[l].max(size);
            let choose2 = size * (size - 1) / 2;
            diff[parent as usize + 1] = diff[parent as usize + 1].wrapping_add(choose2);
            diff[l + 1] = diff[l + 1].wrapping_sub(choose2);
            lb = top_lb;
        }
        if cur > stack.last().unwrap().0 {
            stack.push((cur, lb));
        }
    }
    let mut q = vec![1u64; v + 2];
    let mut running = 1u64;
    for t in (1..=v).rev() {
        running = running.max(best[t]);
        q[t] = running;
    }
    let mut pairs = vec![0u64; v + 2];
    let mut acc = 0u64;
    for t in 1..=v {
        acc = acc.wrapping_add(diff[t]);
        pairs[t] = acc;
    }
    TupleStats { v, q, pairs }
}

/// (t-tuple estimate, LRS estimate), each `None` when the reference tool
/// would decline (no tuple occurs 35 times / v < u).
pub(crate) fn t_tuple_and_lrs(text: &[u8]) -> (Option<f64>, Option<f64>) {
    let n = text.len();
    if n < 2 {
        return (None, None);
    }
    let st = tuple_stats(text);
    if st.v == 0 {
        return (None, None);
    }
    // u: smallest t whose most common tuple occurs fewer than 35 times.
    let u = (1..=st.v).find(|&t| st.q[t] < 35).unwrap_or(st.v + 1);
    let t_tuple = (u > 1).then(|| {
        let pmax = (1..u)
            .map(|i| (st.q[i] as f64 / (n - i + 1) as f64).powf(1.0 / i as f64))
            .fold(-1.0, f64::max);
        upper_bound_entropy(pmax, n)
    });
    let lrs = (st.v >= u).then(|| {
        let pmax = (u..=st.v)
            .map(|i| {
                let choices = ((n - i) as u128 * (n - i + 1) as u128 / 2) as f64;
                (st.pairs[i] as f64 / choices).powf(1.0 / i as f64)
            })
            .fold(0.0, f64::max);
        upper_bound_entropy(pmax, n)
    });
    (t_tuple, lrs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn naive_sa(s: &[u32]) -> Vec<u32> {
        let mut sa: Vec<u32> = (0..s.len() as u32).collect();
        sa.sort_by(|&a, &b| s[a as usize..].cmp(&s[b as usize..]));
        sa
    }

    fn xorshift(seed: &mut u64) -> u64 {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        *seed
    }

    #[test]
    fn sais_matches_naive() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for &(len, alph) in &[
            (17usize, 2u64),
            (100, 2),
            (257, 3),
            (1000, 2),
            (1000, 256),
            (3000, 4),
        ] {
            let s: Vec<u32> = (0..len)
                .map(|_| (xorshift(&mut seed) % alph) as u32)
                .collect();
            let upper = *s.iter().max().unwrap();
            assert_eq!(
                suffix_array(&s, upper),
                naive_sa(&s),
                "len {len} alph {alph}"
            );
        }
        let periodic: Vec<u32> = (0..500).map(|i| (i % 7 == 0) as u32).collect();
        assert_eq!(suffix_array(&periodic, 1), naive_sa(&periodic));
        let constant = vec![5u32; 300];
        assert_eq!(suffix_array(&constant, 5), naive_sa(&constant));
    }

    #[test]
    fn packed_path_agrees_with_suffix_array() {
        let mut seed = 0xdead_beefu64;
        for &(len, alph) in &[(5000usize, 2u64), (5000, 3), (5000, 200), (64, 2), (70, 2)] {
            let text: Vec<u8> = (0..len)
                .map(|_| (xorshift(&mut seed) % alph) as u8)
                .collect();
            let upper = *text.iter().max().unwrap() as u32;
            let bits = (32 - upper.leading_zeros()).max(1);
            let s: Vec<u32> = text.iter().map(|&b| b as u32).collect();
            let slow = lcp_array(&s, &suffix_array(&s, upper));
            let fast = packed_adjacent_lcp(&text, bits).expect("random text has short repeats");
            assert_eq!(fast, slow, "len {len} alph {alph}");
        }
        // A long repeat must force the fallback.
        let mut text: Vec<u8> = (0..300).map(|_| (xorshift(&mut seed) % 2) as u8).collect();
        text.extend_from_within(..200);
        assert!(packed_adjacent_lcp(&text, 1).is_none());
        let st = tuple_stats(&text);
        assert!(st.v >= 200);
    }

    #[test]
    fn tuple_stats_match_brute_force() {
        let mut seed = 0x1234_5678u64;
        for alph in [2u64, 3, 16] {
            let text: Vec<u8> = (0..600)
                .map(|_| (xorshift(&mut seed) % alph) as u8)
                .collect();
            let st = tuple_stats(&text);
            for t in 1..=st.v {
                let mut counts: HashMap<&[u8], u64> = HashMap::new();
                for w in text.windows(t) {
                    *counts.entry(w).or_default() += 1;
                }
                let q = *counts.values().max().unwrap();
                let pairs: u64 = counts.values().map(|&c| c * (c - 1) / 2).sum();
                assert_eq!(st.q[t], q, "alph {alph} t {t}");
                assert_eq!(st.pairs[t], pairs, "alph {alph} t {t}");
            }
            assert!(st.pairs[st.v] > 0);
            let repeats_beyond = text
                .windows(st.v + 1)
                .enumerate()
                .any(|(i, w)| text.windows(st.v + 1).skip(i + 1).any(|x| x == w));
            assert!(!repeats_beyond, "v is not the LRS length");
        }
    }
}
