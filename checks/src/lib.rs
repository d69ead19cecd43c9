//! Checks: pure functions from what a probe run recorded to a verdict with evidence.
//!
//! One module per check. A check names the probe it needs and the input it runs it with; the
//! orchestrator runs the probe and hands the recorded outcome back to `judge`. Limit
//! terminations (timeout, oom, output-limit, trap) are classified before a check is asked, so
//! `judge` only ever sees a guest that exited.

use crate::protocol::Observation;
use serde_json::Value;
use std::path::Path;
use wasiprobe_model::report::Verdict;
use wasiprobe_model::run::Outcome;

/// Declares a check in one place: its struct, name, probe, report area, case and negative
/// controls (the liars it must reject). Its `judge` is an inherent method written below the
/// declaration, so a check is one file plus one line in [`all`].
macro_rules! check {
    (
        $ty:ident: $name:literal, probe $probe:expr, area $area:literal,
        case $case:expr,
        controls [$($control:literal),* $(,)?]
    ) => {
        pub struct $ty;

        impl $crate::Check for $ty {
            fn name(&self) -> &'static str {
                $name
            }
            fn probe(&self) -> &'static str {
                $probe
            }
            fn area(&self) -> &'static str {
                $area
            }
            fn case(&self) -> $crate::Case {
                $case
            }
            fn controls(&self) -> &'static [&'static str] {
                &[$($control),*]
            }
            fn judge(&self, case: &$crate::Case, observed: &$crate::Observed) -> $crate::Judgement {
                $crate::IntoJudgement::into_judgement($ty::judge(self, case, observed))
            }
        }
    };
}

/// Declares an area's checks in its `mod.rs`: each `module::Type` is the area's `pub mod module;`
/// and a member of the area's `checks()`, in that order, so that a new check is its file and
/// one line in this list.
macro_rules! area_checks {
    ($($module:ident::$ty:ident),* $(,)?) => {
        $(pub mod $module;)*

        /// This area's checks, in the order [`crate::all`] lists them.
        pub fn checks() -> Vec<Box<dyn $crate::Check>> {
            vec![$(Box::new($module::$ty)),*]
        }
    };
}

pub mod args_env;
pub mod clocks;
pub mod entropy;
pub mod filesystem;
pub mod libc;
pub mod p1_dynamic;
pub mod protocol;
pub mod regrtest;
pub mod stdio;

/// What a check runs its probe with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Case {
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub stdin: Vec<u8>,
    /// Run the probe a second time with these args (same limits, its own scratch directory):
    /// for checks that compare two processes, e.g. a fixed random seed.
    pub rerun_args: Option<Vec<String>>,
    /// Host-side files laid out in the case's root before the run
    /// (`checks::filesystem::fixture`); the checks inspect the same tree afterwards.
    pub fixture: Option<&'static str>,
    /// Further runs, one process each (same env and limits, each its own scratch directory),
    /// for calls that may end the process with a trap: a trap then hides nothing else. Unlike
    /// the main run, they are handed to the check however they ended.
    pub isolated: Vec<Vec<String>>,
    /// Parts of a check this run's program cannot express, declared by the harness (a Python
    /// twin's table, never the guest): (check, part, why). A part is an operation the probe
    /// reports (`futimens:now.txt`) or one field of one (`readdir-1000.seek_stable`); a check
    /// that honours it leaves the part unjudged and says so in its evidence. Empty for the C
    /// probes, so their verdicts do not depend on it.
    pub unobservable: Vec<(&'static str, &'static str, &'static str)>,
}

impl Case {
    /// The probe run with nothing but its name on the command line, as most checks need it.
    pub fn probe(name: &str) -> Case {
        Case {
            args: vec![name.into()],
            ..Default::default()
        }
    }
}

/// One `Case::isolated` run as it ended.
#[derive(Debug, Clone)]
pub struct Isolated {
    pub args: Vec<String>,
    pub outcome: Outcome,
}

pub struct Observed<'a> {
    pub outcome: &'a Outcome,
    /// stdout parsed by the protocol, or why it could not be.
    pub observations: Result<Vec<Observation>, String>,
    pub scratch: Option<&'a Path>,
    /// The case's root: `scratch/` and whatever the fixture put beside it.
    pub case_root: Option<&'a Path>,
    /// Host wall-clock time (ns since the Unix epoch) just before and just after the run.
    pub host_window_ns: (u128, u128),
    /// The second run's stdout, parsed, when the case asked for one.
    pub rerun: Option<Result<Vec<Observation>, String>>,
    /// How the second run ended (a check may judge a trap there as a fact).
    pub rerun_outcome: Option<&'a Outcome>,
    /// The `Case::isolated` runs, in order.
    pub isolated: &'a [Isolated],
}

impl Observed<'_> {
    /// The probe's observations; a run whose stdout the protocol could not read fails, with the
    /// reason as its evidence, before any check looks further.
    pub fn parsed(&self) -> Result<&[Observation], Judgement> {
        self.observations
            .as_deref()
            .map_err(|e| Judgement::fail(serde_json::json!({ "protocol_error": e })))
    }

    /// The run's `done` line, the probe's last: without it the run was cut short, which is a
    /// `fail` giving `reason` (what that means for this probe).
    pub fn done(&self, reason: &str) -> Result<&Observation, Judgement> {
        crate::protocol::first(self.parsed()?, "done")
            .ok_or_else(|| Judgement::fail(serde_json::json!({ "reason": reason })))
    }
}

/// What a judge may return instead of a [`Judgement`]: `Err` is a judgement reached before the
/// evidence runs out (stdout unreadable, a stream missing), so `?` ends the judging there.
pub type Judged = Result<Judgement, Judgement>;

/// Either form of a judge's answer, as the `check!` declaration hands it on.
pub trait IntoJudgement {
    fn into_judgement(self) -> Judgement;
}

impl IntoJudgement for Judgement {
    fn into_judgement(self) -> Judgement {
        self
    }
}

impl IntoJudgement for Judged {
    fn into_judgement(self) -> Judgement {
        self.unwrap_or_else(|j| j)
    }
}

#[derive(Debug, Clone)]
pub struct Judgement {
    pub verdict: Verdict,
    pub evidence: Value,
}

impl Judgement {
    pub fn new(verdict: Verdict, evidence: Value) -> Self {
        Judgement { verdict, evidence }
    }
    pub fn pass(evidence: Value) -> Self {
        Judgement::new(Verdict::Pass, evidence)
    }
    pub fn fail(evidence: Value) -> Self {
        Judgement::new(Verdict::Fail, evidence)
    }
    /// The guest reached outside its sandbox: a finding graver than a wrong answer.
    pub fn security(evidence: Value) -> Self {
        Judgement::new(Verdict::Security, evidence)
    }
    /// What the check needs cannot be seen from this run (a libc that bypasses the probe's
    /// interposed import, a library the census cannot read): neither a pass nor a failure.
    pub fn skip(evidence: Value) -> Self {
        Judgement::new(Verdict::Skip, evidence)
    }
    /// Pass when no problem was found; otherwise fail listing every problem.
    pub fn from_problems(problems: Vec<String>, mut evidence: Value) -> Self {
        if problems.is_empty() {
            Judgement::pass(evidence)
        } else {
            evidence["problems"] = Value::from(problems);
            Judgement::fail(evidence)
        }
    }
}

pub trait Check: Send + Sync {
    fn name(&self) -> &'static str;
    /// The probe (`probes/c/NAME.c`) this check judges.
    fn probe(&self) -> &'static str;
    /// The area the report groups it under (stdio, entropy, clocks, filesystem, coverage).
    fn area(&self) -> &'static str;
    fn case(&self) -> Case;
    /// The liars (`FUNC:MODE`, see `wasiprobe liars`) this check must reject: its negative
    /// controls, run by the test suite on every ready toolchain.
    fn controls(&self) -> &'static [&'static str];
    fn judge(&self, case: &Case, observed: &Observed) -> Judgement;
}

/// Every check: the process-wide ones, then each area's (its `area_checks!` list).
pub fn all() -> Vec<Box<dyn Check>> {
    let mut all: Vec<Box<dyn Check>> = vec![
        Box::new(args_env::ArgsEnv),
        Box::new(stdio::Stdio),
        Box::new(p1_dynamic::P1Dynamic),
    ];
    all.extend(clocks::checks());
    all.extend(entropy::checks());
    all.extend(filesystem::checks());
    all.extend(libc::checks());
    all
}

/// Encodes bytes as lowercase hex, as the probes print them: the inverse of [`unhex`].
pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Decodes lowercase/uppercase hex as the probes print it.
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Where two byte strings first differ, for evidence that points at the broken byte.
pub fn first_difference(a: &[u8], b: &[u8]) -> Option<usize> {
    a.iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .or_else(|| (a.len() != b.len()).then(|| a.len().min(b.len())))
}

#[cfg(test)]
pub(crate) mod testutil {
    use super::*;
    use std::time::Duration;
    use wasiprobe_model::run::Termination;

    /// Asserts `j`'s verdict, showing its evidence when it is another.
    #[track_caller]
    pub fn assert_verdict(j: &Judgement, want: Verdict) {
        assert_eq!(j.verdict, want, "{}", j.evidence);
    }

    /// Asserts that `j` fails and that its evidence says `needle` somewhere: a failure for
    /// another reason would hide that the one under test went unnoticed.
    #[track_caller]
    pub fn assert_fails_saying(j: &Judgement, needle: &str) {
        assert_eq!(j.verdict, Verdict::Fail, "{needle}: {}", j.evidence);
        assert!(
            j.evidence.to_string().contains(needle),
            "{needle}: {}",
            j.evidence
        );
    }

    pub fn outcome(code: i32, stdout: Vec<u8>, stderr: Vec<u8>) -> Outcome {
        Outcome {
            termination: Termination::Exited { code },
            stdout,
            stderr,
            duration: Duration::from_millis(1),
            host_calls: Default::default(),
        }
    }

    pub fn judge(check: &dyn Check, o: &Outcome) -> Judgement {
        let obs = crate::protocol::parse(&o.stdout);
        check.judge(
            &check.case(),
            &Observed {
                outcome: o,
                observations: obs,
                scratch: None,
                case_root: None,
                host_window_ns: (0, u128::MAX),
                rerun: None,
                rerun_outcome: None,
                isolated: &[],
            },
        )
    }

    /// `check`'s judgement of a guest that printed `stdout` and exited 0.
    pub fn judge_stdout(check: &dyn Check, stdout: impl Into<Vec<u8>>) -> Judgement {
        judge(check, &outcome(0, stdout.into(), vec![]))
    }
}
