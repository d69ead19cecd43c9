//! `clock_poll`: `poll_oneoff` with one clock subscription (relative and absolute) returns one
//! event of type clock with error 0 and the subscription's own userdata, and fires no earlier
//! than asked (same rule as `clock_sleep`: zero tolerance beyond the clock's tick, overshoot
//! never failed). Deterministic: an honest runtime cannot fail it.

use super::clock_sleep::judge_sleeps;
use super::{find, monotonic_advanced};
use crate::{Case, Judged, Judgement, Observed};
use serde_json::json;
use wasiprobe_model::report::Verdict;

check! {
    ClockPoll: "clock_poll", probe super::PROBE, area "clocks",
    case super::case(),
    controls ["poll_oneoff:wrong-userdata", "poll_oneoff:half"]
}

impl ClockPoll {
    fn judge(&self, _case: &Case, o: &Observed) -> Judged {
        o.parsed()?;
        let mut problems = Vec::new();
        for s in find(o, "sleep", None) {
            let m = s.str("method").unwrap_or("");
            if !m.starts_with("poll_oneoff") || s.i64("ret") != Some(0) {
                continue;
            }
            let req = s.i64("requested_ns").unwrap_or(0);
            if s.i64("nevents") != Some(1) {
                problems.push(format!(
                    "{m}({req} ns): {:?} events, expected 1",
                    s.i64("nevents")
                ));
            }
            if s.i64("event_error") != Some(0) || s.i64("event_type") != Some(0) {
                problems.push(format!(
                    "{m}({req} ns): event error {:?} type {:?}, expected 0 / clock",
                    s.i64("event_error"),
                    s.i64("event_type")
                ));
            }
            if s.fields.get("userdata_ok") != Some(&json!(true)) {
                problems.push(format!(
                    "{m}({req} ns): the event's userdata is not the subscription's"
                ));
            }
        }
        if !monotonic_advanced(o) {
            return Ok(Judgement {
                verdict: if problems.is_empty() {
                    Verdict::Error
                } else {
                    Verdict::Fail
                },
                evidence: json!({ "reason": "cannot time subscriptions: the monotonic clock does not advance", "problems": problems }),
            });
        }
        let ev = judge_sleeps(
            o,
            &["poll_oneoff", "poll_oneoff_abstime"],
            &[],
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
    fn wrong_userdata_and_early_firing_fail() {
        let wrong_userdata = judge_edited(&ClockPoll, "sleep", None, |o| {
            if o.get("userdata_ok").is_some() {
                o["userdata_ok"] = false.into();
            }
        });
        assert_verdict(&wrong_userdata, Verdict::Fail);
        let early = judge_edited(&ClockPoll, "sleep", None, wake_at_half_time);
        assert_verdict(&early, Verdict::Fail);
    }
}
