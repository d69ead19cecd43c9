//! The SDK-update evidence page (`wasiprobe evidence --locked A --candidate B --json`).

use anyhow::{anyhow, Result};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use crate::html::{badge, esc, json_inline, json_pre, page};

/// The harness's class order (most urgent first); classes it may add later go before
/// `no-change` so that nothing new hides at the bottom.
const CLASS_ORDER: [&str; 4] = ["breaking", "fixed", "changed-fact", "changed"];

fn class_rank(class: &str) -> (u8, String) {
    match CLASS_ORDER.iter().position(|c| *c == class) {
        Some(i) => (i as u8, String::new()),
        None if class == "no-change" => (u8::MAX, String::new()),
        None => (100, class.to_string()),
    }
}

fn class_colour(class: &str) -> &'static str {
    match class {
        "breaking" => "#d32f2f",
        "fixed" => "#2e7d32",
        "changed-fact" => "#f9a825",
        "no-change" => "#bdbdbd",
        _ => "#ef6c00",
    }
}

/// Renders an evidence document as a self-contained HTML page: both toolchain identities, then
/// every item exactly once, grouped by class with `breaking` first and `no-change` last.
pub fn evidence_html(evidence: &Value) -> Result<String> {
    let items = evidence
        .get("items")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            anyhow!(
                "not a wasiprobe evidence document: no `items` array (expected the output of \
                 `wasiprobe evidence --locked A --candidate B --json`)"
            )
        })?;
    let id = |k: &str| {
        evidence
            .get(k)
            .and_then(|v| v.get("id"))
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_string()
    };
    let (locked, candidate) = (id("locked"), id("candidate"));
    let mut b = String::with_capacity(128 * 1024);
    let _ = write!(
        b,
        "<header><h1>SDK update evidence: {} → {}</h1></header>",
        esc(&locked),
        esc(&candidate)
    );
    identities(&mut b, evidence);

    let mut by_class: BTreeMap<(u8, String), (String, Vec<&Value>)> = BTreeMap::new();
    for item in items {
        let class = item
            .get("class")
            .and_then(Value::as_str)
            .unwrap_or("(no class)");
        by_class
            .entry(class_rank(class))
            .or_insert_with(|| (class.to_string(), Vec::new()))
            .1
            .push(item);
    }
    b.push_str("<p id=\"class-counts\">");
    let counts: Vec<String> = by_class
        .values()
        .map(|(c, list)| {
            format!(
                "<a href=\"#class-{}\"><b>{}</b> {}</a>",
                esc(c),
                list.len(),
                esc(c)
            )
        })
        .collect();
    b.push_str(&counts.join(" · "));
    let _ = write!(b, " ({} items)</p>", items.len());
    imports(&mut b, evidence);

    for (class, list) in by_class.values() {
        // Unchanged cells are the bulk and the least interesting: folded, but still listed.
        let folded = class == "no-change";
        let _ = write!(
            b,
            "<section class=\"class\" id=\"class-{}\"><h2>{} ({})</h2>",
            esc(class),
            esc(class),
            list.len()
        );
        if folded {
            b.push_str("<details><summary>show unchanged cells</summary>");
        }
        for item in list {
            render_item(&mut b, item, class, &locked, &candidate, !folded);
        }
        if folded {
            b.push_str("</details>");
        }
        b.push_str("</section>\n");
    }
    Ok(page(
        &format!("wasiprobe evidence {locked} → {candidate}"),
        &b,
        None,
    ))
}

/// Identity fields as `name → value`, with `identity.*` flattened so both sides line up.
fn identity_fields(v: &Value) -> BTreeMap<String, &Value> {
    let mut out = BTreeMap::new();
    for (k, x) in v.as_object().into_iter().flatten() {
        match x.as_object() {
            Some(inner) => {
                for (ik, iv) in inner {
                    out.insert(format!("{k}.{ik}"), iv);
                }
            }
            None => {
                out.insert(k.clone(), x);
            }
        }
    }
    out
}

fn identities(b: &mut String, evidence: &Value) {
    let (l, c) = (
        identity_fields(&evidence["locked"]),
        identity_fields(&evidence["candidate"]),
    );
    b.push_str(
        "<section id=\"identities\"><h2>Toolchains</h2><table><thead><tr><th></th>\
         <th>locked</th><th>candidate</th></tr></thead><tbody>",
    );
    let keys: BTreeSet<&String> = l.keys().chain(c.keys()).collect();
    for k in keys {
        let (a, z) = (
            l.get(k).copied().unwrap_or(&Value::Null),
            c.get(k).copied().unwrap_or(&Value::Null),
        );
        let _ = write!(
            b,
            "<tr{}><th>{}</th><td>{}</td><td>{}</td></tr>",
            if a != z { " class=\"changed\"" } else { "" },
            esc(k),
            json_inline(a, 400),
            json_inline(z, 400)
        );
    }
    b.push_str("</tbody></table></section>\n");
}

fn imports(b: &mut String, evidence: &Value) {
    let Some(list) = evidence
        .get("imports")
        .and_then(Value::as_array)
        .filter(|l| !l.is_empty())
    else {
        return;
    };
    b.push_str("<section id=\"imports\"><h2>Preview 1 imports that change</h2><ul>");
    for entry in list {
        let names = |i: usize| -> String {
            let v: Vec<String> = entry
                .get(i)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|n| json_inline(n, 100))
                .collect();
            if v.is_empty() {
                "nothing".to_string()
            } else {
                v.join(", ")
            }
        };
        let _ = write!(
            b,
            "<li><b>{}</b>: adds {}; drops {}</li>",
            json_inline(entry.get(0).unwrap_or(&Value::Null), 100),
            names(1),
            names(2)
        );
    }
    b.push_str("</ul></section>\n");
}

fn facts_side_by_side(l: &Value, c: &Value, locked: &str, candidate: &str) -> String {
    let empty = Map::new();
    let (lo, co) = (
        l.as_object().unwrap_or(&empty),
        c.as_object().unwrap_or(&empty),
    );
    if lo.is_empty() && co.is_empty() {
        return "<p class=\"muted\">No facts recorded.</p>".to_string();
    }
    let mut out = format!(
        "<table class=\"facts\"><thead><tr><th>fact</th><th>{}</th><th>{}</th></tr></thead><tbody>",
        esc(locked),
        esc(candidate)
    );
    let keys: BTreeSet<&String> = lo.keys().chain(co.keys()).collect();
    for k in keys {
        let (a, z) = (lo.get(k), co.get(k));
        let show = |v: Option<&Value>| v.map_or("(absent)".to_string(), |v| json_inline(v, 400));
        let _ = write!(
            out,
            "<tr{}><th>{}</th><td>{}</td><td>{}</td></tr>",
            if a != z { " class=\"changed\"" } else { "" },
            esc(k),
            show(a),
            show(z)
        );
    }
    out.push_str("</tbody></table>");
    out
}

fn render_item(
    b: &mut String,
    item: &Value,
    class: &str,
    locked: &str,
    candidate: &str,
    open_evidence: bool,
) {
    let s = |k: &str| item.get(k).and_then(Value::as_str).unwrap_or("?");
    let key = format!("{}/{}/{}", s("runtime"), s("probe"), s("check"));
    let _ =
        write!(
        b,
        "<article class=\"item\" data-class=\"{}\" data-key=\"{}\" style=\"border-left-color:{}\">\
         <h3>{} · {} <span class=\"muted\">on {}</span></h3>\
         <p>{}: {} → {}: {}</p>{}\
         <details{}><summary>evidence</summary><div class=\"side\"><div><b>{}</b>{}</div>\
         <div><b>{}</b>{}</div></div></details></article>",
        esc(class),
        esc(&key),
        class_colour(class),
        esc(s("probe")),
        esc(s("check")),
        esc(s("runtime")),
        esc(locked),
        badge(s("locked")),
        esc(candidate),
        badge(s("candidate")),
        facts_side_by_side(
            item.get("locked_facts").unwrap_or(&Value::Null),
            item.get("candidate_facts").unwrap_or(&Value::Null),
            locked,
            candidate
        ),
        if open_evidence { " open" } else { "" },
        esc(locked),
        json_pre(item.get("locked_evidence").unwrap_or(&Value::Null), 16 * 1024),
        esc(candidate),
        json_pre(
            item.get("candidate_evidence").unwrap_or(&Value::Null),
            16 * 1024
        ),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_order_puts_breaking_first_and_unknown_before_no_change() {
        let mut classes = vec![
            "no-change",
            "fixed",
            "new-kind",
            "changed",
            "breaking",
            "changed-fact",
        ];
        classes.sort_by_key(|c| class_rank(c));
        assert_eq!(
            classes,
            [
                "breaking",
                "fixed",
                "changed-fact",
                "changed",
                "new-kind",
                "no-change"
            ]
        );
    }

    #[test]
    fn rejects_documents_without_items() {
        let e = evidence_html(&serde_json::json!({"locked": {}})).unwrap_err();
        assert!(e.to_string().contains("no `items` array"), "{e}");
        // Negative control: an empty item list is a valid (if dull) document.
        assert!(evidence_html(&serde_json::json!({"items": []})).is_ok());
    }
}
