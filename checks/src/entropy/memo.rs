//! Each distinct stream is assessed once per process. An assessment is a pure function of the
//! bytes (and the parameters hashed with them), and the negative controls hand every toolchain
//! byte-identical streams — a zero, counter, LCG or fixed-seed liar's `random_get` drawn in the
//! same 64 KiB calls, arc4random keyed from it — so the matrix judged the same 100 sequences
//! once per toolchain. What is shared is the arithmetic only: every cell still reads its own
//! files and is judged on its own.

use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// Past this many distinct streams the memo starts over, so a long run holding many honest
/// (never repeated) streams does not keep every assessment alive.
const MAX_ENTRIES: usize = 256;

/// A slot per key (SHA-256 of the parts), filled once.
type Slots<T> = HashMap<[u8; 32], Arc<OnceLock<T>>>;

pub(crate) struct Memo<T> {
    // None until first used: a HashMap cannot be made in a const fn.
    slots: Mutex<Option<Slots<T>>>,
}

impl<T: Clone> Memo<T> {
    pub(crate) const fn new() -> Self {
        Memo {
            slots: Mutex::new(None),
        }
    }

    /// `compute()`, or what it returned for the same `parts` before. Two threads asking for
    /// the same key at once compute it once: the second waits on the first's slot.
    pub(crate) fn get(&self, parts: &[&[u8]], compute: impl FnOnce() -> T) -> T {
        let mut h = Sha256::new();
        for p in parts {
            // Length-prefixed, so ("ab", "c") and ("a", "bc") are different keys.
            h.update((p.len() as u64).to_le_bytes());
            h.update(p);
        }
        let key: [u8; 32] = h.finalize().into();
        let slot = {
            let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
            let map = slots.get_or_insert_with(HashMap::new);
            if map.len() >= MAX_ENTRIES && !map.contains_key(&key) {
                map.clear();
            }
            map.entry(key).or_default().clone()
        };
        slot.get_or_init(compute).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn same_bytes_are_computed_once_and_different_bytes_are_not_shared() {
        let memo = Memo::<usize>::new();
        let calls = AtomicUsize::new(0);
        let count = |v: usize| {
            calls.fetch_add(1, Ordering::SeqCst);
            v
        };
        assert_eq!(memo.get(&[b"stream", b"100"], || count(1)), 1);
        assert_eq!(memo.get(&[b"stream", b"100"], || count(2)), 1);
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        // The negative controls: other bytes, another parameter, the same bytes cut elsewhere.
        assert_eq!(memo.get(&[b"streaM", b"100"], || count(3)), 3);
        assert_eq!(memo.get(&[b"stream", b"10"], || count(4)), 4);
        assert_eq!(memo.get(&[b"stream1", b"00"], || count(5)), 5);
        assert_eq!(calls.load(Ordering::SeqCst), 4);
    }

    #[test]
    fn a_full_memo_starts_over_and_still_answers() {
        let memo = Memo::<usize>::new();
        for i in 0..MAX_ENTRIES + 10 {
            assert_eq!(memo.get(&[&i.to_le_bytes()], || i), i);
        }
        let n = memo.slots.lock().unwrap().as_ref().unwrap().len();
        assert!(n <= MAX_ENTRIES, "{n} entries");
        assert_eq!(
            memo.get(&[&7usize.to_le_bytes()], || 70),
            70,
            "cleared, so computed again"
        );
    }
}
