//! The SDK-update evidence for one CPython branch (`wasiprobe evidence --python 3.13 --locked A
//! --candidate B`): the branch's source built with the locked toolchain beside the same source
//! built with the candidate, from one report — CPython's own tests per test case (`py-regrtest`),
//! the other Python cells, the builds themselves, and the libc-level evidence of the two
//! toolchains — and the Markdown "SDK update evidence pack" a maintainer attaches to a request
//! to change the lock.
//!
//! Lock policy as CPython states it: PEP 11 lists WASI as a supported platform and PEP 816
//! ("WASI Support") records, per CPython version, the WASI and WASI SDK versions it targets; the
//! SDK is fixed at the version's first beta, so a change after that needs the reason and the
//! evidence the draft note below is filled with. Whether an item is unfixable under the lock is
//! a maintainer's judgement; the pack gives what the data shows: what the candidate breaks, what
//! it fixes, and the command that reproduces each.

use super::libc::{self, LibcEvidence};
use serde::Serialize;
use std::collections::BTreeMap;
use wasiprobe_model::python::{CaseOutcome, ModuleRun, PythonReport, SourceBuild};
use wasiprobe_model::report::{Report, Verdict};

/// How one test case (or module, or build) differs between the locked build and the candidate.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum PyClass {
    /// The candidate's build fails where the locked one built.
    BuildBreaks,
    NewlyFails,
    Hangs,
    Crashes,
    NewlySkipped,
    NewlyPasses,
    NewlyUnskipped,
    /// The module's verdict changed with no test case to show for it.
    ModuleChanged,
    /// A Python cell (twin, census, extension) changed verdict.
    CellChanged,
}

impl PyClass {
    pub fn breaking(self) -> bool {
        matches!(
            self,
            PyClass::BuildBreaks | PyClass::NewlyFails | PyClass::Hangs | PyClass::Crashes
        )
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct PyItem {
    pub class: PyClass,
    pub runtime: String,
    /// Test module (or the cell's probe/check).
    pub module: String,
    /// Test case id (empty for a module or cell item).
    pub test: String,
    pub locked: String,
    pub candidate: String,
    /// The candidate's skip reason or exception line.
    pub detail: String,
    /// The command that reproduces the candidate's side.
    pub reproduce: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct PyEvidence {
    pub branch: String,
    pub locked: String,
    pub candidate: String,
    pub locked_python: String,
    pub candidate_python: String,
    pub locked_build: Option<SourceBuild>,
    pub candidate_build: Option<SourceBuild>,
    /// Runtimes with regrtest results on both sides.
    pub runtimes: Vec<String>,
    /// Test cases compared per runtime.
    pub compared: BTreeMap<String, usize>,
    pub items: Vec<PyItem>,
    pub libc: Option<LibcEvidence>,
    pub notes: Vec<String>,
}

impl PyEvidence {
    pub fn breaking(&self) -> usize {
        self.items.iter().filter(|i| i.class.breaking()).count()
            + self.libc.as_ref().map_or(0, |l| {
                l.items
                    .iter()
                    .filter(|i| i.class == libc::LibcClass::Breaking)
                    .count()
            })
    }
}

fn outcome_name(o: Option<CaseOutcome>) -> String {
    o.and_then(|o| serde_json::to_value(o).ok())
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_else(|| "absent".into())
}

fn verdict_name(v: Verdict) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default()
}

/// The `[[python]]` of `branch` built with `toolchain`, in the report.
fn find<'a>(
    r: &'a Report,
    branch: &str,
    toolchain: &str,
) -> Option<(&'a String, &'a PythonReport)> {
    r.python.iter().find(|(_, p)| {
        p.provisioned.build.as_ref().is_some_and(|b| {
            b.toolchain == toolchain
                && (b.source == branch || b.source.starts_with(&format!("{branch}.")))
        })
    })
}

/// Classifies one test case seen on both sides.
fn classify(a: CaseOutcome, b: CaseOutcome) -> Option<PyClass> {
    use CaseOutcome::*;
    Some(match (a.is_bad(), b.is_bad()) {
        (false, true) => match b {
            Hang => PyClass::Hangs,
            Crash => PyClass::Crashes,
            _ => PyClass::NewlyFails,
        },
        (true, false) => PyClass::NewlyPasses,
        _ if a == Pass && b == Skip => PyClass::NewlySkipped,
        _ if a == Skip && b == Pass => PyClass::NewlyUnskipped,
        _ => return None,
    })
}

fn compare_runs(runtime: &str, a: &[ModuleRun], b: &[ModuleRun], items: &mut Vec<PyItem>) -> usize {
    let mut compared = 0;
    for mb in b
        .iter()
        .filter(|m| !m.module.starts_with("test_wasiprobe_"))
    {
        let Some(ma) = a.iter().find(|m| m.module == mb.module) else {
            continue;
        };
        let before: BTreeMap<&str, CaseOutcome> = ma
            .cases
            .iter()
            .map(|c| (c.id.as_str(), c.outcome))
            .collect();
        let mut explained = false;
        for c in &mb.cases {
            let Some(&was) = before.get(c.id.as_str()) else {
                continue;
            };
            compared += 1;
            if let Some(class) = classify(was, c.outcome) {
                explained |= class.breaking() || class == PyClass::NewlyPasses;
                let name = c.id.rsplit('.').next().unwrap_or(&c.id);
                items.push(PyItem {
                    class,
                    runtime: runtime.into(),
                    module: mb.module.clone(),
                    test: c.id.clone(),
                    locked: outcome_name(Some(was)),
                    candidate: outcome_name(Some(c.outcome)),
                    detail: c.detail.clone().unwrap_or_default(),
                    reproduce: format!("{} --match {name}", mb.reproduce),
                });
            }
        }
        if ma.verdict != mb.verdict && !explained {
            items.push(PyItem {
                class: if mb.verdict == Verdict::Pass {
                    PyClass::NewlyPasses
                } else if matches!(mb.verdict, Verdict::Timeout) {
                    PyClass::Hangs
                } else if matches!(
                    mb.verdict,
                    Verdict::Trap | Verdict::Crash | Verdict::Oom | Verdict::OutputLimit
                ) {
                    PyClass::Crashes
                } else {
                    PyClass::ModuleChanged
                },
                runtime: runtime.into(),
                module: mb.module.clone(),
                test: String::new(),
                locked: verdict_name(ma.verdict),
                candidate: verdict_name(mb.verdict),
                detail: mb.ended.clone(),
                reproduce: mb.reproduce.clone(),
            });
        }
    }
    compared
}

/// The evidence for `branch`, or why the report cannot give it.
pub fn python_evidence(
    r: &Report,
    branch: &str,
    locked: &str,
    candidate: &str,
) -> Result<PyEvidence, String> {
    let built: Vec<String> = r
        .python
        .values()
        .filter_map(|p| p.provisioned.build.as_ref())
        .map(|b| format!("{} × {}", b.source, b.toolchain))
        .collect();
    let missing = |which: &str, tc: &str| {
        format!(
            "the report has no CPython {branch} built with {tc} (the {which} side); it has: {} — run `wasiprobe run --cpython` with both",
            if built.is_empty() { "none".to_string() } else { built.join(", ") }
        )
    };
    let (lid, lp) = find(r, branch, locked).ok_or_else(|| missing("locked", locked))?;
    let (cid, cp) = find(r, branch, candidate).ok_or_else(|| missing("candidate", candidate))?;
    let mut items = Vec::new();
    let mut notes = Vec::new();
    let (lb, cb) = (lp.provisioned.build.clone(), cp.provisioned.build.clone());
    if let (Some(a), Some(b)) = (&lb, &cb) {
        if a.ok && !b.ok {
            let step = b.steps.iter().find(|s| !s.ok);
            items.push(PyItem {
                class: PyClass::BuildBreaks,
                runtime: String::new(),
                module: step.map_or("build".into(), |s| s.name.clone()),
                test: String::new(),
                locked: "built".into(),
                candidate: "failed".into(),
                detail: step.map_or(String::new(), |s| {
                    s.tail
                        .lines()
                        .rev()
                        .take(6)
                        .collect::<Vec<_>>()
                        .into_iter()
                        .rev()
                        .collect::<Vec<_>>()
                        .join("\n")
                }),
                reproduce: step.map_or(String::new(), |s| s.command.clone()),
            });
        }
    }
    let mut runtimes = Vec::new();
    let mut compared = BTreeMap::new();
    for (rt, b) in &cp.regrtest {
        let Some(a) = lp.regrtest.get(rt) else {
            notes.push(format!("{rt}: regrtest ran with {candidate} only"));
            continue;
        };
        runtimes.push(rt.clone());
        compared.insert(rt.clone(), compare_runs(rt, a, b, &mut items));
    }
    // The other Python cells of the two binaries, same runtime/probe/check.
    for c in r
        .results
        .iter()
        .filter(|c| &c.sdk == cid && c.probe != "py-regrtest")
    {
        let Some(a) = r.results.iter().find(|a| {
            &a.sdk == lid && a.runtime == c.runtime && a.probe == c.probe && a.check == c.check
        }) else {
            continue;
        };
        if a.verdict != c.verdict {
            items.push(PyItem {
                class: PyClass::CellChanged,
                runtime: c.runtime.clone(),
                module: format!("{}/{}", c.probe, c.check),
                test: String::new(),
                locked: verdict_name(a.verdict),
                candidate: verdict_name(c.verdict),
                detail: super::one_line(&c.evidence),
                reproduce: format!(
                    "wasiprobe run --sdk {cid} --runtime {} --probe {} --check {}",
                    c.runtime, c.probe, c.check
                ),
            });
        }
    }
    items.sort_by(|x, y| {
        (x.class, &x.runtime, &x.module, &x.test).cmp(&(y.class, &y.runtime, &y.module, &y.test))
    });
    let libc = libc::evidence(r, locked, candidate);
    if libc.is_none() {
        notes.push(format!(
            "no libc reading of {locked} and {candidate} in this report: run with `--sdk {locked} --sdk {candidate}` too for the libc-level evidence"
        ));
    }
    Ok(PyEvidence {
        branch: branch.into(),
        locked: locked.into(),
        candidate: candidate.into(),
        locked_python: lid.clone(),
        candidate_python: cid.clone(),
        locked_build: lb,
        candidate_build: cb,
        runtimes,
        compared,
        items,
        libc,
        notes,
    })
}

fn class_name(c: PyClass) -> String {
    serde_json::to_value(c)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default()
}

fn build_line(b: &Option<SourceBuild>) -> String {
    match b {
        None => "no build record".into(),
        Some(b) => format!(
            "CPython {} with `{}` by `{}` ({}, {:.0} s cold, Wasm stack {} B, key `{}`)",
            b.source,
            b.toolchain,
            b.script,
            if b.ok { "built" } else { "build failed" },
            b.duration_ms / 1000.0,
            b.wasm_stack_bytes,
            b.key
        ),
    }
}

/// The evidence pack for one branch, in Markdown.
pub fn python_evidence_markdown(e: &PyEvidence) -> String {
    let count = |c: PyClass| e.items.iter().filter(|i| i.class == c).count();
    let mut out = format!(
        "# SDK update evidence pack: CPython {} — {} → {}\n\n",
        e.branch, e.locked, e.candidate
    );
    out += &format!(
        "- **Lock**: `{}` — {}\n- **Candidate**: `{}` — {}\n- **Runtimes**: {}\n- **Test cases compared**: {}\n\n",
        e.locked_python,
        build_line(&e.locked_build),
        e.candidate_python,
        build_line(&e.candidate_build),
        if e.runtimes.is_empty() { "none (no regrtest on both sides)".into() } else { e.runtimes.join(", ") },
        e.compared
            .iter()
            .map(|(rt, n)| format!("{n} on {rt}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    for n in &e.notes {
        out += &format!("> {n}\n\n");
    }
    out += &format!(
        "**What breaks**: {} build, {} newly failing, {} hanging, {} crashing. **What it fixes**: {} newly passing. **Other**: {} newly skipped, {} newly run, {} module changes, {} other Python cells changed.\n\n",
        count(PyClass::BuildBreaks),
        count(PyClass::NewlyFails),
        count(PyClass::Hangs),
        count(PyClass::Crashes),
        count(PyClass::NewlyPasses),
        count(PyClass::NewlySkipped),
        count(PyClass::NewlyUnskipped),
        count(PyClass::ModuleChanged),
        count(PyClass::CellChanged),
    );
    if !e.items.is_empty() {
        out += "## Where\n\n| class | runtime | module | test | locked | candidate | detail |\n|---|---|---|---|---|---|---|\n";
        for i in &e.items {
            out += &format!(
                "| {} | {} | {} | {} | {} | {} | {} |\n",
                class_name(i.class),
                i.runtime,
                i.module,
                i.test,
                i.locked,
                i.candidate,
                i.detail
                    .replace(['\n', '|'], " ")
                    .chars()
                    .take(200)
                    .collect::<String>()
            );
        }
        let breaking: Vec<&PyItem> = e.items.iter().filter(|i| i.class.breaking()).collect();
        if !breaking.is_empty() {
            out += "\n## Reproduce each breaking item\n\n";
            for i in breaking {
                out += &format!(
                    "- {} {} {}:\n  `{}`\n",
                    class_name(i.class),
                    i.runtime,
                    if i.test.is_empty() {
                        &i.module
                    } else {
                        &i.test
                    },
                    i.reproduce
                );
            }
        }
    }
    out += "\n## Configure overrides the candidate needs\n\n";
    match &e.libc {
        Some(l) if !l.config_site.is_empty() => {
            out += &format!(
            "Beyond the branch's `Tools/wasm/config.site-wasm32-wasi` for {}:\n\n```\n{}\n```\n",
            e.locked,
            l.config_site.join("\n")
        )
        }
        Some(_) => out += "None: the candidate's libc adds no stub a configure check would find.\n",
        None => out += "Unknown: this report has no libc reading of both toolchains.\n",
    }
    if let Some(l) = &e.libc {
        out += &libc::markdown(l, &e.locked, &e.candidate);
    }
    out += &draft_note(e);
    out
}

/// The draft of the note a lock change needs (when, why), filled from the data.
fn draft_note(e: &PyEvidence) -> String {
    let fixes: Vec<&PyItem> = e
        .items
        .iter()
        .filter(|i| i.class == PyClass::NewlyPasses)
        .collect();
    let breaks: Vec<&PyItem> = e.items.iter().filter(|i| i.class.breaking()).collect();
    let list = |v: &[&PyItem]| -> String {
        v.iter()
            .take(12)
            .map(|i| {
                format!(
                    "{} ({})",
                    if i.test.is_empty() {
                        &i.module
                    } else {
                        &i.test
                    },
                    i.runtime
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
            + if v.len() > 12 { ", …" } else { "" }
    };
    let overrides = e.libc.as_ref().map_or(0, |l| l.config_site.len());
    let mut out = String::from("\n## Draft note for the lock change\n\n");
    out += &format!(
        "> **Change the WASI SDK of CPython {b} from the one its first beta locked ({l}) to {c}.**\n>\n",
        b = e.branch,
        l = e.locked,
        c = e.candidate
    );
    out += &format!(
        "> *Why*: {}\n>\n",
        if fixes.is_empty() {
            "the measured data shows no test that the candidate fixes; a change would need another reason (state it here).".to_string()
        } else {
            format!(
                "{} test case(s) fail under the lock and pass with the candidate: {}. State for each why it cannot be fixed under the lock (a libc bug, a missing function).",
                fixes.len(),
                list(&fixes)
            )
        }
    );
    out += &format!(
        "> *Cost*: {}; {overrides} configure override(s) needed.\n>\n",
        if breaks.is_empty() {
            "no test case breaks with the candidate on the runtimes measured".to_string()
        } else {
            format!(
                "{} item(s) break with the candidate: {}",
                breaks.len(),
                list(&breaks)
            )
        }
    );
    out += "> *When*: the next maintenance release after the change lands; builders and the release tooling (`Tools/wasm`, `Platforms/WASI/config.toml` where the branch has it) change in the same pull request.\n";
    out
}
