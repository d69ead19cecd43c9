//! report.md: the whole run, and one SDK's regression report.

use super::*;
use serde_json::Value;
use std::collections::BTreeMap;
use wasiprobe_model::report::{Cell, Report, Verdict};

pub fn markdown(r: &Report) -> String {
    let mut out = String::from("# wasiprobe report\n\n");
    out += &format!(
        "wasiprobe {} on {}/{} ({} cpus), {} → {}{}\n\n",
        r.host.wasiprobe,
        r.host.os,
        r.host.arch,
        r.host.cpus,
        r.started_at,
        r.finished_at.as_deref().unwrap_or("(running)"),
        if r.complete {
            ""
        } else {
            " — **partial report**"
        }
    );
    let counts: Vec<String> = r.summary.iter().map(|(k, v)| format!("{v} {k}")).collect();
    out += &format!("**Cells:** {}\n\n", counts.join(", "));
    out += "## Toolchains\n\n| sdk | kind | CPython | status | compiler | libc fingerprint | libc provenance |\n|---|---|---|---|---|---|---|\n";
    let specs: Vec<wasiprobe_model::sdk::SdkSpec> = r.sdks.iter().map(|s| s.spec.clone()).collect();
    for s in &r.sdks {
        let kind = serde_json::to_value(s.spec.kind)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default();
        let status = match &s.reason {
            None => "ready".to_string(),
            Some(why) => format!(
                "unavailable: {}",
                why.chars().take(90).collect::<String>().replace('|', " ")
            ),
        };
        out += &format!(
            "| {} | {kind} | {} | {status} | {} | {} | {} |\n",
            s.spec.id,
            s.spec.cpython.join(", "),
            s.identity.compiler.as_deref().unwrap_or(""),
            s.identity.libc_fingerprint.as_deref().unwrap_or(""),
            wasiprobe_model::sdk::provenance_line(&s.spec, &specs)
                .unwrap_or_default()
                .replace('|', " ")
        );
    }
    let absent = r.absent_sdks();
    if !absent.is_empty() {
        out += "\nNot run, and left out of the tables below:\n\n";
        for s in absent {
            out += &format!("- **{}**: {}\n", s.spec.id, s.remedy());
        }
    }
    if r.runtimes.len() > 1 {
        out += &runtimes_markdown(r);
        let reference = r
            .runtimes
            .iter()
            .find(|rt| rt.name == "wasmtime" && rt.status == "ready")
            .or_else(|| r.runtimes.iter().find(|rt| rt.status == "ready"));
        if let Some(Ok(c)) = reference.map(|rt| compare_runtimes(r, &rt.name)) {
            out += &comparison_markdown(&c);
        }
    }
    out += "\n## Verdicts (sdk × runtime × area)\n\n| sdk | runtime | area | pass | not pass |\n|---|---|---|---|---|\n";
    let mut grid: BTreeMap<(&str, &str, &str), (usize, Vec<String>)> = BTreeMap::new();
    for c in r.results.iter().filter(|c| !r.of_absent_sdk(c)) {
        let e = grid.entry((&c.sdk, &c.runtime, &c.area)).or_default();
        if c.verdict == Verdict::Pass {
            e.0 += 1;
        } else {
            e.1.push(format!("{} {}", c.check, c.verdict.as_str()));
        }
    }
    for ((sdk, rt, area), (pass, other)) in &grid {
        out += &format!(
            "| {sdk} | {rt} | {area} | {pass} | {} |\n",
            other.join(", ")
        );
    }
    if !r.dark_features.is_empty() {
        let sdks: Vec<&String> = r.dark_features.keys().collect();
        let mut features: Vec<&String> = r.dark_features.values().flat_map(|m| m.keys()).collect();
        features.sort();
        features.dedup();
        out += "\n## Dark features\n\nWhat a program using each gets: built plainly, else with the emulation flags shown; then run.\n\n| feature |";
        for s in &sdks {
            out += &format!(" {s} |");
        }
        out += &format!("\n|---|{}\n", "---|".repeat(sdks.len()));
        for f in features {
            out += &format!("| {f} |");
            for s in &sdks {
                let cell = r.dark_features[*s]
                    .get(f)
                    .map_or(String::new(), wasiprobe_model::dark::short);
                out += &format!(" {} |", cell.replace('|', "\\|"));
            }
            out.push('\n');
        }
    }
    out += &libc::report_section(r);
    out += &python_md(r);
    let bad: Vec<&Cell> = r
        .results
        .iter()
        .filter(|c| c.verdict.is_failure())
        .collect();
    if !bad.is_empty() {
        out += "\n## Failures\n\n";
        for c in bad.iter().take(50) {
            out += &format!(
                "- `{}` **{}**: {}\n",
                c.key(),
                c.verdict.as_str(),
                one_line(&c.evidence)
            );
        }
        if bad.len() > 50 {
            out += &format!("- … and {} more (see report.json)\n", bad.len() - 50);
        }
    }
    out
}

/// The report restricted to one SDK (its cells on every runtime), or a usage message naming the
/// SDKs the report has.
pub fn for_sdk(r: &Report, sdk: &str) -> Result<Report, String> {
    if !r.sdks.iter().any(|s| s.spec.id == sdk) {
        let ids: Vec<&str> = r.sdks.iter().map(|s| s.spec.id.as_str()).collect();
        return Err(format!(
            "the report has no SDK '{sdk}'; it has: {}",
            ids.join(", ")
        ));
    }
    let mut f = r.clone();
    f.sdks.retain(|s| s.spec.id == sdk);
    f.results.retain(|c| c.sdk == sdk);
    f.imports.retain(|s, _| s == sdk);
    f.summarize();
    Ok(f)
}

/// The regression report for one SDK: every cell on every runtime, grouped by area, each with
/// its verdict and its evidence (problems, mismatches, facts).
pub fn sdk_markdown(r: &Report, sdk: &str) -> String {
    let mut out = format!(
        "# wasiprobe: {sdk}

"
    );
    if let Some(s) = r.sdks.iter().find(|s| s.spec.id == sdk) {
        out += &format!(
            "Toolchain: {} — libc fingerprint {} — {}

",
            s.identity.compiler.as_deref().unwrap_or("?"),
            s.identity.libc_fingerprint.as_deref().unwrap_or("?"),
            s.reason.as_deref().unwrap_or("ready")
        );
    }
    let counts: Vec<String> = r.summary.iter().map(|(k, v)| format!("{v} {k}")).collect();
    out += &format!(
        "**Cells:** {}
",
        counts.join(", ")
    );
    let mut areas: BTreeMap<&str, Vec<&Cell>> = BTreeMap::new();
    for c in r.results.iter().filter(|c| c.sdk == sdk) {
        areas.entry(&c.area).or_default().push(c);
    }
    for (area, cells) in areas {
        out +=
            &format!("\n## {area}\n\n| runtime | probe | check | verdict |\n|---|---|---|---|\n");
        for c in &cells {
            out += &format!(
                "| {} | {} | {} | {} |\n",
                c.runtime,
                c.probe,
                c.check,
                c.verdict.as_str()
            );
        }
        for c in cells {
            let mut shown = serde_json::Map::new();
            for k in ["reason", "problems", "mismatches", "breaches", "facts"] {
                if let Some(v) = c.evidence.get(k) {
                    shown.insert(k.into(), v.clone());
                }
            }
            if shown.is_empty() {
                continue;
            }
            out += &format!(
                "\n<details><summary>{} on {}: {}</summary>\n\n```json\n{}\n```\n</details>\n",
                c.check,
                c.runtime,
                c.verdict.as_str(),
                serde_json::to_string_pretty(&shown).unwrap_or_default()
            );
        }
    }
    out
}

/// The runtimes of a report: version, status and what each can enforce.
pub(crate) fn runtimes_markdown(r: &Report) -> String {
    let mut out = String::from(
        "\n## Runtimes\n\n| runtime | version | status | isolation | interruption | limits enforced | host-call counts |\n|---|---|---|---|---|---|---|\n",
    );
    for rt in &r.runtimes {
        let caps = rt.capabilities.as_ref();
        let field = |k: &str| {
            caps.and_then(|c| c.get(k))
                .map(|v| match v {
                    Value::String(s) => s.clone(),
                    Value::Array(a) => a
                        .iter()
                        .filter_map(|x| x.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                    Value::Bool(b) => if *b { "yes" } else { "no" }.to_string(),
                    v => v.to_string(),
                })
                .unwrap_or_default()
        };
        let status = match &rt.reason {
            Some(why) => format!("{}: {}", rt.status, why.replace('|', " ")),
            None => rt.status.clone(),
        };
        out += &format!(
            "| {} | {} | {} | {} | {} | {} | {} |\n",
            rt.name,
            rt.version.replace('|', " "),
            status,
            field("isolation"),
            field("interruption"),
            field("enforced_limits"),
            field("host_call_counting"),
        );
    }
    out
}
