//! `libc_tsd`: thread-specific data in a single-threaded program (`probes/c/tsd.c`): create a
//! key with a destructor, set and read it, delete it, create another, exit. With wasi-libc's
//! pthread stubs before #618, `pthread_key_delete` loops for ever (wasi-libc #617: CPython on
//! SDK 26/27 hung at exit and in test_pythread_tss_key_state); such a run is a `timeout` cell
//! whose evidence ends with the step it was in (the probe announces each step on stderr).
//! A libc without pthread keys cannot build the probe: the cell is `skip`, with the symbols.
//! Deterministic.

use crate::{Case, Judged, Judgement, Observed};
use serde_json::json;

check! {
    LibcTsd: "libc_tsd", probe "tsd", area "libc",
    case Case::probe("tsd"),
    controls []
}

impl LibcTsd {
    fn judge(&self, _case: &Case, o: &Observed) -> Judged {
        let obs = o.parsed()?;
        let get = |w: &str| {
            obs.iter()
                .find(|x| x.str("what") == Some(w))
                .and_then(|x| x.i64("ret"))
        };
        let mut problems = Vec::new();
        for (step, want) in [
            ("pthread_key_create", 0),
            ("pthread_setspecific", 0),
            ("pthread_getspecific_matches", 1),
            ("pthread_key_delete", 0),
            ("pthread_key_create_again", 0),
        ] {
            if get(step) != Some(want) {
                problems.push(format!("{step}: got {:?}, expected {want}", get(step)));
            }
        }
        let exit = obs.iter().find(|x| x.str("what") == Some("exit"));
        if exit.is_none() {
            problems.push("the program did not reach exit".into());
        }
        Ok(Judgement::from_problems(
            problems,
            json!({ "facts": { "destructor_calls_before_exit": exit.and_then(|e| e.i64("destructor_calls")) } }),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{assert_fails_saying, assert_verdict, judge_stdout};
    use wasiprobe_model::report::Verdict;

    fn line(what: &str, ret: i64) -> String {
        format!("{{\"probe\":\"tsd\",\"check\":\"libc_tsd\",\"what\":\"{what}\",\"ret\":{ret}}}\n")
    }

    #[test]
    fn keys_that_work_pass_and_a_failed_step_fails() {
        let ok = line("pthread_key_create", 0)
            + &line("pthread_setspecific", 0)
            + &line("pthread_getspecific_matches", 1)
            + &line("pthread_key_delete", 0)
            + &line("pthread_key_create_again", 0)
            + "{\"probe\":\"tsd\",\"check\":\"libc_tsd\",\"what\":\"exit\",\"destructor_calls\":0}\n";
        assert_verdict(&judge_stdout(&LibcTsd, ok.clone()), Verdict::Pass);
        let bad = ok.replace(
            "\"pthread_key_delete\",\"ret\":0",
            "\"pthread_key_delete\",\"ret\":22",
        );
        assert_fails_saying(
            &judge_stdout(&LibcTsd, bad),
            "pthread_key_delete: got Some(22)",
        );
        let cut: String = ok.lines().take(3).map(|l| format!("{l}\n")).collect();
        assert_verdict(&judge_stdout(&LibcTsd, cut), Verdict::Fail);
    }
}
