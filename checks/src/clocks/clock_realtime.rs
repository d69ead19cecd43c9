//! `clock_realtime`: the guest's realtime clock (raw, `gettimeofday`, `time`) lies within the
//! host's wall-clock window around the run, ± `TOLERANCE_NS`. The tolerance absorbs the host and
//! guest reading their clocks at different instants and whole-second `time()`; it is far below
//! the errors this catches (time zones, a fixed epoch, a frozen snapshot). An honest runtime
//! reads the same host clock, so a false alarm needs the host clock itself to jump by more than
//! the tolerance during the run.

use super::find;
use crate::{Case, Judged, Judgement, Observed};
use serde_json::json;

pub const TOLERANCE_NS: i128 = 2_000_000_000;

check! {
    ClockRealtime: "clock_realtime", probe super::PROBE, area "clocks",
    case super::case(),
    controls ["clock_time_get:realtime-plus-1h"]
}

impl ClockRealtime {
    fn judge(&self, _case: &Case, o: &Observed) -> Judged {
        o.parsed()?;
        let (lo, hi) = (
            o.host_window_ns.0 as i128 - TOLERANCE_NS,
            o.host_window_ns.1 as i128 + TOLERANCE_NS,
        );
        let mut problems = Vec::new();
        let mut offsets = Vec::new();
        let obs = find(o, "realtime", None);
        if obs.len() < 2 {
            problems.push("the probe reported fewer than two realtime readings".into());
        }
        for r in obs {
            let when = r.str("when").unwrap_or("?");
            if r.i64("errno") != Some(0) {
                problems.push(format!(
                    "{when}: clock_time_get(REALTIME) failed with errno {:?}",
                    r.i64("errno")
                ));
                continue;
            }
            for (name, ns) in [
                ("raw", r.i64("raw_ns").map(|v| v as i128)),
                (
                    "gettimeofday",
                    r.i64("gettimeofday_us").map(|v| v as i128 * 1000),
                ),
                ("time", r.i64("time_s").map(|v| v as i128 * 1_000_000_000)),
            ] {
                let Some(ns) = ns else { continue };
                // `time()` truncates to the second: give it that second.
                let lo = if name == "time" {
                    lo - 1_000_000_000
                } else {
                    lo
                };
                let off = if ns < lo {
                    ns - lo
                } else if ns > hi {
                    ns - hi
                } else {
                    0
                };
                offsets.push(json!({ "when": when, "via": name, "outside_window_ns": off as i64 }));
                if off != 0 {
                    problems.push(format!(
                        "{when} {name}: {} s outside the host's wall-clock window",
                        off as f64 / 1e9
                    ));
                }
            }
        }
        Ok(Judgement::from_problems(
            problems,
            json!({ "host_window_ns": [o.host_window_ns.0 as u64, o.host_window_ns.1 as u64], "tolerance_ns": TOLERANCE_NS as i64, "readings": offsets }),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clocks::testdata::*;

    #[test]
    fn an_hour_off_fails() {
        let j = judge_edited(&ClockRealtime, "realtime", None, |o| {
            o["raw_ns"] = (o["raw_ns"].as_i64().unwrap() + 3_600_000_000_000).into()
        });
        assert_fails_saying(&j, "raw");
    }
}
