//! Reading the parts of a report this crate needs, with errors that say what is wrong.

use anyhow::{anyhow, bail, Result};
use serde_json::Value;

use crate::REPORT_SCHEMA_VERSION;

/// One result cell, borrowed from the report.
pub(crate) struct Cell<'a> {
    pub sdk: &'a str,
    pub runtime: &'a str,
    pub probe: &'a str,
    pub check: &'a str,
    pub area: &'a str,
    pub verdict: &'a str,
    pub evidence: &'a Value,
    pub duration_ms: Option<f64>,
}

pub(crate) fn check_schema(report: &Value) -> Result<()> {
    if !report.is_object() {
        bail!(
            "a wasiprobe report is a JSON object, this is {}",
            kind(report)
        );
    }
    match report.get("schema_version").and_then(Value::as_u64) {
        Some(REPORT_SCHEMA_VERSION) => Ok(()),
        Some(v) => bail!(
            "report schema_version {v} is not supported: this build reads schema_version \
             {REPORT_SCHEMA_VERSION} only"
        ),
        None => bail!(
            "the report has no numeric schema_version (is this a wasiprobe report.json?); \
             expected {REPORT_SCHEMA_VERSION}"
        ),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

pub(crate) fn cells(report: &Value) -> Result<Vec<Cell<'_>>> {
    let results = report
        .get("results")
        .and_then(Value::as_array)
        .ok_or_else(|| anyhow!("the report has no `results` array"))?;
    results
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let field = |name: &str| {
                c.get(name).and_then(Value::as_str).ok_or_else(|| {
                    anyhow!("results[{i}] has no string `{name}` (a cell needs sdk, runtime, probe, check, area and verdict)")
                })
            };
            Ok(Cell {
                sdk: field("sdk")?,
                runtime: field("runtime")?,
                probe: field("probe")?,
                check: field("check")?,
                // An older or foreign writer might omit the area; group such cells together.
                area: c.get("area").and_then(Value::as_str).unwrap_or("(none)"),
                verdict: field("verdict")?,
                evidence: c.get("evidence").unwrap_or(&Value::Null),
                duration_ms: c.get("duration_ms").and_then(Value::as_f64),
            })
        })
        .collect()
}

/// A string at a path of object keys, if every step exists.
pub(crate) fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    cur.as_str()
}
