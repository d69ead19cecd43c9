//! The filesystem checks. All six judge one run of the `fs` probe against the `fs` fixture
//! (see `fixture.rs`): the guest reports what it saw and did, and each check sets that beside
//! what the host holds afterwards. A disagreement is a `mismatch` with both views; an errno that
//! the specification leaves open is a `fact` (so an SDK bump that changes it shows in a diff);
//! a guest that reaches outside its preopen is a `security` verdict. The rules are exact
//! comparisons, so an honest runtime cannot fail them by chance: the false-alarm rate is zero
//! by construction.

use super::{Case, Observed};
use crate::protocol::Observation;
use serde_json::{json, Value};
use std::path::Path;

pub mod fixture;
area_checks! {
    fs_io::FsIo,
    fs_meta::FsMeta,
    fs_dirs::FsDirs,
    fs_errno::FsErrno,
    fs_escape::FsEscape,
    fs_fds::FsFds,
}

pub const PROBE: &str = "fs";

pub fn case() -> Case {
    Case {
        rerun_args: Some(vec![PROBE.into(), "whence".into()]),
        fixture: Some(fixture::NAME),
        ..Case::probe(PROBE)
    }
}

/// What one check reads from a run: its observations by operation, the host directories, and
/// the problems, mismatches and facts it collects on the way.
pub struct Judge<'a> {
    ops: Vec<&'a Observation>,
    pub scratch: Option<&'a Path>,
    pub root: Option<&'a Path>,
    pub problems: Vec<String>,
    pub mismatches: Vec<Value>,
    pub facts: serde_json::Map<String, Value>,
    /// The case's unobservable parts for this check (part → why), and those the judgement
    /// actually left out.
    unobservable: Vec<(&'static str, &'static str)>,
    left_out: serde_json::Map<String, Value>,
}

impl<'a> Judge<'a> {
    pub fn new(case: &Case, o: &'a Observed, check: &str) -> Self {
        let unobservable = case
            .unobservable
            .iter()
            .filter(|(c, _, _)| *c == check)
            .map(|(_, part, why)| (*part, *why))
            .collect();
        let mut problems = Vec::new();
        let ops = match &o.observations {
            Ok(v) => v
                .iter()
                .filter(|ob| ob.str("check") == Some(check))
                .collect(),
            Err(e) => {
                problems.push(format!("stdout: {e}"));
                vec![]
            }
        };
        Judge {
            ops,
            scratch: o.scratch,
            root: o.case_root,
            problems,
            mismatches: Vec::new(),
            facts: Default::default(),
            unobservable,
            left_out: Default::default(),
        }
    }

    /// Every observation of this check, in order.
    pub fn all(&self) -> &[&'a Observation] {
        &self.ops
    }

    /// Whether the case declares `part` unobservable; if so it is recorded as left out, and the
    /// caller skips judging it.
    pub fn unobservable(&mut self, part: &str) -> bool {
        match self.unobservable.iter().find(|(p, _)| *p == part) {
            Some((p, why)) => {
                self.left_out.insert(p.to_string(), json!(why));
                true
            }
            None => false,
        }
    }

    /// The observation of one operation; its absence is a problem (the probe stopped early or a
    /// runtime swallowed output).
    pub fn op(&mut self, name: &str) -> Option<&'a Observation> {
        let found = self
            .ops
            .iter()
            .find(|ob| ob.str("op") == Some(name))
            .copied();
        if found.is_none() && !self.unobservable(name) {
            self.problems
                .push(format!("the probe did not report operation `{name}`"));
        }
        found
    }

    /// The operation must have succeeded; returns it when it did.
    pub fn ok(&mut self, name: &str) -> Option<&'a Observation> {
        let ob = self.op(name)?;
        if ob.i64("ret").unwrap_or(-1) < 0 {
            self.problems.push(format!(
                "`{name}` failed in the guest: {} ({})",
                ob.str("errno_name").unwrap_or("?"),
                ob.i64("errno").unwrap_or(0)
            ));
            return None;
        }
        Some(ob)
    }

    /// A field of an operation must equal `want`.
    pub fn expect(&mut self, ob: &Observation, field: &str, want: Value) {
        if self.unobservable(&format!("{}.{field}", ob.str("op").unwrap_or("?"))) {
            return;
        }
        let got = ob.fields.get(field).cloned().unwrap_or(Value::Null);
        if got != want {
            self.problems.push(format!(
                "`{}`: {field} is {got}, expected {want}",
                ob.str("op").unwrap_or("?")
            ));
        }
    }

    /// The guest's view and the host's disagree about `what`.
    pub fn mismatch(&mut self, what: &str, guest: Value, host: Value) {
        self.problems
            .push(format!("{what}: guest sees {guest}, host has {host}"));
        self.mismatches
            .push(json!({ "what": what, "guest": guest, "host": host }));
    }

    /// A host path inside the scratch directory.
    pub fn host(&self, rel: &str) -> Option<std::path::PathBuf> {
        self.scratch.map(|s| s.join(rel))
    }

    /// The host file must hold exactly `want` (the guest's claim, described by `guest`).
    pub fn host_bytes(&mut self, rel: &str, want: &[u8], guest: Value) {
        let Some(p) = self.host(rel) else {
            self.problems.push("no scratch directory to inspect".into());
            return;
        };
        match std::fs::read(&p) {
            Ok(got) if got == want => {}
            Ok(got) => {
                let at = super::first_difference(&got, want);
                self.mismatch(
                    rel,
                    guest,
                    json!({ "bytes": got.len(), "expected_bytes": want.len(), "first_difference": at }),
                );
            }
            Err(e) => self.mismatch(rel, guest, json!({ "error": e.to_string() })),
        }
    }

    /// The host path must exist (or must not), as the guest's operation implies.
    pub fn host_exists(&mut self, rel: &str, want: bool, guest: &str) {
        let Some(p) = self.host(rel) else { return };
        let there = std::fs::symlink_metadata(&p).is_ok();
        if there != want {
            self.mismatch(
                rel,
                json!(guest),
                json!(if there { "present" } else { "absent" }),
            );
        }
    }

    pub fn fact(&mut self, key: &str, v: Value) {
        self.facts.insert(key.into(), v);
    }

    pub fn finish(self, mut evidence: Value) -> super::Judgement {
        if !self.mismatches.is_empty() {
            evidence["mismatches"] = Value::from(self.mismatches);
        }
        if !self.facts.is_empty() {
            evidence["facts"] = Value::Object(self.facts);
        }
        if !self.left_out.is_empty() {
            evidence["not_observable"] = Value::Object(self.left_out);
        }
        super::Judgement::from_problems(self.problems, evidence)
    }
}

/// How an operation that returned `ret` ended, in the words a fact records it: `succeeded`, or
/// the name of the errno it was refused with. `ret` is the caller's reading, as the checks
/// count a missing one differently (`fs_errno` as 0, `fs_escape` as -1).
pub fn ended(ob: &Observation, ret: i64) -> &str {
    if ret >= 0 {
        "succeeded"
    } else {
        ob.str("errno_name").unwrap_or("")
    }
}

/// Nanoseconds since the epoch from a (seconds, nanoseconds) pair as the probe prints them.
pub fn ns(s: i64, n: i64) -> i128 {
    s as i128 * 1_000_000_000 + n as i128
}

pub fn system_ns(t: std::io::Result<std::time::SystemTime>) -> Option<i128> {
    let t = t.ok()?;
    Some(match t.duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => d.as_nanos() as i128,
        Err(e) => -(e.duration().as_nanos() as i128),
    })
}

#[cfg(test)]
pub(crate) mod testutil {
    //! Honest and broken runs for the unit tests: a real fixture on disk, a host tree made to
    //! look as the probe leaves it, and probe output written by hand.
    use super::*;
    pub use crate::testutil::assert_verdict;
    use crate::testutil::outcome;
    use crate::{Check, Judgement};
    use std::fs;
    pub use wasiprobe_model::report::Verdict;
    use wasiprobe_model::run::Outcome;

    pub struct Run {
        pub root: tempfile::TempDir,
        pub lines: Vec<Value>,
        /// The second invocation (`fs whence`): its lines, or None when it trapped.
        pub rerun: Option<Vec<Value>>,
    }

    fn stdout(lines: &[Value]) -> Vec<u8> {
        let mut out = Vec::new();
        for l in lines {
            out.extend_from_slice(l.to_string().as_bytes());
            out.push(b'\n');
        }
        out
    }

    impl Run {
        pub fn new() -> Run {
            let root = tempfile::tempdir().unwrap();
            fs::create_dir(root.path().join("scratch")).unwrap();
            fixture::create(fixture::NAME, root.path()).unwrap();
            fs::create_dir(root.path().join("scratch/work")).unwrap();
            Run {
                root,
                lines: vec![],
                rerun: Some(vec![]),
            }
        }
        pub fn scratch(&self) -> std::path::PathBuf {
            self.root.path().join("scratch")
        }
        /// Adds one observation: `{"probe":"fs","check":CHECK,"op":OP,"ret":0,...extra}`.
        pub fn op(&mut self, check: &str, op: &str, extra: Value) -> &mut Self {
            let mut v = json!({ "probe": "fs", "check": check, "op": op, "ret": 0, "errno": 0, "errno_name": "" });
            if let Value::Object(m) = extra {
                for (k, x) in m {
                    v[k] = x;
                }
            }
            self.lines.push(v);
            self
        }
        /// Adds one operation the guest saw refused: `ret` -1 with the errno named `errno_name`.
        pub fn refused(&mut self, check: &str, op: &str, errno_name: &str) -> &mut Self {
            self.op(check, op, json!({ "ret": -1, "errno_name": errno_name }))
        }
        pub fn set(&mut self, op: &str, field: &str, v: Value) -> &mut Self {
            for l in self.lines.iter_mut() {
                if l["op"] == op {
                    l[field] = v.clone();
                }
            }
            self
        }
        pub fn remove(&mut self, op: &str) -> &mut Self {
            self.lines.retain(|l| l["op"] != op);
            self
        }
        pub fn judge(&self, check: &dyn Check) -> Judgement {
            self.judge_case(check, &check.case())
        }
        /// `check` passes this run; its facts, for what a test expects of them.
        #[track_caller]
        pub fn passing_facts(&self, check: &dyn Check) -> Value {
            let j = self.judge(check);
            assert_verdict(&j, Verdict::Pass);
            j.evidence["facts"].clone()
        }
        pub fn judge_case(&self, check: &dyn Check, case: &Case) -> Judgement {
            let o = outcome(0, stdout(&self.lines), vec![]);
            let re = match &self.rerun {
                Some(lines) => outcome(0, stdout(lines), vec![]),
                None => Outcome {
                    termination: wasiprobe_model::run::Termination::Trap {
                        message: "invalid enum value".into(),
                    },
                    ..outcome(0, vec![], vec![])
                },
            };
            let scratch = self.scratch();
            check.judge(
                case,
                &Observed {
                    outcome: &o,
                    observations: crate::protocol::parse(&o.stdout),
                    scratch: Some(&scratch),
                    case_root: Some(self.root.path()),
                    host_window_ns: (0, u128::MAX),
                    rerun: Some(crate::protocol::parse(&re.stdout)),
                    rerun_outcome: Some(&re),
                    isolated: &[],
                },
            )
        }
    }

    /// `check` fails each run `honest` builds once one edit — (operation, field, value) — is
    /// made to it: one edit a run, so every one must be caught on its own.
    #[track_caller]
    pub fn assert_each_edit_fails(
        check: &dyn Check,
        honest: impl Fn() -> Run,
        edits: &[(&str, &str, Value)],
    ) {
        for (op, field, v) in edits {
            let mut r = honest();
            r.set(op, field, v.clone());
            let j = r.judge(check);
            assert_eq!(
                j.verdict,
                Verdict::Fail,
                "{op}.{field} = {v}: {}",
                j.evidence
            );
        }
    }
}
