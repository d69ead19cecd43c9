//! Two reports compared: regressions, fixes, verdict and import changes.

use super::*;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use wasiprobe_model::report::{Cell, Report, Verdict};

/// How a cell changed between two reports.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum Change {
    /// pass (or skip/unavailable) → a failure verdict.
    Regression,
    /// a failure verdict → pass.
    Fixed,
    /// any other verdict change (e.g. fail → timeout, pass → unavailable).
    Changed,
    New,
    Gone,
}

#[derive(Debug, Clone, Serialize)]
pub struct CellDiff {
    pub change: Change,
    pub key: String,
    pub old: Option<String>,
    pub new: Option<String>,
    pub old_evidence: Option<Value>,
    pub new_evidence: Option<Value>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Diff {
    pub cells: Vec<CellDiff>,
    /// Preview 1 imports that changed for the same sdk × probe: (key, added, removed).
    pub imports: Vec<(String, Vec<String>, Vec<String>)>,
    /// Toolchain identities that changed for the same sdk id.
    pub toolchains: Vec<(String, Value, Value)>,
}

impl Diff {
    pub fn regressions(&self) -> usize {
        self.cells
            .iter()
            .filter(|c| c.change == Change::Regression)
            .count()
    }
}

/// Imports `after` adds to and drops from `before`, or None when the sets are equal.
pub(crate) fn import_change(
    before: &[String],
    after: &[String],
) -> Option<(Vec<String>, Vec<String>)> {
    let added: Vec<String> = after
        .iter()
        .filter(|n| !before.contains(n))
        .cloned()
        .collect();
    let removed: Vec<String> = before
        .iter()
        .filter(|n| !after.contains(n))
        .cloned()
        .collect();
    (!added.is_empty() || !removed.is_empty()).then_some((added, removed))
}

pub fn diff(old: &Report, new: &Report) -> Diff {
    let index = |r: &Report| -> BTreeMap<String, Cell> {
        r.results.iter().map(|c| (c.key(), c.clone())).collect()
    };
    let (a, b) = (index(old), index(new));
    let mut cells = Vec::new();
    for (k, c) in &a {
        match b.get(k) {
            None => cells.push(CellDiff {
                change: Change::Gone,
                key: k.clone(),
                old: Some(c.verdict.as_str().into()),
                new: None,
                old_evidence: Some(c.evidence.clone()),
                new_evidence: None,
            }),
            Some(n) if n.verdict != c.verdict => {
                let change = match (c.verdict.is_failure(), n.verdict.is_failure()) {
                    (false, true) => Change::Regression,
                    (true, false) if n.verdict == Verdict::Pass => Change::Fixed,
                    _ => Change::Changed,
                };
                cells.push(CellDiff {
                    change,
                    key: k.clone(),
                    old: Some(c.verdict.as_str().into()),
                    new: Some(n.verdict.as_str().into()),
                    old_evidence: Some(c.evidence.clone()),
                    new_evidence: Some(n.evidence.clone()),
                });
            }
            _ => {}
        }
    }
    for (k, n) in &b {
        if !a.contains_key(k) {
            let change = if n.verdict.is_failure() {
                Change::Regression
            } else {
                Change::New
            };
            cells.push(CellDiff {
                change,
                key: k.clone(),
                old: None,
                new: Some(n.verdict.as_str().into()),
                old_evidence: None,
                new_evidence: Some(n.evidence.clone()),
            });
        }
    }
    cells.sort_by(|x, y| (&x.change, &x.key).cmp(&(&y.change, &y.key)));
    let mut imports = Vec::new();
    for (sdk, probes) in &new.imports {
        for (probe, names) in probes {
            let Some(before) = old.imports.get(sdk).and_then(|p| p.get(probe)) else {
                continue;
            };
            if let Some((added, removed)) = import_change(before, names) {
                imports.push((format!("{sdk}::{probe}"), added, removed));
            }
        }
    }
    let mut toolchains = Vec::new();
    for s in &new.sdks {
        if let Some(o) = old.sdks.iter().find(|o| o.spec.id == s.spec.id) {
            if o.identity != s.identity || o.status != s.status {
                toolchains.push((
                    s.spec.id.clone(),
                    serde_json::json!({"status": o.status, "identity": o.identity}),
                    serde_json::json!({"status": s.status, "identity": s.identity}),
                ));
            }
        }
    }
    Diff {
        cells,
        imports,
        toolchains,
    }
}

pub fn diff_text(d: &Diff) -> String {
    let mut out = String::new();
    for c in &d.cells {
        let ev = c
            .new_evidence
            .as_ref()
            .or(c.old_evidence.as_ref())
            .map(one_line)
            .unwrap_or_default();
        out += &format!(
            "{:<10} {}  {} → {}  {}\n",
            serde_json::to_value(&c.change)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default(),
            c.key,
            c.old.as_deref().unwrap_or("-"),
            c.new.as_deref().unwrap_or("-"),
            ev
        );
    }
    for (k, added, removed) in &d.imports {
        out += &format!("imports    {k}  +{added:?} -{removed:?}\n");
    }
    for (id, a, b) in &d.toolchains {
        out += &format!("toolchain  {id}  {a} → {b}\n");
    }
    out += &format!(
        "{} regressions, {} cell changes, {} import changes, {} toolchain changes\n",
        d.regressions(),
        d.cells.len(),
        d.imports.len(),
        d.toolchains.len()
    );
    out
}
