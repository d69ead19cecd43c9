//! `libc_sleep_clock`: which clock each sleep function's `poll_oneoff` subscription names, as
//! `probes/c/libc_edges.c` sees it from inside the guest. wasi-libc #753 (SDK 31) moved
//! `sleep`/`usleep`/`nanosleep` from CLOCK_REALTIME to CLOCK_MONOTONIC — for wasip2 and later;
//! its wasip1 build keeps REALTIME, so a wall-clock step shortens or stretches a Preview 1
//! sleep. These are facts. Judged: `clock_nanosleep(CLOCK_X, 0, …)` must subscribe to CLOCK_X
//! with a relative timeout — POSIX defines it by the clock it is given. A libc whose calls
//! bypass the interposed import is not observable: `skip`, never a pass. Deterministic.

use crate::{Case, Judged, Judgement, Observed};
use serde_json::{json, Map};

fn clock_name(id: &str) -> String {
    let (n, abs) = match id.strip_suffix('a') {
        Some(n) => (n, " (absolute)"),
        None => (id, ""),
    };
    let name = match n {
        "0" => "realtime",
        "1" => "monotonic",
        "2" => "process-cputime",
        "3" => "thread-cputime",
        other => other,
    };
    format!("{name}{abs}")
}

check! {
    LibcSleepClock: "libc_sleep_clock", probe super::posix::PROBE, area "libc",
    case Case::probe(super::posix::PROBE),
    controls []
}

impl LibcSleepClock {
    fn judge(&self, _case: &Case, o: &Observed) -> Judged {
        let obs = o.parsed()?;
        let lines: Vec<_> = obs
            .iter()
            .filter(|x| x.str("what") == Some("sleep_clock"))
            .collect();
        if lines.is_empty() {
            return Ok(Judgement::fail(
                json!({ "reason": "the probe reported no sleep" }),
            ));
        }
        if lines.iter().all(|l| l.i64("poll_oneoff_calls") == Some(0)) {
            return Ok(Judgement::skip(
                json!({ "reason": "no sleep reached the interposed poll_oneoff import: this libc calls the host another way, so its subscriptions cannot be seen from the guest" }),
            ));
        }
        let mut facts = Map::new();
        let mut problems = Vec::new();
        for l in &lines {
            let api = l.str("api").unwrap_or("?");
            let clocks: Vec<String> = l
                .str("clocks")
                .unwrap_or("")
                .split(',')
                .filter(|s| !s.is_empty())
                .map(clock_name)
                .collect();
            if l.i64("ret") != Some(0) {
                problems.push(format!(
                    "{api} failed: returned {:?} (errno {:?})",
                    l.i64("ret"),
                    l.i64("errno")
                ));
            }
            let want = if api.contains("CLOCK_MONOTONIC") {
                Some("monotonic")
            } else if api.contains("CLOCK_REALTIME") {
                Some("realtime")
            } else {
                None
            };
            if let Some(w) = want {
                if clocks != [w] {
                    problems.push(format!(
                        "{api} subscribed to {clocks:?}; it must wait on the {w} clock, relative"
                    ));
                }
            }
            facts.insert(api.to_string(), json!(clocks.join(", ")));
        }
        Ok(Judgement::from_problems(
            problems,
            json!({ "facts": facts }),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{assert_verdict, judge_stdout};
    use wasiprobe_model::report::Verdict;

    fn out(rows: &[(&str, i64, &str)]) -> Vec<u8> {
        rows.iter()
            .map(|(api, calls, clocks)| format!("{{\"probe\":\"libc_edges\",\"check\":\"libc_sleep_clock\",\"what\":\"sleep_clock\",\"api\":\"{api}\",\"ret\":0,\"errno\":0,\"poll_oneoff_calls\":{calls},\"clocks\":\"{clocks}\"}}\n"))
            .collect::<String>()
            .into_bytes()
    }

    #[test]
    fn the_clocks_are_facts_and_clock_nanosleep_must_use_its_clock() {
        let honest = out(&[
            ("nanosleep", 1, "0"),
            ("clock_nanosleep(CLOCK_REALTIME)", 1, "0"),
            ("clock_nanosleep(CLOCK_MONOTONIC)", 1, "1"),
        ]);
        let j = judge_stdout(&LibcSleepClock, honest);
        assert_verdict(&j, Verdict::Pass);
        assert_eq!(j.evidence["facts"]["nanosleep"], "realtime");
        for bad in [
            out(&[("clock_nanosleep(CLOCK_MONOTONIC)", 1, "0")]),
            out(&[("clock_nanosleep(CLOCK_MONOTONIC)", 1, "1a")]),
            out(&[("clock_nanosleep(CLOCK_REALTIME)", 2, "0,0")]),
        ] {
            assert_verdict(&judge_stdout(&LibcSleepClock, bad), Verdict::Fail);
        }
        let unseen = out(&[
            ("nanosleep", 0, ""),
            ("clock_nanosleep(CLOCK_MONOTONIC)", 0, ""),
        ]);
        assert_verdict(&judge_stdout(&LibcSleepClock, unseen), Verdict::Skip);
    }
}
