//! The entropy section: SP 800-22 p-value histograms and SP 800-90B estimates per cell.

use super::*;

/// Sum of the per-slot p-value histograms of an `entropy_sp800_22` cell, and how many slots
/// contributed. Slots whose histogram length differs from the first are left out rather than
/// mis-binned.
pub(super) fn sp800_22_histogram(evidence: &Value) -> Option<(Vec<f64>, usize)> {
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

pub(super) fn entropy(b: &mut String, cells: &[Cell], colours: &BTreeMap<Group, String>) {
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
pub(super) fn pow2_label(k: usize) -> String {
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
