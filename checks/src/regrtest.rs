//! The judge of `py-regrtest`: CPython's own test suite (`python -m test`), one test module per
//! process, judged per test case from what regrtest wrote.
//!
//! The formats are regrtest's own (read in CPython 3.13's `Lib/test/libregrtest/`):
//! - `--junit-xml FILE` (`testresult.py`, `results.py`): `<testsuites>` of `<testsuite>`s of
//!   `<testcase name="test.test_os.FileTests.test_access" status="run" result="completed">`, whose
//!   child says how it ended: none (success), `<skipped>REASON</skipped>`, `<failure type=…
//!   message=…>`, `<error …>`, `<output …>` (an expected failure), or the attribute-less child
//!   `outcome` = `UNEXPECTED_SUCCESS`. It is written only when the run finishes.
//! - unittest's verbose lines (`-v`): `test_access (test.test_os.FileTests.test_access) ... ok`,
//!   `... skipped 'REASON'`, `... FAIL`, `... ERROR`, `... expected failure`, `... unexpected
//!   success`; the line of a test that never finished stops at `...`. This is what is left of a
//!   run that hung or crashed: every finished test, and the one running when it stopped.
//! - a module skipped as a whole: `test_subprocess skipped -- REASON` (`single.py`), exit 0 with
//!   no test case.
//!
//! Verdict of a module: `fail` when a test case failed or errored (or regrtest's exit status
//! says so: 2 bad test, 3 environment changed); `timeout` when the module hit its timeout (the
//! running test is `hang`); the limit or trap verdict when the process ended abnormally (the
//! running test is `crash`); `skip` for a module skipped as a whole; `error` when regrtest ran no
//! test and said no reason; else `pass`. No statistics: a test case either ends one way or
//! another, so the false-alarm rate is that of the tests themselves (CPython marks its flaky
//! tests with `requires_resource` / `@unittest.skipIf`, off by default).

use wasiprobe_model::python::{CaseOutcome, TestCase};
use wasiprobe_model::report::Verdict;
use wasiprobe_model::run::Termination;

/// regrtest's exit statuses (`Lib/test/libregrtest/utils.py`).
pub const EXIT_BAD_TEST: i32 = 2;
pub const EXIT_ENV_CHANGED: i32 = 3;
pub const EXIT_NO_TESTS_RAN: i32 = 4;

/// The test cases of a junit file.
pub fn parse_junit(xml: &str) -> Result<Vec<TestCase>, String> {
    let doc = roxmltree::Document::parse(xml).map_err(|e| format!("junit XML: {e}"))?;
    let mut out = Vec::new();
    for tc in doc.descendants().filter(|n| n.has_tag_name("testcase")) {
        let id = tc
            .attribute("name")
            .ok_or("junit XML: a <testcase> without a name")?
            .to_string();
        let mut outcome = CaseOutcome::Pass;
        let mut detail = None;
        for child in tc.children().filter(|c| c.is_element()) {
            let text = || child.text().map(|t| first_line(t.trim()));
            match child.tag_name().name() {
                "skipped" => {
                    outcome = CaseOutcome::Skip;
                    detail = text();
                }
                "failure" | "error" => {
                    outcome = if child.has_tag_name("failure") {
                        CaseOutcome::Fail
                    } else {
                        CaseOutcome::Error
                    };
                    detail = child
                        .attribute("message")
                        .map(|m| last_nonempty(m.trim()))
                        .or_else(text)
                        .or_else(|| child.attribute("type").map(String::from));
                }
                "output" if outcome == CaseOutcome::Pass => outcome = CaseOutcome::ExpectedFailure,
                "outcome" if child.text() == Some("UNEXPECTED_SUCCESS") => {
                    outcome = CaseOutcome::UnexpectedSuccess
                }
                _ => {}
            }
        }
        out.push(TestCase {
            id,
            outcome,
            detail,
        });
    }
    Ok(out)
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").chars().take(300).collect()
}

/// An exception's message ends with its `Type: text` line.
fn last_nonempty(s: &str) -> String {
    s.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
        .chars()
        .take(300)
        .collect()
}

/// `test_subprocess skipped -- REASON`: the module skipped as a whole.
pub fn module_skip(output: &str, module: &str) -> Option<String> {
    let marker = format!("{module} skipped -- ");
    output.lines().find_map(|l| {
        let at = l.find(&marker)?;
        Some(l[at + marker.len()..].trim().to_string())
    })
}

/// The test cases unittest's verbose output shows as finished, and the one it was running
/// when the output stops (a line ending in `...` with no result).
pub fn from_verbose(output: &str) -> (Vec<TestCase>, Option<String>) {
    let mut done = Vec::new();
    let mut running = None;
    for line in output.lines() {
        let Some((id, rest)) = verbose_line(line) else {
            continue;
        };
        let rest = rest.trim();
        let (outcome, detail) = if rest == "ok" {
            (CaseOutcome::Pass, None)
        } else if let Some(r) = rest.strip_prefix("skipped ") {
            (CaseOutcome::Skip, Some(r.trim_matches('\'').to_string()))
        } else if rest == "FAIL" {
            (CaseOutcome::Fail, None)
        } else if rest == "ERROR" {
            (CaseOutcome::Error, None)
        } else if rest == "expected failure" {
            (CaseOutcome::ExpectedFailure, None)
        } else if rest == "unexpected success" {
            (CaseOutcome::UnexpectedSuccess, None)
        } else {
            running = Some(id);
            continue;
        };
        if running.as_deref() == Some(id.as_str()) {
            running = None;
        }
        done.push(TestCase {
            id,
            outcome,
            detail,
        });
    }
    (done, running)
}

/// `name (dotted.id) ... REST`: the dotted id and what follows the dots.
fn verbose_line(line: &str) -> Option<(String, &str)> {
    let open = line.find(" (")?;
    let name = &line[..open];
    if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || c == '_') {
        return None;
    }
    let close = line[open..].find(") ...")? + open;
    let id = &line[open + 2..close];
    if !id.contains('.') || id.contains(' ') {
        return None;
    }
    Some((id.to_string(), &line[close + ") ...".len()..]))
}

/// What a module's run amounts to.
#[derive(Debug, Clone, PartialEq)]
pub struct Judged {
    pub verdict: Verdict,
    pub cases: Vec<TestCase>,
    pub module_skip: Option<String>,
    /// Why the verdict is not `pass`, in one line.
    pub reason: Option<String>,
}

/// Judges one module's run: how it ended, its junit file (if written) and its output.
pub fn judge(module: &str, ended: &Termination, junit: Option<&str>, output: &str) -> Judged {
    let skip = module_skip(output, module);
    let (verbose, running) = from_verbose(output);
    let abnormal = |verdict: Verdict, outcome: CaseOutcome, why: String| {
        let mut cases = verbose.clone();
        if let Some(r) = &running {
            cases.push(TestCase {
                id: r.clone(),
                outcome,
                detail: Some(why.clone()),
            });
        }
        let at = running
            .as_deref()
            .map_or("before its first test".to_string(), |r| format!("in {r}"));
        Judged {
            verdict,
            cases,
            module_skip: None,
            reason: Some(format!("{why} {at}")),
        }
    };
    let code = match ended {
        Termination::Exited { code } => *code,
        Termination::Timeout => {
            return abnormal(Verdict::Timeout, CaseOutcome::Hang, "timed out".into())
        }
        Termination::Oom { .. } => {
            return abnormal(Verdict::Oom, CaseOutcome::Crash, "out of memory".into())
        }
        Termination::OutputLimit { stream } => {
            return abnormal(
                Verdict::OutputLimit,
                CaseOutcome::Crash,
                format!("{stream} over its limit"),
            )
        }
        Termination::Trap { message } => {
            return abnormal(
                Verdict::Trap,
                CaseOutcome::Crash,
                format!("trap ({})", first_line(message)),
            )
        }
        Termination::Crash { message } => {
            return abnormal(
                Verdict::Crash,
                CaseOutcome::Crash,
                format!("runtime crash ({})", first_line(message)),
            )
        }
        Termination::LoadError { message } => {
            return Judged {
                verdict: Verdict::Error,
                cases: vec![],
                module_skip: None,
                reason: Some(format!("python.wasm did not load: {}", first_line(message))),
            }
        }
    };
    let parsed = junit.map(parse_junit);
    let cases = match parsed {
        Some(Ok(c)) => c,
        Some(Err(e)) => {
            return Judged {
                verdict: Verdict::Error,
                cases: verbose,
                module_skip: skip,
                reason: Some(e),
            }
        }
        None => verbose,
    };
    let bad: Vec<&TestCase> = cases.iter().filter(|c| c.outcome.is_bad()).collect();
    let (verdict, reason) = if !bad.is_empty() {
        (
            Verdict::Fail,
            Some(format!(
                "{} of {} test cases failed or errored (first: {})",
                bad.len(),
                cases.len(),
                bad[0].id
            )),
        )
    } else if code == EXIT_ENV_CHANGED {
        (
            Verdict::Fail,
            Some("regrtest exit 3: a test changed the environment".into()),
        )
    } else if cases.is_empty() && skip.is_some() {
        (Verdict::Skip, skip.clone())
    } else if cases.is_empty() {
        (
            Verdict::Error,
            Some(format!(
                "regrtest ran no test case (exit {code}{})",
                if code == EXIT_NO_TESTS_RAN {
                    ": no tests ran"
                } else {
                    ""
                }
            )),
        )
    } else if code != 0 {
        (
            if code == EXIT_BAD_TEST {
                Verdict::Fail
            } else {
                Verdict::Error
            },
            Some(format!("regrtest exit {code} although no test case failed")),
        )
    } else {
        (Verdict::Pass, None)
    };
    Judged {
        verdict,
        cases,
        module_skip: skip,
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const JUNIT: &str = r#"<testsuites><testsuite tests="5" errors="1" failures="1">
<testcase name="test.test_x.A.test_ok" status="run" result="completed" time="0.1" />
<testcase name="test.test_x.A.test_skip" status="run" result="completed"><skipped>requires fork</skipped></testcase>
<testcase name="test.test_x.A.test_fail" status="run" result="completed"><failure type="AssertionError" message="Traceback...&#10;AssertionError: 1 != 2&#10;">tb</failure></testcase>
<testcase name="test.test_x.A.test_err" status="run" result="completed"><error type="OSError" message="OSError: [Errno 58] Not supported">tb</error></testcase>
<testcase name="test.test_x.A.test_xfail" status="run" result="completed"><output type="AssertionError" message="m">tb</output></testcase>
</testsuite></testsuites>"#;

    #[test]
    fn junit_cases_keep_outcome_and_cause() {
        let c = parse_junit(JUNIT).unwrap();
        let o: Vec<CaseOutcome> = c.iter().map(|c| c.outcome).collect();
        use CaseOutcome::*;
        assert_eq!(o, [Pass, Skip, Fail, Error, ExpectedFailure]);
        assert_eq!(c[1].detail.as_deref(), Some("requires fork"));
        assert_eq!(c[2].detail.as_deref(), Some("AssertionError: 1 != 2"));
        assert_eq!(
            c[3].detail.as_deref(),
            Some("OSError: [Errno 58] Not supported")
        );
    }

    #[test]
    fn a_failing_case_fails_the_module_and_a_clean_one_passes() {
        let ok = Termination::Exited { code: 0 };
        let j = judge("test_x", &Termination::Exited { code: 2 }, Some(JUNIT), "");
        assert_eq!(j.verdict, Verdict::Fail);
        assert!(j.reason.unwrap().contains("2 of 5"));
        let clean = r#"<testsuites><testsuite><testcase name="test.test_x.A.t" status="run" result="completed"/></testsuite></testsuites>"#;
        assert_eq!(judge("test_x", &ok, Some(clean), "").verdict, Verdict::Pass);
        // Negative controls: an exit status that says "bad" with a clean-looking file, a file
        // that is not XML, and a run with no test at all are never a pass.
        assert_eq!(
            judge("test_x", &Termination::Exited { code: 3 }, Some(clean), "").verdict,
            Verdict::Fail
        );
        assert_eq!(
            judge("test_x", &ok, Some("<testsuites"), "").verdict,
            Verdict::Error
        );
        assert_eq!(judge("test_x", &ok, None, "").verdict, Verdict::Error);
    }

    #[test]
    fn a_module_skipped_as_a_whole_is_skip_with_its_reason() {
        let out = "0:00:00 load avg: 0.5 [1/1] test_subprocess\ntest_subprocess skipped -- test requires the subprocess module\n";
        let j = judge(
            "test_subprocess",
            &Termination::Exited { code: 0 },
            None,
            out,
        );
        assert_eq!(j.verdict, Verdict::Skip);
        assert_eq!(
            j.module_skip.as_deref(),
            Some("test requires the subprocess module")
        );
    }

    #[test]
    fn a_hang_names_the_test_that_was_running() {
        let out = "test_a (test.test_x.A.test_a) ... ok\ntest_b (test.test_x.A.test_b) ... skipped 'no'\ntest_c (test.test_x.A.test_c) ... ";
        let j = judge("test_x", &Termination::Timeout, None, out);
        assert_eq!(j.verdict, Verdict::Timeout);
        let last = j.cases.last().unwrap();
        assert_eq!(
            (last.id.as_str(), last.outcome),
            ("test.test_x.A.test_c", CaseOutcome::Hang)
        );
        assert_eq!(j.cases.len(), 3);
        assert!(j.reason.unwrap().contains("in test.test_x.A.test_c"));
        let j = judge(
            "test_x",
            &Termination::Trap {
                message: "call stack exhausted".into(),
            },
            None,
            out,
        );
        assert_eq!(j.verdict, Verdict::Trap);
        assert_eq!(j.cases.last().unwrap().outcome, CaseOutcome::Crash);
    }
}
