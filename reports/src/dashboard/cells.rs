//! The verdict sections: the heat map of cells, failing cells with their evidence, the table of every cell, and runtimes compared with wasmtime.

use super::*;

pub(super) fn heat_map(b: &mut String, cells: &[Cell]) {
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
pub(super) fn heat_cell(b: &mut String, g: Group, area: &str, counts: &BTreeMap<Verdict, u64>) {
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
pub(super) fn first_reason(evidence: &Value) -> String {
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
pub(super) fn runtimes_compared(b: &mut String, cells: &[Cell]) {
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

pub(super) fn facts_details(evidence: &Value) -> String {
    match evidence.get("facts").and_then(Value::as_object) {
        Some(f) if !f.is_empty() => format!(
            "<details class=\"facts\"><summary>facts ({})</summary>{}</details>",
            f.len(),
            facts_table(f)
        ),
        _ => String::new(),
    }
}

pub(super) fn failing(b: &mut String, cells: &[Cell]) {
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

pub(super) fn all_cells(b: &mut String, cells: &[Cell]) {
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
