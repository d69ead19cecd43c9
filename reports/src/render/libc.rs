//! The libc-level part of the SDK-update evidence, and the report's libc section: what the
//! candidate SDK's libc changes for every program built with it, from the `libc` readings of
//! one report (`wasiprobe_toolchains::libc`) and its host-call records.
//!
//! Each item is classed by what a project has to do about it:
//! - **breaking**: a program that built and worked with the locked libc does not with the
//!   candidate — a symbol it defined is gone, or a function that worked is now a stub;
//! - **needs-configure-override**: a new stub, which a configure script finds and a program
//!   then calls; the `ac_cv_func_NAME=no` line for a `config.site` is given;
//! - **fact**: recorded so the reader can judge (symbols added, macros that changed, a stub
//!   gone, another errno, which Preview 1 functions a probe reaches).

use crate::libcdiff::diff;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use wasiprobe_model::libc::LibcFacts;
use wasiprobe_model::report::Report;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LibcClass {
    Breaking,
    NeedsConfigureOverride,
    Fact,
}

#[derive(Debug, Clone, Serialize)]
pub struct LibcItem {
    pub class: LibcClass,
    /// symbol, stub, macro, host-calls
    pub kind: String,
    pub what: String,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct LibcEvidence {
    pub items: Vec<LibcItem>,
    /// The config.site lines the candidate needs beyond the locked SDK's.
    pub config_site: Vec<String>,
    pub symbols_added: usize,
    pub symbols_removed: usize,
    pub macros_changed: usize,
    /// Macros spelled differently with the same value on both sides (not listed as items).
    pub macros_respelled: usize,
}

/// The libc-level evidence between two SDKs of one report, or None when the report has no libc
/// reading of either (older reports, or an SDK that was unavailable).
pub fn evidence(r: &Report, locked: &str, candidate: &str) -> Option<LibcEvidence> {
    let (a, b) = (r.libc.get(locked)?, r.libc.get(candidate)?);
    let d = diff(a, b);
    let mut items = Vec::new();
    for s in &d.symbols_removed {
        items.push(LibcItem {
            class: LibcClass::Breaking,
            kind: "symbol".into(),
            what: s.clone(),
            detail: format!("defined by {locked}'s libc, not by {candidate}'s: a program using it no longer links"),
        });
    }
    if !d.symbols_added.is_empty() {
        items.push(LibcItem {
            class: LibcClass::Fact,
            kind: "symbol".into(),
            what: format!("{} symbols added", d.symbols_added.len()),
            detail: d.symbols_added.join(", "),
        });
    }
    let stubs_of = |f: &LibcFacts| -> BTreeSet<String> {
        f.stubs.stubs.iter().map(|s| s.name.clone()).collect()
    };
    let old_stubs = stubs_of(a);
    for s in &d.stubs_added {
        let worked = a.symbols.contains(&s.name) && !old_stubs.contains(&s.name);
        let how = match (s.errno, s.returns) {
            (Some(e), r) => format!("sets errno {e} and returns {}", r.unwrap_or(0)),
            (None, r) => format!("returns {} without doing anything", r.unwrap_or(0)),
        };
        items.push(if worked {
            LibcItem {
                class: LibcClass::Breaking,
                kind: "stub".into(),
                what: s.name.clone(),
                detail: format!("implemented in {locked}'s libc, a stub in {candidate}'s ({how}): callers that worked now fail"),
            }
        } else {
            LibcItem {
                class: LibcClass::NeedsConfigureOverride,
                kind: "stub".into(),
                what: s.name.clone(),
                detail: format!("new in {candidate}'s libc as a stub ({how}): configure finds it and the program calls it; config.site: ac_cv_func_{}=no", s.name),
            }
        });
    }
    for s in &d.stubs_removed {
        let gone = !b.symbols.contains(&s.name);
        items.push(LibcItem {
            class: LibcClass::Fact,
            kind: "stub".into(),
            what: s.name.clone(),
            detail: if gone {
                format!("a stub in {locked}'s libc, not defined by {candidate}'s")
            } else {
                format!("a stub in {locked}'s libc, implemented in {candidate}'s: an `ac_cv_func_{}=no` override may now be dropped", s.name)
            },
        });
    }
    for (x, y) in &d.stubs_changed {
        items.push(LibcItem {
            class: LibcClass::Fact,
            kind: "stub".into(),
            what: x.name.clone(),
            detail: format!(
                "still a stub; errno {:?} → {:?}, returns {:?} → {:?}",
                x.errno, y.errno, x.returns, y.returns
            ),
        });
    }
    for (k, (x, y)) in &d.macros_changed {
        let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "(undefined)".into());
        items.push(LibcItem {
            class: LibcClass::Fact,
            kind: "macro".into(),
            what: k.clone(),
            detail: format!("{} → {}", show(x), show(y)),
        });
    }
    items.extend(host_call_changes(r, locked, candidate));
    Some(LibcEvidence {
        config_site: d.config_site_added.clone(),
        symbols_added: d.symbols_added.len(),
        symbols_removed: d.symbols_removed.len(),
        macros_changed: d.macros_changed.len(),
        macros_respelled: d.macros_respelled,
        items,
    })
}

/// Per probe, on each runtime that counts host calls: the Preview 1 functions a run reaches
/// with one SDK and not the other, and counts that change tenfold or more.
fn host_call_changes(r: &Report, locked: &str, candidate: &str) -> Vec<LibcItem> {
    let calls = |sdk: &str| -> BTreeMap<(String, String), BTreeMap<String, u64>> {
        let mut m = BTreeMap::new();
        for c in r.results.iter().filter(|c| c.sdk == sdk) {
            if let Some(h) = c.evidence.get("host_calls").and_then(|h| h.as_object()) {
                m.entry((c.runtime.clone(), c.probe.clone()))
                    .or_insert_with(|| {
                        h.iter()
                            .filter_map(|(k, v)| Some((k.clone(), v.as_u64()?)))
                            .collect()
                    });
            }
        }
        m
    };
    let (ca, cb) = (calls(locked), calls(candidate));
    let mut out = Vec::new();
    for (key, x) in &ca {
        let Some(y) = cb.get(key) else { continue };
        let mut changes = Vec::new();
        for f in x.keys().chain(y.keys()).collect::<BTreeSet<_>>() {
            match (x.get(f), y.get(f)) {
                (Some(p), None) => changes.push(format!("{f}: {p} → none")),
                (None, Some(q)) => changes.push(format!("{f}: none → {q}")),
                (Some(p), Some(q))
                    if (*q).max(1) >= 10 * (*p).max(1) || (*p).max(1) >= 10 * (*q).max(1) =>
                {
                    changes.push(format!("{f}: {p} → {q}"))
                }
                _ => {}
            }
        }
        if !changes.is_empty() {
            out.push(LibcItem {
                class: LibcClass::Fact,
                kind: "host-calls".into(),
                what: format!("{} on {}", key.1, key.0),
                detail: changes.join("; "),
            });
        }
    }
    out
}

pub fn markdown(e: &LibcEvidence, locked: &str, candidate: &str) -> String {
    let count = |c: LibcClass| e.items.iter().filter(|i| i.class == c).count();
    let mut out = format!(
        "\n## The libc: {locked} → {candidate}\n\n**{} breaking, {} needing a configure override, {} facts** ({} symbols added, {} removed; {} macros differ in value, {} more only in spelling).\n\n",
        count(LibcClass::Breaking),
        count(LibcClass::NeedsConfigureOverride),
        count(LibcClass::Fact),
        e.symbols_added,
        e.symbols_removed,
        e.macros_changed,
        e.macros_respelled
    );
    if !e.config_site.is_empty() {
        out += &format!(
            "A configure-based build with {candidate} needs, beyond its config.site for {locked}:\n\n```\n{}\n```\n\n",
            e.config_site.join("\n")
        );
    }
    out += "| class | kind | what | detail |\n|---|---|---|---|\n";
    const MACRO_ROWS: usize = 40;
    let mut macros_shown = 0;
    for i in &e.items {
        if i.kind == "macro" {
            macros_shown += 1;
            if macros_shown > MACRO_ROWS {
                continue;
            }
        }
        let class = serde_json::to_value(&i.class)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default();
        let detail: String = i.detail.chars().take(400).collect();
        out += &format!(
            "| {class} | {} | `{}` | {} |\n",
            i.kind,
            i.what.replace('|', "\\|"),
            detail.replace('|', "\\|")
        );
    }
    if macros_shown > MACRO_ROWS {
        out += &format!(
            "\n… and {} more macros that differ (every one is in the JSON form, `--json`).\n",
            macros_shown - MACRO_ROWS
        );
    }
    out
}

/// report.md's section on the libcs themselves: per SDK, what its libc is and does.
pub fn report_section(r: &Report) -> String {
    if r.libc.is_empty() {
        return String::new();
    }
    let fact = |sdk: &str, check: &str, key: &str| -> Option<String> {
        r.results
            .iter()
            .find(|c| c.sdk == sdk && c.check == check && c.runtime == "wasmtime")
            .or_else(|| r.results.iter().find(|c| c.sdk == sdk && c.check == check))
            .and_then(|c| c.evidence.get("facts")?.get(key).cloned())
            .map(|v| v.as_str().map(String::from).unwrap_or(v.to_string()))
    };
    let mut out = String::from("\n## The libcs\n\nRead from each toolchain (symbols, stubs: functions that link but can only fail) and from its probes on the reference runtime.\n\n| sdk | libc of | symbols | stubs | arc4random's bytes | nanosleep waits on |\n|---|---|---|---|---|---|\n");
    let specs: Vec<wasiprobe_model::sdk::SdkSpec> = r.sdks.iter().map(|s| s.spec.clone()).collect();
    for (sdk, f) in &r.libc {
        let of = specs
            .iter()
            .find(|s| &s.id == sdk)
            .and_then(|s| s.provenance.as_ref())
            .map(|p| {
                format!(
                    "{} ({})",
                    p.libc_of,
                    if p.exact { "exact" } else { "close" }
                )
            })
            .unwrap_or_else(|| "—".into());
        let stubs: Vec<&str> = f.stubs.stubs.iter().map(|s| s.name.as_str()).collect();
        let hides = match fact(sdk, "entropy_source", "hides_host_source").as_deref() {
            Some("true") => "in-guest ChaCha20, seeded once (**hides a bad host source**)",
            Some("false") => "the host, every call",
            _ => "not measured",
        };
        out += &format!(
            "| {sdk} | {of} | {} | {}{} | {hides} | {} |\n",
            f.symbols.len(),
            if stubs.is_empty() {
                "none".to_string()
            } else {
                stubs.join(", ")
            },
            if f.stubs.unreadable > 0 {
                " (incomplete: bitcode)"
            } else {
                ""
            },
            fact(sdk, "libc_sleep_clock", "nanosleep").unwrap_or_else(|| "not measured".into())
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::libcdiff::fixtures::{errno_stub, facts};

    #[test]
    fn items_are_classed_by_what_a_project_must_do() {
        let mut r: Report = serde_json::from_value(serde_json::json!({
            "schema_version": 1, "complete": true, "started_at": "t", "finished_at": "t",
            "host": {"os": "linux", "arch": "x86_64", "cpus": 2, "wasiprobe": "0"},
            "options": {}, "sdks": [], "runtimes": [],
            "build": {"compiled": 0, "cached": 0, "failed": 0, "rebuilt_corrupt": 0},
            "results": [], "summary": {}
        }))
        .unwrap();
        let libc = |syms: &[&str], stubs: &[&str]| {
            facts(syms, stubs.iter().map(|s| errno_stub(s, 52)).collect())
        };
        r.libc.insert(
            "a".into(),
            libc(&["chmod", "dup", "open", "gone"], &["chmod"]),
        );
        r.libc.insert(
            "b".into(),
            libc(
                &["chmod", "dup", "open", "pipe2", "thrd_create"],
                &["chmod", "dup", "pipe2"],
            ),
        );
        let e = evidence(&r, "a", "b").unwrap();
        let class_of = |what: &str| {
            e.items
                .iter()
                .find(|i| i.what == what)
                .map(|i| i.class.clone())
        };
        assert_eq!(class_of("gone"), Some(LibcClass::Breaking));
        assert_eq!(
            class_of("dup"),
            Some(LibcClass::Breaking),
            "dup worked and is now a stub"
        );
        assert_eq!(class_of("pipe2"), Some(LibcClass::NeedsConfigureOverride));
        assert_eq!(class_of("2 symbols added"), Some(LibcClass::Fact));
        assert_eq!(e.config_site, ["ac_cv_func_dup=no", "ac_cv_func_pipe2=no"]);
        let md = markdown(&e, "a", "b");
        assert!(md.contains("ac_cv_func_pipe2=no"), "{md}");
        assert!(
            md.contains("2 breaking, 1 needing a configure override"),
            "{md}"
        );
        assert!(evidence(&r, "a", "nope").is_none());
        r.results.push(serde_json::from_value(serde_json::json!({
            "sdk": "a", "runtime": "wasmtime", "probe": "entropy_source", "check": "entropy_source",
            "area": "entropy", "verdict": "pass", "duration_ms": 1.0,
            "evidence": { "facts": { "hides_host_source": true } }
        })).unwrap());
        let section = report_section(&r);
        assert!(section.contains("| a | — | 4 | chmod | in-guest ChaCha20, seeded once (**hides a bad host source**) | not measured |"), "{section}");
        assert!(
            section.contains("| b | — | 5 | chmod, dup, pipe2 | not measured |"),
            "{section}"
        );
    }
}
