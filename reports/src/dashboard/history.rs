//! The history section: verdict counts per run over time, from the SQLite history.

use super::*;

pub(super) fn history_section(b: &mut String, history: &[HistoryRun]) {
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
