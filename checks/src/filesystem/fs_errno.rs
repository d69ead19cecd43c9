//! `fs_errno`: every failure path must fail, with an errno POSIX allows for it. The errno the
//! guest saw is a fact per case, so an SDK bump that changes one (e.g. ENOTCAPABLE → ENOENT for
//! a path under no preopen, the SDK 18 change) shows in a diff even where both are allowed.

use super::{case, ended, Judge, PROBE};
use crate::{Case, Judgement, Observed};
use serde_json::{json, Value};
use wasiprobe_model::run::Termination;

/// (case, errnos allowed, what the probe does). The alternatives are the ones POSIX itself
/// allows (rmdir of a non-empty directory: ENOTEMPTY or EEXIST; unlink of a directory: EISDIR
/// on Linux, EPERM per POSIX; ftruncate on a read-only fd: EBADF or EINVAL), plus WASI's own
/// ENOTCAPABLE where a path lies under no preopen.
pub const CASES: &[(&str, &[&str], &str)] = &[
    ("missing", &["ENOENT"], "open a missing file"),
    (
        "excl-existing",
        &["EEXIST"],
        "O_CREAT|O_EXCL on an existing file",
    ),
    ("file-as-dir", &["ENOTDIR"], "open known.bin/x"),
    ("write-dir", &["EISDIR"], "open a directory O_WRONLY"),
    (
        "rmdir-nonempty",
        &["ENOTEMPTY", "EEXIST"],
        "rmdir a non-empty directory",
    ),
    ("close-bad", &["EBADF"], "close(987)"),
    ("read-bad", &["EBADF"], "read(987)"),
    ("lseek-negative", &["EINVAL"], "lseek to offset -10"),
    (
        "ftruncate-readonly",
        &["EBADF", "EINVAL"],
        "ftruncate an O_RDONLY fd",
    ),
    ("write-readonly", &["EBADF"], "write to an O_RDONLY fd"),
    (
        "name-256",
        &["ENAMETOOLONG"],
        "create a file with a 256-byte name",
    ),
    ("loop", &["ELOOP"], "open a symlink loop"),
    ("nofollow", &["ELOOP"], "open a symlink with O_NOFOLLOW"),
    (
        "directory-flag",
        &["ENOTDIR"],
        "open a file with O_DIRECTORY",
    ),
    ("unlink-dir", &["EISDIR", "EPERM"], "unlink a directory"),
    ("rmdir-file", &["ENOTDIR"], "rmdir a file"),
    ("mkdir-existing", &["EEXIST"], "mkdir an existing directory"),
    ("dangling", &["ENOENT"], "open a dangling symlink"),
    (
        "outside-preopens",
        &["ENOENT", "ENOTCAPABLE"],
        "open a path under no preopen",
    ),
    ("readlink-nonlink", &["EINVAL"], "readlink a regular file"),
    (
        "rename-into-self",
        &["EINVAL"],
        "rename a directory into itself",
    ),
];

/// Run by itself (`fs whence`), because it may trap.
pub const WHENCE: (&str, &[&str], &str) = ("lseek-whence", &["EINVAL"], "lseek with whence 99");

check! {
    FsErrno: "fs_errno", probe PROBE, area "filesystem",
    case case(),
    controls ["preopen:wrong-dir"]
}

impl FsErrno {
    fn judge(&self, case: &Case, o: &Observed) -> Judgement {
        let mut j = Judge::new(case, o, "fs_errno");
        let mut seen = serde_json::Map::new();
        let whence = match (o.rerun_outcome.map(|r| &r.termination), &o.rerun) {
            // Preview 1 types whence as an enum and says nothing of out-of-range values; a
            // runtime that traps on one (wasmtime does) kills a POSIX program that expected
            // EINVAL. That is the runtime's choice, so it is recorded, not failed.
            (Some(Termination::Trap { .. }), _) => {
                seen.insert(WHENCE.0.into(), json!("trap"));
                None
            }
            (Some(Termination::Exited { .. }), Some(Ok(obs))) => {
                let found = obs.iter().find(|ob| ob.str("op") == Some(WHENCE.0));
                if found.is_none() {
                    j.problems
                        .push("the `fs whence` run reported nothing".into());
                }
                found
            }
            (t, r) => {
                j.problems.push(format!(
                    "the `fs whence` run did not complete: {t:?} {:?}",
                    r.as_ref().and_then(|r| r.as_ref().err())
                ));
                None
            }
        };
        let cases = CASES
            .iter()
            .map(|c| (c, None))
            .chain(whence.map(|ob| (&WHENCE, Some(ob))));
        for ((name, allowed, what), given) in cases {
            let Some(ob) = given.or_else(|| j.op(name)) else {
                continue;
            };
            let ret = ob.i64("ret").unwrap_or(0);
            let got = ob.str("errno_name").unwrap_or("");
            seen.insert(name.to_string(), json!(ended(ob, ret)));
            if ret == -2 {
                j.problems.push(format!(
                    "{name}: could not be tried (the file it needs did not open)"
                ));
            } else if ret >= 0 {
                j.problems
                    .push(format!("{name}: {what} succeeded (returned {ret})"));
            } else if !allowed.contains(&got) {
                j.problems.push(format!(
                    "{name}: {what} failed with {got} ({}), expected {}",
                    ob.i64("errno").unwrap_or(0),
                    allowed.join(" or ")
                ));
            }
        }
        j.fact("errno", Value::Object(seen));
        j.finish(json!({}))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filesystem::testutil::*;

    fn honest() -> Run {
        let mut r = Run::new();
        r.rerun = Some(vec![
            json!({ "probe": "fs", "check": "fs_errno", "op": WHENCE.0,
            "ret": -1, "errno": 28, "errno_name": "EINVAL" }),
        ]);
        for (name, allowed, _) in CASES {
            r.refused("fs_errno", name, allowed[0]);
        }
        r
    }

    #[test]
    fn honest_run_passes_with_the_errnos_as_facts() {
        let facts = honest().passing_facts(&FsErrno);
        assert_eq!(facts["errno"]["outside-preopens"], "ENOENT");
    }

    #[test]
    fn either_allowed_errno_passes_but_the_fact_changes() {
        let mut r = honest();
        r.set("outside-preopens", "errno_name", json!("ENOTCAPABLE"));
        let facts = r.passing_facts(&FsErrno);
        assert_eq!(facts["errno"]["outside-preopens"], "ENOTCAPABLE");
    }

    #[test]
    fn a_wrong_errno_a_success_or_a_missing_case_fail() {
        assert_each_edit_fails(
            &FsErrno,
            honest,
            &[
                ("loop", "errno_name", json!("ENOENT")),
                ("excl-existing", "ret", json!(5)),
            ],
        );
        let mut r = honest();
        r.remove("name-256");
        assert_verdict(&r.judge(&FsErrno), Verdict::Fail);
    }

    #[test]
    fn a_trap_on_an_invalid_whence_is_a_fact_but_success_fails() {
        let mut r = honest();
        r.rerun = None;
        let facts = r.passing_facts(&FsErrno);
        assert_eq!(facts["errno"]["lseek-whence"], "trap");
        let mut r = honest();
        r.rerun.as_mut().unwrap()[0]["ret"] = json!(0);
        assert_verdict(&r.judge(&FsErrno), Verdict::Fail);
        let mut r = honest();
        r.rerun = Some(vec![]);
        assert_verdict(&r.judge(&FsErrno), Verdict::Fail);
    }
}
