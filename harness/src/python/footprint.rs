//! Footprint and strip plan. Sizes are the bytes of each module's source and `.pyc` files as
//! the guest sees them (`census.py list` stats them inside the guest, so a stdlib embedded in
//! the binary is measured too). A package's bytes are its whole subtree.
//!
//! The strip plan lists what a WASI build can leave out, by two rules, each documented here:
//! 1. **cannot work on WASI**: the census could not import it (ImportError, another exception,
//!    trap, crash, timeout). A failing package takes its subtree with it (importing a
//!    submodule imports the package first).
//! 2. **only tests use it**: a dotted name with a component `test` or `tests`, or one that
//!    starts with `test_` or ends with `_test` (`test`, `unittest.test`, `idlelib.idle_test`,
//!    `lib2to3.tests`, `ctypes.test`, `tkinter.test`, …). `idlelib`, `tkinter`, `turtledemo`
//!    need no name rule: on WASI they fail to import (no `_tkinter`), so rule 1 lists them.
//!
//! Modules the entry's import closure needs are never listed, whatever the rules say.

pub use wasiprobe_model::python::{Closure, Footprint, StripEntry, StripPlan};

use super::census::{Census, ModuleInfo};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};

fn bytes(m: &ModuleInfo) -> u64 {
    m.source_bytes + m.pyc_bytes
}

/// The subtree of `name` (itself and every `name.*`).
fn subtree<'a>(mods: &'a [ModuleInfo], name: &str) -> impl Iterator<Item = &'a ModuleInfo> {
    let prefix = format!("{name}.");
    let name = name.to_string();
    mods.iter()
        .filter(move |m| m.module == name || m.module.starts_with(&prefix))
}

pub fn is_test_name(module: &str) -> bool {
    module
        .split('.')
        .any(|c| c == "test" || c == "tests" || c.starts_with("test_") || c.ends_with("_test"))
}

/// The path to strip for a module: a package's directory, a module's file; relative to the
/// stdlib directory (`dirs` from the listing's identity) it lives in.
fn strip_path(m: &ModuleInfo, dirs: &[String]) -> Option<String> {
    let p = m.path.as_deref()?;
    let p = if m.kind == "package" {
        p.rsplit_once('/').map_or(p, |(d, _)| d)
    } else {
        p
    };
    let rel = dirs
        .iter()
        .filter_map(|d| p.strip_prefix(d.as_str()))
        .next()
        .unwrap_or(p);
    Some(rel.trim_start_matches('/').to_string())
}

pub fn footprint(census: &Census, closure: Option<Closure>) -> Footprint {
    let mods = &census.modules;
    let files: Vec<&ModuleInfo> = mods.iter().filter(|m| m.path.is_some()).collect();
    let mut top: BTreeMap<String, u64> = BTreeMap::new();
    for m in &files {
        let t = m.module.split('.').next().unwrap_or("").to_string();
        *top.entry(t).or_default() += bytes(m);
    }
    let mut top_level: Vec<(String, u64)> = top.into_iter().collect();
    top_level.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let dirs: Vec<String> = census
        .identity
        .get("dirs")
        .and_then(|d| serde_json::from_value(d.clone()).ok())
        .unwrap_or_default();
    let keep: BTreeSet<&str> = closure
        .as_ref()
        .map(|c| c.modules.iter().map(String::as_str).collect())
        .unwrap_or_default();
    let mut entries: Vec<StripEntry> = Vec::new();
    let mut covered: BTreeSet<String> = BTreeSet::new();
    // Shallow names first, so a package covers its subtree.
    let mut order: Vec<&ModuleInfo> = files.clone();
    order.sort_by_key(|m| (m.module.matches('.').count(), m.module.clone()));
    for m in order {
        if covered.contains(&m.module) {
            continue;
        }
        let failed = census
            .imports
            .get(&m.module)
            .filter(|r| !matches!(r.result.as_str(), "ok" | "absent" | "not-imported"));
        let (reason, detail) = if let Some(r) = failed {
            (
                "cannot-work-on-wasi",
                format!(
                    "census: {}{}",
                    r.result,
                    r.message
                        .as_deref()
                        .map(|s| format!(": {s}"))
                        .unwrap_or_default()
                ),
            )
        } else if is_test_name(&m.module) {
            ("tests-only", "name rule: a test package or module".into())
        } else {
            continue;
        };
        let tree: Vec<&ModuleInfo> = if m.kind == "package" {
            subtree(mods, &m.module).collect()
        } else {
            vec![m]
        };
        if tree.iter().any(|t| keep.contains(t.module.as_str())) {
            continue;
        }
        let Some(path) = strip_path(m, &dirs) else {
            continue;
        };
        for t in &tree {
            covered.insert(t.module.clone());
        }
        entries.push(StripEntry {
            path,
            module: m.module.clone(),
            reason: reason.into(),
            detail,
            bytes: tree.iter().map(|t| bytes(t)).sum(),
        });
    }
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    let mut by_reason: BTreeMap<String, u64> = BTreeMap::new();
    for e in &entries {
        *by_reason.entry(e.reason.clone()).or_default() += e.bytes;
    }
    Footprint {
        total_source_bytes: files.iter().map(|m| m.source_bytes).sum(),
        total_pyc_bytes: files.iter().map(|m| m.pyc_bytes).sum(),
        modules: files.len(),
        top_level,
        closure,
        strip_plan: StripPlan {
            bytes: entries.iter().map(|e| e.bytes).sum(),
            bytes_by_reason: by_reason,
            entries,
        },
    }
}

/// The closure's bytes from the listing.
pub fn closure_of(entry: &str, loaded: Vec<String>, census: &Census) -> Closure {
    let by: BTreeMap<&str, &ModuleInfo> = census
        .modules
        .iter()
        .map(|m| (m.module.as_str(), m))
        .collect();
    let bytes = loaded
        .iter()
        .filter_map(|m| by.get(m.as_str()))
        .map(|m| bytes(m))
        .sum();
    Closure {
        entry: entry.into(),
        modules: loaded,
        bytes,
    }
}

/// `strip-plan.txt` (one path per line, for a build script) and `strip-plan.json` (reasons
/// and bytes).
pub fn write_strip_plan(plan: &StripPlan, dir: &std::path::Path, id: &str) -> anyhow::Result<()> {
    let txt: String = plan
        .entries
        .iter()
        .map(|e| format!("{}\n", e.path))
        .collect();
    wasiprobe_util::atomic_write(&dir.join(format!("strip-plan-{id}.txt")), txt.as_bytes())?;
    let j = json!({ "python": id, "rules": [
        "cannot-work-on-wasi: the stdlib census could not import it on this runtime",
        "tests-only: a dotted name with a component test/tests, test_*, *_test",
    ], "bytes": plan.bytes, "bytes_by_reason": plan.bytes_by_reason, "entries": plan.entries });
    wasiprobe_util::atomic_write(
        &dir.join(format!("strip-plan-{id}.json")),
        serde_json::to_string_pretty(&j)?.as_bytes(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::python::census::ImportResult;

    fn m(name: &str, kind: &str, path: &str, b: u64) -> ModuleInfo {
        ModuleInfo {
            module: name.into(),
            kind: kind.into(),
            path: Some(path.into()),
            source_bytes: b,
            pyc_bytes: 1,
        }
    }

    fn census() -> Census {
        let modules = vec![
            m("os", "module", "/lib/os.py", 100),
            m("tkinter", "package", "/lib/tkinter/__init__.py", 50),
            m("tkinter.font", "module", "/lib/tkinter/font.py", 20),
            m("unittest", "package", "/lib/unittest/__init__.py", 10),
            m(
                "unittest.test",
                "package",
                "/lib/unittest/test/__init__.py",
                30,
            ),
            m(
                "unittest.test.test_x",
                "module",
                "/lib/unittest/test/test_x.py",
                5,
            ),
            m("json", "package", "/lib/json/__init__.py", 40),
        ];
        let mut imports = BTreeMap::new();
        for x in &modules {
            let r = if x.module.starts_with("tkinter") {
                "import-error"
            } else {
                "ok"
            };
            imports.insert(
                x.module.clone(),
                ImportResult {
                    result: r.into(),
                    error: None,
                    message: Some("no _tkinter".into()),
                    isolated: false,
                },
            );
        }
        Census {
            runtime: "wasmtime".into(),
            identity: json!({ "dirs": ["/lib"] }),
            modules,
            imports,
            counts: Default::default(),
            dark: Default::default(),
            processes: 1,
            duration_ms: 0.0,
        }
    }

    #[test]
    fn failing_packages_and_test_trees_are_planned_once_with_their_subtree_bytes() {
        let f = footprint(&census(), None);
        let paths: Vec<&str> = f
            .strip_plan
            .entries
            .iter()
            .map(|e| e.path.as_str())
            .collect();
        assert_eq!(paths, ["tkinter", "unittest/test"]);
        assert_eq!(f.strip_plan.entries[0].bytes, 50 + 20 + 2);
        assert_eq!(f.strip_plan.entries[0].reason, "cannot-work-on-wasi");
        assert_eq!(f.strip_plan.entries[1].bytes, 30 + 5 + 2);
        assert_eq!(f.strip_plan.entries[1].reason, "tests-only");
        assert_eq!(f.strip_plan.bytes, 72 + 37);
        assert_eq!(f.top_level[0].0, "os");
    }

    #[test]
    fn what_the_entry_closure_needs_is_never_stripped() {
        let c = census();
        let cl = closure_of("app", vec!["os".into(), "tkinter".into()], &c);
        assert_eq!(cl.bytes, 101 + 51);
        let f = footprint(&c, Some(cl));
        assert!(f.strip_plan.entries.iter().all(|e| e.module != "tkinter"));
    }

    #[test]
    fn the_test_name_rule() {
        for t in [
            "test",
            "test.support",
            "unittest.test",
            "lib2to3.tests",
            "idlelib.idle_test",
            "test_x",
        ] {
            assert!(is_test_name(t), "{t}");
        }
        for t in [
            "unittest",
            "doctest",
            "testing_not",
            "contest",
            "pytest_like",
        ] {
            assert!(!is_test_name(t), "{t}");
        }
    }
}
