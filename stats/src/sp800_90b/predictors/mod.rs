//! Prediction estimates §6.3.7–§6.3.10 (MultiMCW, Lag, MultiMMC, LZ78Y),
//! ported from `ea_non_iid` including its tie-breaking rules, dictionary
//! limits and the specialised binary variants it uses for bit strings. LZ78Y, with its
//! full-dictionary shortcut, is in `lz78y.rs`.

// Index loops mirror the reference algorithms' neighbour arithmetic
// (S[i - d - 1], S[i - winner - 1]).
#![allow(clippy::needless_range_loop)]

use super::estimators::bisect;
use super::ZALPHA;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

mod lz78y;
pub(crate) use lz78y::lz78y;
#[cfg(test)]
use lz78y::{binary_lz78y_score, lz78y_score, Lz78y, B_LZ};

/// §6.3.7–6.3.10 step "P_local": the probability of the longest run of
/// correct predictions, computed with the reference's fixed-point
/// iteration (it uses long double; f64 changes only the last bits).
fn prediction_estimate_function(p: f64, r: f64, n: f64) -> f64 {
    let q = 1.0 - p;
    let (mut x, mut xlast) = (1.0f64, 0.0f64);
    let mut i = 0;
    while i <= 65 && (x - xlast) > f64::EPSILON * x {
        xlast = x;
        x = 1.0 + q * p.powf(r) * x.powf(r + 1.0);
        i += 1;
    }
    (1.0 - p * x).ln() - ((r + 1.0 - r * x) * q).ln() - (n + 1.0) * x.ln()
}

/// Min-entropy from a predictor's score: the larger of the global
/// (upper-bounded success rate) and local (longest run) probabilities.
pub(crate) fn prediction_estimate(c: u64, n: u64, max_run: u64, k: usize) -> f64 {
    let nf = n as f64;
    let mut cur_max = 1.0 / k as f64;
    let p_global = c as f64 / nf;
    let p_global_prime = if p_global > 0.0 {
        (p_global + ZALPHA * (p_global * (1.0 - p_global) / (nf - 1.0)).sqrt()).min(1.0)
    } else {
        1.0 - 0.01f64.powf(1.0 / nf)
    };
    cur_max = cur_max.max(p_global_prime);
    let r = (max_run + 1) as f64;
    let log_alpha = 0.99f64.ln();
    if cur_max < 1.0 && prediction_estimate_function(cur_max, r, nf) > log_alpha {
        let p_local = bisect(
            |p| prediction_estimate_function(p, r, nf),
            log_alpha,
            cur_max,
            1.0,
            1.0,
        );
        cur_max = cur_max.max(p_local);
    }
    -cur_max.log2()
}

/// Tracks correct-prediction count and longest run of correct predictions.
#[derive(Default)]
struct Score {
    correct: u64,
    run: u64,
    max_run: u64,
}

impl Score {
    /// Branch-free: hits are coin flips on good data, and mispredicted
    /// branches would dominate the bit-string predictors.
    #[inline]
    fn record(&mut self, hit: bool) {
        let h = hit as u64;
        self.correct += h;
        self.run = (self.run + 1) * h;
        self.max_run = self.max_run.max(self.run);
    }
}

/// §6.3.7 MultiMCW: most common value in windows of 63, 255, 1023, 4095.
pub(crate) fn multi_mcw(data: &[u8], alph: usize) -> Option<f64> {
    const W: [usize; 4] = [63, 255, 1023, 4095];
    let len = data.len();
    if len < W[3] + 1 {
        return None;
    }
    let n = len - W[0];
    let mut winner = 0usize;
    let mut score = Score::default();
    let mut scoreboard = [0u64; 4];
    let mut max_cnts = [0u64; 4];
    let mut win_cnts = vec![[0u64; 4]; alph];
    let mut win_poses = vec![[0usize; 4]; alph];
    let mut frequent = [0u8; 4];

    for (i, &x) in data.iter().enumerate().take(W[3]) {
        let x = x as usize;
        for j in 0..4 {
            if i < W[j] {
                win_cnts[x][j] += 1;
                if max_cnts[j] <= win_cnts[x][j] {
                    max_cnts[j] = win_cnts[x][j];
                    frequent[j] = x as u8;
                }
                win_poses[x][j] = i;
            }
        }
    }
    for i in W[0]..len {
        let cur = data[i];
        score.record(frequent[winner] == cur);
        for j in 0..4 {
            if i >= W[j] && frequent[j] == cur {
                scoreboard[j] += 1;
                if scoreboard[j] >= scoreboard[winner] {
                    winner = j;
                }
            }
        }
        for j in 0..4 {
            if i < W[j] {
                continue;
            }
            let old = data[i - W[j]] as usize;
            let c = cur as usize;
            win_cnts[old][j] -= 1;
            win_cnts[c][j] += 1;
            win_poses[c][j] = i;
            if old != frequent[j] as usize && max_cnts[j] <= win_cnts[c][j] {
                max_cnts[j] = win_cnts[c][j];
                frequent[j] = cur;
            } else if old == frequent[j] as usize {
                // The mode lost an occurrence: rescan, preferring the most
                // recently seen symbol among ties.
                max_cnts[j] -= 1;
                let mut max_pos = i - W[j];
                for k in 0..alph {
                    if max_cnts[j] < win_cnts[k][j]
                        || (max_cnts[j] == win_cnts[k][j] && max_pos <= win_poses[k][j])
                    {
                        max_cnts[j] = win_cnts[k][j];
                        frequent[j] = k as u8;
                        max_pos = win_poses[k][j];
                    }
                }
            }
        }
    }
    Some(prediction_estimate(
        score.correct,
        n as u64,
        score.max_run,
        alph,
    ))
}

const D_LAG: usize = 128;

/// §6.3.8 Lag prediction with D = 128 lags. The winner after each step is
/// the lag with the highest score, ties going to the largest lag among
/// those just incremented (the spec's loop over d = 1..D with >=).
pub(crate) fn lag(data: &[u8], alph: usize) -> Option<f64> {
    let (score, n) = lag_score(data, alph)?;
    Some(prediction_estimate(score.correct, n, score.max_run, alph))
}

fn lag_score(data: &[u8], alph: usize) -> Option<(Score, u64)> {
    let len = data.len();
    if len < 3 {
        return None;
    }
    if alph == 2 {
        return Some((binary_lag_score(data), (len - 1) as u64));
    }
    let mut scoreboard = [0u64; D_LAG];
    let (mut winner, mut high) = (0usize, 0u64);
    let mut score = Score::default();
    // Per-symbol ring buffers of the positions of its last (up to) 128
    // occurrences; only those within 128 steps are lags that match.
    let mut rings = vec![std::collections::VecDeque::<usize>::with_capacity(D_LAG); alph];
    rings[data[0] as usize].push_back(0);
    for i in 1..len {
        let cur = data[i] as usize;
        score.record(data[i] == data[i - winner - 1]);
        let ring = &mut rings[cur];
        let cutoff = i.saturating_sub(D_LAG);
        while ring.front().is_some_and(|&p| p < cutoff) {
            ring.pop_front();
        }
        for &p in ring.iter().rev() {
            let off = i - p - 1;
            scoreboard[off] += 1;
            if scoreboard[off] >= high {
                winner = off;
                high = scoreboard[off];
            }
        }
        if ring.len() == D_LAG {
            ring.pop_front();
        }
        ring.push_back(i);
    }
    Some((score, (len - 1) as u64))
}

/// Lag prediction on a bit string, 64 steps at a time.
///
/// Per step, every lag whose bit matches scores a point, which for random
/// bits is ~64 updates per bit. But only lags within reach of the leader
/// can become the winner within a block: a lag whose score is more than
/// the block length below the best score cannot even tie it before the
/// block ends. Those lags get their block's matches added in one popcount;
/// only the few contenders are replayed step by step, in lag order, so
/// winner and tie-breaking are exactly those of the per-step algorithm.
fn binary_lag_score(data: &[u8]) -> Score {
    let len = data.len();
    let mut words: Vec<u64> = data
        .chunks(64)
        .map(|c| {
            c.iter()
                .enumerate()
                .fold(0u64, |acc, (j, &b)| acc | (b as u64) << j)
        })
        .collect();
    words.push(0);
    // data[p..p+64] as a word, bit j = data[p + j]
    let window = |p: usize| {
        let (w, s) = (p / 64, p % 64);
        if s == 0 {
            words[w]
        } else {
            (words[w] >> s) | (words[w + 1] << (64 - s))
        }
    };
    let mut scoreboard = [0u64; D_LAG];
    let (mut winner, mut high) = (0usize, 0u64);
    let mut score = Score::default();

    // Warm-up: fewer than D previous bits, lags beyond i do not exist yet.
    let head = len.min(D_LAG);
    let mut hist: u128 = data[0] as u128;
    for i in 1..head {
        let cur = data[i];
        score.record(cur == data[i - winner - 1]);
        let mut m = if cur == 1 { hist } else { !hist } & ((1u128 << i) - 1);
        while m != 0 {
            let off = m.trailing_zeros() as usize;
            scoreboard[off] += 1;
            if scoreboard[off] >= high {
                winner = off;
                high = scoreboard[off];
            }
            m &= m - 1;
        }
        hist = (hist << 1) | cur as u128;
    }

    let mut matches = [0u64; D_LAG];
    let mut contenders = Vec::with_capacity(D_LAG);
    let mut i0 = head;
    while i0 < len {
        let block = (len - i0).min(64);
        let mask = if block == 64 {
            u64::MAX
        } else {
            (1u64 << block) - 1
        };
        let cur = window(i0);
        contenders.clear();
        for off in 0..D_LAG {
            let m = !(cur ^ window(i0 - off - 1)) & mask;
            if scoreboard[off] + block as u64 >= high {
                matches[off] = m;
                contenders.push(off);
            } else {
                scoreboard[off] += m.count_ones() as u64;
            }
        }
        for j in 0..block {
            let i = i0 + j;
            score.record(data[i] == data[i - winner - 1]);
            for &off in &contenders {
                if (matches[off] >> j) & 1 == 1 {
                    scoreboard[off] += 1;
                    if scoreboard[off] >= high {
                        winner = off;
                        high = scoreboard[off];
                    }
                }
            }
        }
        i0 += block;
    }
    score
}

/// Next-symbol counts after one context, predicting the most frequent
/// symbol and, among ties, the largest (the reference's
/// `PostfixDictionary`). Small contexts keep a short list; once a context
/// has seen many distinct successors (short contexts of byte data see all
/// 256) it switches to a dense table so increments stay O(1).
#[derive(Clone)]
enum Counts {
    /// Up to 4 successors stored inline: most long contexts only ever see
    /// one, and allocating for each would dominate (1.4M contexts).
    Inline {
        len: u8,
        syms: [u8; 4],
        counts: [u32; 4],
    },
    Heap(Vec<(u8, u32)>),
    Dense(Box<[u32; 256]>),
}

#[derive(Clone)]
struct Postfix {
    counts: Counts,
    best: u32,
    prediction: u8,
}

impl Default for Postfix {
    fn default() -> Self {
        Postfix {
            counts: Counts::Inline {
                len: 0,
                syms: [0; 4],
                counts: [0; 4],
            },
            best: 0,
            prediction: 0,
        }
    }
}

impl Postfix {
    fn predict(&self) -> (u8, u32) {
        (self.prediction, self.best)
    }

    /// Increments the count of `sym`, creating it if `make_new`; returns
    /// the new count, or `None` if the symbol was absent and not created.
    fn bump(&mut self, sym: u8, make_new: bool) -> Option<u32> {
        const DENSE_AT: usize = 32;
        match &mut self.counts {
            Counts::Dense(t) => {
                let c = &mut t[sym as usize];
                if *c == 0 && !make_new {
                    return None;
                }
                *c += 1;
                Some(*c)
            }
            Counts::Inline { len, syms, counts } => {
                let l = *len as usize;
                if let Some(k) = syms[..l].iter().position(|&s| s == sym) {
                    counts[k] += 1;
                    return Some(counts[k]);
                }
                if !make_new {
                    return None;
                }
                if l < 4 {
                    syms[l] = sym;
                    counts[l] = 1;
                    *len += 1;
                } else {
                    let mut v: Vec<(u8, u32)> =
                        syms.iter().copied().zip(counts.iter().copied()).collect();
                    v.push((sym, 1));
                    self.counts = Counts::Heap(v);
                }
                Some(1)
            }
            Counts::Heap(v) => {
                if let Some((_, c)) = v.iter_mut().find(|(s, _)| *s == sym) {
                    *c += 1;
                    return Some(*c);
                }
                if !make_new {
                    return None;
                }
                if v.len() >= DENSE_AT {
                    let mut t = Box::new([0u32; 256]);
                    for &(s, c) in v.iter() {
                        t[s as usize] = c;
                    }
                    t[sym as usize] = 1;
                    self.counts = Counts::Dense(t);
                } else {
                    v.push((sym, 1));
                }
                Some(1)
            }
        }
    }

    /// Returns whether a new (context, symbol) entry was created.
    fn increment(&mut self, sym: u8, make_new: bool) -> bool {
        let Some(count) = self.bump(sym, make_new) else {
            return false;
        };
        if count > self.best || (count == self.best && sym > self.prediction) {
            self.prediction = sym;
            self.best = count;
        }
        count == 1
    }
}

/// Fast hasher for the packed u128 contexts; SipHash would dominate the run
/// time of the literal MultiMMC/LZ78Y.
#[derive(Default)]
struct FxHasher(u64);

impl Hasher for FxHasher {
    fn finish(&self) -> u64 {
        // A multiply only mixes upwards, and the table indexes with the low
        // bits: finish with murmur3's fmix64 so those depend on every input
        // bit (without it, packed contexts collide massively).
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(b as u64);
        }
    }
    fn write_u64(&mut self, x: u64) {
        self.0 = (self.0.rotate_left(5) ^ x).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_u128(&mut self, x: u128) {
        self.write_u64(x as u64);
        self.write_u64((x >> 64) as u64);
    }
}

type Dict = HashMap<u128, Postfix, BuildHasherDefault<FxHasher>>;

/// Key of the context made of the `len` most recent symbols of `window`
/// (most recent in the low byte). Dictionaries are per context length, so
/// no length tag is needed.
fn context(window: u128, len: usize) -> u128 {
    if len >= 16 {
        window
    } else {
        window & ((1u128 << (8 * len)) - 1)
    }
}

fn pack(ctx: &[u8]) -> u128 {
    ctx.iter().fold(0u128, |acc, &b| (acc << 8) | b as u128)
}

type Scorer = fn(&[u8]) -> Option<(Score, u64)>;

/// Runs the binary scorer on a two-symbol alphabet (its contexts pack into bits) and the
/// general one otherwise; both predictors estimate from the score the same way.
fn predict(data: &[u8], alph: usize, binary: Scorer, general: Scorer) -> Option<f64> {
    let (score, n) = if alph == 2 {
        binary(data)?
    } else {
        general(data)?
    };
    Some(prediction_estimate(score.correct, n, score.max_run, alph))
}

const D_MMC: usize = 16;
const MAX_MMC_ENTRIES: u64 = 100_000;

/// §6.3.9 MultiMMC prediction with context lengths 1..=16.
pub(crate) fn multi_mmc(data: &[u8], alph: usize) -> Option<f64> {
    predict(data, alph, binary_multi_mmc_score, multi_mmc_score)
}

fn multi_mmc_score(data: &[u8]) -> Option<(Score, u64)> {
    let len = data.len();
    if len < 3 {
        return None;
    }
    let n = len - 2;
    let mut dicts: Vec<Dict> = (0..D_MMC).map(|_| Dict::default()).collect();
    let mut entries = [0u64; D_MMC];
    let mut scoreboard = [0u64; D_MMC];
    let mut winner = 0usize;
    let mut score = Score::default();
    for d in 0..D_MMC.min(n) {
        dicts[d]
            .entry(pack(&data[..=d]))
            .or_default()
            .increment(data[d + 1], true);
        entries[d] = 1;
    }
    let mut window = (data[0] as u128) << 8 | data[1] as u128;
    for i in 2..len {
        let cur_winner = winner;
        let cur = data[i];
        let mut found = false;
        for d in 0..D_MMC.min(i - 1) {
            let may_insert = entries[d] < MAX_MMC_ENTRIES;
            if !(d == 0 || found) {
                // An unseen shorter context means this one is unseen too.
                if !may_insert {
                    continue;
                }
                dicts[d]
                    .entry(context(window, d + 1))
                    .or_default()
                    .increment(cur, true);
                entries[d] += 1;
                continue;
            }
            let key = context(window, d + 1);
            match dicts[d].get_mut(&key) {
                Some(post) => {
                    found = true;
                    let hit = post.predict().0 == cur;
                    if hit {
                        scoreboard[d] += 1;
                        if scoreboard[d] >= scoreboard[winner] {
                            winner = d;
                        }
                    }
                    if d == cur_winner {
                        score.record(hit);
                    }
                    if post.increment(cur, may_insert) {
                        entries[d] += 1;
                    }
                }
                None => {
                    found = false;
                    if may_insert {
                        dicts[d].entry(key).or_default().increment(cur, true);
                        entries[d] += 1;
                    }
                }
            }
        }
        window = (window << 8) | cur as u128;
    }
    Some((score, n as u64))
}

/// Binary MultiMMC: the context of length d+1 (most recent bit = bit 0)
/// indexes a [count after 0, count after 1] pair in one flat table.
fn binary_multi_mmc_score(data: &[u8]) -> Option<(Score, u64)> {
    let len = data.len();
    if len < 4 {
        return None;
    }
    // offset of context length d+1: sum_{j<d} 2^(j+2) = 2^(d+2) - 4
    let offset = |d: usize| (1usize << (d + 2)) - 4;
    let mut table = vec![0u32; offset(D_MMC)];
    let mut elems = [0u64; D_MMC];
    let mut scoreboard = [0u64; D_MMC];
    let mut winner = 0usize;
    let mut score = Score::default();
    let mut pattern = 0usize;
    for d in 0..D_MMC.min(len - 1) {
        pattern = (pattern << 1) | data[d] as usize;
        let base = offset(d) + ((pattern & ((2 << d) - 1)) << 1);
        table[base + data[d + 1] as usize] = 1;
        elems[d] = 1;
    }
    let mut hist = (data[0] as usize) << 1 | data[1] as usize;
    for i in 2..len {
        let cur_winner = winner;
        let cur = data[i] as usize;
        let mut found = false;
        for d in 0..D_MMC.min(i - 1) {
            let base = offset(d) + ((hist & ((2 << d) - 1)) << 1);
            if d == 0 || found {
                let (c0, c1) = (table[base], table[base + 1]);
                let prediction = usize::from(c0 <= c1);
                found = c0.max(c1) != 0;
                if found {
                    let hit = prediction == cur;
                    scoreboard[d] += hit as u64;
                    let take = hit & (scoreboard[d] >= scoreboard[winner]);
                    winner = if take { d } else { winner };
                    if d == cur_winner {
                        score.record(hit);
                    }
                    if table[base + cur] != 0 {
                        table[base + cur] += 1;
                        continue;
                    }
                }
            }
            if elems[d] < MAX_MMC_ENTRIES {
                table[base + cur] = 1;
                elems[d] += 1;
            }
        }
        hist = (hist << 1) | cur;
    }
    Some((score, (len - 2) as u64))
}

#[cfg(test)]
#[allow(clippy::excessive_precision)] // values verbatim from the reference's output
mod tests;
