//! `clock_sleep`: libc sleeps (`nanosleep`, `clock_nanosleep` relative and TIMER_ABSTIME,
//! `usleep`) never return early, measured on the monotonic clock; a 0 ms sleep returns; the
//! overshoot is reported as p50/p99/max. Zero tolerance, except the clock's own observed tick
//! (a 10 ms clock cannot time a 1 µs sleep). Overshoot is never failed, so a loaded machine
//! cannot make an honest runtime fail: false alarms are impossible by construction.
//! `clock_nanosleep(TIMER_ABSTIME)` that the SDK does not support is a fact, not a failure.

use super::{effective_tick, find, monotonic_advanced, percentiles};
use crate::{Case, Judged, Judgement, Observed};
use serde_json::json;
use std::collections::BTreeMap;
use wasiprobe_model::report::Verdict;

/// Judges `sleep` observations of the given methods: shared with `clock_poll`, whose
/// subscriptions must fire no earlier than asked in exactly the same sense.
pub fn judge_sleeps(
    o: &Observed,
    methods: &[&str],
    optional: &[&str],
    problems: &mut Vec<String>,
) -> serde_json::Value {
    let tick = effective_tick(o, "monotonic").unwrap_or(0) as i64;
    let mut overshoot: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    let mut unsupported = Vec::new();
    let mut seen = 0;
    for s in find(o, "sleep", None) {
        let Some(m) = s.str("method") else { continue };
        let Some(method) = methods.iter().find(|x| **x == m) else {
            continue;
        };
        seen += 1;
        let req = s.i64("requested_ns").unwrap_or(0);
        let el = s.i64("elapsed_ns").unwrap_or(0);
        if s.i64("ret") != Some(0) {
            if optional.contains(method) {
                if !unsupported.contains(method) {
                    unsupported.push(*method);
                }
            } else {
                problems.push(format!("{m}({req} ns) returned {:?}", s.i64("ret")));
            }
            continue;
        }
        if el + tick < req {
            problems.push(format!(
                "{m}: asked for {req} ns, returned after {el} ns (early by {} ns)",
                req - el
            ));
        }
        if req >= 1_000_000 {
            overshoot.entry(method).or_default().push(el - req);
        }
    }
    if seen == 0 {
        problems.push(format!("no sleeps of {methods:?} were reported"));
    }
    let stats: BTreeMap<&str, serde_json::Value> = overshoot
        .into_iter()
        .map(|(k, v)| (k, percentiles(v)))
        .collect();
    json!({ "overshoot_ns": stats, "unsupported": unsupported, "clock_tick_allowance_ns": tick, "samples": seen, "facts": { "unsupported": unsupported } })
}

check! {
    ClockSleep: "clock_sleep", probe super::PROBE, area "clocks",
    case super::case(),
    controls ["poll_oneoff:half"]
}

impl ClockSleep {
    fn judge(&self, _case: &Case, o: &Observed) -> Judged {
        o.parsed()?;
        if !monotonic_advanced(o) {
            return Ok(Judgement {
                verdict: Verdict::Error,
                evidence: json!({ "reason": "cannot judge sleeps: the monotonic clock does not advance (see clock_monotonic)" }),
            });
        }
        let mut problems = Vec::new();
        let ev = judge_sleeps(
            o,
            &[
                "nanosleep",
                "clock_nanosleep",
                "clock_nanosleep_abstime",
                "usleep",
                // The Python twin (probes/python/clocks.py).
                "time.sleep",
            ],
            &["clock_nanosleep_abstime"],
            &mut problems,
        );
        Ok(Judgement::from_problems(problems, ev))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clocks::testdata::*;

    #[test]
    fn honest_passes_with_overshoot_stats() {
        let j = judge(&ClockSleep, &honest());
        assert_verdict(&j, Verdict::Pass);
        assert_eq!(j.evidence["overshoot_ns"]["nanosleep"]["p50"], 80_000);
    }

    #[test]
    fn a_sleep_at_half_time_fails_but_huge_overshoot_does_not() {
        let early = judge_edited(&ClockSleep, "sleep", None, wake_at_half_time);
        assert_verdict(&early, Verdict::Fail);
        let late = judge_edited(&ClockSleep, "sleep", None, |o| {
            o["elapsed_ns"] = (o["requested_ns"].as_i64().unwrap() + 900_000_000).into()
        });
        assert_verdict(&late, Verdict::Pass);
    }

    #[test]
    fn unsupported_abstime_is_a_fact_but_a_failing_nanosleep_is_not() {
        let mut v = honest();
        for o in v.iter_mut() {
            if o["method"] == "clock_nanosleep_abstime" {
                o["ret"] = 58.into();
            }
        }
        let j = judge(&ClockSleep, &v);
        assert_verdict(&j, Verdict::Pass);
        assert_eq!(j.evidence["unsupported"][0], "clock_nanosleep_abstime");
        for o in v.iter_mut() {
            if o["method"] == "nanosleep" {
                o["ret"] = (-1).into();
            }
        }
        assert_verdict(&judge(&ClockSleep, &v), Verdict::Fail);
    }

    #[test]
    fn a_frozen_clock_makes_sleeps_unjudgeable_not_failed() {
        let mut v = frozen();
        edit(&mut v, "sleep", None, |o| o["elapsed_ns"] = 0.into());
        assert_verdict(&judge(&ClockSleep, &v), Verdict::Error);
    }
}
