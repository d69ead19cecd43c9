//! Shared by the integration tests: the sample data and a tiny attribute reader for the HTML.
#![allow(dead_code)] // each test binary uses a different subset

use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;
use wasiprobe_reports::json::Report;
use wasiprobe_reports::{History, HistoryRun};

pub fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("data")
        .join(name)
}

/// A real report from a wasiprobe run (SP 800-22 slots trimmed to keep the file small).
pub fn sample_report() -> Value {
    serde_json::from_str(&std::fs::read_to_string(data("report.json")).unwrap()).unwrap()
}

/// A real `wasiprobe evidence --json` document (zig-0.10 locked, zig-0.13 candidate).
pub fn sample_evidence() -> Value {
    serde_json::from_str(&std::fs::read_to_string(data("evidence.json")).unwrap()).unwrap()
}

/// The sample plus cells the nightly run did not produce: a filesystem cell with mismatches
/// and facts, and failing cells (one with a verdict this crate has never heard of).
pub fn report_with_extra_cells() -> Value {
    let mut r = sample_report();
    let results = r["results"].as_array_mut().unwrap();
    results.push(json!({
        "sdk": "zig-0.13", "runtime": "wasmtime", "probe": "fs", "check": "fs_stat",
        "area": "filesystem", "verdict": "fail", "duration_ms": 12.5,
        "evidence": {
            "facts": {"st_nlink": 1, "dirent_type": "DT_UNKNOWN"},
            "mismatches": [
                {"what": "st_mtime of a.txt", "guest": 0, "host": 1795582291},
                {"what": "readdir order", "guest": ["b", "a"], "host": ["a", "b"]}
            ]
        }
    }));
    results.push(json!({
        "sdk": "zig-0.17", "runtime": "wasmtime", "probe": "fs", "check": "fs_escape",
        "area": "filesystem", "verdict": "security", "duration_ms": 3.0,
        "evidence": {"mismatches": [{"what": "opened ../outside", "guest": "opened", "host": "ENOENT expected"}]}
    }));
    r
}

pub fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// The attributes of every tag that starts with `opening` (e.g. `<span class="hm"`).
pub fn tags(html: &str, opening: &str) -> Vec<BTreeMap<String, String>> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find(opening) {
        let tag = &rest[i..];
        let end = tag.find('>').expect("unterminated tag");
        let mut attrs = BTreeMap::new();
        let mut t = &tag[1..end];
        while let Some(eq) = t.find("=\"") {
            let name = t[..eq].rsplit(' ').next().unwrap().to_string();
            let after = &t[eq + 2..];
            let close = after.find('"').expect("unterminated attribute");
            attrs.insert(name, unescape(&after[..close]));
            t = &after[close + 1..];
        }
        out.push(attrs);
        rest = &tag[end..];
    }
    out
}

/// What a reader of a report.json file gets: the typed load (which refuses malformed input,
/// naming the field), as the binary reads it.
pub fn typed(v: &Value) -> anyhow::Result<Report> {
    wasiprobe_reports::json::from_value(v.clone())
}

/// The dashboard of a report given in its JSON form.
pub fn page_of(v: &Value, history: &[HistoryRun]) -> anyhow::Result<String> {
    wasiprobe_reports::dashboard_html(&typed(v)?, history)
}

/// Adds a report given in its JSON form to the history.
pub fn add_value(h: &mut History, v: &Value) -> anyhow::Result<i64> {
    h.add(&typed(v)?)
}
