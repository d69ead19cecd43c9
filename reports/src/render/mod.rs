//! What a person or a CI system reads: `report.md` (sized for a pull-request comment),
//! `junit.xml` (one testcase per cell), and diffs between two reports.

pub mod libc;

use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use wasiprobe_model::python::{EXT_CONTROL, EXT_PROBE};
use wasiprobe_model::report::{Cell, Report, Verdict};

fn one_line(e: &Value) -> String {
    let s = match e {
        Value::Object(m) => ["problems", "reason", "protocol_error"]
            .iter()
            .find_map(|k| m.get(*k))
            .map(|v| match v {
                Value::Array(a) => a
                    .first()
                    .map(|x| x.as_str().map(String::from).unwrap_or(x.to_string()))
                    .unwrap_or_default(),
                Value::String(s) => s.clone(),
                v => v.to_string(),
            })
            .unwrap_or_default(),
        _ => String::new(),
    };
    let s = s.replace(['\n', '|'], " ");
    if s.chars().count() > 200 {
        format!("{}…", s.chars().take(200).collect::<String>())
    } else {
        s
    }
}

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
    for c in &r.results {
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

pub fn junit(r: &Report) -> String {
    use quick_junit::{NonSuccessKind, Report as JReport, TestCase, TestCaseStatus, TestSuite};
    let mut report = JReport::new("wasiprobe");
    let mut suites: BTreeMap<String, TestSuite> = BTreeMap::new();
    for c in &r.results {
        let suite = suites
            .entry(format!("{}::{}", c.sdk, c.runtime))
            .or_insert_with_key(|k| TestSuite::new(k.clone()));
        let status = match c.verdict {
            Verdict::Pass => TestCaseStatus::success(),
            Verdict::Skip | Verdict::Unavailable => {
                let mut s = TestCaseStatus::skipped();
                s.set_message(one_line(&c.evidence));
                s
            }
            Verdict::Fail => {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                s.set_message(one_line(&c.evidence));
                s.set_description(c.evidence.to_string());
                s
            }
            v => {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
                s.set_message(format!("{}: {}", v.as_str(), one_line(&c.evidence)));
                s.set_type(v.as_str());
                s.set_description(c.evidence.to_string());
                s
            }
        };
        let mut tc = TestCase::new(format!("{}::{}", c.probe, c.check), status);
        tc.set_classname(format!("{}.{}.{}", c.sdk, c.runtime, c.area));
        tc.set_time(std::time::Duration::from_secs_f64(c.duration_ms / 1000.0));
        suite.add_test_case(tc);
    }
    report.add_test_suites(suites.into_values());
    report.to_string().unwrap_or_default()
}

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
fn import_change(before: &[String], after: &[String]) -> Option<(Vec<String>, Vec<String>)> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use wasiprobe_model::report::{BuildSummary, HostInfo};

    fn report(cells: &[(&str, Verdict)]) -> Report {
        let mut r = Report {
            schema_version: 1,
            complete: true,
            started_at: "t0".into(),
            finished_at: Some("t1".into()),
            host: HostInfo::current(),
            options: json!({}),
            sdks: vec![],
            runtimes: vec![],
            build: BuildSummary {
                compiled: 0,
                cached: 0,
                failed: 0,
                rebuilt_corrupt: 0,
            },
            results: cells
                .iter()
                .map(|(check, v)| Cell {
                    sdk: "zig-0.13".into(),
                    runtime: "wasmtime".into(),
                    probe: "p".into(),
                    check: check.to_string(),
                    area: "a".into(),
                    verdict: *v,
                    evidence: json!({ "problems": [format!("{check} went wrong")] }),
                    duration_ms: 1.0,
                })
                .collect(),
            summary: Default::default(),
            imports: Default::default(),
            dark_features: Default::default(),
            python: Default::default(),
            python_ext: None,
            libc: Default::default(),
        };
        r.summarize();
        r
    }

    /// The same checks on wasmtime and on a second runtime "other" with the given verdicts.
    fn two_runtimes(here: &[(&str, Verdict)], there: &[(&str, Verdict)]) -> Report {
        let mut r = report(here);
        let mut other = report(there).results;
        for c in &mut other {
            c.runtime = "other".into();
        }
        r.results.extend(other);
        r
    }

    #[test]
    fn compare_lists_each_behaviour_that_differs_with_both_reasons() {
        let r = two_runtimes(
            &[
                ("a", Verdict::Pass),
                ("b", Verdict::Pass),
                ("c", Verdict::Fail),
                ("d", Verdict::Pass),
            ],
            &[
                ("a", Verdict::Pass),
                ("b", Verdict::Trap),
                ("c", Verdict::Fail),
                ("d", Verdict::Skip),
            ],
        );
        let c = compare_runtimes(&r, "wasmtime").unwrap();
        assert_eq!(c.differences.len(), 1, "{c:?}");
        let d = &c.differences[0];
        assert_eq!((d.check.as_str(), d.verdict), ("b", Verdict::Trap));
        assert_eq!(d.why, "b went wrong");
        assert_eq!(
            c.agreement,
            vec![RuntimeAgreement {
                runtime: "other".into(),
                compared: 3,
                same: 2,
                not_run: 1
            }]
        );
        let md = comparison_markdown(&c);
        assert!(
            md.contains("| other | b | zig-0.13 | pass | trap |"),
            "{md}"
        );
    }

    #[test]
    fn compare_with_identical_runtimes_finds_nothing_and_needs_a_known_reference() {
        let cells = [("a", Verdict::Pass), ("b", Verdict::Fail)];
        let r = two_runtimes(&cells, &cells);
        assert!(compare_runtimes(&r, "wasmtime")
            .unwrap()
            .differences
            .is_empty());
        // Comparing the other way round must agree.
        assert!(compare_runtimes(&r, "other")
            .unwrap()
            .differences
            .is_empty());
        let e = compare_runtimes(&r, "wasmer").unwrap_err();
        assert!(e.contains("other, wasmtime"), "{e}");
    }

    #[test]
    fn diff_classifies_regressions_fixes_new_and_gone() {
        let old = report(&[
            ("a", Verdict::Pass),
            ("b", Verdict::Fail),
            ("c", Verdict::Pass),
            ("d", Verdict::Pass),
        ]);
        let new = report(&[
            ("a", Verdict::Timeout),
            ("b", Verdict::Pass),
            ("c", Verdict::Pass),
            ("e", Verdict::Pass),
        ]);
        let d = diff(&old, &new);
        let kinds: Vec<(Change, &str)> = d
            .cells
            .iter()
            .map(|c| (c.change.clone(), c.key.rsplit("::").next().unwrap()))
            .collect();
        assert_eq!(
            kinds,
            vec![
                (Change::Regression, "a"),
                (Change::Fixed, "b"),
                (Change::New, "e"),
                (Change::Gone, "d")
            ]
        );
        assert_eq!(d.regressions(), 1);
        assert_eq!(diff(&old, &old).cells.len(), 0);
        // Import sets of the same sdk × probe: what the new build adds and drops.
        let (mut old, mut new) = (old, new);
        let set = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        old.imports
            .entry("zig-0.13".into())
            .or_default()
            .insert("p".into(), set(&["fd_write", "proc_exit"]));
        new.imports
            .entry("zig-0.13".into())
            .or_default()
            .insert("p".into(), set(&["fd_write", "random_get"]));
        let d = diff(&old, &new);
        assert_eq!(
            d.imports,
            vec![(
                "zig-0.13::p".to_string(),
                set(&["random_get"]),
                set(&["proc_exit"])
            )]
        );
    }

    #[test]
    fn evidence_classifies_breaking_fixed_and_changed_facts() {
        use wasiprobe_model::sdk::{Identity, Provisioned, Status};
        use wasiprobe_model::sdk::{Kind, SdkSpec};
        let mut r = report(&[]);
        for id in ["old", "new"] {
            r.sdks.push(Provisioned {
                spec: SdkSpec {
                    id: id.into(),
                    kind: Kind::Zig,
                    version: None,
                    cpython: vec![],
                    llvm: None,
                    wasi_libc: None,
                    url: None,
                    sha256: None,
                    packages: vec![],
                    cc: None,
                    sysroot: None,
                    target: "wasm32-wasi".into(),
                    cflags: vec![],
                    suite: None,
                    package: None,
                    compiler: None,
                    snapshot: None,
                    provenance: None,
                },
                status: Status::Ready,
                reason: None,
                identity: Identity::default(),
                compiler: None,
            });
        }
        let cell = |sdk: &str, check: &str, v: Verdict, facts: Value| Cell {
            sdk: sdk.into(),
            runtime: "wasmtime".into(),
            probe: "p".into(),
            check: check.into(),
            area: "a".into(),
            verdict: v,
            evidence: json!({ "facts": facts, "problems": ["x"] }),
            duration_ms: 1.0,
        };
        r.results = vec![
            cell("old", "a", Verdict::Pass, json!({})),
            cell("new", "a", Verdict::Fail, json!({})),
            cell("old", "b", Verdict::Fail, json!({})),
            cell("new", "b", Verdict::Pass, json!({})),
            cell("old", "c", Verdict::Pass, json!({ "errno": 76 })),
            cell("new", "c", Verdict::Pass, json!({ "errno": 44 })),
            cell("old", "d", Verdict::Pass, json!({ "errno": 1 })),
            cell("new", "d", Verdict::Pass, json!({ "errno": 1 })),
        ];
        let e = evidence(&r, "old", "new").unwrap();
        let classes: Vec<(Class, &str)> = e
            .items
            .iter()
            .map(|i| (i.class.clone(), i.check.as_str()))
            .collect();
        assert_eq!(
            classes,
            vec![
                (Class::Breaking, "a"),
                (Class::Fixed, "b"),
                (Class::ChangedFact, "c"),
                (Class::NoChange, "d")
            ]
        );
        assert_eq!(e.breaking(), 1);
        assert!(
            evidence_markdown(&e).contains("errno: 76 → 44"),
            "{}",
            evidence_markdown(&e)
        );
        assert!(evidence(&r, "old", "nope")
            .unwrap_err()
            .contains("old, new"));
    }

    #[test]
    fn junit_and_markdown_carry_every_cell() {
        let r = report(&[
            ("a", Verdict::Pass),
            ("b", Verdict::Fail),
            ("c", Verdict::Unavailable),
            ("d", Verdict::Oom),
        ]);
        let x = junit(&r);
        assert_eq!(x.matches("<testcase").count(), 4, "{x}");
        assert!(
            x.contains("<failure") && x.contains("<skipped") && x.contains("<error"),
            "{x}"
        );
        let md = markdown(&r);
        assert!(md.contains("b went wrong") && md.contains("oom"), "{md}");
    }
}

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
fn stand_in_for(r: &Report, id: &str, notes: &mut Vec<String>) -> String {
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

/// The runtimes of a report: version, status and what each can enforce.
fn runtimes_markdown(r: &Report) -> String {
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
    }
    out + &ext
}

/// One row per runtime the census ran on: counts, and what differs from the reference census.
fn python_census_by_runtime_md(
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
        let differ: Vec<String> = reference
            .imports
            .iter()
            .filter_map(|(m, r)| {
                let here = c.imports.get(m).map_or("missing", |x| x.result.as_str());
                (here != r.result).then(|| format!("{m}: {} → {here}", r.result))
            })
            .collect();
        let dark: Vec<String> = reference
            .dark
            .iter()
            .filter_map(|(f, d)| {
                let here = c.dark.get(f).map_or("missing", |x| x.status.as_str());
                (here != d.status).then(|| format!("{f}: {} → {here}", d.status))
            })
            .collect();
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
