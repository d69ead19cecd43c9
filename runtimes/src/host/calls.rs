//! Host-call counting's one table: a Preview 1 function's id is its index in
//! `wasiprobe_coverage::PREVIEW1`, so an engine's counter is a fixed array bumped by a `const`
//! id, and the names are attached once, when the run ends.

use std::collections::BTreeMap;
use wasiprobe_coverage::PREVIEW1;

pub const N: usize = PREVIEW1.len();

/// The function with this id.
pub fn name(id: usize) -> &'static str {
    PREVIEW1[id].name
}

/// The counts of a run (one per id, in id order) by function name; functions never called are
/// left out.
pub fn by_name(counts: impl IntoIterator<Item = u64>) -> BTreeMap<String, u64> {
    counts
        .into_iter()
        .enumerate()
        .filter(|(_, n)| *n > 0)
        .map(|(id, n)| (name(id).to_string(), n))
        .collect()
}

/// A function's id, for use in a `const { }` block so that a counted call does no lookup.
/// Panics (at compile time, in a const block) for a name that is not a Preview 1 function.
pub const fn id(name: &str) -> usize {
    let mut i = 0;
    while i < N {
        if eq(PREVIEW1[i].name.as_bytes(), name.as_bytes()) {
            return i;
        }
        i += 1;
    }
    panic!("not a wasi_snapshot_preview1 function")
}

const fn eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_positions() {
        assert_eq!(id("args_get"), 0);
        assert_eq!(id("sock_shutdown"), 45);
        assert_eq!(name(id("fd_tell")), "fd_tell");
    }

    #[test]
    fn by_name_leaves_out_the_functions_never_called() {
        let mut counts = [0; N];
        counts[id("fd_write")] = 3;
        counts[id("sock_shutdown")] = 1;
        assert_eq!(
            by_name(counts),
            BTreeMap::from([("fd_write".into(), 3), ("sock_shutdown".into(), 1)])
        );
    }
}
