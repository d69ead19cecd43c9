//! The dashboard and evidence pages, read back as text.

mod common;

use common::{page_of, report_with_extra_cells, sample_evidence, sample_report, tags};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use wasiprobe_reports::{evidence_html, HistoryRun};

const SECTIONS: [&str; 9] = [
    "summary",
    "heatmap",
    "failing",
    "entropy",
    "clocks",
    "filesystem",
    "coverage",
    "history",
    "cells",
];

fn plots(html: &str, kind: &str) -> usize {
    html.matches(&format!("data-plot=\"{kind}\"")).count()
}

fn cells_where(report: &Value, f: impl Fn(&Value) -> bool) -> usize {
    report["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| f(c))
        .count()
}

fn history_of(report: &Value) -> Vec<HistoryRun> {
    let mut counts = BTreeMap::new();
    let mut per_sdk: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    for c in report["results"].as_array().unwrap() {
        let v = c["verdict"].as_str().unwrap().to_string();
        *counts.entry(v.clone()).or_insert(0) += 1;
        *per_sdk
            .entry(c["sdk"].as_str().unwrap().into())
            .or_default()
            .entry(v)
            .or_insert(0) += 1;
    }
    (1..=2)
        .map(|id| HistoryRun {
            id,
            started_at: format!("2026-11-2{id}T04:50:44Z"),
            finished_at: None,
            wasiprobe_version: "0.1.0".into(),
            kind: "run".into(),
            counts: counts.clone(),
            per_sdk: per_sdk.clone(),
            cells: Vec::new(),
        })
        .collect()
}

#[test]
fn every_section_is_present_for_the_sample_report() {
    let r = sample_report();
    let html = page_of(&r, &history_of(&r)).unwrap();
    for id in SECTIONS {
        assert_eq!(
            html.matches(&format!("id=\"{id}\"")).count(),
            1,
            "section {id}"
        );
    }
    // Header: when, host, version, SDK identities, runtimes.
    for s in [
        "2026-11-25T04:50:44Z",
        "2026-11-25T04:51:45Z",
        "linux/x86_64",
        "wasiprobe <b>0.1.0</b>",
        "ziglang 0.13.0",
        "6b7b38e1bcd02903",
        "Debian clang version 16.0.6",
        "48.0.8 (embedded, wasmtime-wasi p1)",
    ] {
        assert!(html.contains(s), "header lacks {s}");
    }
    // One plot per cell that carries the data, and nothing for cells that do not.
    let sp = cells_where(&r, |c| {
        c["check"] == "entropy_sp800_22" && c["evidence"]["per_slot"].is_array()
    });
    let mono = cells_where(&r, |c| c["evidence"]["raw"]["log2_hist"].is_array());
    assert_eq!((sp, mono), (5, 6), "the sample changed");
    assert_eq!(plots(&html, "entropy"), sp);
    assert_eq!(plots(&html, "clock-steps"), mono);
    assert_eq!(plots(&html, "overshoot"), 2, "clock_sleep and clock_poll");
    assert!(
        html.contains("native (floor)"),
        "overshoot shows the native floor"
    );
    assert_eq!(plots(&html, "history"), 1);
    assert_eq!(
        plots(&html, "history-sdk"),
        10,
        "one per SDK in the history"
    );
    assert!(!html.contains("id=\"no-history\""));
    assert!(html.contains("No failing cells."));
    assert!(html.contains("No filesystem cells in this report."));
    // Coverage: 46 rows, and a mark for each (sdk, function) some probe imports.
    let imported: usize = r["imports"]
        .as_object()
        .unwrap()
        .values()
        .map(|probes| {
            probes
                .as_object()
                .unwrap()
                .values()
                .flat_map(|names| {
                    names
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|n| n.as_str().unwrap())
                })
                .collect::<std::collections::BTreeSet<_>>()
                .len()
        })
        .sum();
    assert_eq!(tags(&html, "<td class=\"yes\"").len(), imported);
    assert_eq!(html.matches("<td class=\"no\">").count(), 46 * 5 - imported);
    assert_eq!(html.matches("16 / 46").count(), 5);
    // Facts fold open per cell.
    let with_facts = cells_where(&r, |c| {
        c["evidence"]["facts"]
            .as_object()
            .is_some_and(|f| !f.is_empty())
    });
    assert!(with_facts > 0);
    assert_eq!(
        html.matches("<details class=\"facts\">").count(),
        with_facts
    );
}

#[test]
fn sections_without_data_say_so_instead_of_plotting() {
    // Negative control for the test above: take the data away and the plots must go too.
    let mut r = sample_report();
    r["results"]
        .as_array_mut()
        .unwrap()
        .retain(|c| c["area"] == "process");
    r.as_object_mut().unwrap().remove("imports");
    let html = page_of(&r, &[]).unwrap();
    for kind in [
        "entropy",
        "clock-steps",
        "overshoot",
        "history",
        "history-sdk",
    ] {
        assert_eq!(plots(&html, kind), 0, "{kind}");
    }
    for s in [
        "No SP 800-22 results",
        "No monotonic-clock step histograms",
        "No sleep-overshoot measurements",
        "No import data in this report.",
        "id=\"no-history\"",
    ] {
        assert!(html.contains(s), "missing: {s}");
    }
    for id in SECTIONS {
        assert!(html.contains(&format!("id=\"{id}\"")), "section {id}");
    }
}

/// (sdk, runtime, area, verdict) → count, where area "" means all areas.
fn counts_from_cells(report: &Value) -> BTreeMap<(String, String, String, String), u64> {
    let mut m = BTreeMap::new();
    for c in report["results"].as_array().unwrap() {
        let s = |k: &str| c[k].as_str().unwrap().to_string();
        for area in [String::new(), s("area")] {
            *m.entry((s("sdk"), s("runtime"), area, s("verdict")))
                .or_insert(0) += 1;
        }
    }
    m
}

fn counts_from_heat_map(html: &str) -> BTreeMap<(String, String, String, String), u64> {
    let mut m = BTreeMap::new();
    for a in tags(html, "<span class=\"hm\"") {
        let key = (
            a["data-sdk"].clone(),
            a["data-runtime"].clone(),
            a["data-area"].clone(),
            a["data-verdict"].clone(),
        );
        let n: u64 = a["data-n"].parse().unwrap();
        assert!(m.insert(key, n).is_none(), "a heat-map count appears twice");
    }
    m
}

#[test]
fn heat_map_counts_equal_the_cells() {
    for r in [sample_report(), report_with_extra_cells()] {
        let html = page_of(&r, &[]).unwrap();
        let shown = counts_from_heat_map(&html);
        assert!(!shown.is_empty());
        assert_eq!(shown, counts_from_cells(&r));
        // Negative control: one changed verdict makes the counts disagree.
        let mut changed = r.clone();
        changed["results"][0]["verdict"] = json!("crash");
        assert_ne!(shown, counts_from_cells(&changed));
    }
    // An unknown verdict is shown, counted and coloured as a failure.
    let html = page_of(&report_with_extra_cells(), &[]).unwrap();
    let security = counts_from_heat_map(&html)
        .into_iter()
        .filter(|(k, _)| k.3 == "security")
        .count();
    assert_eq!(security, 2, "all-areas and filesystem columns");
    assert!(html.contains("<span class=\"badge\" style=\"background:#ef9a9a\">1 security"));
}

#[test]
fn failing_cells_and_filesystem_mismatches_are_listed() {
    let r = report_with_extra_cells();
    let html = page_of(&r, &[]).unwrap();
    assert_eq!(tags(&html, "<article class=\"failing item\"").len(), 2);
    assert!(html.contains("Failing cells (2)"));
    let rows = html.matches("<tr class=\"mismatch\">").count();
    assert_eq!(rows, 3);
    // Guest and host side by side in one row.
    let row = html
        .split("<tr class=\"mismatch\">")
        .skip(1)
        .find(|r| r.contains("readdir order"))
        .unwrap();
    let row = &row[..row.find("</tr>").unwrap()];
    let (g, h) = (
        row.find("&quot;b&quot;,\n  &quot;a&quot;").unwrap(),
        row.find("&quot;a&quot;,\n  &quot;b&quot;").unwrap(),
    );
    assert!(g < h, "guest column comes before host: {row}");
    assert!(html.contains("<summary>facts (2)</summary>"));
    // Negative control: the sample has no filesystem cells and no failures.
    let html = page_of(&sample_report(), &[]).unwrap();
    assert_eq!(html.matches("<tr class=\"mismatch\">").count(), 0);
    assert_eq!(tags(&html, "<article class=\"failing item\"").len(), 0);
}

/// Markup a hostile guest could smuggle in if text were not escaped.
fn live_markup(html: &str) -> Vec<&'static str> {
    let lower = html.to_lowercase();
    let mut found = Vec::new();
    if lower.matches("<script").count() > 1 {
        found.push("a second <script>"); // the page's own filter script is the only one
    }
    // Escaped text may still read "onerror=" or "javascript:"; without a `<` it is no tag.
    for bad in ["<img", "<iframe", "<svg onload", "<object"] {
        if lower.contains(bad) {
            found.push(bad);
        }
    }
    found
}

#[test]
fn text_from_the_report_is_rendered_inert() {
    let evil = "</pre><script>alert('pwned')</script><img src=x onerror=alert(1)>";
    let mut r = report_with_extra_cells();
    let n = r["results"].as_array().unwrap().len();
    r["results"][n - 1]["evidence"]["note"] = json!(evil);
    r["results"][n - 1]["evidence"]["facts"] = json!({ evil: evil });
    r["results"][n - 1]["check"] = json!(evil);
    r["results"][n - 2]["evidence"]["mismatches"][0]["guest"] = json!(evil);
    r["results"][n - 2]["sdk"] = json!("\"><iframe src=javascript:alert(1)>");
    r["host"]["wasiprobe"] = json!(evil);
    r["imports"]["zig-0.13"][evil] = json!([evil]);
    let html = page_of(&r, &[]).unwrap();
    assert_eq!(live_markup(&html), Vec::<&str>::new());
    assert!(html.contains("&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt;"));
    assert!(html.contains("&quot;&gt;&lt;iframe"));
    // Negative control: the detector does flag the same text pasted in raw.
    let naive = format!("{html}<pre>{evil}</pre>");
    assert!(live_markup(&naive).contains(&"a second <script>"));
    assert!(live_markup(&naive).contains(&"<img"));

    // The evidence page escapes just the same.
    let mut e = sample_evidence();
    e["candidate"]["identity"]["compiler"] = json!(evil);
    e["items"][0]["candidate_facts"] = json!({ evil: evil });
    e["items"][1]["probe"] = json!(evil);
    let page = evidence_html(&e).unwrap();
    assert!(
        page.to_lowercase().matches("<script").count() == 0,
        "no script at all"
    );
    assert!(!page.contains("<img") && page.contains("&lt;img src=x"));
}

#[test]
fn pages_fetch_nothing() {
    let r = report_with_extra_cells();
    let history = history_of(&r);
    for html in [
        page_of(&r, &history).unwrap(),
        evidence_html(&sample_evidence()).unwrap(),
    ] {
        assert_eq!(external_refs(&html), Vec::<String>::new());
        assert!(html.contains("content=\"default-src 'none'"), "CSP present");
    }
    // Negative control.
    assert_eq!(
        external_refs("<img src=\"https://x.test/a.png\"><link href=\"s.css\">").len(),
        2
    );
}

/// Anything that would make a browser fetch: `src=`/`href=` other than in-page anchors, or CSS
/// loading. (SVG's xmlns is a name, not a fetch.)
fn external_refs(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for attr in ["src=\"", "href=\""] {
        for part in html.split(attr).skip(1) {
            let v = &part[..part.find('"').unwrap_or(part.len())];
            if !v.starts_with('#') {
                out.push(format!("{attr}{v}"));
            }
        }
    }
    for css in ["@import", "url("] {
        if html.contains(css) {
            out.push(css.to_string());
        }
    }
    out
}

#[test]
fn wrong_schema_versions_are_refused_with_a_clear_error() {
    let mut r = sample_report();
    r["schema_version"] = json!(2);
    let e = page_of(&r, &[]).unwrap_err().to_string();
    assert!(
        e.contains("schema_version 2") && e.contains("reads schema_version 1"),
        "{e}"
    );
    let e = page_of(&json!([1, 2]), &[]).unwrap_err().to_string();
    assert!(e.contains("JSON object"), "{e}");
    let mut r = sample_report();
    r["results"][3].as_object_mut().unwrap().remove("verdict");
    let e = page_of(&r, &[]).unwrap_err().to_string();
    assert!(e.contains("results[3]") && e.contains("verdict"), "{e}");
    // Negative control: the unmodified report renders.
    assert!(page_of(&sample_report(), &[]).is_ok());
}

fn item_order(page: &str) -> Vec<(String, String)> {
    tags(page, "<article class=\"item\"")
        .into_iter()
        .map(|a| (a["data-class"].clone(), a["data-key"].clone()))
        .collect()
}

fn is_class_ordered(classes: &[&str]) -> bool {
    let rank = |c: &str| match c {
        "breaking" => 0,
        "fixed" => 1,
        "changed-fact" => 2,
        "changed" => 3,
        "no-change" => 9,
        _ => 5,
    };
    classes.windows(2).all(|w| rank(w[0]) <= rank(w[1]))
}

#[test]
fn evidence_page_lists_every_item_once_with_breaking_first() {
    let mut e = sample_evidence();
    let items = e["items"].as_array_mut().unwrap();
    assert_eq!(items.len(), 15);
    // The sample has only changed-fact and no-change items: give it the other classes too, at
    // positions where document order alone would not put them first.
    items[14]["class"] = json!("breaking");
    items[14]["candidate"] = json!("fail");
    items[9]["class"] = json!("breaking");
    items[5]["class"] = json!("fixed");
    items[7]["class"] = json!("changed");
    items[8]["class"] = json!("security-regression");
    let page = evidence_html(&e).unwrap();
    let order = item_order(&page);
    let want: Vec<String> = e["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            format!(
                "{}/{}/{}",
                i["runtime"].as_str().unwrap(),
                i["probe"].as_str().unwrap(),
                i["check"].as_str().unwrap()
            )
        })
        .collect();
    let mut got: Vec<String> = order.iter().map(|(_, k)| k.clone()).collect();
    let mut want_sorted = want.clone();
    got.sort();
    want_sorted.sort();
    assert_eq!(got, want_sorted, "every item exactly once");
    let classes: Vec<&str> = order.iter().map(|(c, _)| c.as_str()).collect();
    assert_eq!(&classes[..2], ["breaking", "breaking"]);
    assert!(is_class_ordered(&classes), "{classes:?}");
    assert_eq!(classes.last(), Some(&"no-change"));
    let unknown = classes
        .iter()
        .position(|c| *c == "security-regression")
        .unwrap();
    assert!(unknown < classes.iter().position(|c| *c == "no-change").unwrap());
    // Negative controls: the checks notice a missing item and a wrong order.
    let mut short = got.clone();
    short.pop();
    assert_ne!(short, want_sorted);
    assert!(!is_class_ordered(&["fixed", "breaking"]));

    // Both identities, both verdicts, both facts.
    for s in [
        "SDK update evidence: zig-0.10 → zig-0.13",
        "clang version 15.0.7",
        "clang version 18.1.6",
        "70b02d089d9c40ee",
        "6b7b38e1bcd02903",
        "<th>process_cputime_defined</th><td>true</td><td>false</td>",
        "Preview 1 imports that change",
    ] {
        assert!(page.contains(s), "evidence page lacks {s}");
    }
    assert_eq!(page.matches("<div class=\"side\">").count(), 15);
}

/// The sample report's cells copied onto a second runtime, with one verdict changed (when
/// `change` is set): the comparison must show exactly that behaviour.
fn on_two_runtimes(change: bool) -> Value {
    let mut r = sample_report();
    let results = r["results"].as_array_mut().unwrap();
    let mut copies: Vec<Value> = results
        .iter()
        .filter(|c| c["runtime"] == "wasmtime")
        .cloned()
        .collect();
    for c in &mut copies {
        c["runtime"] = json!("wasmi");
    }
    let target = copies
        .iter_mut()
        .find(|c| c["verdict"] == "pass")
        .expect("a passing cell");
    let key = (
        target["sdk"].as_str().unwrap().to_string(),
        target["check"].as_str().unwrap().to_string(),
    );
    if change {
        target["verdict"] = json!("trap");
        target["evidence"] = json!({"reason": "wasm trap: out of bounds"});
    }
    results.extend(copies);
    r["diff_key"] = json!([key.0, key.1]);
    r
}

#[test]
fn runtimes_compared_shows_each_differing_behaviour_and_only_those() {
    let r = on_two_runtimes(true);
    let html = page_of(&r, &[]).unwrap();
    assert!(
        html.contains("Runtimes compared (1 behaviours differ)"),
        "no section"
    );
    let rows = html.matches("<tr class=\"rtdiff\">").count();
    assert_eq!(rows, 1);
    assert!(html.contains("title=\"wasm trap: out of bounds\""));
    assert!(html.contains(&format!("<td>{}</td>", r["diff_key"][1].as_str().unwrap())));
    // Negative control: the same verdicts on both runtimes show no row.
    let same = page_of(&on_two_runtimes(false), &[]).unwrap();
    assert!(same.contains("Runtimes compared (0 behaviours differ)"));
    assert_eq!(same.matches("<tr class=\"rtdiff\">").count(), 0);
}
