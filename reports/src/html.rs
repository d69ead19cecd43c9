//! Escaping, the page frame and verdict styling shared by both pages.

use serde_json::Value;
use sha2::{Digest, Sha256};
use std::fmt::Write as _;

/// Escapes text for element content and quoted attribute values alike, so one function is
/// enough wherever report text lands.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Cuts at a char boundary: guests may write multi-byte text and slicing mid-char panics.
pub(crate) fn truncate(s: &str, max: usize) -> (&str, bool) {
    if s.len() <= max {
        return (s, false);
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    (&s[..end], true)
}

/// Pretty JSON inside `<pre>`, bounded because one chatty guest must not make the page huge.
pub(crate) fn json_pre(v: &Value, max: usize) -> String {
    let text = serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string());
    let (shown, cut) = truncate(&text, max);
    let mut out = format!("<pre class=\"json\">{}", esc(shown));
    if cut {
        let _ = write!(
            out,
            "\n… ({} more bytes not shown; see report.json)",
            text.len() - shown.len()
        );
    }
    out.push_str("</pre>");
    out
}

/// A JSON value on one line, for table cells; strings lose their quotes to read naturally.
pub(crate) fn json_inline(v: &Value, max: usize) -> String {
    let text = match v {
        Value::String(s) => s.clone(),
        Value::Null => "—".to_string(),
        other => other.to_string(),
    };
    let (shown, cut) = truncate(&text, max);
    if cut {
        format!("{}…", esc(shown))
    } else {
        esc(shown)
    }
}

/// `facts` objects as a key/value table (the comparable facts checks record).
pub(crate) fn facts_table(facts: &serde_json::Map<String, Value>) -> String {
    let mut out = String::from("<table class=\"facts\"><tbody>");
    for (k, v) in facts {
        let _ = write!(
            out,
            "<tr><th>{}</th><td>{}</td></tr>",
            esc(k),
            json_inline(v, 400)
        );
    }
    out.push_str("</tbody></table>");
    out
}

/// Verdicts that mean the platform misbehaved. Unknown verdicts (a newer harness may add some,
/// e.g. `security`) count as failures so that nothing new is ever shown as harmless.
/// A stable display order: pass first, failures next (known ones in severity-ish order, then
/// unknown ones alphabetically), and the verdicts that mean "not run" last.
pub(crate) fn verdict_rank(verdict: &str) -> (u8, String) {
    let known = [
        "pass",
        "fail",
        "error",
        "timeout",
        "oom",
        "output-limit",
        "trap",
        "crash",
    ];
    match verdict {
        "skip" => (200, String::new()),
        "unavailable" => (201, String::new()),
        v => match known.iter().position(|k| *k == v) {
            Some(i) => (i as u8, String::new()),
            None => (100, v.to_string()),
        },
    }
}

/// Background colour of a verdict badge.
pub(crate) fn verdict_colour(verdict: &str) -> &'static str {
    match verdict {
        "pass" => "#c8e6c9",
        "skip" => "#eceff1",
        "unavailable" => "#e0e0e0",
        "timeout" | "oom" | "output-limit" => "#ffcc80",
        _ => "#ef9a9a",
    }
}

pub(crate) fn badge(verdict: &str) -> String {
    format!(
        "<span class=\"badge\" style=\"background:{}\">{}</span>",
        verdict_colour(verdict),
        esc(verdict)
    )
}

const CSS: &str = r#"
:root { color-scheme: light; }
body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0 auto; max-width: 1360px; padding: 12px 20px 40px; color: #1d1d1f; background: #fff; }
h1 { font-size: 22px; margin: 8px 0; }
h2 { font-size: 18px; margin: 28px 0 8px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
h3 { font-size: 15px; margin: 16px 0 6px; }
nav a { margin-right: 12px; }
table { border-collapse: collapse; margin: 6px 0; }
th, td { border: 1px solid #d6d6d6; padding: 3px 6px; text-align: left; vertical-align: top; }
th { background: #f4f4f6; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.badge { display: inline-block; padding: 0 6px; border-radius: 3px; font-size: 12px; white-space: nowrap; }
.hm { display: inline-block; margin: 1px 3px 1px 0; white-space: nowrap; }
td.heat { min-width: 110px; }
.warn { background: #fff3cd; border: 1px solid #e0c36b; padding: 6px 10px; }
.muted { color: #666; }
pre.json { background: #f7f7f9; border: 1px solid #e1e1e8; padding: 6px; max-height: 420px; overflow: auto; white-space: pre-wrap; word-break: break-all; font-size: 12px; margin: 4px 0; }
.plots { display: flex; flex-wrap: wrap; gap: 14px; }
figure { margin: 0; border: 1px solid #e3e3e3; padding: 6px; }
figcaption { font-size: 12px; color: #444; max-width: 420px; }
details > summary { cursor: pointer; }
.side { display: grid; grid-template-columns: 1fr 1fr; gap: 10px; }
.item { border: 1px solid #ddd; border-left-width: 5px; padding: 6px 10px; margin: 8px 0; }
.changed { background: #fff3cd; }
.yes { background: #c8e6c9; text-align: center; }
.no { color: #bbb; text-align: center; }
#cell-filter { width: 360px; padding: 4px; margin: 6px 0; }
"#;

/// Standard base64, for the CSP script hash (one short use; not worth a dependency).
fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The whole document. The CSP forbids every fetch, and allows only `script` itself (by hash),
/// so even a slip in escaping could not run guest-written script or phone home.
pub(crate) fn page(title: &str, body: &str, script: Option<&str>) -> String {
    let script_src = match script {
        Some(js) => format!("'sha256-{}'", base64(&Sha256::digest(js.as_bytes()))),
        None => "'none'".to_string(),
    };
    let mut out = String::with_capacity(body.len() + 4096);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'unsafe-inline'; img-src data:; script-src {script_src}; base-uri 'none'; \
         form-action 'none'\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n{body}\n",
        esc(title)
    );
    if let Some(js) = script {
        let _ = writeln!(out, "<script>{js}</script>");
    }
    out.push_str("</body>\n</html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn esc_neutralises_markup_and_quotes() {
        assert_eq!(
            esc("<script>alert('x')</script>&\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;"
        );
        // Negative control: text without specials is untouched.
        assert_eq!(esc("plain text ü"), "plain text ü");
    }

    #[test]
    fn base64_matches_known_vectors() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        assert_ne!(base64(b"foo"), base64(b"fop"));
    }

    #[test]
    fn truncate_respects_char_boundaries() {
        let s = "aé€"; // 1 + 2 + 3 bytes
        assert_eq!(truncate(s, 2), ("a", true));
        assert_eq!(truncate(s, 3), ("aé", true));
        assert_eq!(truncate(s, 6), (s, false));
    }

    #[test]
    fn failing_verdicts_are_red() {
        for v in ["fail", "crash", "security", "error", "trap"] {
            assert_eq!(verdict_colour(v), "#ef9a9a", "{v}");
        }
        assert_eq!(verdict_colour("pass"), "#c8e6c9");
    }

    #[test]
    fn csp_hash_is_of_the_script_actually_embedded() {
        let js = "console.log(1)";
        let p = page("t", "<p>x</p>", Some(js));
        let want = format!("'sha256-{}'", base64(&Sha256::digest(js.as_bytes())));
        assert!(p.contains(&want), "{p}");
        assert!(p.contains(&format!("<script>{js}</script>")));
        // Negative control: without a script, no script may run at all.
        let p = page("t", "<p>x</p>", None);
        assert!(p.contains("script-src 'none'") && !p.contains("<script"));
    }
}
