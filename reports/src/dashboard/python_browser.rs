//! CPython in the browser (`py-browser`): what each binary costs a page, with the stdlib as built
//! and with the strip plan applied, side by side.

use super::*;
use wasiprobe_model::python::BrowserStartup;

fn fmt_ms(v: f64) -> String {
    format!("{v:.0} ms")
}

fn fmt_mb(v: f64) -> String {
    format!("{v:.1} MB")
}

/// Two charts: the bytes a page fetches (gzip), and the time to a first print and to each
/// import, per binary × row, one bar per payload (full, stripped).
pub(super) fn python_browser(b: &mut String, typed: &Report) {
    let rows: Vec<(String, &BrowserStartup)> = typed
        .python
        .iter()
        .flat_map(|(id, p)| {
            p.browser
                .iter()
                .map(move |s| (format!("{id} · {}", s.runtime), s))
        })
        .filter(|(_, s)| s.status == "measured")
        .collect();
    b.push_str(
        "<section id=\"python-browser\"><h2>CPython in the browser</h2><p class=\"muted\">Each \
         binary loaded in the browser rows' page: bytes fetched as gzip would carry them, and \
         milliseconds from the page having its inputs to the guest's first write to stdout, \
         for <code>print</code>, <code>import json</code> and <code>import asyncio</code>; \
         with the stdlib as built (full) and with the strip plan applied (stripped).</p>",
    );
    if rows.is_empty() {
        b.push_str("<p>No py-browser measurements in this report.</p></section>\n");
        return;
    }
    let targets: Vec<String> = rows
        .iter()
        .map(|(t, _)| t.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let variants = ["full", "stripped"];
    let find = |t: &str, v: &str| {
        rows.iter()
            .find(|(x, s)| x == t && s.variant == v)
            .map(|(_, s)| *s)
    };
    let series = |value: &dyn Fn(&BrowserStartup) -> Vec<f64>, n: usize| -> Vec<Series> {
        variants
            .iter()
            .enumerate()
            .map(|(i, v)| Series {
                name: v.to_string(),
                colour: ALT_PALETTE[i].to_string(),
                values: targets
                    .iter()
                    .flat_map(|t| find(t, v).map_or(vec![f64::NAN; n], value))
                    .collect(),
                whiskers: None,
            })
            .collect()
    };
    let bytes = BarChart {
        kind: "python-browser-bytes",
        title: "bytes a page fetches (module + stdlib, gzip)",
        x_labels: targets.clone(),
        x_title: "binary · row",
        y_title: "MB",
        scale: Scale::Linear,
        series: series(
            &|s| vec![(s.wasm_gzip_bytes + s.stdlib_gzip_bytes) as f64 / 1e6],
            1,
        ),
        reference: None,
        width: 520.0,
        height: 240.0,
        fmt_y: fmt_mb,
    }
    .render();
    let scripts: Vec<&str> = wasiprobe_model::python::BROWSER_SCRIPTS
        .iter()
        .map(|(name, _)| *name)
        .collect();
    let times = BarChart {
        kind: "python-browser-startup",
        title: "time to the first print",
        x_labels: targets
            .iter()
            .flat_map(|t| scripts.iter().map(move |s| format!("{t} · {s}")))
            .collect(),
        x_title: "binary · row · script",
        y_title: "ms",
        scale: Scale::Linear,
        series: series(
            &|s| {
                scripts
                    .iter()
                    .map(|name| {
                        s.runs
                            .iter()
                            .find(|r| r.script == *name && r.ok)
                            .and_then(|r| r.phases.get("first_stdout_ms").copied())
                            .unwrap_or(f64::NAN)
                    })
                    .collect()
            },
            scripts.len(),
        ),
        reference: None,
        width: 720.0,
        height: 260.0,
        fmt_y: fmt_ms,
    }
    .render();
    let _ = writeln!(
        b,
        "<figure>{bytes}</figure><figure>{times}</figure></section>"
    );
}
