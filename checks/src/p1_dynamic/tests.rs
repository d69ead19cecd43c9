use super::*;
use crate::testutil::outcome;
use crate::Check;
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
        let check: &dyn Check = &P1Dynamic;
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
    let src = include_str!("../../../probes/c/p1_calls.c");
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
    let zero = Run::with(|e| (e.func == "proc_exit" && e.exit.is_some()).then_some(Seen::Exit(0)));
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
