//! The nightly dashboard page.

use anyhow::Result;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use crate::history::HistoryRun;
use crate::html::{
    badge, esc, facts_table, json_inline, json_pre, page, verdict_colour, verdict_rank,
};
use crate::report::{cells, str_at, Cell};
use crate::svg::{
    fmt_count, fmt_ns, BarChart, LineChart, Scale, Series, ALT_PALETTE, NATIVE_COLOUR, PALETTE,
};
mod cells;
mod clocks;
mod entropy;
mod filesystem;
mod history;
mod python_browser;

use cells::*;
use clocks::*;
use entropy::*;
use filesystem::*;
use history::*;
use python_browser::*;
use wasiprobe_model::report::{Report, Verdict};

/// Every WASI Preview 1 function, in the order of the witx, for the coverage matrix: the
/// harness's own list.
fn preview1_names() -> impl Iterator<Item = &'static str> {
    wasiprobe_coverage::PREVIEW1.iter().map(|f| f.name)
}

/// Filters the per-cell table as one types. Static text (no report data), so its CSP hash is
/// stable; the page is complete without it.
const FILTER_JS: &str = "(function(){var s=document.getElementById('cells');if(!s){return;}\
var i=document.createElement('input');i.type='search';i.id='cell-filter';\
i.placeholder='filter cells: sdk, runtime, probe, check, verdict';\
var h=s.querySelector('h2');s.insertBefore(i,h?h.nextSibling:s.firstChild);\
i.addEventListener('input',function(){var q=i.value.toLowerCase();\
var rows=s.querySelectorAll('tr[data-text]');for(var k=0;k<rows.length;k++){\
rows[k].style.display=rows[k].getAttribute('data-text').indexOf(q)<0?'none':'';}\
var ds=s.querySelectorAll('details.group');for(var j=0;j<ds.length;j++){if(q){ds[j].open=true;}}});})();";

/// Bytes of evidence shown per cell: enough to read any ordinary cell, bounded for huge ones.
const FAILING_EVIDENCE_MAX: usize = 64 * 1024;
const CELL_EVIDENCE_MAX: usize = 6 * 1024;

/// Renders one report (and the history, oldest run first) as a self-contained HTML page.
///
/// Unknown areas and evidence shapes are shown generically.
pub fn dashboard_html(typed: &Report, history: &[HistoryRun]) -> Result<String> {
    let cells = cells(typed);
    // The free-form parts (identity, capabilities, coverage) are walked in their JSON form.
    let value = serde_json::to_value(typed)?;
    let report = &value;
    let colours = group_colours(&cells);
    let mut b = String::with_capacity(256 * 1024);
    header(&mut b, report, &cells);
    b.push_str(
        "<nav><a href=\"#heatmap\">heat map</a><a href=\"#runtimes\">runtimes compared</a>\
         <a href=\"#failing\">failing cells</a>\
         <a href=\"#entropy\">entropy</a><a href=\"#clocks\">clocks</a>\
         <a href=\"#filesystem\">filesystem</a><a href=\"#coverage\">coverage</a>\
         <a href=\"#python-browser\">Python in the browser</a>\
         <a href=\"#history\">history</a><a href=\"#cells\">all cells</a></nav>\n",
    );
    heat_map(&mut b, &cells);
    runtimes_compared(&mut b, &cells);
    failing(&mut b, &cells);
    entropy(&mut b, &cells, &colours);
    clocks(&mut b, &cells, &colours);
    filesystem(&mut b, &cells);
    coverage(&mut b, report);
    python_browser(&mut b, typed);
    let runs: Vec<HistoryRun> = history
        .iter()
        .filter(|r| r.kind == "run")
        .cloned()
        .collect();
    history_section(&mut b, &runs);
    crate::history_testsuite::section(&mut b, history);
    all_cells(&mut b, &cells);
    let title = format!(
        "wasiprobe dashboard {}",
        str_at(report, &["started_at"]).unwrap_or("")
    );
    Ok(page(&title, &b, Some(FILTER_JS)))
}

type Group<'a> = (&'a str, &'a str);

/// Sorts SDK × runtime groups with the native floor last, where a reader looks for a baseline.
fn group_key<'a>(g: &Group<'a>) -> (bool, &'a str, &'a str) {
    (g.0 == "native", g.0, g.1)
}

fn groups<'a>(cells: &[Cell<'a>]) -> Vec<Group<'a>> {
    let mut gs: Vec<Group> = cells
        .iter()
        .map(|c| (c.sdk, c.runtime))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    gs.sort_by_key(group_key);
    gs
}

/// One colour per SDK × runtime, the same in every plot of the page.
fn group_colours<'a>(cells: &[Cell<'a>]) -> BTreeMap<Group<'a>, String> {
    let mut i = 0;
    groups(cells)
        .into_iter()
        .map(|g| {
            let c = if g.0 == "native" {
                NATIVE_COLOUR.to_string()
            } else {
                i += 1;
                PALETTE[(i - 1) % PALETTE.len()].to_string()
            };
            (g, c)
        })
        .collect()
}

fn group_name(g: Group) -> String {
    if g.0 == "native" && g.1 == "native" {
        "native (floor)".to_string()
    } else {
        format!("{} / {}", g.0, g.1)
    }
}

fn count_verdicts<'a>(cells: impl Iterator<Item = &'a Cell<'a>>) -> BTreeMap<Verdict, u64> {
    let mut m = BTreeMap::new();
    for c in cells {
        *m.entry(c.verdict).or_insert(0) += 1;
    }
    m
}

fn ranked(counts: &BTreeMap<Verdict, u64>) -> Vec<(&'static str, u64)> {
    let mut v: Vec<(&str, u64)> = counts.iter().map(|(k, n)| (k.as_str(), *n)).collect();
    v.sort_by_key(|(k, _)| verdict_rank(k));
    v
}

fn header(b: &mut String, report: &Value, cells: &[Cell]) {
    let s = |path: &[&str]| str_at(report, path).unwrap_or("?").to_string();
    let _ = write!(
        b,
        "<header id=\"summary\"><h1>wasiprobe dashboard</h1>\
         <p>Run <b>{}</b> → <b>{}</b> · wasiprobe <b>{}</b> · host {}/{}, {} CPUs</p>",
        esc(&s(&["started_at"])),
        esc(str_at(report, &["finished_at"]).unwrap_or("(not finished)")),
        esc(&s(&["host", "wasiprobe"])),
        esc(&s(&["host", "os"])),
        esc(&s(&["host", "arch"])),
        esc(&json_inline(&report["host"]["cpus"], 20))
    );
    if report.get("complete").and_then(Value::as_bool) != Some(true) {
        b.push_str(
            "<p class=\"warn\">This report is <b>incomplete</b> (written while the run was in \
             progress): counts below cover only the cells finished so far.</p>",
        );
    }
    b.push_str("<p>Cells: ");
    for (v, n) in ranked(&count_verdicts(cells.iter())) {
        let _ = write!(b, "{} {} ", n, badge(v));
    }
    let _ = write!(b, "({} in all)", cells.len());
    if let Some(build) = report.get("build").and_then(Value::as_object) {
        b.push_str(" · build: ");
        let parts: Vec<String> = build
            .iter()
            .map(|(k, v)| format!("{} {}", esc(k), json_inline(v, 40)))
            .collect();
        b.push_str(&parts.join(", "));
    }
    b.push_str(
        "</p>\n<h3>Toolchains</h3><table><thead><tr><th>sdk</th><th>kind</th>\
                <th>version</th><th>LLVM</th><th>wasi-libc</th><th>status</th><th>compiler</th>\
                <th>libc fingerprint</th><th>package</th><th>found via</th></tr></thead><tbody>",
    );
    for sdk in report
        .get("sdks")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        // The schema nests the id under `spec`; accept a flat id too for hand-made reports.
        let id = str_at(sdk, &["spec", "id"])
            .or_else(|| str_at(sdk, &["id"]))
            .unwrap_or("?");
        let spec = |k: &str| {
            json_inline(
                sdk.get("spec")
                    .and_then(|s| s.get(k))
                    .unwrap_or(&Value::Null),
                200,
            )
        };
        let ident = |k: &str| json_inline(&sdk["identity"][k], 300);
        let status = str_at(sdk, &["status"]).unwrap_or("?");
        let status_cell = match str_at(sdk, &["reason"]) {
            Some(r) if status != "ready" => format!(
                "{}<details><summary>why</summary>{}</details>",
                esc(status),
                esc(r)
            ),
            _ => esc(status),
        };
        let _ = write!(
            b,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(id),
            spec("kind"),
            spec("version"),
            spec("llvm"),
            spec("wasi_libc"),
            status_cell,
            ident("compiler"),
            ident("libc_fingerprint"),
            ident("package"),
            ident("found_via")
        );
    }
    b.push_str(
        "</tbody></table>\n<h3>Runtimes</h3><table><thead><tr><th>runtime</th>\
                <th>version</th><th>status</th><th>reason</th></tr></thead><tbody>",
    );
    for rt in report
        .get("runtimes")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        let _ = write!(
            b,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            json_inline(&rt["name"], 100),
            json_inline(&rt["version"], 200),
            json_inline(&rt["status"], 50),
            json_inline(&rt["reason"], 400)
        );
    }
    b.push_str("</tbody></table></header>\n");
}

#[cfg(test)]
mod tests {
    use super::entropy::{pow2_label, sp800_22_histogram};

    #[test]
    fn histogram_sums_slots_and_skips_odd_lengths() {
        let ev = serde_json::json!({"per_slot": [
            {"histogram": [1, 2, 3]},
            {"histogram": [10, 20, 30]},
            {"histogram": [5, 5]},
            {"name": "no histogram"}
        ]});
        assert_eq!(sp800_22_histogram(&ev), Some((vec![11.0, 22.0, 33.0], 2)));
        assert_eq!(
            sp800_22_histogram(&serde_json::json!({"per_slot": []})),
            None
        );
        assert_eq!(sp800_22_histogram(&serde_json::json!({"x": 1})), None);
    }

    #[test]
    fn pow2_labels() {
        assert_eq!(pow2_label(9), "512ns");
        assert_eq!(pow2_label(10), "1µs");
        assert_eq!(pow2_label(20), "1ms");
        assert_eq!(pow2_label(12), "4.1µs");
    }
}
