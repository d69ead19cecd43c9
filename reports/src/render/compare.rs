//! Each runtime's verdicts against a reference runtime's on the same sdk × probe × check.

use super::*;
use serde::Serialize;
use std::collections::BTreeMap;
use wasiprobe_model::report::{Cell, Report, Verdict};

/// One behaviour (sdk × probe × check) judged differently on some runtime than on the
/// reference runtime: what a runtime vendor reads first.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RuntimeDifference {
    pub sdk: String,
    pub probe: String,
    pub check: String,
    pub runtime: String,
    pub reference_verdict: Verdict,
    pub verdict: Verdict,
    /// The first problem or reason on each side, one line each.
    pub reference_why: String,
    pub why: String,
}

/// How one runtime compares with the reference over the cells both could run.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RuntimeAgreement {
    pub runtime: String,
    /// Cells judged on both (neither side skip or unavailable).
    pub compared: usize,
    pub same: usize,
    /// Cells this runtime could not run (skip/unavailable) where the reference could.
    pub not_run: usize,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RuntimeComparison {
    pub reference: String,
    pub agreement: Vec<RuntimeAgreement>,
    pub differences: Vec<RuntimeDifference>,
}

/// Every cell where a runtime's verdict differs from the reference runtime's on the same
/// sdk × probe × check. Cells that either side did not run (skip, unavailable) are counted,
/// not compared: a missing runtime is not a behaviour.
pub fn compare_runtimes(r: &Report, reference: &str) -> Result<RuntimeComparison, String> {
    let names: Vec<&str> = {
        let mut v: Vec<&str> = r.results.iter().map(|c| c.runtime.as_str()).collect();
        v.sort();
        v.dedup();
        v
    };
    if !names.contains(&reference) {
        return Err(format!(
            "the report has no cells on runtime '{reference}'; it has: {}",
            names.join(", ")
        ));
    }
    let not_run = |v: Verdict| matches!(v, Verdict::Skip | Verdict::Unavailable);
    let by_key: BTreeMap<(&str, &str, &str), &Cell> = r
        .results
        .iter()
        .filter(|c| c.runtime == reference)
        .map(|c| ((c.sdk.as_str(), c.probe.as_str(), c.check.as_str()), c))
        .collect();
    let mut agreement: BTreeMap<&str, RuntimeAgreement> = BTreeMap::new();
    let mut differences = Vec::new();
    for c in r.results.iter().filter(|c| c.runtime != reference) {
        let Some(refc) = by_key.get(&(c.sdk.as_str(), c.probe.as_str(), c.check.as_str())) else {
            continue;
        };
        let a = agreement
            .entry(c.runtime.as_str())
            .or_insert_with(|| RuntimeAgreement {
                runtime: c.runtime.clone(),
                compared: 0,
                same: 0,
                not_run: 0,
            });
        if not_run(refc.verdict) {
            continue;
        }
        if not_run(c.verdict) {
            a.not_run += 1;
            continue;
        }
        a.compared += 1;
        if c.verdict == refc.verdict {
            a.same += 1;
            continue;
        }
        differences.push(RuntimeDifference {
            sdk: c.sdk.clone(),
            probe: c.probe.clone(),
            check: c.check.clone(),
            runtime: c.runtime.clone(),
            reference_verdict: refc.verdict,
            verdict: c.verdict,
            reference_why: one_line(&refc.evidence),
            why: one_line(&c.evidence),
        });
    }
    differences.sort_by(|a, b| (&a.runtime, &a.check, &a.sdk).cmp(&(&b.runtime, &b.check, &b.sdk)));
    Ok(RuntimeComparison {
        reference: reference.into(),
        agreement: agreement.into_values().collect(),
        differences,
    })
}

/// The comparison as Markdown: agreement per runtime, then each difference with both sides'
/// reasons.
pub fn comparison_markdown(c: &RuntimeComparison) -> String {
    let mut out = format!(
        "\n## Runtimes compared with {}\n\n| runtime | cells compared | same verdict | differ | not run there |\n|---|---|---|---|---|\n",
        c.reference
    );
    for a in &c.agreement {
        out += &format!(
            "| {} | {} | {} | {} | {} |\n",
            a.runtime,
            a.compared,
            a.same,
            a.compared - a.same,
            a.not_run
        );
    }
    if !c.differences.is_empty() {
        out += &format!(
            "\n| runtime | check | sdk | {} | there | why ({}) | why (there) |\n|---|---|---|---|---|---|---|\n",
            c.reference, c.reference
        );
        for d in c.differences.iter().take(200) {
            out += &format!(
                "| {} | {} | {} | {} | {} | {} | {} |\n",
                d.runtime,
                d.check,
                d.sdk,
                d.reference_verdict.as_str(),
                d.verdict.as_str(),
                d.reference_why,
                d.why
            );
        }
        if c.differences.len() > 200 {
            out += &format!(
                "\n… and {} more (`wasiprobe compare --json`)\n",
                c.differences.len() - 200
            );
        }
    }
    out
}
