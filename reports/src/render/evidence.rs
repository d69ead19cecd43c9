//! The SDK-update evidence: one report's cells of a locked SDK beside a candidate's, classified.

use super::*;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use wasiprobe_model::report::{Cell, Report, Verdict};

/// How one behaviour differs between the locked SDK and a candidate, on one runtime.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum Class {
    /// Passes with the locked SDK, fails (or cannot run) with the candidate.
    Breaking,
    /// Fails with the locked SDK, passes with the candidate.
    Fixed,
    /// Same verdict, but a recorded fact (errno, constant, header, import) differs.
    ChangedFact,
    /// Any other verdict change.
    Changed,
    NoChange,
}

#[derive(Debug, Clone, Serialize)]
pub struct EvidenceItem {
    pub class: Class,
    pub runtime: String,
    pub probe: String,
    pub check: String,
    pub locked: String,
    pub candidate: String,
    pub locked_facts: Value,
    pub candidate_facts: Value,
    pub locked_evidence: Value,
    pub candidate_evidence: Value,
}

#[derive(Debug, Clone, Serialize)]
pub struct Evidence {
    pub locked: Value,
    pub candidate: Value,
    pub items: Vec<EvidenceItem>,
    /// Per probe: Preview 1 imports the candidate adds / drops.
    pub imports: Vec<(String, Vec<String>, Vec<String>)>,
    /// What the candidate's libc changes (symbols, stubs, macros, host-call patterns).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub libc: Option<libc::LibcEvidence>,
    /// How the SDKs asked for were resolved (an official SDK measured through its stand-in).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl Evidence {
    /// Breaking cells and breaking libc changes.
    pub fn breaking(&self) -> usize {
        self.items
            .iter()
            .filter(|i| i.class == Class::Breaking)
            .count()
            + self.libc.as_ref().map_or(0, |l| {
                l.items
                    .iter()
                    .filter(|i| i.class == libc::LibcClass::Breaking)
                    .count()
            })
    }
}

/// The document for an SDK-lock change: every cell of `locked` beside the same cell of
/// `candidate` (same runtime, probe, check) from one report, classified.
pub fn evidence(r: &Report, locked: &str, candidate: &str) -> Result<Evidence, String> {
    let mut notes = Vec::new();
    let (locked, candidate) = (
        stand_in_for(r, locked, &mut notes),
        stand_in_for(r, candidate, &mut notes),
    );
    let (locked, candidate) = (locked.as_str(), candidate.as_str());
    let sdk = |id: &str| {
        r.sdks.iter().find(|s| s.spec.id == id).ok_or_else(|| {
            format!(
                "the report has no SDK '{id}'; it has: {}",
                r.sdks
                    .iter()
                    .map(|s| s.spec.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
    };
    let (a, b) = (sdk(locked)?, sdk(candidate)?);
    let cells = |id: &str| -> BTreeMap<(String, String, String), &Cell> {
        r.results
            .iter()
            .filter(|c| c.sdk == id)
            .map(|c| ((c.runtime.clone(), c.probe.clone(), c.check.clone()), c))
            .collect()
    };
    let (ca, cb) = (cells(locked), cells(candidate));
    let mut items = Vec::new();
    for (k, x) in &ca {
        let Some(y) = cb.get(k) else { continue };
        let (fx, fy) = (
            x.evidence.get("facts").cloned().unwrap_or(Value::Null),
            y.evidence.get("facts").cloned().unwrap_or(Value::Null),
        );
        let class = match (x.verdict, y.verdict) {
            (p, q) if p == q && fx != fy => Class::ChangedFact,
            (p, q) if p == q => Class::NoChange,
            (Verdict::Pass, q) if q.is_failure() => Class::Breaking,
            (p, Verdict::Pass) if p.is_failure() => Class::Fixed,
            _ => Class::Changed,
        };
        items.push(EvidenceItem {
            class,
            runtime: k.0.clone(),
            probe: k.1.clone(),
            check: k.2.clone(),
            locked: x.verdict.as_str().into(),
            candidate: y.verdict.as_str().into(),
            locked_facts: fx,
            candidate_facts: fy,
            locked_evidence: x.evidence.clone(),
            candidate_evidence: y.evidence.clone(),
        });
    }
    items.sort_by(|p, q| {
        (&p.class, &p.runtime, &p.probe, &p.check).cmp(&(&q.class, &q.runtime, &q.probe, &q.check))
    });
    let mut imports = Vec::new();
    if let (Some(ia), Some(ib)) = (r.imports.get(locked), r.imports.get(candidate)) {
        for (probe, names) in ib {
            let Some(before) = ia.get(probe) else {
                continue;
            };
            if let Some((added, removed)) = import_change(before, names) {
                imports.push((probe.clone(), added, removed));
            }
        }
    }
    let specs: Vec<wasiprobe_model::sdk::SdkSpec> = r.sdks.iter().map(|s| s.spec.clone()).collect();
    let who = |s: &wasiprobe_model::sdk::Provisioned| serde_json::json!({ "id": s.spec.id, "status": s.status, "reason": s.reason, "identity": s.identity, "llvm": s.spec.llvm, "wasi_libc": s.spec.wasi_libc, "cpython": s.spec.cpython, "provenance": wasiprobe_model::sdk::provenance_line(&s.spec, &specs) });
    Ok(Evidence {
        locked: who(a),
        candidate: who(b),
        items,
        imports,
        libc: libc::evidence(r, locked, candidate),
        notes,
    })
}

/// `id`, or — when `id` is an official SDK the report could not measure and exactly one ready
/// toolchain carries its libc — that stand-in, with a note saying so.
pub(crate) fn stand_in_for(r: &Report, id: &str, notes: &mut Vec<String>) -> String {
    let unavailable = r.sdks.iter().any(|s| s.spec.id == id && !s.is_ready());
    let ins: Vec<&wasiprobe_model::sdk::Provisioned> = r
        .sdks
        .iter()
        .filter(|s| s.is_ready())
        .filter(|s| s.spec.provenance.as_ref().is_some_and(|p| p.libc_of == id))
        .collect();
    match (unavailable, ins.as_slice()) {
        (true, [one]) => {
            notes.push(format!(
                "{id} is unavailable here; measured through {}, which carries its libc ({}) — not the official build",
                one.spec.id,
                if one.spec.provenance.as_ref().is_some_and(|p| p.exact) {
                    "exactly"
                } else {
                    "closely: see its provenance"
                }
            ));
            one.spec.id.clone()
        }
        _ => id.to_string(),
    }
}

pub fn evidence_markdown(e: &Evidence) -> String {
    let id = |v: &Value| v["id"].as_str().unwrap_or("?").to_string();
    let mut out = format!(
        "# SDK update evidence: {} → {}\n\n",
        id(&e.locked),
        id(&e.candidate)
    );
    for n in &e.notes {
        out += &format!("> {n}\n\n");
    }
    for (name, v) in [("Locked", &e.locked), ("Candidate", &e.candidate)] {
        out += &format!(
            "- **{name}** `{}` ({}): compiler `{}`, libc fingerprint `{}`, wasi-libc (declared) `{}`, CPython {}\n",
            id(v),
            v["status"].as_str().unwrap_or("?"),
            v["identity"]["compiler"].as_str().unwrap_or("-"),
            v["identity"]["libc_fingerprint"].as_str().unwrap_or("-"),
            v["wasi_libc"].as_str().unwrap_or("-"),
            v["cpython"]
        );
        if let Some(p) = v["provenance"].as_str() {
            out += &format!("  - {p}\n");
        }
    }
    let count = |c: Class| e.items.iter().filter(|i| i.class == c).count();
    out += &format!(
        "\n**{} breaking, {} fixed, {} changed facts, {} other changes, {} unchanged.**\n\n",
        count(Class::Breaking),
        count(Class::Fixed),
        count(Class::ChangedFact),
        count(Class::Changed),
        count(Class::NoChange)
    );
    out += "| class | runtime | probe | check | locked | candidate | what differs |\n|---|---|---|---|---|---|---|\n";
    for i in e.items.iter().filter(|i| i.class != Class::NoChange) {
        let what = if i.class == Class::ChangedFact {
            let (a, b) = (&i.locked_facts, &i.candidate_facts);
            let keys: Vec<String> = b
                .as_object()
                .map(|m| {
                    m.iter()
                        .filter(|(k, v)| a.get(k.as_str()) != Some(v))
                        .map(|(k, v)| {
                            format!("{k}: {} → {v}", a.get(k.as_str()).unwrap_or(&Value::Null))
                        })
                        .collect()
                })
                .unwrap_or_default();
            keys.join("; ")
        } else {
            one_line(&i.candidate_evidence)
        };
        let class = serde_json::to_value(&i.class)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default();
        out += &format!(
            "| {class} | {} | {} | {} | {} | {} | {} |\n",
            i.runtime,
            i.probe,
            i.check,
            i.locked,
            i.candidate,
            what.replace('|', " ")
        );
    }
    if !e.imports.is_empty() {
        out += "\n## Preview 1 imports that change\n\n";
        for (probe, added, removed) in &e.imports {
            out += &format!("- `{probe}`: adds {added:?}, drops {removed:?}\n");
        }
    }
    if let Some(l) = &e.libc {
        out += &libc::markdown(l, &id(&e.locked), &id(&e.candidate));
    }
    out
}
