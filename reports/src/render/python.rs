//! report.md's Python section: binaries, launch options, census, footprint, C-extension builds.

use super::*;
use std::collections::BTreeMap;
use wasiprobe_model::report::Report;

/// The Python section of report.md: each binary, its launch options, census, dark features,
/// footprint and strip plan.
pub fn python_md(r: &Report) -> String {
    let mut out = String::new();
    let ext = ext_md(r.python_ext.as_ref());
    if r.python.is_empty() {
        return if ext.is_empty() {
            ext
        } else {
            format!("\n## Python\n{ext}")
        };
    }
    out += "\n## Python\n\n| python | version | built with | status | wasm | Preview 1 imports | non-WASI imports |\n|---|---|---|---|---|---|---|\n";
    for (id, p) in &r.python {
        let v = &p.provisioned;
        out += &format!(
            "| {id} | {} | {} | {} | {} bytes, sha256 {} | {} | {} |\n",
            v.spec.version,
            v.spec.sdk.as_deref().unwrap_or("").replace('|', " "),
            match &v.reason {
                None => v.status.clone(),
                Some(why) => format!("{}: {}", v.status, why.replace('|', " ")),
            },
            v.wasm_bytes,
            v.sha256.as_deref().map_or("-", |h| &h[..12.min(h.len())]),
            v.p1_imports.len(),
            if v.non_wasi_imports.is_empty() {
                "none".into()
            } else {
                v.non_wasi_imports.join(", ")
            },
        );
    }
    if let Some(p) = r.python.values().next() {
        out += &format!(
            "\nRuntime options for Python cells: `{}`\n",
            p.runtime_options
        );
    }
    for (id, p) in &r.python {
        if let (Some(c), Some(f)) = (&p.census, &p.footprint) {
            out += &python_census_by_runtime_md(id, c, &p.census_runtimes);
            out += &python_footprint_md(id, c, f);
        }
        out += &regrtest_md(id, p);
        out += &browser_md(id, p);
    }
    out + &ext
}

/// The binary in a browser page (`py-browser`): payload and startup per row and variant.
fn browser_md(id: &str, p: &wasiprobe_model::python::PythonReport) -> String {
    if p.browser.is_empty() {
        return String::new();
    }
    let mb = |b: u64| format!("{:.1}", b as f64 / 1e6);
    let ms = |r: &wasiprobe_model::python::StartupRun, k: &str| {
        r.phases.get(k).map_or("-".into(), |v| format!("{v:.0}"))
    };
    let mut out = format!(
        "\n### {id} in the browser (py-browser)\n\nBytes a page fetches (MB, raw / gzip -9) and \
         what it waits for (ms from the page having its inputs, the first of which is building its in-memory tree of the stdlib: a larger stdlib shows in every column; compile = `WebAssembly.compile`; \
         first print = the guest's first write to stdout); memory = the guest's linear memory \
         at exit.\n\n| row | payload | module MB | stdlib files | stdlib MB | total gzip MB | \
         script | ok | fetched | compiled | instantiated | first print | total | memory MB |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n"
    );
    for b in &p.browser {
        if b.status != "measured" {
            out += &format!(
                "| {} | {} | {}: {} | | | | | | | | | | | |\n",
                b.runtime,
                b.variant,
                b.status,
                b.reason.as_deref().unwrap_or("").replace('|', " ")
            );
            continue;
        }
        for (i, r) in b.runs.iter().enumerate() {
            let head = if i == 0 {
                format!(
                    "| {} | {} | {} / {} | {} | {} / {} | {} ",
                    b.runtime,
                    b.variant,
                    mb(b.wasm_bytes),
                    mb(b.wasm_gzip_bytes),
                    b.stdlib_files,
                    mb(b.stdlib_bytes),
                    mb(b.stdlib_gzip_bytes),
                    mb(b.wasm_gzip_bytes + b.stdlib_gzip_bytes)
                )
            } else {
                "| | | | | | ".into()
            };
            out += &format!(
                "{head}| `{}` | {} | {} | {} | {} | {} | {} | {} |\n",
                r.script,
                if r.ok { "yes" } else { "**no**" },
                ms(r, "fetched_ms"),
                ms(r, "compiled_ms"),
                ms(r, "instantiated_ms"),
                ms(r, "first_stdout_ms"),
                ms(r, "total_ms"),
                r.phases
                    .get("memory_bytes")
                    .map_or("-".into(), |v| format!("{:.1}", v / 1e6)),
            );
        }
    }
    out
}

/// A source build and its CPython test results, per runtime and module.
fn regrtest_md(id: &str, p: &wasiprobe_model::python::PythonReport) -> String {
    use wasiprobe_model::python::CaseOutcome as O;
    let mut out = String::new();
    if let Some(b) = &p.provisioned.build {
        out += &format!(
            "\n### {id}: built from CPython {} with {}\n\n{} by `{}` in {:.0} s cold{}; steps: {}\n",
            b.source,
            b.toolchain,
            if b.ok { "built" } else { "**build failed**" },
            b.script,
            b.duration_ms / 1000.0,
            if b.cached { " (cached)" } else { "" },
            b.steps
                .iter()
                .map(|s| format!("{} {} ({:.0} s)", s.name, if s.ok { "ok" } else { "FAILED" }, s.duration_ms / 1000.0))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    for (rt, runs) in &p.regrtest {
        out += &format!(
            "\n### {id} on {rt}: CPython's own tests (py-regrtest)\n\n| module | verdict | pass | skip | fail | error | hang/crash | seconds | note |\n|---|---|---|---|---|---|---|---|---|\n"
        );
        for m in runs {
            out += &format!(
                "| {} | {} | {} | {} | {} | {} | {} | {:.1} | {} |\n",
                m.module,
                serde_json::to_value(m.verdict)
                    .ok()
                    .and_then(|v| v.as_str().map(String::from))
                    .unwrap_or_default(),
                m.count(O::Pass),
                m.count(O::Skip),
                m.count(O::Fail),
                m.count(O::Error),
                m.count(O::Hang) + m.count(O::Crash),
                m.duration_ms / 1000.0,
                if m.module.starts_with("test_wasiprobe_") {
                    "negative control".to_string()
                } else {
                    m.module_skip.clone().unwrap_or_default().replace('|', " ")
                }
            );
        }
    }
    out
}

/// `name: reference → other` for each entry of `reference` whose `value` differs in `other`
/// (`missing` where `other` lacks it).
fn differing<T>(
    reference: &BTreeMap<String, T>,
    other: &BTreeMap<String, T>,
    value: impl Fn(&T) -> &str,
) -> Vec<String> {
    reference
        .iter()
        .filter_map(|(name, r)| {
            let here = other.get(name).map_or("missing", &value);
            (here != value(r)).then(|| format!("{name}: {} → {here}", value(r)))
        })
        .collect()
}

/// One row per runtime the census ran on: counts, and what differs from the reference census.
pub(crate) fn python_census_by_runtime_md(
    id: &str,
    reference: &wasiprobe_model::python::Census,
    others: &BTreeMap<String, wasiprobe_model::python::Census>,
) -> String {
    if others.is_empty() {
        return String::new();
    }
    let mut out = format!(
        "\n### {id}: stdlib census by runtime (reference: {})\n\n| runtime | results | processes | seconds | imports differing from {} | dark features differing |\n|---|---|---|---|---|---|\n",
        reference.runtime, reference.runtime
    );
    for c in std::iter::once(reference).chain(others.values()) {
        let counts: Vec<String> = c.counts.iter().map(|(k, n)| format!("{k} {n}")).collect();
        let differ = differing(&reference.imports, &c.imports, |i| &i.result);
        let dark = differing(&reference.dark, &c.dark, |d| &d.status);
        let list = |v: &[String]| {
            if v.is_empty() {
                "none".to_string()
            } else if v.len() > 10 {
                format!("{} … ({} in all)", v[..10].join(", "), v.len())
            } else {
                v.join(", ")
            }
        };
        out += &format!(
            "| {} | {} | {} | {:.1} | {} | {} |\n",
            c.runtime,
            counts.join(", "),
            c.processes,
            c.duration_ms / 1000.0,
            list(&differ).replace('|', "\\|"),
            list(&dark).replace('|', "\\|"),
        );
    }
    out
}

/// Census, dark features, footprint and strip plan of one binary (Markdown).
pub fn python_footprint_md(
    id: &str,
    c: &wasiprobe_model::python::Census,
    f: &wasiprobe_model::python::Footprint,
) -> String {
    let mut out = format!(
        "\n### {id}: stdlib census on {} ({} processes, {:.1} s)\n\n| result | modules |\n|---|---|\n",
        c.runtime,
        c.processes,
        c.duration_ms / 1000.0
    );
    for (k, n) in &c.counts {
        out += &format!("| {k} | {n} |\n");
    }
    let failing: Vec<(&String, &wasiprobe_model::python::ImportResult)> = c
        .imports
        .iter()
        .filter(|(_, r)| !matches!(r.result.as_str(), "ok" | "absent" | "not-imported"))
        .collect();
    if !failing.is_empty() {
        out += "\n| module | result | message |\n|---|---|---|\n";
        for (m, r) in failing.iter().take(80) {
            out += &format!(
                "| {m} | {} | {} |\n",
                r.result,
                r.message
                    .as_deref()
                    .unwrap_or("")
                    .replace('|', "\\|")
                    .chars()
                    .take(120)
                    .collect::<String>()
            );
        }
        if failing.len() > 80 {
            out += &format!("| … {} more in report.json | | |\n", failing.len() - 80);
        }
    }
    out += "\n#### Dark features (Python)\n\n| feature | status | detail |\n|---|---|---|\n";
    for (k, d) in &c.dark {
        out += &format!(
            "| {k} | {} | {} |\n",
            d.status,
            d.detail
                .as_deref()
                .unwrap_or("")
                .replace('|', "\\|")
                .chars()
                .take(140)
                .collect::<String>()
        );
    }
    out += &format!(
        "\n#### Footprint\n\n{} module files: {} bytes of source, {} bytes of .pyc.\n\n| top level | bytes |\n|---|---|\n",
        f.modules, f.total_source_bytes, f.total_pyc_bytes
    );
    for (m, b) in f.top_level.iter().take(15) {
        out += &format!("| {m} | {b} |\n");
    }
    if let Some(cl) = &f.closure {
        out += &format!(
            "\nImport closure of `{}`: {} modules, {} bytes.\n",
            cl.entry,
            cl.modules.len(),
            cl.bytes
        );
    }
    out += &format!(
        "\n#### Strip plan (`strip-plan-{id}.txt`)\n\n{} entries, {} bytes saved ({}).\n\n| path | reason | bytes |\n|---|---|---|\n",
        f.strip_plan.entries.len(),
        f.strip_plan.bytes,
        f.strip_plan
            .bytes_by_reason
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut e: Vec<_> = f.strip_plan.entries.iter().collect();
    e.sort_by_key(|x| std::cmp::Reverse(x.bytes));
    for x in e.iter().take(25) {
        out += &format!("| {} | {} | {} |\n", x.path, x.reason, x.bytes);
    }
    out
}

/// The C-extension build probe (`py-ext`) per SDK, for report.md.
/// The python section's table of extension builds (Markdown).
pub fn ext_md(r: Option<&wasiprobe_model::python::ExtReport>) -> String {
    let Some(r) = r else {
        return String::new();
    };
    let mut out = format!(
        "\n### C extension build (`{EXT_PROBE}`)\n\nHeaders: {}. Note: {}.\n\n| sdk | verdict | configure | compile | link | Python API | libc symbols (missing) | control `{EXT_CONTROL}` |\n|---|---|---|---|---|---|---|---|\n",
        r.headers.replace('|', " "),
        r.note
    );
    let step = |s: Option<&wasiprobe_model::python::Step>| match s {
        None => "-".to_string(),
        Some(s) => format!(
            "{} {:.1} s{}",
            if s.ok { "ok" } else { "failed" },
            s.duration_ms / 1000.0,
            if s.cached { " (cached)" } else { "" }
        ),
    };
    for (id, s) in &r.sdks {
        let ext = s.extension.as_ref();
        let missing: Vec<&str> = ext
            .map(|e| {
                e.libc
                    .iter()
                    .filter(|n| n.provider == "missing")
                    .map(|n| n.symbol.as_str())
                    .collect()
            })
            .unwrap_or_default();
        out += &format!(
            "| {id} | {}: {} | {} | {} | {} | {} | {} ({}) | {} |\n",
            s.verdict.as_str(),
            s.reason.replace(['|', '\n'], " "),
            step(s.configure.as_ref()),
            step(ext.and_then(|e| e.compile.as_ref())),
            step(ext.and_then(|e| e.link.as_ref())),
            ext.map_or(0, |e| e.python_api.len()),
            ext.map_or(0, |e| e.libc.len()),
            if missing.is_empty() {
                "none".into()
            } else {
                missing.join(", ")
            },
            match &s.control {
                None => "-".to_string(),
                Some(c) if c.linked() => "linked (!)".into(),
                Some(c) => c.failure().unwrap_or_default().replace('|', " "),
            }
        );
    }
    out
}
