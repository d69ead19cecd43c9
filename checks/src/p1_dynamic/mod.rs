//! `p1_dynamic`: all 46 Preview 1 functions called for real (the `p1_calls` probe), each with
//! valid and invalid arguments, judged against the expected outcomes in `p1_dynamic.toml`.
//!
//! Fails when a call the probe made shows no host call (it never reached the runtime), when an
//! outcome contradicts one the specification requires, or when an observation is missing.
//! Outcomes the specification leaves to the runtime are recorded as facts. The deviations of
//! wasmtime 48 that the data documents fail like any other contradiction — the note only says
//! what is known about them (the test suite lists them in `tests/known-findings.toml`).
//!
//! Calls that may trap (out-of-bounds pointers, invalid enum values) run one per process
//! (`Case::isolated`), so a trap in one hides nothing else.

use super::{Case, Isolated, Judgement, Observed};
use crate::protocol::{self, Observation};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::sync::OnceLock;
use wasiprobe_model::run::Termination;

pub const PROBE: &str = "p1_calls";
const ERRNO_FAULT: i64 = 21;
const ERRNO_NOSYS: i64 = 52;
const ERRNO_NOTSUP: i64 = 58;

/// One expected outcome (see the field list at the top of `p1_dynamic.toml`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    pub func: String,
    pub case: String,
    #[serde(default)]
    pub errno: Vec<i64>,
    #[serde(default)]
    pub error: bool,
    pub ret: Option<i64>,
    pub ok: Option<bool>,
    pub exit: Option<i32>,
    #[serde(default)]
    pub trap: bool,
    #[serde(default)]
    pub isolated: bool,
    #[serde(default)]
    pub fact: bool,
    pub deviation: Option<Deviation>,
    pub why: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deviation {
    pub errno: i64,
    pub note: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Data {
    case: Vec<Expect>,
}

/// The expectations, parsed once (a unit test proves the file parses and is consistent).
pub fn expectations() -> &'static [Expect] {
    static DATA: OnceLock<Vec<Expect>> = OnceLock::new();
    DATA.get_or_init(|| {
        toml::from_str::<Data>(include_str!("p1_dynamic.toml"))
            .expect("p1_dynamic.toml parses")
            .case
    })
}

/// What one call did.
#[derive(Debug, Clone, PartialEq)]
enum Seen {
    Errno {
        errno: i64,
        ret: Option<i64>,
        ok: Option<bool>,
    },
    Trap(String),
    Exit(i32),
    Missing(String),
}

impl Seen {
    fn to_json(&self) -> Value {
        match self {
            Seen::Errno { errno, ret, ok } => {
                let mut m = Map::new();
                m.insert("errno".into(), json!(errno));
                if let Some(r) = ret {
                    m.insert("ret".into(), json!(r));
                }
                if let Some(o) = ok {
                    m.insert("ok".into(), json!(o));
                }
                Value::Object(m)
            }
            Seen::Trap(why) => json!({ "trap": why }),
            Seen::Exit(code) => json!({ "exit": code }),
            Seen::Missing(why) => json!({ "missing": why }),
        }
    }
    /// A short comparable form for facts: the errno, "trap" or "exit N".
    fn fact(&self) -> Value {
        match self {
            Seen::Errno { errno, .. } => json!(errno),
            Seen::Trap(_) => json!("trap"),
            Seen::Exit(c) => json!(format!("exit {c}")),
            Seen::Missing(_) => Value::Null,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Judged {
    PerSpec,
    Fact,
    Deviation,
    Wrong,
    Missing,
}

impl Judged {
    fn as_str(self) -> &'static str {
        match self {
            Judged::PerSpec => "per-spec",
            Judged::Fact => "fact",
            Judged::Deviation => "deviation",
            Judged::Wrong => "wrong",
            Judged::Missing => "missing",
        }
    }
}

fn isolated_args(e: &Expect) -> Vec<String> {
    vec![PROBE.into(), "one".into(), e.func.clone(), e.case.clone()]
}

fn is(ob: &Observation, what: &str, func: &str, case: &str) -> bool {
    ob.str("what") == Some(what) && ob.str("func") == Some(func) && ob.str("case") == Some(case)
}

fn result_of(obs: &[Observation], e: &Expect) -> Option<Seen> {
    obs.iter()
        .find(|ob| is(ob, "result", &e.func, &e.case))
        .map(|ob| Seen::Errno {
            errno: ob.i64("errno").unwrap_or(-1),
            ret: ob.i64("ret"),
            ok: ob.fields.get("ok").and_then(Value::as_bool),
        })
}

/// The first line of a trap's cause: wasmtime's messages carry a whole backtrace.
fn trap_summary(message: &str) -> String {
    let cause = message
        .split("Caused by:")
        .nth(1)
        .unwrap_or(message)
        .trim_start()
        .lines()
        .next()
        .unwrap_or("")
        .trim();
    cause.chars().take(160).collect()
}

fn seen_isolated(run: Option<&Isolated>, e: &Expect) -> Seen {
    let Some(run) = run else {
        return Seen::Missing("the isolated run did not happen".into());
    };
    let obs = match protocol::parse(&run.outcome.stdout) {
        Ok(o) => o,
        Err(err) => return Seen::Missing(format!("protocol error: {err}")),
    };
    let attempted = obs.iter().any(|ob| is(ob, "attempt", &e.func, &e.case));
    match &run.outcome.termination {
        Termination::Trap { message } if attempted => Seen::Trap(trap_summary(message)),
        Termination::Trap { message } => Seen::Missing(format!(
            "trapped before reaching the call: {}",
            trap_summary(message)
        )),
        Termination::Exited { code } => match result_of(&obs, e) {
            Some(s) => s,
            None if attempted => Seen::Exit(*code),
            None => Seen::Missing(format!("exited {code} without reaching the call")),
        },
        Termination::Timeout if attempted => Seen::Missing(
            "never returned: the isolated run reached the call and timed out in it".into(),
        ),
        t => Seen::Missing(format!("the isolated run ended with {t:?}")),
    }
}

fn seen_main(obs: &[Observation], termination: &Termination, e: &Expect) -> Seen {
    if let Some(s) = result_of(obs, e) {
        return s;
    }
    match termination {
        Termination::Exited { code }
            if obs.iter().any(|ob| is(ob, "attempt", &e.func, &e.case)) =>
        {
            Seen::Exit(*code)
        }
        _ => Seen::Missing("no observation".into()),
    }
}

/// Judges one outcome; the string says what was wrong (for `Wrong`) or the deviation's note.
fn judge_one(e: &Expect, seen: &Seen) -> (Judged, Option<String>) {
    if let Seen::Missing(why) = seen {
        return (Judged::Missing, Some(why.clone()));
    }
    if e.fact {
        return (Judged::Fact, None);
    }
    if e.trap {
        return match seen {
            Seen::Trap(_) => (Judged::PerSpec, None),
            Seen::Errno { errno, .. } if *errno == ERRNO_FAULT => (
                Judged::Wrong,
                Some("returned EFAULT; an out-of-bounds pointer must trap".into()),
            ),
            s => (
                Judged::Wrong,
                Some(format!("expected a trap, got {}", s.to_json())),
            ),
        };
    }
    if let Some(code) = e.exit {
        return match seen {
            Seen::Exit(c) if *c == code => (Judged::PerSpec, None),
            s => (
                Judged::Wrong,
                Some(format!("expected exit {code}, got {}", s.to_json())),
            ),
        };
    }
    let Seen::Errno { errno, ret, ok } = seen else {
        return (
            Judged::Wrong,
            Some(format!(
                "expected errno {:?}, got {}",
                e.errno,
                seen.to_json()
            )),
        );
    };
    let errno_ok = e.errno.contains(errno) || (e.error && *errno != 0);
    if !errno_ok {
        if let Some(d) = e.deviation.as_ref().filter(|d| d.errno == *errno) {
            return (Judged::Deviation, Some(d.note.clone()));
        }
        let want = if e.error {
            "any error".to_string()
        } else {
            format!("errno {:?}", e.errno)
        };
        return (Judged::Wrong, Some(format!("{want}, got errno {errno}")));
    }
    if *errno == 0 {
        if let Some(want) = e.ret {
            if *ret != Some(want) {
                return (
                    Judged::Wrong,
                    Some(format!(
                        "returned {}, expected {want}",
                        ret.map_or("nothing".into(), |r| r.to_string())
                    )),
                );
            }
        }
        if e.ok == Some(true) && *ok != Some(true) {
            return (
                Judged::Wrong,
                Some("succeeded but produced the wrong result (the probe's own check)".into()),
            );
        }
    }
    (Judged::PerSpec, None)
}

#[derive(Default)]
struct Function {
    host_calls: u64,
    cases: Map<String, Value>,
    implemented: bool,
    per_spec: bool,
    observed: bool,
}

// A do-nothing `fd_sync` is deliberately absent: nothing inside the guest can tell it
// from a real sync, so no check can claim to reject it.
check! {
    P1Dynamic: "p1_dynamic", probe PROBE, area "coverage",
    case Case {
        env: vec![("WASIPROBE_P1".into(), "1".into())],
        isolated: expectations()
            .iter()
            .filter(|e| e.isolated)
            .map(isolated_args)
            .collect(),
        ..Case::probe(PROBE)
    },
    controls ["fd_tell:lie", "fd_advise:enosys", "proc_exit:zero"]
}

impl P1Dynamic {
    fn judge(&self, _case: &Case, o: &Observed) -> crate::Judged {
        let obs = o.parsed()?;
        let mut problems = Vec::new();
        let mut calls: BTreeMap<&str, u64> = BTreeMap::new();
        for outcome in std::iter::once(o.outcome).chain(o.isolated.iter().map(|r| &r.outcome)) {
            for (f, n) in &outcome.host_calls {
                *calls.entry(f.as_str()).or_default() += n;
            }
        }
        let mut funcs: BTreeMap<&str, Function> = wasiprobe_coverage::PREVIEW1
            .iter()
            .map(|f| {
                (
                    f.name,
                    Function {
                        implemented: true,
                        per_spec: true,
                        ..Default::default()
                    },
                )
            })
            .collect();
        let (mut deviations, mut facts) = (Vec::new(), Map::new());
        let (mut oob_traps, mut oob_faults, mut oob_other) = (0, 0, 0);
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for e in expectations() {
            let seen = if e.isolated {
                let args = isolated_args(e);
                seen_isolated(o.isolated.iter().find(|r| r.args == args), e)
            } else {
                seen_main(obs, &o.outcome.termination, e)
            };
            let (judged, note) = judge_one(e, &seen);
            *counts.entry(judged.as_str()).or_default() += 1;
            let key = format!("{}/{}", e.func, e.case);
            let f = funcs.entry(e.func.as_str()).or_default();
            if !matches!(seen, Seen::Missing(_)) {
                f.observed = true;
            }
            if let Seen::Errno { errno, .. } = seen {
                if errno == ERRNO_NOSYS || errno == ERRNO_NOTSUP {
                    f.implemented = false;
                }
            }
            if matches!(judged, Judged::Wrong | Judged::Missing | Judged::Deviation) {
                f.per_spec = false;
            }
            match judged {
                Judged::Wrong => problems.push(format!(
                    "{key}: {} (expected per {})",
                    note.unwrap_or_default(),
                    e.why
                )),
                Judged::Missing => {
                    problems.push(format!("{key}: missing: {}", note.unwrap_or_default()))
                }
                Judged::Deviation => {
                    let note = note.unwrap_or_default();
                    problems.push(format!("{key}: not per the specification: {note}"));
                    deviations.push(format!("{key}: {note}"));
                }
                Judged::Fact => {
                    facts.insert(key, seen.fact());
                }
                Judged::PerSpec => {}
            }
            if e.trap {
                match &seen {
                    Seen::Trap(_) => oob_traps += 1,
                    Seen::Errno { errno, .. } if *errno == ERRNO_FAULT => oob_faults += 1,
                    _ => oob_other += 1,
                }
            }
            let mut c = seen.to_json();
            c["judged"] = json!(judged.as_str());
            f.cases.insert(e.case.clone(), c);
        }
        if calls.is_empty() {
            problems.push(
                "the runtime reported no host calls at all: nothing proves the calls happened"
                    .into(),
            );
        }
        for (name, f) in funcs.iter_mut() {
            f.host_calls = calls.get(name).copied().unwrap_or(0);
            if f.cases.is_empty() {
                problems.push(format!("{name}: no case in p1_dynamic.toml"));
            } else if f.observed && f.host_calls == 0 && !calls.is_empty() {
                problems.push(format!(
                    "{name}: the probe called it but the runtime counted 0 host calls"
                ));
            }
        }
        // Results the data has no expectation for: the probe and the data have drifted apart.
        for ob in obs.iter().filter(|ob| ob.str("what") == Some("result")) {
            let (f, c) = (ob.str("func").unwrap_or("?"), ob.str("case").unwrap_or("?"));
            if !expectations().iter().any(|e| e.func == f && e.case == c) {
                problems.push(format!(
                    "{f}/{c}: observed but p1_dynamic.toml has no expectation"
                ));
            }
        }
        let implemented = funcs.values().filter(|f| f.implemented).count();
        let per_spec = funcs.values().filter(|f| f.per_spec).count();
        let called = funcs.values().filter(|f| f.host_calls > 0).count();
        let not_implemented: Vec<&str> = funcs
            .iter()
            .filter(|(_, f)| !f.implemented)
            .map(|(n, _)| *n)
            .collect();
        let oob = match (oob_traps, oob_faults, oob_other) {
            (_, 0, 0) => "trap",
            (0, _, 0) => "efault",
            _ => "mixed",
        };
        facts.insert("implemented".into(), json!(implemented));
        facts.insert("per_spec".into(), json!(per_spec));
        facts.insert("oob".into(), json!(oob));
        facts.insert("not_implemented".into(), json!(not_implemented));
        let functions: Map<String, Value> = funcs
            .into_iter()
            .map(|(n, f)| {
                (
                    n.to_string(),
                    json!({
                        "host_calls": f.host_calls,
                        "implemented": f.implemented,
                        "per_spec": f.per_spec,
                        "cases": f.cases,
                    }),
                )
            })
            .collect();
        let ev = json!({
            "summary": {
                "functions": functions.len(),
                "called": called,
                "implemented": implemented,
                "per_spec": per_spec,
                "cases": counts,
                "oob": { "trap": oob_traps, "efault": oob_faults, "other": oob_other },
            },
            "deviations": deviations,
            "facts": facts,
            "functions": functions,
        });
        Ok(Judgement::from_problems(problems, ev))
    }
}

#[cfg(test)]
mod tests;
