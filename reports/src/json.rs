//! Reading and writing `report.json` (its types: `wasiprobe_model::report`), and the terminal
//! summary of a run.

pub use wasiprobe_model::report::*;

use anyhow::{bail, Context, Result};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use wasiprobe_util::atomic_write;

/// Writes `report.json` atomically: a reader sees the old report or the new, never a torn one.
pub fn write(r: &Report, path: &Path) -> Result<()> {
    let bytes = serde_json::to_vec_pretty(r)?;
    atomic_write(path, &bytes)
}

/// Reads a report, refusing another schema version with a message naming the file.
pub fn load(path: &Path) -> Result<Report> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let v: Value = serde_json::from_slice(&bytes)
        .with_context(|| format!("{}: not JSON (truncated?)", path.display()))?;
    from_value(v).with_context(|| path.display().to_string())
}

/// Reads a report that a decision is drawn from (`diff`, `evidence`, `compare`, `report`, a
/// `--baseline`). The cells a killed run never reached would read as "gone" rather than as
/// failures, so a report whose run did not finish is refused unless `accept_partial`; when it
/// is accepted, the returned note must go with every output drawn from it.
pub fn load_gated(path: &Path, accept_partial: bool) -> Result<(Report, Option<String>)> {
    let r = load(path)?;
    if let Some(why) = duplicate_cell(&r) {
        return Err(
            wasiprobe_model::usage::UsageError(format!("{}: {why}", path.display())).into(),
        );
    }
    if r.complete {
        return Ok((r, None));
    }
    let what = format!(
        "{} is an incomplete report: its run did not finish ({} cells written, started {})",
        path.display(),
        r.results.len(),
        r.started_at
    );
    if !accept_partial {
        return Err(wasiprobe_model::usage::UsageError(format!(
            "{what}; rerun with the same --out to finish it, or pass --accept-partial to read it anyway"
        ))
        .into());
    }
    Ok((r, Some(format!("{what}; read with --accept-partial"))))
}

/// A cell that appears twice: a gate would compare one of the two at random, so such a file is
/// refused (wasiprobe writes each cell once; overlapping shards are refused by `merge`).
fn duplicate_cell(r: &Report) -> Option<String> {
    let mut seen: BTreeMap<String, Verdict> = BTreeMap::new();
    for c in &r.results {
        if let Some(v) = seen.insert(c.key(), c.verdict) {
            return Some(format!(
                "the cell {} appears twice (verdicts {} and {}): not a report as wasiprobe writes it",
                c.key(),
                v.as_str(),
                c.verdict.as_str()
            ));
        }
    }
    None
}

/// A report from its JSON form: another schema version is refused before anything is read,
/// and a malformed report names the field (`results[3].verdict`).
pub fn from_value(v: Value) -> Result<Report> {
    if !v.is_object() {
        bail!("not a wasiprobe report: a report is a JSON object");
    }
    match v.get("schema_version").and_then(Value::as_u64) {
        Some(n) if n == SCHEMA_VERSION as u64 => {}
        Some(n) => bail!(
            "report schema_version {n} is not supported: this wasiprobe reads schema_version {SCHEMA_VERSION}"
        ),
        None => bail!(
            "not a wasiprobe report: no numeric schema_version (this wasiprobe reads {SCHEMA_VERSION})"
        ),
    }
    serde_path_to_error::deserialize(v)
        .map_err(|e| anyhow::anyhow!("not a wasiprobe report: {}: {}", e.path(), e.inner()))
}

/// The terminal summary: one row per sdk × runtime with verdict counts, then every cell that
/// is not a pass, with a one-line reason.
pub fn table(r: &Report) -> String {
    let verdicts = [
        Verdict::Pass,
        Verdict::Fail,
        Verdict::Error,
        Verdict::Timeout,
        Verdict::Oom,
        Verdict::OutputLimit,
        Verdict::Trap,
        Verdict::Crash,
        Verdict::Security,
        Verdict::Skip,
        Verdict::Unavailable,
    ];
    let mut rows: BTreeMap<(String, String), BTreeMap<Verdict, usize>> = BTreeMap::new();
    for c in r.results.iter().filter(|c| !r.of_absent_sdk(c)) {
        *rows
            .entry((c.sdk.clone(), c.runtime.clone()))
            .or_default()
            .entry(c.verdict)
            .or_default() += 1;
    }
    let w = rows
        .keys()
        .map(|(_, rt)| rt.len())
        .max()
        .unwrap_or(0)
        .max(10);
    let mut out = format!("{:<20} {:<w$}", "sdk", "runtime");
    for v in verdicts {
        out += &format!(" {:>7}", short(v));
    }
    out.push('\n');
    for ((sdk, rt), counts) in &rows {
        out += &format!("{sdk:<20} {rt:<w$}");
        for v in verdicts {
            match counts.get(&v) {
                Some(n) => out += &format!(" {n:>7}"),
                None => out += &format!(" {:>7}", "."),
            }
        }
        out.push('\n');
    }
    let mut notes: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for c in r
        .results
        .iter()
        .filter(|c| c.verdict != Verdict::Pass && !r.of_absent_sdk(c))
    {
        let why = one_line(&c.evidence);
        notes
            .entry(format!("{} {}", c.verdict.as_str(), why))
            .or_default()
            .push(c.key());
    }
    for (why, keys) in notes {
        let shown = if keys.len() > 3 {
            format!("{} and {} more", keys[..3].join(", "), keys.len() - 3)
        } else {
            keys.join(", ")
        };
        out += &format!("  {why}\n    {shown}\n");
    }
    out += &absent_lines(r);
    out
}

/// One line per toolchain that was not there: why, and what would make it available.
pub fn absent_lines(r: &Report) -> String {
    let mut out = String::new();
    for s in r.absent_sdks() {
        let n = r.results.iter().filter(|c| c.sdk == s.spec.id).count();
        out += &format!(
            "sdk {} unavailable ({n} cells not run): {}; to run it: {}\n",
            s.spec.id,
            s.reason.as_deref().unwrap_or("no reason recorded"),
            s.remedy()
        );
    }
    out
}

fn short(v: Verdict) -> &'static str {
    match v {
        Verdict::OutputLimit => "outlim",
        Verdict::Unavailable => "unavail",
        Verdict::Security => "secur",
        v => v.as_str(),
    }
}

fn one_line(e: &Value) -> String {
    let s = match e {
        Value::Object(m) => ["reason", "problems", "protocol_error", "message", "stderr"]
            .iter()
            .find_map(|k| m.get(*k))
            .map(|v| match v {
                Value::String(s) => s.clone(),
                Value::Array(a) => a.first().map(|x| x.to_string()).unwrap_or_default(),
                v => v.to_string(),
            })
            .unwrap_or_else(|| e.to_string()),
        _ => e.to_string(),
    };
    let s = s.replace('\n', " ");
    if s.chars().count() > 160 {
        format!("{}…", s.chars().take(160).collect::<String>())
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gate_refuses_a_report_with_a_cell_twice() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("report.json");
        let mut r: Report = serde_json::from_str(include_str!("../baselines/wasmtime-48.0.8.json"))
            .expect("the baseline");
        write(&r, &path).unwrap();
        // The negative control: the baseline as it is passes.
        assert!(load_gated(&path, false).is_ok());
        let mut again = r.results[0].clone();
        again.verdict = if again.verdict == Verdict::Pass {
            Verdict::Fail
        } else {
            Verdict::Pass
        };
        r.results.push(again);
        write(&r, &path).unwrap();
        let e = load_gated(&path, true).unwrap_err();
        assert!(e.is::<wasiprobe_model::usage::UsageError>(), "{e:#}");
        assert!(e.to_string().contains("appears twice"), "{e:#}");
    }
}
