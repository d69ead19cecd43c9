//! The clock checks. All six judge one run of the `clocks` probe (they share its case, so the
//! orchestrator runs it once per sdk × runtime). Every verdict rule is deterministic given the
//! observations and is chosen so that an honest runtime cannot fail it however loaded the
//! machine is: sleeps may overshoot without limit, clocks may be read slowly; only what the
//! clock contract forbids (going back, firing early, claiming a finer tick than delivered,
//! a wall clock hours off, CPU time that is wall time) fails. Their false-alarm rate is
//! therefore zero by construction, not a statistical bound; each file says why.

use super::{Case, Observed};
use crate::protocol::Observation;
use serde_json::{json, Value};

area_checks! {
    clock_monotonic::ClockMonotonic,
    clock_resolution::ClockResolution,
    clock_sleep::ClockSleep,
    clock_poll::ClockPoll,
    clock_realtime::ClockRealtime,
    clock_cputime::ClockCputime,
}

pub const PROBE: &str = "clocks";

pub fn case() -> Case {
    Case::probe(PROBE)
}

/// Observations of one kind (`what`) for one clock (or any clock when `clock` is None).
pub fn find<'a>(o: &'a Observed, what: &'a str, clock: Option<&'a str>) -> Vec<&'a Observation> {
    match &o.observations {
        Ok(v) => v
            .iter()
            .filter(|ob| ob.str("what") == Some(what))
            .filter(|ob| clock.is_none() || ob.str("clock") == clock)
            .collect(),
        Err(_) => vec![],
    }
}

/// The tick a clock really has, from the probe's tick loop: the smallest step between two
/// different readings — but only when reads came faster than the clock changed (on average at
/// least two reads per change). Otherwise the step measures the cost of a read, not the clock,
/// and nothing can be said (None).
pub fn effective_tick(o: &Observed, clock: &str) -> Option<u64> {
    let t = find(o, "ticks", Some(clock)).into_iter().next()?;
    let changes = t.i64("changes")?;
    let reads = t.i64("reads")?;
    if changes > 0 && reads >= 2 * changes {
        t.i64("min_step_ns").map(|v| v as u64)
    } else {
        None
    }
}

/// Whether the monotonic clock visibly advanced during the run (tick loop or reads).
pub fn monotonic_advanced(o: &Observed) -> bool {
    let ticked = find(o, "ticks", Some("monotonic"))
        .iter()
        .any(|t| t.i64("changes").unwrap_or(0) > 0);
    let moved = find(o, "reads", Some("monotonic"))
        .iter()
        .any(|r| r.i64("last").unwrap_or(0) > r.i64("first").unwrap_or(0));
    ticked || moved
}

/// `ev[key][field]`, or null where either is missing: the facts a check quotes from its own
/// evidence, so that a fact is always present, if only as null, for `wasiprobe evidence` to diff.
pub fn quote(ev: &serde_json::Map<String, Value>, key: &str, field: &str) -> Value {
    ev.get(key)
        .and_then(|v| v.get(field))
        .cloned()
        .unwrap_or(Value::Null)
}

/// p50 / p99 / max of a list (nearest rank), for overshoot evidence.
pub fn percentiles(mut v: Vec<i64>) -> Value {
    if v.is_empty() {
        return Value::Null;
    }
    v.sort_unstable();
    let at = |q: f64| v[((q * (v.len() - 1) as f64).round() as usize).min(v.len() - 1)];
    json!({ "p50": at(0.5), "p99": at(0.99), "max": v[v.len() - 1], "n": v.len() })
}

#[cfg(test)]
pub(crate) mod testdata {
    //! An honest `clocks` run, written by hand from what the probe prints, and helpers to break
    //! it the way each liar would.
    pub use crate::testutil::{assert_fails_saying, assert_verdict};
    use crate::{Check, Judgement};
    use serde_json::{json, Value};
    pub use wasiprobe_model::report::Verdict;

    pub fn line(v: Value) -> String {
        let mut v = v;
        v["probe"] = json!("clocks");
        if v.get("check").is_none() {
            v["check"] = json!("clock_monotonic");
        }
        format!("{v}\n")
    }

    pub fn honest() -> Vec<Value> {
        let mut v = vec![
            json!({"check":"clock_realtime","what":"realtime","when":"start","errno":0,"raw_ns":1_000_000_000_000_000_000i64,"gettimeofday_us":1_000_000_000_000_000i64,"time_s":1_000_000_000}),
            json!({"check":"clock_resolution","what":"raw","clock":"realtime","res_errno":0,"res_ns":1,"time_errno":0}),
            json!({"check":"clock_resolution","what":"raw","clock":"monotonic","res_errno":0,"res_ns":1,"time_errno":0}),
            json!({"check":"clock_resolution","what":"raw","clock":"process_cputime","res_errno":8,"res_ns":-1,"time_errno":8}),
            json!({"check":"clock_resolution","what":"raw","clock":"thread_cputime","res_errno":8,"res_ns":-1,"time_errno":8}),
            json!({"check":"clock_cputime","what":"headers","process_cputime_defined":false,"thread_cputime_defined":false}),
            json!({"what":"reads","via":"raw","clock":"monotonic","errno":0,"n":100000,"zero_steps":10,"negative_steps":0,"most_negative_ns":0,"min_positive_ns":30,"max_step_ns":20000,"first":5,"last":5_000_000}),
            json!({"what":"reads","via":"raw","clock":"realtime","errno":0,"n":100000,"zero_steps":10,"negative_steps":0,"most_negative_ns":0,"min_positive_ns":30,"max_step_ns":20000,"first":5,"last":5_000_000}),
            json!({"what":"reads","via":"libc","clock":"monotonic","errno":0,"n":100000,"zero_steps":10,"negative_steps":0,"most_negative_ns":0,"min_positive_ns":30,"max_step_ns":20000,"first":5,"last":5_000_000}),
            json!({"check":"clock_resolution","what":"ticks","clock":"monotonic","changes":50,"reads":51,"min_step_ns":30,"max_step_ns":200}),
            json!({"check":"clock_resolution","what":"ticks","clock":"realtime","changes":50,"reads":52,"min_step_ns":30,"max_step_ns":200}),
            json!({"check":"clock_cputime","what":"load","clock":"process_cputime","errno":8,"busy_wall_ns":50_000_000,"busy_cpu_ns":-1,"sleep_wall_ns":50_100_000,"sleep_cpu_ns":-1}),
            json!({"check":"clock_cputime","what":"load","clock":"thread_cputime","errno":8,"busy_wall_ns":50_000_000,"busy_cpu_ns":-1,"sleep_wall_ns":50_100_000,"sleep_cpu_ns":-1}),
            json!({"check":"clock_realtime","what":"realtime","when":"end","errno":0,"raw_ns":1_000_000_003_000_000_000i64,"gettimeofday_us":1_000_000_003_000_000i64,"time_s":1_000_000_003}),
            json!({"what":"done"}),
        ];
        for (m, poll) in [
            ("nanosleep", false),
            ("clock_nanosleep", false),
            ("clock_nanosleep_abstime", false),
            ("usleep", false),
            ("poll_oneoff", true),
            ("poll_oneoff_abstime", true),
        ] {
            for ns in [0i64, 1000, 1_000_000, 10_000_000, 100_000_000] {
                let mut o = json!({"check": if poll {"clock_poll"} else {"clock_sleep"}, "what":"sleep","method":m,"requested_ns":ns,"elapsed_ns":ns + 80_000,"ret":0});
                if poll {
                    o["nevents"] = json!(1);
                    o["event_error"] = json!(0);
                    o["event_type"] = json!(0);
                    o["userdata_ok"] = json!(true);
                }
                v.push(o);
            }
        }
        v
    }

    /// Host window around the honest run: realtime start/end lie inside it.
    pub const WINDOW: (u128, u128) = (999_999_999_500_000_000, 1_000_000_003_500_000_000);

    pub fn stdout(v: &[Value]) -> Vec<u8> {
        v.iter()
            .map(|x| line(x.clone()))
            .collect::<String>()
            .into_bytes()
    }

    pub fn judge(check: &dyn Check, v: &[Value]) -> Judgement {
        let out = crate::testutil::outcome(0, stdout(v), vec![]);
        let obs = crate::protocol::parse(&out.stdout);
        check.judge(
            &check.case(),
            &crate::Observed {
                outcome: &out,
                observations: obs,
                scratch: None,
                case_root: None,
                host_window_ns: WINDOW,
                rerun: None,
                rerun_outcome: None,
                isolated: &[],
            },
        )
    }

    /// Applies `f` to every observation with `what` (and `clock`, when given).
    pub fn edit(v: &mut [Value], what: &str, clock: Option<&str>, f: impl Fn(&mut Value)) {
        for o in v.iter_mut() {
            if o["what"] == what && clock.is_none_or(|c| o["clock"] == c) {
                f(o);
            }
        }
    }

    /// `check`'s judgement of the honest run with one [`edit`].
    pub fn judge_edited(
        check: &dyn Check,
        what: &str,
        clock: Option<&str>,
        f: impl Fn(&mut Value),
    ) -> Judgement {
        let mut v = honest();
        edit(&mut v, what, clock, f);
        judge(check, &v)
    }

    /// The honest run with a monotonic clock that never moves, in its reads or its tick loop.
    pub fn frozen() -> Vec<Value> {
        let mut v = honest();
        edit(&mut v, "reads", Some("monotonic"), |o| {
            o["last"] = o["first"].clone()
        });
        edit(&mut v, "ticks", Some("monotonic"), |o| {
            o["changes"] = 0.into()
        });
        v
    }

    /// A sleep or subscription that returns after half the time asked (`poll_oneoff:half`).
    pub fn wake_at_half_time(o: &mut Value) {
        o["elapsed_ns"] = (o["requested_ns"].as_i64().unwrap() / 2).into();
    }
}

#[cfg(test)]
mod tests {
    use super::testdata::*;

    #[test]
    fn the_honest_run_passes_every_clock_check() {
        let checks: Vec<_> = crate::all()
            .into_iter()
            .filter(|c| c.probe() == super::PROBE)
            .collect();
        // At least the six this area started with; a new clock check needs no edit here.
        assert!(checks.len() >= 6, "{}", checks.len());
        for check in checks {
            let j = judge(check.as_ref(), &honest());
            assert_eq!(j.verdict, Verdict::Pass, "{}: {}", check.name(), j.evidence);
        }
    }
}
