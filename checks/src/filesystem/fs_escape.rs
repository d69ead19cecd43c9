//! `fs_escape`: the guest tries to leave its preopen — `..` past the root, absolute paths
//! under no preopen, host-made symlinks that point outside (open, stat, write, readdir, create
//! through them), rename/link out, openat with a directory fd and `..`, a cwd above the root.
//! Any attempt that succeeds, any change to the sentinel tree beside the scratch directory, or
//! any new entry in the case's root is a `security` verdict. The errno each refusal gave is a
//! fact. The fixture's symlinks must be visible to the guest, or the attempts through them
//! tested nothing (a plain `fail`).

use super::{case, ended, fixture, Judge, PROBE};
use crate::{Case, Judgement, Observed};
use serde_json::{json, Value};

pub const ATTEMPTS: &[&str] = &[
    "dotdot-open",
    "dotdot-write",
    "dotdot-create",
    "dotdot-mkdir",
    "absolute-outside",
    "absolute-etc-passwd",
    "symlink-dir-open",
    "symlink-file-open",
    "symlink-file-write",
    "symlink-dir-stat",
    "symlink-dir-readdir",
    "symlink-dir-create",
    "symlink-absolute-open",
    "rename-out",
    "rename-through-symlink",
    "link-out",
    "link-through-symlink",
    "openat-dotdot",
    "openat-dotdot-dir",
    "guest-symlink-open",
    "chdir-dotdot-open",
];

check! {
    FsEscape: "fs_escape", probe PROBE, area "filesystem",
    case case(),
    controls ["path_open:dotdot-escape", "preopen:wrong-dir"]
}

impl FsEscape {
    fn judge(&self, case: &Case, o: &Observed) -> Judgement {
        let mut j = Judge::new(case, o, "fs_escape");
        if let Some(ob) = j.ok("fixture-visible") {
            j.expect(ob, "up", json!("../../outside"));
        }
        let mut breaches = Vec::new();
        let mut refused = serde_json::Map::new();
        // Beyond the fixed list, a probe may try routes out in its own language's idioms (the
        // Python twin's shutil and pathlib helpers), marked `"attempt": true`: each is held to
        // the same rule. They can only add breaches, never excuse a missing attempt.
        let extra: Vec<_> = j
            .all()
            .iter()
            .copied()
            .filter(|ob| ob.fields.get("attempt") == Some(&json!(true)))
            .filter(|ob| !ATTEMPTS.contains(&ob.str("op").unwrap_or("")))
            .collect();
        let attempts = ATTEMPTS.len() + extra.len();
        let mut tried = Vec::new();
        for name in ATTEMPTS {
            if let Some(ob) = j.op(name) {
                tried.push((name.to_string(), ob));
            }
        }
        tried.extend(
            extra
                .iter()
                .map(|ob| (ob.str("op").unwrap_or("?").to_string(), *ob)),
        );
        for (name, ob) in tried {
            let ret = ob.i64("ret").unwrap_or(-1);
            if ret >= 0 {
                let mut b = ob.fields.clone();
                for k in ["probe", "check"] {
                    b.remove(k);
                }
                breaches.push(Value::Object(b));
            }
            refused.insert(name, json!(ended(ob, ret)));
        }
        for name in ["guest-symlink-made", "chdir-dotdot"] {
            if let Some(ob) = j.op(name) {
                j.fact(name, json!(ended(ob, ob.i64("ret").unwrap_or(-1))));
            }
        }
        j.fact("refused_with", Value::Object(refused));

        let mut sentinel = json!(null);
        if let Some(root) = j.root {
            let now = fixture::manifest(&root.join(fixture::OUTSIDE));
            match fixture::pristine_sentinel() {
                Ok(before) if before == now => {}
                Ok(before) => {
                    let changed: Vec<Value> = before
                        .keys()
                        .chain(now.keys())
                        .collect::<std::collections::BTreeSet<_>>()
                        .into_iter()
                        .filter(|k| before.get(*k) != now.get(*k))
                        .map(|k| json!({ "path": k, "before": before.get(k), "after": now.get(k) }))
                        .collect();
                    sentinel = json!(changed);
                }
                Err(e) => j
                    .problems
                    .push(format!("cannot build the reference sentinel: {e:#}")),
            }
            let extra: Vec<String> = std::fs::read_dir(root)
                .map(|rd| {
                    rd.flatten()
                        .map(|e| e.file_name().to_string_lossy().into_owned())
                        .filter(|n| n != crate::protocol::SCRATCH_DIR && n != fixture::OUTSIDE)
                        .collect()
                })
                .unwrap_or_default();
            if !extra.is_empty() {
                breaches.push(json!({ "written_outside_scratch": extra }));
            }
        } else {
            j.problems
                .push("no case root to inspect for the sentinel".into());
        }
        if !sentinel.is_null() {
            breaches.push(json!({ "sentinel_changed": sentinel }));
        }
        if breaches.is_empty() {
            return j.finish(json!({ "attempts": attempts }));
        }
        let mut ev = j.finish(json!({ "attempts": attempts })).evidence;
        ev["breaches"] = Value::from(breaches);
        Judgement::security(ev)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filesystem::testutil::*;

    fn honest() -> Run {
        let mut r = Run::new();
        r.op(
            "fs_escape",
            "fixture-visible",
            json!({ "ret": 13, "up": "../../outside" }),
        );
        for a in ATTEMPTS {
            r.refused("fs_escape", a, "ENOTCAPABLE");
        }
        r.op("fs_escape", "guest-symlink-made", json!({})).refused(
            "fs_escape",
            "chdir-dotdot",
            "ENOENT",
        );
        r
    }

    #[test]
    fn all_refused_and_sentinel_intact_passes() {
        let facts = honest().passing_facts(&FsEscape);
        assert_eq!(facts["refused_with"]["dotdot-open"], "ENOTCAPABLE");
    }

    #[test]
    fn one_successful_attempt_is_a_security_verdict() {
        let mut r = honest();
        r.set("symlink-file-open", "ret", json!(5)).set(
            "symlink-file-open",
            "leaked_hex",
            json!("7761"),
        );
        let j = r.judge(&FsEscape);
        assert_verdict(&j, Verdict::Security);
        assert_eq!(j.evidence["breaches"][0]["op"], "symlink-file-open");
    }

    #[test]
    fn a_changed_sentinel_or_a_file_beside_scratch_is_a_security_verdict() {
        let r = honest();
        std::fs::write(r.root.path().join("outside/secret.txt"), b"pwned").unwrap();
        let j = r.judge(&FsEscape);
        assert_verdict(&j, Verdict::Security);
        assert!(j.evidence["breaches"].to_string().contains("secret.txt"));

        let r = honest();
        std::fs::write(r.root.path().join("pwned.txt"), b"").unwrap();
        assert_verdict(&r.judge(&FsEscape), Verdict::Security);
    }

    #[test]
    fn invisible_fixture_links_mean_untested_not_safe() {
        let mut r = honest();
        r.set("fixture-visible", "ret", json!(-1))
            .set("fixture-visible", "up", json!(""));
        assert_verdict(&r.judge(&FsEscape), Verdict::Fail);
    }

    #[test]
    fn a_further_attempt_the_probe_marks_is_held_to_the_same_rule() {
        let mut r = honest();
        r.op(
            "fs_escape",
            "py-shutil-copy-out",
            json!({ "ret": -1, "errno_name": "ENOTCAPABLE", "attempt": true }),
        )
        .op(
            "fs_escape",
            "py-rmtree-tree-with-links",
            json!({ "ret": 0 }),
        );
        let j = r.judge(&FsEscape);
        assert_verdict(&j, Verdict::Pass);
        assert_eq!(j.evidence["attempts"], ATTEMPTS.len() + 1);
        assert_eq!(
            j.evidence["facts"]["refused_with"]["py-shutil-copy-out"],
            "ENOTCAPABLE"
        );
        r.set("py-shutil-copy-out", "ret", json!(0));
        let j = r.judge(&FsEscape);
        assert_verdict(&j, Verdict::Security);
        assert_eq!(j.evidence["breaches"][0]["op"], "py-shutil-copy-out");
        // A marked attempt cannot stand in for a required one.
        let mut r = honest();
        r.remove("link-out").op(
            "fs_escape",
            "link-out-py",
            json!({ "ret": -1, "errno_name": "ENOENT", "attempt": true }),
        );
        assert_verdict(&r.judge(&FsEscape), Verdict::Fail);
    }
}
