//! The parts of a typed report the HTML pages walk: borrowed cells, and a path lookup in the
//! JSON form for the free-form parts (identity, capabilities, evidence).

use serde_json::Value;
use wasiprobe_model::report::{Report, Verdict};

/// One result cell, borrowed from the report.
pub(crate) struct Cell<'a> {
    pub sdk: &'a str,
    pub runtime: &'a str,
    pub probe: &'a str,
    pub check: &'a str,
    pub area: &'a str,
    pub verdict: Verdict,
    pub evidence: &'a Value,
    pub duration_ms: Option<f64>,
}

/// The cells of a typed report, borrowed, in the shape the pages use.
pub(crate) fn cells(report: &Report) -> Vec<Cell<'_>> {
    report
        .results
        .iter()
        .map(|c| Cell {
            sdk: &c.sdk,
            runtime: &c.runtime,
            probe: &c.probe,
            check: &c.check,
            area: &c.area,
            verdict: c.verdict,
            evidence: &c.evidence,
            duration_ms: Some(c.duration_ms),
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
