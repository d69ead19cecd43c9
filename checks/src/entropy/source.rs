//! `entropy_source`: how often each randomness API of the libc asks the host
//! (`probes/c/entropy_source.c` counts the `random_get` calls libc makes, from inside the
//! guest). A fact per SDK — "arc4random: 1 host call per 1000 calls, an in-guest generator
//! seeded once" (wasi-libc before #620, SDK 28) or "1000 per 1000, the host on every call" —
//! and what it means: an in-guest generator hides a host source that repeats or is constant
//! behind good-looking output (only comparing runs, `entropy_cross_run`, still sees it), while
//! a per-call libc passes the host's bytes through to the statistical checks.
//! Judged: getentropy must reach the host on every call (it is the host's entropy by
//! definition), and arc4random must reach it at least once (never asking means a built-in
//! seed). Deterministic: counts, no statistics.

use crate::{Case, Judged, Judgement, Observed};
use serde_json::json;

pub const PROBE: &str = "entropy_source";

check! {
    EntropySource: "entropy_source", probe PROBE, area "entropy",
    case Case::probe(PROBE),
    controls []
}

impl EntropySource {
    fn judge(&self, _case: &Case, o: &Observed) -> Judged {
        let obs = o.parsed()?;
        let api = |name: &str| {
            obs.iter()
                .find(|x| x.str("what") == Some("api") && x.str("api") == Some(name))
        };
        let done = o.done("the probe did not report `done`")?;
        let calls = |name: &str| api(name).and_then(|x| x.i64("random_get_calls"));
        let (buf, word, ge) = (
            calls("arc4random_buf(16)"),
            calls("arc4random()"),
            calls("getentropy(16)"),
        );
        let seen: i64 = obs
            .iter()
            .filter(|x| x.str("what") == Some("api"))
            .filter_map(|x| x.i64("random_get_calls"))
            .sum();
        let mut problems = Vec::new();
        if seen == 0 {
            // Nothing reached the interposed import: this libc calls the host another way.
            return Ok(Judgement::skip(
                json!({ "reason": "no random_get call reached the interposed import: this libc's calls cannot be counted from the guest" }),
            ));
        }
        match ge {
            Some(1000) => {}
            n => problems.push(format!(
                "getentropy(16) × 1000 made {n:?} random_get calls; each must reach the host"
            )),
        }
        if done.i64("getentropy_failures") != Some(0) {
            problems.push(format!(
                "getentropy failed {:?} times",
                done.i64("getentropy_failures")
            ));
        }
        if buf.unwrap_or(0) + word.unwrap_or(0) == 0 {
            problems.push("2000 arc4random calls made no random_get call: the generator never asked the host for a seed".into());
        }
        let per_call = buf == Some(1000) && word == Some(1000);
        let source = if per_call {
            "the host on every call: a bad host source shows in the output"
        } else {
            "an in-guest generator seeded from random_get: it hides a bad host source behind good-looking output"
        };
        let host = o.outcome.host_calls.get("random_get").copied();
        Ok(Judgement::from_problems(
            problems,
            json!({
                "facts": {
                    "arc4random_buf_host_calls_per_1000": buf,
                    "arc4random_host_calls_per_1000": word,
                    "getentropy_host_calls_per_1000": ge,
                    "arc4random_source": source,
                    "hides_host_source": !per_call,
                },
                "random_get_calls_counted_by_the_runtime": host,
            }),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{assert_fails_saying, assert_verdict, judge_stdout};
    use wasiprobe_model::report::Verdict;

    fn out(buf: i64, word: i64, ge: i64) -> Vec<u8> {
        let l = |api: &str, n: i64| {
            format!("{{\"probe\":\"entropy_source\",\"check\":\"entropy_source\",\"what\":\"api\",\"api\":\"{api}\",\"calls\":1000,\"random_get_calls\":{n},\"random_get_bytes\":0}}\n")
        };
        (l("startup", 0) + &l("arc4random_buf(16)", buf) + &l("arc4random()", word) + &l("getentropy(16)", ge)
            + "{\"probe\":\"entropy_source\",\"check\":\"entropy_source\",\"what\":\"done\",\"getentropy_failures\":0,\"xor\":1}\n")
            .into_bytes()
    }

    #[test]
    fn both_designs_are_facts_and_a_libc_that_never_asks_fails() {
        let old = judge_stdout(&EntropySource, out(1, 0, 1000));
        assert_verdict(&old, Verdict::Pass);
        assert_eq!(old.evidence["facts"]["hides_host_source"], true);
        let new = judge_stdout(&EntropySource, out(1000, 1000, 1000));
        assert_verdict(&new, Verdict::Pass);
        assert_eq!(new.evidence["facts"]["hides_host_source"], false);
        assert_fails_saying(
            &judge_stdout(&EntropySource, out(0, 0, 1000)),
            "never asked the host",
        );
        let cached = judge_stdout(&EntropySource, out(1000, 1000, 1));
        assert_verdict(&cached, Verdict::Fail);
        assert_verdict(&judge_stdout(&EntropySource, out(0, 0, 0)), Verdict::Skip);
    }
}
