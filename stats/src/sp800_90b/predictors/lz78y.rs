//! §6.3.10 LZ78Y prediction: the dictionary predictor whose literal form looks up 16 context
//! lengths per sample, and the shortcut that keeps it exact once the dictionary is full.

// Index loops mirror the reference algorithm's neighbour arithmetic.
#![allow(clippy::needless_range_loop)]

use super::{context, pack, predict, Dict, Score};

pub(super) const B_LZ: usize = 16;
pub(super) const MAX_LZ_DICT: u64 = 65_536;

/// §6.3.10 LZ78Y prediction, contexts up to 16 symbols, dictionary capped
/// at 65536 contexts.
pub(crate) fn lz78y(data: &[u8], alph: usize) -> Option<f64> {
    predict(data, alph, binary_lz78y_score, lz78y_score)
}

pub(super) fn lz78y_score(data: &[u8]) -> Option<(Score, u64)> {
    let mut lz = Lz78y::new(data)?;
    let mut score = Score::default();
    let mut window = pack(&data[1..=B_LZ]);
    for &cur in &data[B_LZ + 1..] {
        let prediction = match lz.fill_window {
            Some(fill) => lz78y_full(&mut lz.dicts, window, fill, cur),
            None => lz.scan_all(window, cur),
        };
        score.record(prediction == Some(cur));
        window = (window << 8) | cur as u128;
    }
    Some((score, (data.len() - B_LZ - 1) as u64))
}

/// The literal LZ78Y's state: one dictionary per context length, sharing one cap.
pub(super) struct Lz78y {
    dicts: Vec<Dict>,
    dict_size: u64,
    /// The window of the step that filled the dictionary, once it is full (`lz78y_full`).
    pub(super) fill_window: Option<u128>,
}

impl Lz78y {
    /// The state after the first symbols' contexts are entered; `None` if `data` is too short.
    pub(super) fn new(data: &[u8]) -> Option<Self> {
        if data.len() < B_LZ + 2 {
            return None;
        }
        let mut dicts: Vec<Dict> = (0..B_LZ).map(|_| Dict::default()).collect();
        for j in 1..=B_LZ {
            dicts[j - 1]
                .entry(pack(&data[B_LZ - j..B_LZ]))
                .or_default()
                .increment(data[B_LZ], true);
        }
        Some(Lz78y {
            dicts,
            dict_size: B_LZ as u64,
            fill_window: None,
        })
    }

    /// One step as the reference takes it: every context length looked up, longest first,
    /// absent contexts entered while there is room; returns the prediction for `cur`.
    pub(super) fn scan_all(&mut self, window: u128, cur: u8) -> Option<u8> {
        let mut prediction: Option<u8> = None;
        let mut max_count = 0u32;
        for j in (1..=B_LZ).rev() {
            let key = context(window, j);
            if let Some(post) = self.dicts[j - 1].get_mut(&key) {
                let (y, count) = post.predict();
                if count > max_count {
                    max_count = count;
                    prediction = Some(y);
                }
                post.increment(cur, true);
            } else if self.dict_size < MAX_LZ_DICT {
                self.dicts[j - 1]
                    .entry(key)
                    .or_default()
                    .increment(cur, true);
                self.dict_size += 1;
            }
        }
        if self.fill_window.is_none() && self.dict_size >= MAX_LZ_DICT {
            self.fill_window = Some(window);
        }
        prediction
    }
}

/// One LZ78Y step once the dictionary is full: the same prediction and updates as the
/// reference's scan of all 16 context lengths, with most lookups left out.
///
/// Until the step that fills the dictionary, every context entered has its suffixes entered
/// in the same step (the scan runs from the longest length down, and nothing is ever
/// removed). So a context present while its one-shorter suffix is absent was entered in the
/// filling step, after which the shorter ones were refused: it is a suffix of that step's
/// window `fill`. Hence, if the context of length j is absent and `window` shares fewer than
/// j + 1 trailing symbols with `fill`, no longer context is present, and the scan upwards
/// can stop at j. Full dictionaries are the rule (8-bit data fills 65 536 contexts within a
/// few thousand samples), and past a length of 2 or 3 a random context is absent.
fn lz78y_full(dicts: &mut [Dict], window: u128, fill: u128, cur: u8) -> Option<u8> {
    let shared = ((window ^ fill).trailing_zeros() / 8) as usize;
    // A present context has been counted at least once, so 0 marks an absent one.
    let mut seen = [(0u8, 0u32); B_LZ];
    for j in 1..=B_LZ {
        match dicts[j - 1].get_mut(&context(window, j)) {
            Some(post) => {
                seen[j - 1] = post.predict();
                post.increment(cur, true);
            }
            None if shared <= j => break,
            None => {}
        }
    }
    let mut prediction = None;
    let mut max_count = 0u32;
    for &(y, count) in seen.iter().rev() {
        if count > max_count {
            max_count = count;
            prediction = Some(y);
        }
    }
    prediction
}

pub(super) fn binary_lz78y_score(data: &[u8]) -> Option<(Score, u64)> {
    let len = data.len();
    if len < B_LZ + 3 {
        return None;
    }
    // offset of context length j: sum_{k<j} 2^(k+1) = 2^(j+1) - 4
    let offset = |j: usize| (1usize << (j + 1)) - 4;
    let mut table = vec![0u32; offset(B_LZ + 1)];
    let mut elems = 0u64;
    let mut score = Score::default();
    let mut pattern = 0usize;
    for j in 0..B_LZ {
        pattern |= (data[B_LZ - j - 1] as usize) << j;
        let base = offset(j + 1) + ((pattern & ((2 << j) - 1)) << 1);
        table[base + data[B_LZ] as usize] = 1;
        elems += 1;
    }
    // Last 16 bits, most recent at bit 0.
    let mut window = data[1..=B_LZ]
        .iter()
        .fold(0usize, |acc, &b| (acc << 1) | b as usize);
    for i in B_LZ + 1..len {
        let cur = data[i] as usize;
        let mut prediction = usize::MAX;
        let mut max_count = 0u32;
        for j in (1..=B_LZ).rev() {
            let base = offset(j) + ((window & ((1 << j) - 1)) << 1);
            let (c0, c1) = (table[base], table[base + 1]);
            let count = c0.max(c1);
            if count != 0 {
                if count > max_count {
                    max_count = count;
                    prediction = usize::from(c0 <= c1);
                }
                table[base + cur] += 1;
            } else if elems < MAX_LZ_DICT {
                table[base + cur] = 1;
                elems += 1;
            }
        }
        score.record(prediction == cur);
        window = ((window << 1) | cur) & ((1 << B_LZ) - 1);
    }
    Some((score, (len - B_LZ - 1) as u64))
}
