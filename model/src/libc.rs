//! What a toolchain's libc is, read from the toolchain itself: its defined symbols, its stubs
//! (functions that link but can only fail) and its header macros.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LibcFacts {
    /// Defined global symbols of the libc archives.
    #[serde(default)]
    pub symbols: BTreeSet<String>,
    #[serde(default)]
    pub stubs: Census,
    /// Every macro defined after including [`HEADERS`] (compiler-predefined ones included),
    /// name → replacement text. Headers an SDK lacks are left out and named in `errors`.
    #[serde(default)]
    pub macros: BTreeMap<String, String>,
    /// What could not be read, per part.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StubKind {
    /// Sets `errno` to a constant and returns a constant (−1).
    Errno,
    /// Sets nothing, returns a constant error number.
    ErrorCode,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Stub {
    pub name: String,
    pub kind: StubKind,
    /// The errno it sets (`errno` stubs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errno: Option<i64>,
    /// What it returns (None for a void function).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub returns: Option<i64>,
    /// Wasm parameter and result types, for the generated call.
    pub params: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    /// The archive and member that define it.
    pub archive: String,
    pub member: String,
    /// A weak definition (a strong one elsewhere, e.g. an emulation library, would win).
    pub weak: bool,
}

/// Every stub of one toolchain's libc.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Census {
    pub archives: Vec<PathBuf>,
    pub stubs: Vec<Stub>,
    /// Archive members that are not wasm objects (LLVM bitcode, as zig 0.10–0.13 build
    /// wasi-libc for LTO): their functions were not examined, so the census is incomplete.
    #[serde(default)]
    pub unreadable: usize,
}

/// `ac_cv_func_NAME=no` for each stub, for a configure-based build's `config.site`.
pub fn config_site(stubs: &[Stub]) -> Vec<String> {
    let mut v: Vec<String> = stubs
        .iter()
        .map(|s| format!("ac_cv_func_{}=no", s.name))
        .collect();
    v.sort();
    v.dedup();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_site_lines_are_sorted_and_unique() {
        let s = |n: &str| Stub {
            name: n.into(),
            kind: StubKind::Errno,
            errno: Some(52),
            returns: Some(-1),
            params: vec![],
            result: Some("i32".into()),
            archive: "libc.a".into(),
            member: "m.o".into(),
            weak: false,
        };
        assert_eq!(
            config_site(&[s("statvfs"), s("chmod"), s("chmod")]),
            ["ac_cv_func_chmod=no", "ac_cv_func_statvfs=no"]
        );
    }
}
