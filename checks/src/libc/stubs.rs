//! `libc_stubs`: the functions this SDK's libc defines but cannot perform (see `crate::stubs`
//! for the static census), each called by `probes/c/libc_stubs.c` with zero arguments. A call
//! must come back exactly as the census predicted from the body — the errno it sets, the
//! value it returns; anything else means the census misread the libc, or something between
//! the program and the libc is not what the archive says. The list itself is the fact the
//! SDK-update evidence diffs, with the `config.site` lines a configure-based build needs.
//! Deterministic: no false alarms.

use crate::{Case, Judged, Judgement, Observed};
use serde_json::json;

pub const PROBE: &str = "libc_stubs";

check! {
    LibcStubs: "libc_stubs", probe PROBE, area "libc",
    case Case::probe(PROBE),
    controls []
}

impl LibcStubs {
    fn judge(&self, _case: &Case, o: &Observed) -> Judged {
        let done = o.done("the probe did not report `done`: a stub call did not return")?;
        let obs = o.parsed()?;
        let calls: Vec<_> = obs
            .iter()
            .filter(|x| x.str("what") == Some("call"))
            .collect();
        let mut problems = Vec::new();
        let declared = done.i64("calls").unwrap_or(-1);
        if declared != calls.len() as i64 {
            problems.push(format!(
                "the probe was generated with {declared} calls but reported {}",
                calls.len()
            ));
        }
        let mut stubs = Vec::new();
        for c in &calls {
            let name = c.str("name").unwrap_or("?");
            let kind = c.str("kind").unwrap_or("?");
            let (got, err) = (c.i64("returned"), c.i64("errno"));
            let (want_ret, want_errno) = (c.i64("static_returns"), c.i64("static_errno"));
            let ok = match kind {
                "errno" => got == want_ret && err == want_errno,
                "error-code" => got == want_ret,
                _ => false,
            };
            if !ok {
                problems.push(format!(
                    "{name}: the census read a {kind} stub (returns {want_ret:?}, errno {want_errno:?}); called, it returned {got:?} with errno {err:?}"
                ));
            }
            stubs.push(match kind {
                "errno" => format!("{name} (errno {})", err.unwrap_or(-1)),
                _ => format!("{name} (returns {})", got.unwrap_or(0)),
            });
        }
        let unreadable = done.i64("unreadable_members").unwrap_or(0);
        let evidence = json!({
            "facts": { "stubs": stubs, "count": calls.len() },
            "config_site": calls.iter().filter_map(|c| c.str("name")).map(|n| format!("ac_cv_func_{n}=no")).collect::<Vec<_>>(),
        });
        if unreadable > 0 && problems.is_empty() {
            let mut e = evidence;
            e["reason"] = json!(format!(
                "{unreadable} members of this libc are LLVM bitcode (built for LTO), which the static census cannot read: the stub list is incomplete and cannot be judged"
            ));
            return Ok(Judgement::skip(e));
        }
        Ok(Judgement::from_problems(problems, evidence))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{assert_fails_saying, assert_verdict, judge_stdout};
    use wasiprobe_model::report::Verdict;

    fn call(name: &str, kind: &str, se: i64, sr: i64, r: i64, e: i64) -> String {
        format!("{{\"probe\":\"libc_stubs\",\"check\":\"libc_stubs\",\"what\":\"call\",\"name\":\"{name}\",\"kind\":\"{kind}\",\"static_errno\":{se},\"static_returns\":{sr},\"returned\":{r},\"errno\":{e}}}\n")
    }
    fn done(n: usize, unreadable: usize) -> String {
        format!("{{\"probe\":\"libc_stubs\",\"check\":\"libc_stubs\",\"what\":\"done\",\"calls\":{n},\"unreadable_members\":{unreadable}}}\n")
    }

    #[test]
    fn calls_that_match_the_census_pass_with_config_site_lines() {
        let out = call("chmod", "errno", 52, -1, -1, 52)
            + &call("pthread_create", "error-code", -1, 58, 58, 0)
            + &done(2, 0);
        let j = judge_stdout(&LibcStubs, out);
        assert_verdict(&j, Verdict::Pass);
        assert_eq!(j.evidence["facts"]["stubs"][0], "chmod (errno 52)");
        assert_eq!(j.evidence["config_site"][1], "ac_cv_func_pthread_create=no");
    }

    #[test]
    fn a_call_that_does_not_behave_as_the_census_said_fails() {
        for (out, needle) in [
            (
                call("chmod", "errno", 52, -1, 0, 0) + &done(1, 0),
                "chmod: the census read",
            ),
            (
                call("chmod", "errno", 52, -1, -1, 58) + &done(1, 0),
                "errno Some(58)",
            ),
            (
                call("x", "error-code", -1, 58, 0, 0) + &done(1, 0),
                "x: the census read",
            ),
            (
                call("chmod", "errno", 52, -1, -1, 52) + &done(2, 0),
                "generated with 2 calls",
            ),
            (
                call("chmod", "errno", 52, -1, -1, 52),
                "did not report `done`",
            ),
        ] {
            assert_fails_saying(&judge_stdout(&LibcStubs, out), needle);
        }
    }

    #[test]
    fn a_census_that_could_not_read_the_libc_is_not_judged() {
        let j = judge_stdout(&LibcStubs, done(0, 300));
        assert_verdict(&j, Verdict::Skip);
        assert!(j.evidence["reason"].as_str().unwrap().contains("bitcode"));
    }
}
