//! `clock_cputime`: the CPU-time clocks either fail cleanly (an errno, recorded as a fact with
//! whether this SDK's headers define them) or count CPU time: they advance under a busy loop
//! and the thread clock does not advance like wall time during a sleep.
//!
//! Rules, with why an honest runtime cannot trip them:
//! - under ~50 ms of busy work the clock must advance by at least 1% of the wall time: a
//!   frozen clock, or one counting in the wrong unit (µs as ns: 1000× slow), fails. The bound
//!   is that loose because a loaded host starves the guest honestly: a native run on a 2-core
//!   machine at load 8 was seen getting 22% of the window (an earlier bound of 25% failed it);
//!   only starvation beyond 99% could fail an honest clock;
//! - the *thread* clock must not match wall time within 2% in both the busy and the sleep
//!   window (a sleeping thread uses ~no CPU). The *process* clock is exempt from this rule:
//!   a host process's other threads (other cases) may legitimately burn CPU while this guest
//!   sleeps.

use super::{find, quote};
use crate::{Case, Judged, Judgement, Observed};
use serde_json::{json, Value};

fn near(a: i64, b: i64) -> bool {
    b > 0 && (a - b).abs() * 50 <= b
}

check! {
    ClockCputime: "clock_cputime", probe super::PROBE, area "clocks",
    case super::case(),
    controls ["clock_time_get:cpu-is-wall"]
}

impl ClockCputime {
    fn judge(&self, _case: &Case, o: &Observed) -> Judged {
        o.parsed()?;
        let mut problems = Vec::new();
        let mut ev = serde_json::Map::new();
        if let Some(h) = find(o, "headers", None).into_iter().next() {
            ev.insert("headers".into(), Value::Object(h.fields.clone()));
        }
        if let Some(l) = find(o, "libc", None)
            .into_iter()
            .find(|l| l.fields.get("check") == Some(&json!("clock_cputime")))
        {
            ev.insert(
                "libc_process_cputime".into(),
                json!({ "ret": l.i64("ret"), "errno": l.i64("errno") }),
            );
        }
        let loads = find(o, "load", None);
        if loads.is_empty() {
            problems.push("the probe reported no CPU-time measurements".into());
        }
        for l in loads {
            let clock = l.str("clock").unwrap_or("?");
            let errno = l.i64("errno").unwrap_or(-1);
            let (bw, bc, sw, sc) = (
                l.i64("busy_wall_ns").unwrap_or(0),
                l.i64("busy_cpu_ns").unwrap_or(-1),
                l.i64("sleep_wall_ns").unwrap_or(0),
                l.i64("sleep_cpu_ns").unwrap_or(-1),
            );
            if errno != 0 {
                ev.insert(clock.into(), json!({ "exists": false, "errno": errno }));
                continue;
            }
            ev.insert(clock.into(), json!({ "exists": true, "busy_wall_ns": bw, "busy_cpu_ns": bc, "sleep_wall_ns": sw, "sleep_cpu_ns": sc }));
            if bc * 100 < bw {
                problems.push(format!(
                    "{clock}: advanced {bc} ns during {bw} ns of busy work"
                ));
            }
            // One thread cannot use more CPU time than wall time; the slack covers a coarse
            // CPU clock. CPython 3.12 on WASI was seen counting 10^7 times too fast: its
            // process_time() fell back to times(), which `libc_process_clocks` judges.
            if bc > 2 * bw + 50_000_000 || sc > 2 * sw + 50_000_000 {
                problems.push(format!(
                    "{clock}: advanced faster than wall time (busy {bc}/{bw} ns, asleep {sc}/{sw} ns)"
                ));
            }
            if clock == "thread_cputime" && near(bc, bw) && near(sc, sw) {
                problems.push(format!(
                    "{clock}: counts wall time (busy {bc}/{bw} ns, asleep {sc}/{sw} ns)"
                ));
            }
        }
        // Stable, comparable facts: what an SDK bump changes (see `wasiprobe evidence`).
        let facts = json!({
            "process_cputime_defined": quote(&ev, "headers", "process_cputime_defined"),
            "thread_cputime_defined": quote(&ev, "headers", "thread_cputime_defined"),
            "process_cputime_exists": quote(&ev, "process_cputime", "exists"),
            "thread_cputime_exists": quote(&ev, "thread_cputime", "exists"),
            "process_cputime_errno": quote(&ev, "process_cputime", "errno"),
            "libc_process_cputime_errno": quote(&ev, "libc_process_cputime", "errno"),
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
    fn a_cpu_clock_faster_than_wall_time_fails() {
        let j = judge_edited(&ClockCputime, "load", Some("process_cputime"), |o| {
            o["errno"] = 0.into();
            o["busy_cpu_ns"] = 500_000_000_000_000i64.into();
            o["sleep_cpu_ns"] = 0.into();
        });
        assert_fails_saying(&j, "faster than wall time");
    }

    #[test]
    fn absent_clocks_pass_as_facts() {
        let j = judge(&ClockCputime, &honest());
        assert_verdict(&j, Verdict::Pass);
        assert_eq!(j.evidence["thread_cputime"]["exists"], false);
    }

    #[test]
    fn real_cpu_clocks_pass_wall_time_and_stuck_clocks_fail() {
        let mut v = honest();
        edit(&mut v, "load", None, |o| {
            o["errno"] = 0.into();
            o["busy_cpu_ns"] = 49_000_000.into();
            o["sleep_cpu_ns"] = 100_000.into();
        });
        assert_verdict(&judge(&ClockCputime, &v), Verdict::Pass);
        let with_loads = |f: fn(&mut Value)| {
            let mut w = v.clone();
            edit(&mut w, "load", None, f);
            judge(&ClockCputime, &w)
        };
        let wall = with_loads(|o| {
            o["busy_cpu_ns"] = o["busy_wall_ns"].clone();
            o["sleep_cpu_ns"] = o["sleep_wall_ns"].clone();
        });
        assert_fails_saying(&wall, "thread_cputime: counts wall time");
        // A loaded host starving the guest to 22% of the busy window is honest (seen natively
        // at load 8 on 2 cores).
        let starved = with_loads(|o| {
            o["busy_cpu_ns"] = (o["busy_wall_ns"].as_i64().unwrap() * 22 / 100).into()
        });
        assert_verdict(&starved, Verdict::Pass);
        // A clock in µs read as ns (1000× slow) fails, as does a frozen one.
        let micros =
            with_loads(|o| o["busy_cpu_ns"] = (o["busy_wall_ns"].as_i64().unwrap() / 1000).into());
        assert_verdict(&micros, Verdict::Fail);
        let stuck = with_loads(|o| o["busy_cpu_ns"] = 0.into());
        assert_verdict(&stuck, Verdict::Fail);
    }
}
