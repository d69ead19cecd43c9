//! How two SDKs' libcs differ (`crate::render::libc` classes each change for the evidence;
//! `wasiprobe sdk diff` prints them): symbols, stubs and the `config.site` lines a build needs,
//! header macros that differ in value rather than spelling.

use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use wasiprobe_model::libc::{config_site, LibcFacts, Stub};

/// How two SDKs' libcs differ.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LibcDiff {
    pub symbols_added: Vec<String>,
    pub symbols_removed: Vec<String>,
    pub stubs_added: Vec<Stub>,
    pub stubs_removed: Vec<Stub>,
    /// Stubs on both sides whose behaviour differs (another errno or return value).
    pub stubs_changed: Vec<(Stub, Stub)>,
    /// `ac_cv_func_NAME=no` for the candidate's stubs the locked side does not have.
    pub config_site_added: Vec<String>,
    /// name → (before, after); a side without the macro is None. Macros whose replacement is
    /// spelled differently (whitespace, or another name for the same integer) are not here.
    pub macros_changed: BTreeMap<String, (Option<String>, Option<String>)>,
    /// How many macros changed only in spelling (e.g. `__WASI_ERRNO_BADF` → `8`).
    pub macros_respelled: usize,
}

/// The integer a macro's replacement stands for, following other macros of the same table
/// (`EBADF` → `__WASI_ERRNO_BADF` → `(UINT16_C(8))` → 8): literals, parentheses, integer
/// suffixes, `<stdint.h>`'s `INTn_C`/`UINTn_C` and names are followed, nothing else.
pub fn macro_value(table: &BTreeMap<String, String>, name: &str) -> Option<i128> {
    let mut text = table.get(name)?.trim().to_string();
    for _ in 0..8 {
        let mut t = text
            .trim()
            .trim_start_matches('(')
            .trim_end_matches(')')
            .trim();
        // <stdint.h>'s constant macros: UINT16_C(8) is 8.
        for p in [
            "UINT8_C(",
            "UINT16_C(",
            "UINT32_C(",
            "UINT64_C(",
            "INT8_C(",
            "INT16_C(",
            "INT32_C(",
            "INT64_C(",
        ] {
            if let Some(inner) = t.strip_prefix(p) {
                t = inner.trim_end_matches(')').trim();
            }
        }
        let (neg, t) = match t.strip_prefix('-') {
            Some(r) => (true, r.trim()),
            None => (false, t),
        };
        // Integer suffixes only on literals: `EADDRNOTAVAIL`'s last letter is not one.
        let t = if t.starts_with(|c: char| c.is_ascii_digit()) {
            t.trim_end_matches(['u', 'U', 'l', 'L'])
        } else {
            t
        };
        let v = if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
            i128::from_str_radix(h, 16).ok()
        } else if t.len() > 1 && t.starts_with('0') && t.chars().all(|c| c.is_ascii_digit()) {
            i128::from_str_radix(&t[1..], 8).ok()
        } else {
            t.parse::<i128>().ok()
        };
        if let Some(v) = v {
            return Some(if neg { -v } else { v });
        }
        if neg || !t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return None;
        }
        text = table.get(t)?.clone();
    }
    None
}

pub fn diff(a: &LibcFacts, b: &LibcFacts) -> LibcDiff {
    let by_name = |f: &LibcFacts| -> BTreeMap<String, Stub> {
        f.stubs
            .stubs
            .iter()
            .map(|s| (s.name.clone(), s.clone()))
            .collect()
    };
    let (sa, sb) = (by_name(a), by_name(b));
    let same_behaviour =
        |x: &Stub, y: &Stub| x.kind == y.kind && x.errno == y.errno && x.returns == y.returns;
    let stubs_added: Vec<Stub> = sb
        .iter()
        .filter(|(n, _)| !sa.contains_key(*n))
        .map(|(_, s)| s.clone())
        .collect();
    let mut macros_changed = BTreeMap::new();
    let mut macros_respelled = 0;
    let keys: BTreeSet<&String> = a.macros.keys().chain(b.macros.keys()).collect();
    for k in keys {
        let (x, y) = (a.macros.get(k), b.macros.get(k));
        if x == y {
            continue;
        }
        let squeeze = |v: &String| v.split_whitespace().collect::<String>();
        let same_value = match (x, y) {
            (Some(x), Some(y)) => {
                squeeze(x) == squeeze(y)
                    || (macro_value(&a.macros, k).is_some()
                        && macro_value(&a.macros, k) == macro_value(&b.macros, k))
            }
            _ => false,
        };
        if same_value {
            macros_respelled += 1;
        } else {
            macros_changed.insert(k.clone(), (x.cloned(), y.cloned()));
        }
    }
    LibcDiff {
        symbols_added: b.symbols.difference(&a.symbols).cloned().collect(),
        symbols_removed: a.symbols.difference(&b.symbols).cloned().collect(),
        config_site_added: config_site(&stubs_added),
        stubs_added,
        stubs_removed: sa
            .iter()
            .filter(|(n, _)| !sb.contains_key(*n))
            .map(|(_, s)| s.clone())
            .collect(),
        stubs_changed: sa
            .iter()
            .filter_map(|(n, x)| {
                let y = sb.get(n)?;
                (!same_behaviour(x, y)).then(|| (x.clone(), y.clone()))
            })
            .collect(),
        macros_changed,
        macros_respelled,
    }
}

fn stub_line(s: &Stub) -> String {
    match (s.errno, s.returns) {
        (Some(e), r) => format!("{} (errno {e}, returns {})", s.name, r.unwrap_or(0)),
        (None, r) => format!("{} (returns {})", s.name, r.unwrap_or(0)),
    }
}

/// The stub list of one SDK as text (one line each, and the config.site lines).
pub fn stubs_text(sdk: &str, f: &LibcFacts) -> String {
    let mut out = format!(
        "{sdk}: {} stubs in {}\n",
        f.stubs.stubs.len(),
        f.stubs
            .archives
            .iter()
            .map(|a| a.display().to_string())
            .collect::<Vec<_>>()
            .join(" ")
    );
    if f.stubs.unreadable > 0 {
        out += &format!(
            "  ({} archive members are LLVM bitcode and were not read: the list is incomplete)\n",
            f.stubs.unreadable
        );
    }
    for s in &f.stubs.stubs {
        out += &format!("  {}\n", stub_line(s));
    }
    out
}

pub fn diff_text(a: &str, b: &str, d: &LibcDiff) -> String {
    let mut out = format!(
        "{a} → {b}: stubs {} added, {} removed, {} changed; {} macros differ\n",
        d.stubs_added.len(),
        d.stubs_removed.len(),
        d.stubs_changed.len(),
        d.macros_changed.len()
    );
    for s in &d.stubs_added {
        out += &format!("+ stub {}\n", stub_line(s));
    }
    for s in &d.stubs_removed {
        out += &format!("- stub {}\n", stub_line(s));
    }
    for (x, y) in &d.stubs_changed {
        out += &format!("~ stub {} → {}\n", stub_line(x), stub_line(y));
    }
    if d.macros_respelled > 0 {
        out += &format!(
            "({} further macros are spelled differently with the same value)\n",
            d.macros_respelled
        );
    }
    if !d.config_site_added.is_empty() {
        out += &format!(
            "config.site lines {b} needs beyond {a}'s:\n{}\n",
            d.config_site_added.join("\n")
        );
    }
    for (k, (x, y)) in &d.macros_changed {
        let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "(undefined)".into());
        out += &format!("~ macro {k}: {} → {}\n", show(x), show(y));
    }
    out
}

/// Libc readings for the tests of this module and of `crate::render::libc`.
#[cfg(test)]
pub(crate) mod fixtures {
    use wasiprobe_model::libc::{Census, LibcFacts, Stub, StubKind};

    /// A stub that sets `errno` and returns −1, as most of wasi-libc's are.
    pub(crate) fn errno_stub(name: &str, errno: i64) -> Stub {
        Stub {
            name: name.into(),
            kind: StubKind::Errno,
            errno: Some(errno),
            returns: Some(-1),
            params: vec![],
            result: Some("i32".into()),
            archive: "libc.a".into(),
            member: "posix.o".into(),
            weak: false,
        }
    }

    /// A libc that defines `symbols` and has `stubs`, and nothing else.
    pub(crate) fn facts(symbols: &[&str], stubs: Vec<Stub>) -> LibcFacts {
        LibcFacts {
            symbols: symbols.iter().map(|s| s.to_string()).collect(),
            stubs: Census {
                archives: vec![],
                stubs,
                unreadable: 0,
            },
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::{errno_stub as stub, facts};
    use super::*;

    #[test]
    fn the_diff_lists_stubs_symbols_macros_and_config_site_lines() {
        let f = |syms: &[&str], stubs: Vec<Stub>, macros: &[(&str, &str)]| LibcFacts {
            macros: macros
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..facts(syms, stubs)
        };
        let a = f(
            &["chmod", "open"],
            vec![stub("chmod", 52)],
            &[
                ("S_IFIFO", "0xc000"),
                ("X", "1"),
                ("EBADF", "__WASI_ERRNO_BADF"),
                ("__WASI_ERRNO_BADF", "(UINT16_C(8))"),
            ],
        );
        let b = f(
            &["chmod", "open", "pthread_create"],
            vec![stub("chmod", 58), stub("pipe2", 52)],
            &[
                ("S_IFIFO", "0x1000"),
                ("Y", "2"),
                ("EBADF", "8"),
                ("__WASI_ERRNO_BADF", "(UINT16_C(8))"),
            ],
        );
        let d = diff(&a, &b);
        assert_eq!(d.symbols_added, ["pthread_create"]);
        assert!(d.symbols_removed.is_empty());
        assert_eq!(d.stubs_added.len(), 1);
        assert_eq!(d.config_site_added, ["ac_cv_func_pipe2=no"]);
        assert_eq!(d.stubs_changed.len(), 1);
        // EBADF is only respelled (__WASI_ERRNO_BADF → 8, both 8): not a change.
        assert_eq!(d.macros_changed.len(), 3);
        assert_eq!(d.macros_respelled, 1);
        let mut m = BTreeMap::new();
        m.insert("A".to_string(), "(0x10U)".to_string());
        m.insert("B".to_string(), "A".to_string());
        m.insert("C".to_string(), "-1".to_string());
        m.insert("EVAL".to_string(), "__X_VAL".to_string());
        m.insert("__X_VAL".to_string(), "(UINT16_C(28))".to_string());
        assert_eq!(
            macro_value(&m, "EVAL"),
            Some(28),
            "a name ending in L is not a suffix"
        );
        assert_eq!(macro_value(&m, "B"), Some(16));
        assert_eq!(macro_value(&m, "C"), Some(-1));
        let t = diff_text("a", "b", &d);
        assert!(t.contains("~ macro S_IFIFO: 0xc000 → 0x1000"), "{t}");
        assert!(t.contains("~ macro X: 1 → (undefined)"), "{t}");
        assert!(t.contains("+ stub pipe2 (errno 52, returns -1)"), "{t}");
    }
}
