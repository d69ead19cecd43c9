//! The filesystem and Preview 1 coverage sections.

use super::*;

pub(super) fn filesystem(b: &mut String, cells: &[Cell]) {
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

pub(super) fn coverage(b: &mut String, report: &Value) {
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
