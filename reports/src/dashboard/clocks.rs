//! The clocks section: resolution and sleep overshoot per runtime and SDK.

use super::*;

pub(super) fn clocks(b: &mut String, cells: &[Cell], colours: &BTreeMap<Group, String>) {
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
pub(super) type Overshoot = serde_json::Map<String, Value>;

/// Sleep/poll overshoot: one chart per check, methods on the x axis, one bar (p50) with a p99
/// whisker per SDK × runtime, so the native floor sits beside every toolchain.
pub(super) fn overshoot(b: &mut String, cells: &[Cell], colours: &BTreeMap<Group, String>) {
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
