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

use super::{Case, Check, Isolated, Judgement, Observed};
use crate::protocol::{self, Observation};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::sync::OnceLock;
use wasiprobe_model::run::Termination;

pub struct P1Dynamic;

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

impl Check for P1Dynamic {
    fn name(&self) -> &'static str {
        "p1_dynamic"
    }
    fn probe(&self) -> &'static str {
        PROBE
    }
    fn area(&self) -> &'static str {
        "coverage"
    }
    fn case(&self) -> Case {
        Case {
            args: vec![PROBE.into()],
            env: vec![("WASIPROBE_P1".into(), "1".into())],
            isolated: expectations()
                .iter()
                .filter(|e| e.isolated)
                .map(isolated_args)
                .collect(),
            ..Default::default()
        }
    }
    fn controls(&self) -> &'static [&'static str] {
        // A do-nothing `fd_sync` is deliberately absent: nothing inside the guest can tell it
        // from a real sync, so no check can claim to reject it.
        &["fd_tell:lie", "fd_advise:enosys", "proc_exit:zero"]
    }

    fn judge(&self, _case: &Case, o: &Observed) -> Judgement {
        let obs = match &o.observations {
            Ok(v) => v,
            Err(e) => return Judgement::fail(json!({ "protocol_error": e })),
        };
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
        Judgement::from_problems(problems, ev)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::outcome;
    use std::collections::BTreeSet;
    use wasiprobe_model::report::Verdict;

    /// What an honest wasmtime 48 run prints and counts, built from the data itself: every
    /// expectation met (a deviation where wasmtime has one), facts as wasmtime answers them.
    /// What a runtime that follows the specification does (wasmtime's documented deviations
    /// are not taken: see `wasmtime_deviations_fail`).
    fn honest_errno(e: &Expect) -> Seen {
        if e.trap || (e.fact && e.isolated) {
            return Seen::Trap("Pointer out of bounds".into());
        }
        if e.fact {
            return Seen::Errno {
                errno: 8,
                ret: None,
                ok: None,
            };
        }
        if let Some(c) = e.exit {
            return Seen::Exit(c);
        }
        let errno = if e.error {
            63
        } else {
            e.errno.first().copied().unwrap_or(0)
        };
        Seen::Errno {
            errno,
            ret: if errno == 0 { e.ret } else { None },
            ok: e.ok.map(|_| errno == 0),
        }
    }

    fn line(what: &str, e: &Expect, extra: Value) -> String {
        let mut v = json!({"probe": PROBE, "check": "p1_dynamic", "what": what, "func": e.func, "case": e.case});
        for (k, x) in extra.as_object().unwrap() {
            v[k] = x.clone();
        }
        format!("{v}\n")
    }

    struct Run {
        main: String,
        exit: i32,
        isolated: Vec<Isolated>,
    }

    impl Run {
        fn honest() -> Run {
            Run::with(|_| None)
        }
        /// An honest run where `f` may replace what a case did.
        fn with(f: impl Fn(&Expect) -> Option<Seen>) -> Run {
            let mut main = String::new();
            let mut exit = 0;
            let mut isolated = Vec::new();
            for e in expectations() {
                let seen = f(e).unwrap_or_else(|| honest_errno(e));
                let text = match &seen {
                    Seen::Errno { errno, ret, ok } => {
                        let mut x = json!({ "errno": errno });
                        if let Some(r) = ret {
                            x["ret"] = json!(r);
                        }
                        if let Some(o) = ok {
                            x["ok"] = json!(o);
                        }
                        line("result", e, x)
                    }
                    Seen::Trap(_) | Seen::Exit(_) => line("attempt", e, json!({})),
                    Seen::Missing(_) => String::new(),
                };
                if e.isolated {
                    let mut o = outcome(0, text.into_bytes(), vec![]);
                    if let Seen::Trap(m) = &seen {
                        o.termination = Termination::Trap {
                            message: format!("error\n\nCaused by:\n    {m}\n"),
                        };
                    }
                    o.host_calls = [(e.func.clone(), 1)].into();
                    isolated.push(Isolated {
                        args: isolated_args(e),
                        outcome: o,
                    });
                } else {
                    if let Seen::Exit(c) = seen {
                        exit = c;
                    }
                    main.push_str(&text);
                }
            }
            Run {
                main,
                exit,
                isolated,
            }
        }

        fn judge(&self, calls: &[(&str, u64)]) -> Judgement {
            let mut o = outcome(self.exit, self.main.clone().into_bytes(), vec![]);
            o.host_calls = calls.iter().map(|(f, n)| (f.to_string(), *n)).collect();
            let check = P1Dynamic;
            check.judge(
                &check.case(),
                &Observed {
                    outcome: &o,
                    observations: protocol::parse(&o.stdout),
                    scratch: None,
                    case_root: None,
                    host_window_ns: (0, u128::MAX),
                    rerun: None,
                    rerun_outcome: None,
                    isolated: &self.isolated,
                },
            )
        }
    }

    fn all_called() -> Vec<(&'static str, u64)> {
        wasiprobe_coverage::PREVIEW1
            .iter()
            .map(|f| (f.name, 3))
            .collect()
    }

    fn problems(j: &Judgement) -> String {
        j.evidence["problems"].to_string()
    }

    #[test]
    fn the_data_parses_and_covers_all_46_functions_with_a_reason() {
        let data = expectations();
        let funcs: BTreeSet<&str> = data.iter().map(|e| e.func.as_str()).collect();
        let all: BTreeSet<&str> = wasiprobe_coverage::PREVIEW1
            .iter()
            .map(|f| f.name)
            .collect();
        assert_eq!(funcs, all);
        let mut keys = BTreeSet::new();
        for e in data {
            assert!(
                keys.insert((&e.func, &e.case)),
                "{}/{} twice",
                e.func,
                e.case
            );
            assert!(!e.why.is_empty(), "{}/{}: no why", e.func, e.case);
            let kinds = [
                e.fact,
                e.trap,
                e.exit.is_some(),
                !e.errno.is_empty() || e.error,
            ];
            assert_eq!(
                kinds.iter().filter(|k| **k).count(),
                1,
                "{}/{}: exactly one of fact, trap, exit, errno/error",
                e.func,
                e.case
            );
            assert!(
                !e.trap || e.isolated,
                "{}/{}: a trap must run isolated",
                e.func,
                e.case
            );
        }
        // Every function is called at least once with valid arguments or on a non-socket.
        for f in all {
            assert!(
                data.iter()
                    .any(|e| e.func == f && (e.case == "valid" || e.case == "not-socket")),
                "{f}"
            );
        }
    }

    #[test]
    fn the_probe_and_the_data_name_the_same_cases() {
        let src = include_str!("../../probes/c/p1_calls.c");
        for e in expectations() {
            let entry = format!(
                "{{\"{}\", \"{}\", {},",
                e.func,
                e.case,
                u8::from(e.isolated)
            );
            // Run outside the table: the preopen scan and the final exit.
            let main_only =
                e.case == "valid" && (e.func == "proc_exit" || e.func.starts_with("fd_prestat"));
            assert!(
                main_only || src.contains(&entry),
                "probes/c/p1_calls.c has no table entry {entry}"
            );
        }
    }

    #[test]
    fn an_honest_run_passes_with_its_facts() {
        let j = Run::honest().judge(&all_called());
        assert_eq!(j.verdict, Verdict::Pass, "{}", problems(&j));
        let ev = &j.evidence;
        assert_eq!(ev["summary"]["called"], 46);
        assert_eq!(ev["facts"]["oob"], "trap");
        assert_eq!(ev["functions"]["fd_allocate"]["per_spec"], true);
        assert_eq!(ev["functions"]["fd_read"]["per_spec"], true);
        assert_eq!(ev["functions"]["fd_read"]["host_calls"], 3 + 1);
        assert_eq!(ev["facts"]["fd_seek/bad-whence"], "trap");
    }

    #[test]
    fn wasmtime_deviations_fail() {
        let j = Run::with(|e| {
            e.deviation.as_ref().map(|d| Seen::Errno {
                errno: d.errno,
                ret: None,
                ok: None,
            })
        })
        .judge(&all_called());
        assert_eq!(j.verdict, Verdict::Fail);
        let ps = problems(&j);
        assert!(
            ps.contains("clock_res_get/cputime: not per the specification"),
            "{ps}"
        );
        let ev = &j.evidence;
        assert_eq!(ev["functions"]["fd_allocate"]["implemented"], false);
        assert_eq!(ev["functions"]["fd_allocate"]["per_spec"], false);
        assert!(ev["deviations"]
            .to_string()
            .contains("clock_res_get/cputime"));
    }

    #[test]
    fn a_lying_fd_tell_fails() {
        let j = Run::with(|e| {
            (e.func == "fd_tell" && e.ret.is_some()).then(|| Seen::Errno {
                errno: 0,
                ret: Some(e.ret.unwrap() + 1),
                ok: None,
            })
        })
        .judge(&all_called());
        assert_eq!(j.verdict, Verdict::Fail);
        assert!(
            problems(&j).contains("fd_tell/valid: returned 6, expected 5"),
            "{}",
            problems(&j)
        );
    }

    #[test]
    fn enosys_fails_and_marks_the_function_unimplemented() {
        let j = Run::with(|e| {
            (e.func == "fd_advise" && !e.isolated).then_some(Seen::Errno {
                errno: ERRNO_NOSYS,
                ret: None,
                ok: None,
            })
        })
        .judge(&all_called());
        assert_eq!(j.verdict, Verdict::Fail);
        assert_eq!(j.evidence["functions"]["fd_advise"]["implemented"], false);
        assert!(problems(&j).contains("fd_advise/valid"));
    }

    #[test]
    fn a_call_with_no_host_call_fails() {
        let calls: Vec<_> = all_called()
            .into_iter()
            .filter(|(f, _)| *f != "sched_yield")
            .collect();
        let j = Run::honest().judge(&calls);
        assert_eq!(j.verdict, Verdict::Fail);
        assert!(problems(&j).contains("sched_yield: the probe called it but the runtime counted 0"));
        let mut uncounted = Run::honest();
        for r in &mut uncounted.isolated {
            r.outcome.host_calls.clear();
        }
        assert!(problems(&uncounted.judge(&[])).contains("no host calls at all"));
    }

    #[test]
    fn missing_observations_efault_wrong_exit_and_unknown_cases_fail() {
        let missing = Run::with(|e| (e.func == "sock_send").then(|| Seen::Missing(String::new())));
        let j = missing.judge(&all_called());
        assert!(
            problems(&j).contains("sock_send/not-socket: missing"),
            "{}",
            problems(&j)
        );
        let efault = Run::with(|e| {
            (e.func == "fd_read" && e.trap).then_some(Seen::Errno {
                errno: ERRNO_FAULT,
                ret: None,
                ok: None,
            })
        });
        let j = efault.judge(&all_called());
        assert_eq!(j.verdict, Verdict::Fail);
        assert_eq!(j.evidence["facts"]["oob"], "mixed");
        assert!(problems(&j).contains("fd_read/oob: returned EFAULT"));
        let zero =
            Run::with(|e| (e.func == "proc_exit" && e.exit.is_some()).then_some(Seen::Exit(0)));
        assert!(problems(&zero.judge(&all_called())).contains("expected exit 7"));
        // A trap before the case's own call is not the case's trap.
        let mut early = Run::honest();
        early.isolated[0].outcome.stdout.clear();
        assert!(problems(&early.judge(&all_called())).contains("trapped before reaching the call"));
        let mut extra = Run::honest();
        extra.main.push_str(r#"{"probe":"p1_calls","check":"p1_dynamic","what":"result","func":"fd_read","case":"new","errno":0}"#);
        extra.main.push('\n');
        assert!(problems(&extra.judge(&all_called())).contains("fd_read/new: observed but"));
    }

    #[test]
    fn a_deviation_only_excuses_its_own_errno() {
        let j = Run::with(|e| {
            (e.func == "clock_res_get" && e.case == "cputime").then_some(Seen::Errno {
                errno: 29,
                ret: None,
                ok: None,
            })
        })
        .judge(&all_called());
        assert_eq!(j.verdict, Verdict::Fail);
        assert!(problems(&j).contains("clock_res_get/cputime"));
    }

    #[test]
    fn the_case_isolates_every_trap_case() {
        let c = P1Dynamic.case();
        assert!(c.isolated.contains(&vec![
            "p1_calls".into(),
            "one".into(),
            "fd_write".into(),
            "oob".into()
        ]));
        assert_eq!(
            c.isolated.len(),
            expectations().iter().filter(|e| e.isolated).count()
        );
    }
}
