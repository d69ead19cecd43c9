//! `clock_resolution`: what `clock_res_get` claims against the tick actually delivered. A claim
//! finer than the observed tick by 100× or more is a failure of honesty; a coarser claim is
//! reported, not failed. The observed tick only counts when reads outpaced the clock (see
//! `effective_tick`), so a slow reader (an interpreter) cannot fake a coarse clock: an honest
//! clock never fails this.

use super::{effective_tick, find, quote};
use crate::{Case, Judged, Judgement, Observed};
use serde_json::{json, Value};

/// How much finer than the observed tick a claim may be before it is a lie.
pub const HONESTY_FACTOR: u64 = 100;

check! {
    ClockResolution: "clock_resolution", probe super::PROBE, area "clocks",
    case super::case(),
    controls ["clock_time_get:coarse-claims-1ns"]
}

impl ClockResolution {
    fn judge(&self, _case: &Case, o: &Observed) -> Judged {
        o.parsed()?;
        let mut problems = Vec::new();
        let mut ev = serde_json::Map::new();
        for clock in ["realtime", "monotonic"] {
            let Some(raw) = find(o, "raw", Some(clock)).into_iter().next() else {
                problems.push(format!("{clock}: no clock_res_get observation"));
                continue;
            };
            let claimed = raw.i64("res_ns").unwrap_or(-1);
            let tick = effective_tick(o, clock);
            let libc = find(o, "libc", Some(clock))
                .into_iter()
                .next()
                .and_then(|l| l.i64("res_ns"));
            ev.insert(
                clock.into(),
                json!({ "claimed_ns": claimed, "observed_tick_ns": tick, "libc_getres_ns": libc }),
            );
            if raw.i64("res_errno") != Some(0) {
                problems.push(format!(
                    "{clock}: clock_res_get failed with errno {:?}",
                    raw.i64("res_errno")
                ));
                continue;
            }
            if claimed <= 0 {
                problems.push(format!("{clock}: claims a resolution of {claimed} ns"));
                continue;
            }
            if let Some(t) = tick {
                if t >= HONESTY_FACTOR * claimed as u64 {
                    problems.push(format!(
                        "{clock}: claims {claimed} ns but ticks in steps of {t} ns ({}× coarser)",
                        t / claimed as u64
                    ));
                }
            }
        }
        for clock in ["process_cputime", "thread_cputime"] {
            if let Some(raw) = find(o, "raw", Some(clock)).into_iter().next() {
                ev.insert(clock.into(), Value::Object(raw.fields.clone()));
            }
        }
        let facts = json!({
            "realtime_claimed_ns": quote(&ev, "realtime", "claimed_ns"),
            "monotonic_claimed_ns": quote(&ev, "monotonic", "claimed_ns"),
            "process_cputime_res_ns": quote(&ev, "process_cputime", "res_ns"),
            "thread_cputime_res_ns": quote(&ev, "thread_cputime", "res_ns"),
        });
        ev.insert("facts".into(), facts);
        Ok(Judgement::from_problems(problems, json!(ev)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clocks::testdata::*;

    #[test]
    fn a_10ms_clock_claiming_1ns_fails() {
        let j = judge_edited(&ClockResolution, "ticks", Some("monotonic"), |o| {
            o["reads"] = 4_000_000.into();
            o["changes"] = 20.into();
            o["min_step_ns"] = 10_000_000.into();
        });
        assert_fails_saying(&j, "10000000 ns");
    }

    #[test]
    fn a_slow_reader_cannot_make_an_honest_clock_look_coarse() {
        // One read per change: the step is the read cost, not the tick.
        let j = judge_edited(&ClockResolution, "ticks", Some("monotonic"), |o| {
            o["reads"] = 50.into();
            o["min_step_ns"] = 5_000.into();
        });
        assert_verdict(&j, Verdict::Pass);
    }

    #[test]
    fn a_zero_claim_or_a_failing_res_get_fails() {
        let zero = judge_edited(&ClockResolution, "raw", Some("monotonic"), |o| {
            o["res_ns"] = 0.into()
        });
        assert_verdict(&zero, Verdict::Fail);
        let failing = judge_edited(&ClockResolution, "raw", Some("realtime"), |o| {
            o["res_errno"] = 52.into()
        });
        assert_verdict(&failing, Verdict::Fail);
    }
}
