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
         <a href=\"#history\">history</a><a href=\"#cells\">all cells</a></nav>\n",
    );
    heat_map(&mut b, &cells);
    runtimes_compared(&mut b, &cells);
    failing(&mut b, &cells);
    entropy(&mut b, &cells, &colours);
    clocks(&mut b, &cells, &colours);
    filesystem(&mut b, &cells);
    coverage(&mut b, report);
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

fn heat_map(b: &mut String, cells: &[Cell]) {
    let areas: BTreeSet<&str> = cells.iter().map(|c| c.area).collect();
    b.push_str(
        "<section id=\"heatmap\"><h2>SDK × runtime heat map</h2>\
         <p class=\"muted\">Cells per verdict, overall and per area. Red: at least one failure \
         (unknown verdicts count as failures); green: passes and nothing failed; grey: nothing \
         ran.</p><table><thead><tr><th>sdk</th><th>runtime</th><th>all areas</th>",
    );
    for a in &areas {
        let _ = write!(b, "<th>{}</th>", esc(a));
    }
    b.push_str("</tr></thead><tbody>");
    for g in groups(cells) {
        let _ = write!(b, "<tr><td>{}</td><td>{}</td>", esc(g.0), esc(g.1));
        let in_group = || cells.iter().filter(move |c| (c.sdk, c.runtime) == g);
        heat_cell(b, g, "", &count_verdicts(in_group()));
        for a in &areas {
            heat_cell(
                b,
                g,
                a,
                &count_verdicts(in_group().filter(|c| c.area == *a)),
            );
        }
        b.push_str("</tr>");
    }
    b.push_str("</tbody></table></section>\n");
}

/// One heat-map cell; `area` is empty for the all-areas column. The data attributes carry the
/// numbers in machine-readable form (tests read them back).
fn heat_cell(b: &mut String, g: Group, area: &str, counts: &BTreeMap<Verdict, u64>) {
    let bg = if counts.keys().any(|v| v.is_failure()) {
        "#ffebee"
    } else if counts.contains_key(&Verdict::Pass) {
        "#e8f5e9"
    } else {
        "#f5f5f5"
    };
    let _ = write!(b, "<td class=\"heat\" style=\"background:{bg}\">");
    if counts.is_empty() {
        b.push_str("<span class=\"muted\">—</span>");
    }
    for (v, n) in ranked(counts) {
        let _ = write!(
            b,
            "<span class=\"hm\" data-sdk=\"{}\" data-runtime=\"{}\" data-area=\"{}\" \
             data-verdict=\"{}\" data-n=\"{n}\"><span class=\"badge\" style=\"background:{}\">\
             {n} {}</span></span>",
            esc(g.0),
            esc(g.1),
            esc(area),
            esc(v),
            verdict_colour(v),
            esc(v)
        );
    }
    b.push_str("</td>");
}

/// The first problem or reason of a cell's evidence, for a tooltip.
fn first_reason(evidence: &Value) -> String {
    ["problems", "reason"]
        .iter()
        .find_map(|k| evidence.get(*k))
        .map(|v| match v {
            Value::Array(a) => a
                .first()
                .map(|x| x.as_str().map_or(x.to_string(), String::from)),
            Value::String(s) => Some(s.clone()),
            v => Some(v.to_string()),
        })
        .unwrap_or_default()
        .unwrap_or_default()
}

/// Each sdk × probe × check whose verdict is not the same on every runtime that ran it: one
/// row, one column per runtime, the reason on hover. Runtimes that skipped or were unavailable
/// are shown but do not make a row differ.
fn runtimes_compared(b: &mut String, cells: &[Cell]) {
    let runtimes: BTreeSet<&str> = cells
        .iter()
        .map(|c| c.runtime)
        .filter(|r| *r != "native")
        .collect();
    if runtimes.len() < 2 {
        return;
    }
    let mut rows: BTreeMap<(&str, &str, &str), BTreeMap<&str, &Cell>> = BTreeMap::new();
    for c in cells.iter().filter(|c| runtimes.contains(c.runtime)) {
        rows.entry((c.sdk, c.probe, c.check))
            .or_default()
            .insert(c.runtime, c);
    }
    let differing: Vec<_> = rows
        .iter()
        .filter(|(_, by_rt)| {
            let v: BTreeSet<Verdict> = by_rt
                .values()
                .map(|c| c.verdict)
                .filter(|v| !matches!(v, Verdict::Skip | Verdict::Unavailable))
                .collect();
            v.len() > 1
        })
        .collect();
    let _ = write!(
        b,
        "<section id=\"runtimes\"><h2>Runtimes compared ({} behaviours differ)</h2>\
         <p class=\"muted\">Each sdk × probe × check judged differently by the runtimes that \
         ran it; hover a verdict for its reason.</p>",
        differing.len()
    );
    if differing.is_empty() {
        b.push_str("<p>Every runtime that ran a cell gave it the same verdict.</p></section>\n");
        return;
    }
    b.push_str("<table><thead><tr><th>sdk</th><th>probe</th><th>check</th>");
    for r in &runtimes {
        let _ = write!(b, "<th>{}</th>", esc(r));
    }
    b.push_str("</tr></thead><tbody>");
    for ((sdk, probe, check), by_rt) in differing {
        let _ = write!(
            b,
            "<tr class=\"rtdiff\"><td>{}</td><td>{}</td><td>{}</td>",
            esc(sdk),
            esc(probe),
            esc(check)
        );
        for r in &runtimes {
            match by_rt.get(r) {
                Some(c) => {
                    let _ = write!(
                        b,
                        "<td title=\"{}\" data-runtime=\"{}\" data-verdict=\"{}\">{}</td>",
                        esc(&first_reason(c.evidence)),
                        esc(r),
                        esc(c.verdict.as_str()),
                        badge(c.verdict.as_str())
                    );
                }
                None => b.push_str("<td class=\"muted\">—</td>"),
            }
        }
        b.push_str("</tr>");
    }
    b.push_str("</tbody></table></section>\n");
}

fn facts_details(evidence: &Value) -> String {
    match evidence.get("facts").and_then(Value::as_object) {
        Some(f) if !f.is_empty() => format!(
            "<details class=\"facts\"><summary>facts ({})</summary>{}</details>",
            f.len(),
            facts_table(f)
        ),
        _ => String::new(),
    }
}

fn failing(b: &mut String, cells: &[Cell]) {
    let bad: Vec<&Cell> = cells.iter().filter(|c| c.verdict.is_failure()).collect();
    let _ = write!(
        b,
        "<section id=\"failing\"><h2>Failing cells ({})</h2>",
        bad.len()
    );
    if bad.is_empty() {
        b.push_str("<p>No failing cells.</p>");
    }
    // A bad night can fail hundreds of cells; folded evidence keeps the plots below reachable.
    let open = if bad.len() <= 5 { " open" } else { "" };
    for c in bad {
        let _ = write!(
            b,
            "<article class=\"failing item\" style=\"border-left-color:#d32f2f\">\
             <b>{} / {}</b>: {} · {} <span class=\"muted\">({})</span> {}{}\
             <details{open}><summary>evidence</summary>{}</details></article>",
            esc(c.sdk),
            esc(c.runtime),
            esc(c.probe),
            esc(c.check),
            esc(c.area),
            badge(c.verdict.as_str()),
            facts_details(c.evidence),
            json_pre(c.evidence, FAILING_EVIDENCE_MAX)
        );
    }
    b.push_str("</section>\n");
}

/// Sum of the per-slot p-value histograms of an `entropy_sp800_22` cell, and how many slots
/// contributed. Slots whose histogram length differs from the first are left out rather than
/// mis-binned.
fn sp800_22_histogram(evidence: &Value) -> Option<(Vec<f64>, usize)> {
    let slots = ["per_slot", "slots"]
        .iter()
        .find_map(|k| evidence.get(*k).and_then(Value::as_array))?;
    let mut sum: Option<Vec<f64>> = None;
    let mut used = 0;
    for s in slots {
        let Some(h) = s.get("histogram").and_then(Value::as_array) else {
            continue;
        };
        let h: Vec<f64> = h.iter().filter_map(Value::as_f64).collect();
        if h.is_empty() {
            continue;
        }
        match &mut sum {
            None => sum = Some(h),
            Some(acc) if acc.len() == h.len() => {
                for (a, x) in acc.iter_mut().zip(h) {
                    *a += x;
                }
            }
            Some(_) => continue,
        }
        used += 1;
    }
    sum.map(|s| (s, used))
}

fn entropy(b: &mut String, cells: &[Cell], colours: &BTreeMap<Group, String>) {
    b.push_str(
        "<section id=\"entropy\"><h2>Entropy: SP 800-22 p-value histograms</h2>\
         <p class=\"muted\">All slots' p-values of one cell, binned; good randomness gives a flat \
         histogram near the dashed line.</p><div class=\"plots\">",
    );
    let mut any = false;
    for c in cells.iter().filter(|c| c.check == "entropy_sp800_22") {
        let Some((hist, slots)) = sp800_22_histogram(c.evidence) else {
            continue;
        };
        any = true;
        let g = (c.sdk, c.runtime);
        let total: f64 = hist.iter().sum();
        let bins = hist.len();
        let title = format!("{} · {} slots", group_name(g), slots);
        let chart = BarChart {
            kind: "entropy",
            title: &title,
            x_labels: (0..bins)
                .map(|i| format!("{:.1}", i as f64 / bins as f64))
                .collect(),
            x_title: "p-value (bin lower bound)",
            y_title: "sequences",
            scale: Scale::Linear,
            series: vec![Series {
                name: group_name(g),
                colour: colours
                    .get(&g)
                    .cloned()
                    .unwrap_or_else(|| PALETTE[0].into()),
                values: hist,
                whiskers: None,
            }],
            reference: Some((total / bins as f64, "uniform")),
            width: 420.0,
            height: 220.0,
            fmt_y: fmt_count,
        }
        .render();
        let nonuniform: Vec<String> = c
            .evidence
            .get("per_slot")
            .and_then(Value::as_array)
            .map(|s| {
                s.iter()
                    .filter(|s| s.get("uniformity_ok").and_then(Value::as_bool) == Some(false))
                    .filter_map(|s| s.get("name").and_then(Value::as_str))
                    .map(esc)
                    .collect()
            })
            .unwrap_or_default();
        let _ = write!(
            b,
            "<figure>{chart}<figcaption>{} failed slots {} of {} allowed{}</figcaption></figure>",
            badge(c.verdict.as_str()),
            json_inline(&c.evidence["failed_slots"], 20),
            json_inline(&c.evidence["allowed_failed_slots"], 20),
            if nonuniform.is_empty() {
                String::new()
            } else {
                format!("; non-uniform p-values: {}", nonuniform.join(", "))
            }
        );
    }
    b.push_str("</div>");
    if !any {
        b.push_str("<p>No SP 800-22 results with p-value histograms in this report.</p>");
    }
    b.push_str("</section>\n");
}

/// Bin `k` holds steps in [2^k, 2^(k+1)) ns; labels are short because they sit under bars.
fn pow2_label(k: usize) -> String {
    let v = 2f64.powi(k as i32);
    let (x, unit) = if v >= 1e9 {
        (v / 1e9, "s")
    } else if v >= 1e6 {
        (v / 1e6, "ms")
    } else if v >= 1e3 {
        (v / 1e3, "µs")
    } else {
        (v, "ns")
    };
    if x >= 10.0 {
        format!("{x:.0}{unit}")
    } else {
        format!("{}{unit}", (x * 10.0).round() / 10.0)
    }
}

fn clocks(b: &mut String, cells: &[Cell], colours: &BTreeMap<Group, String>) {
    b.push_str(
        "<section id=\"clocks\"><h2>Clocks</h2><h3>Monotonic clock: step size distribution</h3>\
         <p class=\"muted\">Differences between consecutive reads, in log2 bins (log count \
         axis), raw WASI calls beside libc's.</p><div class=\"plots\">",
    );
    let mut any = false;
    for c in cells {
        let Some(obj) = c.evidence.as_object() else {
            continue;
        };
        let hists: Vec<(&String, &Value, Vec<f64>)> = obj
            .iter()
            .filter_map(|(k, v)| {
                let h = v.get("log2_hist")?.as_array()?;
                Some((k, v, h.iter().map(|x| x.as_f64().unwrap_or(0.0)).collect()))
            })
            .collect();
        if hists.is_empty() {
            continue;
        }
        any = true;
        let nonzero = |h: &Vec<f64>| h.iter().position(|x| *x > 0.0);
        let first = hists.iter().filter_map(|(_, _, h)| nonzero(h)).min();
        let last = hists
            .iter()
            .filter_map(|(_, _, h)| h.iter().rposition(|x| *x > 0.0))
            .max();
        let width = hists.iter().map(|(_, _, h)| h.len()).max().unwrap_or(0);
        let (lo, hi) = match (first, last) {
            (Some(f), Some(l)) => (f.saturating_sub(1), (l + 1).min(width.saturating_sub(1))),
            _ => (0, width.saturating_sub(1)),
        };
        let title = format!("{} · {}", group_name((c.sdk, c.runtime)), c.check);
        let series = hists
            .iter()
            .enumerate()
            .map(|(i, (k, _, h))| Series {
                name: k.to_string(),
                colour: ALT_PALETTE[i % ALT_PALETTE.len()].to_string(),
                values: (lo..=hi)
                    .map(|j| h.get(j).copied().unwrap_or(0.0))
                    .collect(),
                whiskers: None,
            })
            .collect();
        let chart = BarChart {
            kind: "clock-steps",
            title: &title,
            x_labels: (lo..=hi).map(pow2_label).collect(),
            x_title: "step ≥ (log2 bins)",
            y_title: "reads",
            scale: Scale::Log,
            series,
            reference: None,
            width: 420.0,
            height: 220.0,
            fmt_y: fmt_count,
        }
        .render();
        let ns = |v: &Value| {
            v.as_f64()
                .map_or_else(|| json_inline(v, 20), |x| esc(&fmt_ns(x)))
        };
        let mut cap = badge(c.verdict.as_str());
        for (k, v, _) in &hists {
            let _ = write!(
                cap,
                " <b>{}</b>: n {}, min step {}, max step {}, negative {}, zero {};",
                esc(k),
                json_inline(&v["n"], 20),
                ns(&v["min_positive_ns"]),
                ns(&v["max_step_ns"]),
                json_inline(&v["negative_steps"], 20),
                json_inline(&v["zero_steps"], 20)
            );
        }
        let _ = write!(b, "<figure>{chart}<figcaption>{cap}</figcaption></figure>");
    }
    b.push_str("</div>");
    if !any {
        b.push_str("<p>No monotonic-clock step histograms in this report.</p>");
    }
    overshoot(b, cells, colours);
    b.push_str("</section>\n");
}

/// method → {p50, p99, max, n} in ns, as the clock checks record it.
type Overshoot = serde_json::Map<String, Value>;

/// Sleep/poll overshoot: one chart per check, methods on the x axis, one bar (p50) with a p99
/// whisker per SDK × runtime, so the native floor sits beside every toolchain.
fn overshoot(b: &mut String, cells: &[Cell], colours: &BTreeMap<Group, String>) {
    b.push_str(
        "<h3>Sleep overshoot</h3><p class=\"muted\">How much longer than asked each \
                sleep took: bar p50, whisker p99 (log axis). The native floor is the dark \
                series.</p>",
    );
    let mut by_check: BTreeMap<&str, Vec<(&Cell, &Overshoot)>> = BTreeMap::new();
    for c in cells {
        if let Some(o) = c.evidence.get("overshoot_ns").and_then(Value::as_object) {
            by_check.entry(c.check).or_default().push((c, o));
        }
    }
    if by_check.is_empty() {
        b.push_str("<p>No sleep-overshoot measurements in this report.</p>");
        return;
    }
    b.push_str("<div class=\"plots\">");
    let mut tables = String::new();
    for (check, list) in &by_check {
        let methods: BTreeSet<&String> = list.iter().flat_map(|(_, o)| o.keys()).collect();
        let mut list = list.clone();
        list.sort_by_key(|(c, _)| group_key(&(c.sdk, c.runtime)));
        let stat = |o: &Overshoot, m: &str, k: &str| {
            o.get(m)
                .and_then(|x| x.get(k))
                .and_then(Value::as_f64)
                .unwrap_or(f64::NAN)
        };
        let series: Vec<Series> = list
            .iter()
            .map(|(c, o)| {
                let g = (c.sdk, c.runtime);
                Series {
                    name: group_name(g),
                    colour: colours
                        .get(&g)
                        .cloned()
                        .unwrap_or_else(|| PALETTE[0].into()),
                    values: methods.iter().map(|m| stat(o, m, "p50")).collect(),
                    whiskers: Some(methods.iter().map(|m| stat(o, m, "p99")).collect()),
                }
            })
            .collect();
        // Wide enough for every method name under its group of bars.
        let widest = methods.iter().map(|m| m.chars().count()).max().unwrap_or(0) as f64;
        let group_w = (list.len() as f64 * 16.0).max(widest * 6.2 + 14.0);
        let width = (80.0 + methods.len() as f64 * group_w).clamp(420.0, 1300.0);
        let title = format!("{check}: overshoot p50 / p99");
        let chart = BarChart {
            kind: "overshoot",
            title: &title,
            x_labels: methods.iter().map(|m| m.to_string()).collect(),
            x_title: "method",
            y_title: "overshoot",
            scale: Scale::Log,
            series,
            reference: None,
            width,
            height: 260.0,
            fmt_y: fmt_ns,
        }
        .render();
        let _ = write!(b, "<figure>{chart}</figure>");
        let _ = write!(
            tables,
            "<details><summary>{} numbers</summary><table><thead><tr><th>sdk / runtime</th>\
             <th>verdict</th><th>method</th><th>p50</th><th>p99</th><th>max</th><th>n</th></tr>\
             </thead><tbody>",
            esc(check)
        );
        for (c, o) in &list {
            for m in &methods {
                if !o.contains_key(m.as_str()) {
                    continue;
                }
                let _ = write!(
                    tables,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td>\
                     <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                    esc(&group_name((c.sdk, c.runtime))),
                    badge(c.verdict.as_str()),
                    esc(m),
                    esc(&fmt_ns(stat(o, m, "p50"))),
                    esc(&fmt_ns(stat(o, m, "p99"))),
                    esc(&fmt_ns(stat(o, m, "max"))),
                    json_inline(&o[m.as_str()]["n"], 20)
                );
            }
        }
        tables.push_str("</tbody></table></details>");
    }
    b.push_str("</div>");
    b.push_str(&tables);
}

fn filesystem(b: &mut String, cells: &[Cell]) {
    b.push_str("<section id=\"filesystem\"><h2>Filesystem: guest view vs host</h2>");
    let fs_cells = cells.iter().filter(|c| c.area == "filesystem").count();
    let mut rows = String::new();
    let mut n = 0;
    for c in cells {
        let Some(ms) = c.evidence.get("mismatches").and_then(Value::as_array) else {
            continue;
        };
        for m in ms {
            n += 1;
            let _ = write!(
                rows,
                "<tr class=\"mismatch\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
                 <td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(c.sdk),
                esc(c.runtime),
                esc(c.probe),
                esc(c.check),
                badge(c.verdict.as_str()),
                json_inline(m.get("what").unwrap_or(m), 300),
                json_pre(m.get("guest").unwrap_or(&Value::Null), 2048),
                json_pre(m.get("host").unwrap_or(&Value::Null), 2048)
            );
        }
    }
    if n > 0 {
        let _ = write!(
            b,
            "<p>{n} place(s) where the guest saw something other than the host.</p><table>\
             <thead><tr><th>sdk</th><th>runtime</th><th>probe</th><th>check</th><th>verdict</th>\
             <th>what</th><th>guest</th><th>host</th></tr></thead><tbody>{rows}</tbody></table>"
        );
    } else if fs_cells > 0 {
        let _ = write!(
            b,
            "<p>{fs_cells} filesystem cells, no mismatches between guest and host.</p>"
        );
    } else {
        b.push_str("<p>No filesystem cells in this report.</p>");
    }
    b.push_str("</section>\n");
}

fn coverage(b: &mut String, report: &Value) {
    b.push_str(
        "<section id=\"coverage\"><h2>Preview 1 coverage</h2><p class=\"muted\">Which WASI \
         Preview 1 functions any probe built with each SDK imports (hover for the probes).</p>",
    );
    let Some(imports) = report
        .get("imports")
        .and_then(Value::as_object)
        .filter(|m| !m.is_empty())
    else {
        b.push_str("<p>No import data in this report.</p></section>\n");
        return;
    };
    // sdk -> function -> probes importing it
    let mut by_sdk: BTreeMap<&str, BTreeMap<&str, Vec<&str>>> = BTreeMap::new();
    for (sdk, probes) in imports {
        let entry = by_sdk.entry(sdk).or_default();
        for (probe, names) in probes.as_object().into_iter().flatten() {
            for name in names
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                entry.entry(name).or_default().push(probe);
            }
        }
    }
    let known: BTreeSet<&str> = preview1_names().collect();
    let extra: BTreeSet<&str> = by_sdk
        .values()
        .flat_map(|m| m.keys().copied())
        .filter(|n| !known.contains(n))
        .collect();
    b.push_str("<table class=\"coverage\"><thead><tr><th>function</th>");
    for sdk in by_sdk.keys() {
        let _ = write!(b, "<th>{}</th>", esc(sdk));
    }
    b.push_str("</tr></thead><tbody>");
    let row = |b: &mut String, name: &str, note: &str| {
        let _ = write!(b, "<tr><th>{}{note}</th>", esc(name));
        for (sdk, funcs) in &by_sdk {
            match funcs.get(name) {
                Some(probes) => {
                    let _ = write!(
                        b,
                        "<td class=\"yes\" data-sdk=\"{}\" data-fn=\"{}\" title=\"{}\">✓ {}</td>",
                        esc(sdk),
                        esc(name),
                        esc(&probes.join(", ")),
                        probes.len()
                    );
                }
                None => b.push_str("<td class=\"no\">·</td>"),
            }
        }
        b.push_str("</tr>");
    };
    for name in preview1_names() {
        row(b, name, "");
    }
    for name in &extra {
        row(b, name, " <span class=\"muted\">(not Preview 1)</span>");
    }
    b.push_str("<tr><th>imported</th>");
    for funcs in by_sdk.values() {
        let n = preview1_names().filter(|f| funcs.contains_key(*f)).count();
        let _ = write!(
            b,
            "<td class=\"num\">{n} / {}</td>",
            wasiprobe_coverage::PREVIEW1.len()
        );
    }
    b.push_str("</tr></tbody></table></section>\n");
}

fn history_section(b: &mut String, history: &[HistoryRun]) {
    b.push_str("<section id=\"history\"><h2>History</h2>");
    if history.is_empty() {
        b.push_str(
            "<p id=\"no-history\">There is no history yet: this is the first run recorded \
             (or no history database was given).</p></section>\n",
        );
        return;
    }
    let labels: Vec<String> = history
        .iter()
        .map(|r| r.started_at.replace('T', " ").chars().take(16).collect())
        .collect();
    let split = |counts: &BTreeMap<String, u64>| {
        let mut pass = 0;
        let mut fail = 0;
        let mut not_run = 0;
        for (v, n) in counts {
            match v.as_str() {
                "pass" => pass += n,
                "skip" | "unavailable" => not_run += n,
                _ => fail += n,
            }
        }
        (pass as f64, fail as f64, not_run as f64)
    };
    let lines = |per_run: Vec<(f64, f64, f64)>, with_not_run: bool| {
        let mut s = vec![
            Series {
                name: "pass".into(),
                colour: "#2ca02c".into(),
                values: per_run.iter().map(|x| x.0).collect(),
                whiskers: None,
            },
            Series {
                name: "failing".into(),
                colour: "#d62728".into(),
                values: per_run.iter().map(|x| x.1).collect(),
                whiskers: None,
            },
        ];
        if with_not_run {
            s.push(Series {
                name: "not run (skip, unavailable)".into(),
                colour: "#7f7f7f".into(),
                values: per_run.iter().map(|x| x.2).collect(),
                whiskers: None,
            });
        }
        s
    };
    let total = LineChart {
        kind: "history",
        title: "Cells per run",
        x_labels: labels.clone(),
        y_title: "cells",
        series: lines(history.iter().map(|r| split(&r.counts)).collect(), true),
        width: 860.0,
        height: 260.0,
    }
    .render();
    let _ = write!(b, "<div class=\"plots\"><figure>{total}</figure></div>");
    b.push_str("<h3>Per SDK</h3><div class=\"plots\">");
    let sdks: BTreeSet<&String> = history.iter().flat_map(|r| r.per_sdk.keys()).collect();
    let empty = BTreeMap::new();
    for sdk in sdks {
        let title = format!("{sdk}: pass / failing per run");
        let chart = LineChart {
            kind: "history-sdk",
            title: &title,
            x_labels: labels.clone(),
            y_title: "cells",
            series: lines(
                history
                    .iter()
                    .map(|r| split(r.per_sdk.get(sdk).unwrap_or(&empty)))
                    .collect(),
                false,
            ),
            width: 420.0,
            height: 220.0,
        }
        .render();
        let _ = write!(b, "<figure>{chart}</figure>");
    }
    b.push_str(
        "</div><details><summary>Runs</summary><table><thead><tr><th>run</th>\
                <th>started</th><th>finished</th><th>wasiprobe</th><th>verdicts</th></tr>\
                </thead><tbody>",
    );
    for r in history {
        let counts: Vec<String> = r
            .counts
            .iter()
            .map(|(v, n)| format!("{n} {}", badge(v)))
            .collect();
        let _ = write!(
            b,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            r.id,
            esc(&r.started_at),
            esc(r.finished_at.as_deref().unwrap_or("—")),
            esc(&r.wasiprobe_version),
            counts.join(" ")
        );
    }
    b.push_str("</tbody></table></details></section>\n");
}

fn all_cells(b: &mut String, cells: &[Cell]) {
    b.push_str(
        "<section id=\"cells\"><h2>All cells</h2><p class=\"muted\">Per SDK × runtime; each \
         cell's recorded facts and (abridged) evidence fold open.</p>",
    );
    for g in groups(cells) {
        let in_group: Vec<&Cell> = cells.iter().filter(|c| (c.sdk, c.runtime) == g).collect();
        let counts: Vec<String> = ranked(&count_verdicts(in_group.iter().copied()))
            .into_iter()
            .map(|(v, n)| format!("{n} {}", badge(v)))
            .collect();
        let _ = write!(
            b,
            "<details class=\"group\"><summary>{} — {}</summary><table><thead><tr>\
             <th>probe</th><th>check</th><th>area</th><th>verdict</th><th>ms</th>\
             <th>facts / evidence</th></tr></thead><tbody>",
            esc(&group_name(g)),
            counts.join(" ")
        );
        for c in in_group {
            let text = format!(
                "{} {} {} {} {} {}",
                c.sdk,
                c.runtime,
                c.probe,
                c.check,
                c.area,
                c.verdict.as_str()
            )
            .to_lowercase();
            let _ = write!(
                b,
                "<tr data-text=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
                 <td class=\"num\">{}</td><td>{}<details><summary>evidence</summary>{}</details>\
                 </td></tr>",
                esc(&text),
                esc(c.probe),
                esc(c.check),
                esc(c.area),
                badge(c.verdict.as_str()),
                c.duration_ms.map(|d| format!("{d:.0}")).unwrap_or_default(),
                facts_details(c.evidence),
                json_pre(c.evidence, CELL_EVIDENCE_MAX)
            );
        }
        b.push_str("</tbody></table></details>");
    }
    b.push_str("</section>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

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
