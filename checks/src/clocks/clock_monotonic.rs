//! `clock_monotonic`: the monotonic clock never goes back (zero tolerance, raw and libc) and it
//! advances. False alarms: none — an honest monotonic clock cannot produce a negative step.

use super::{find, monotonic_advanced};
use crate::{Case, Judged, Judgement, Observed};
use serde_json::{json, Value};

check! {
    ClockMonotonic: "clock_monotonic", probe super::PROBE, area "clocks",
    case super::case(),
    controls ["clock_time_get:step-back", "clock_time_get:freeze"]
}

impl ClockMonotonic {
    fn judge(&self, _case: &Case, o: &Observed) -> Judged {
        o.parsed()?;
        let mut problems = Vec::new();
        let mut ev = serde_json::Map::new();
        let reads = find(o, "reads", Some("monotonic"));
        if reads.is_empty() {
            problems.push("the probe reported no monotonic reads".to_string());
        }
        for r in reads {
            let via = r.str("via").unwrap_or("?");
            let neg = r.i64("negative_steps").unwrap_or(-1);
            if r.i64("errno") != Some(0) {
                problems.push(format!(
                    "{via}: reading the monotonic clock failed with errno {:?}",
                    r.i64("errno")
                ));
            }
            if neg != 0 {
                problems.push(format!(
                    "{via}: the monotonic clock went back {neg} times in {} reads, by up to {} ns",
                    r.i64("n").unwrap_or(0),
                    -r.i64("most_negative_ns").unwrap_or(0)
                ));
            }
            ev.insert(via.to_string(), Value::Object(r.fields.clone()));
        }
        if !monotonic_advanced(o) {
            problems
                .push("the monotonic clock did not advance during the whole run (frozen)".into());
        }
        Ok(Judgement::from_problems(problems, json!(ev)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clocks::testdata::*;

    #[test]
    fn step_back_and_freeze_fail() {
        let j = judge_edited(&ClockMonotonic, "reads", Some("monotonic"), |o| {
            o["negative_steps"] = 1.into();
            o["most_negative_ns"] = (-1_000_000).into();
        });
        assert_fails_saying(&j, "went back");
        assert_verdict(&judge(&ClockMonotonic, &frozen()), Verdict::Fail);
    }
}
