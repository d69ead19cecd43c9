//! `fs_dirs`: the namespace — mkdir/rmdir, readdir over 1 000 entries (several fd_readdir
//! buffers: no entry lost or repeated, telldir/seekdir cookies stable, rewinddir), rename in its
//! four forms, unlink, link, symlink/readlink, realpath, chdir/getcwd (wasi-libc emulates a
//! cwd), a Unicode name and a 255-byte name — each judged on the guest's report and on the host
//! tree afterwards. Whether libc has realpath is a fact.

use super::{case, Judge, PROBE};
use crate::{Case, Judgement, Observed};
use serde_json::json;
use std::os::unix::fs::MetadataExt;

pub const MANY: usize = 1000;
pub const UNICODE_NAME: &str = "ünïcødé-ζ-😀.txt";

pub fn long_name() -> String {
    format!("{}.txt", "n".repeat(251))
}

check! {
    FsDirs: "fs_dirs", probe PROBE, area "filesystem",
    case case(),
    controls ["fd_readdir:duplicate", "fd_write:short-file-writes", "preopen:wrong-dir"]
}

impl FsDirs {
    fn judge(&self, case: &Case, o: &Observed) -> Judgement {
        let mut j = Judge::new(case, o, "fs_dirs");
        j.ok("mkdir:d1");
        j.ok("mkdir:d1/sub");
        j.ok("rmdir:d1/sub");
        j.host_exists("work/d1", true, "mkdir d1");
        j.host_exists("work/d1/sub", false, "mkdir d1/sub, then rmdir");

        if let Some(ob) = j.ok("readdir-1000") {
            for (k, want) in [
                ("created", MANY),
                ("entries", MANY),
                ("duplicates", 0),
                ("missing", 0),
                ("others", 0),
                ("seek_stable", 1),
                ("rewind_count", MANY),
            ] {
                j.expect(ob, k, json!(want));
            }
            j.fact("readdir_dot_entries", json!(ob.i64("dot_entries")));
            let host = j
                .host("work/many")
                .and_then(|p| std::fs::read_dir(p).ok())
                .map_or(0, |rd| rd.count());
            let guest = ob.i64("entries").unwrap_or(-1);
            if host as i64 != guest {
                j.mismatch("entries in work/many", json!(guest), json!(host));
            }
        }

        for op in ["rename-file", "rename-dir", "rename-over", "rename-across"] {
            j.ok(op);
        }
        for (rel, what) in [
            ("work/r/a", "renamed to r/b"),
            ("work/r/c", "renamed over r/b"),
            ("work/r/b", "renamed to r2/moved"),
            ("work/r/dir1", "renamed to r/dir2"),
        ] {
            j.host_exists(rel, false, what);
        }
        j.host_bytes(
            "work/r/dir2/in",
            b"in",
            json!("inside dir1, renamed to dir2"),
        );
        j.host_bytes(
            "work/r2/moved",
            b"C-content",
            json!("C-content, renamed over b, then across directories"),
        );

        j.ok("unlink");
        j.host_exists("work/u", false, "unlinked");

        if let Some(ob) = j.ok("link") {
            j.expect(ob, "nlink", json!(2));
            let md = |n: &str| j.host(n).and_then(|p| std::fs::metadata(p).ok());
            let (a, b) = (md("work/l1"), md("work/l2"));
            let host = json!({
                "same_inode": matches!((&a, &b), (Some(a), Some(b)) if a.ino() == b.ino()),
                "nlink": a.map(|m| m.nlink()),
            });
            let guest = json!({ "same_inode": true, "nlink": 2 });
            if host != guest {
                j.mismatch("hard link work/l1 = work/l2", guest, host);
            }
        }

        if let Some(ob) = j.ok("symlink") {
            j.expect(ob, "readlink", json!("target-text"));
            let host = j
                .host("work/s")
                .and_then(|p| std::fs::read_link(p).ok())
                .map(|t| t.display().to_string());
            if host.as_deref() != Some("target-text") {
                j.mismatch("symlink work/s", json!("target-text"), json!(host));
            }
        }

        if let Some(ob) = j.op("realpath") {
            let available = ob.fields.get("available") == Some(&json!(true));
            // A weak reference does not pull an archive member in, so this says whether the
            // program got a realpath, not whether some libc member defines one.
            j.fact("realpath_linked", json!(available));
            if available {
                if ob.i64("ret").unwrap_or(-1) < 0 {
                    j.problems.push(format!(
                        "realpath failed: {}",
                        ob.str("errno_name").unwrap_or("?")
                    ));
                } else {
                    j.expect(ob, "path", json!("/scratch/work/d1"));
                }
            }
        }

        if let Some(ob) = j.ok("chdir") {
            j.expect(ob, "getcwd", json!("/scratch/work"));
            j.expect(ob, "relative_open", json!(true));
        }
        j.host_bytes(
            "work/rel.txt",
            b"rel",
            json!("rel.txt opened relative to the cwd"),
        );

        if let Some(ob) = j.ok("unicode-name") {
            j.expect(ob, "stat", json!(0));
        }
        j.host_bytes(
            &format!("work/{UNICODE_NAME}"),
            b"u",
            json!("a file under a UTF-8 name"),
        );
        if let Some(ob) = j.ok("name-255") {
            j.expect(ob, "length", json!(255));
        }
        j.host_bytes(
            &format!("work/{}", long_name()),
            b"l",
            json!("a file under a 255-byte name"),
        );
        j.finish(json!({}))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::filesystem::testutil::*;
    use crate::Check;
    use std::fs;

    pub fn honest() -> Run {
        let mut r = Run::new();
        let w = r.scratch().join("work");
        fs::create_dir(w.join("d1")).unwrap();
        fs::create_dir_all(w.join("many")).unwrap();
        for i in 0..MANY {
            fs::write(w.join(format!("many/f{i:04}")), b"").unwrap();
        }
        fs::create_dir_all(w.join("r/dir2")).unwrap();
        fs::write(w.join("r/dir2/in"), b"in").unwrap();
        fs::create_dir_all(w.join("r2")).unwrap();
        fs::write(w.join("r2/moved"), b"C-content").unwrap();
        fs::write(w.join("l1"), b"L").unwrap();
        fs::hard_link(w.join("l1"), w.join("l2")).unwrap();
        std::os::unix::fs::symlink("target-text", w.join("s")).unwrap();
        fs::write(w.join("rel.txt"), b"rel").unwrap();
        fs::write(w.join(UNICODE_NAME), b"u").unwrap();
        fs::write(w.join(long_name()), b"l").unwrap();
        let c = "fs_dirs";
        r.op(c, "mkdir:d1", json!({}))
            .op(c, "mkdir:d1/sub", json!({}))
            .op(c, "rmdir:d1/sub", json!({}))
            .op(
                c,
                "readdir-1000",
                json!({ "ret": MANY, "created": MANY, "entries": MANY, "duplicates": 0, "missing": 0,
                        "others": 0, "dot_entries": 2, "seek_stable": 1, "rewind_count": MANY }),
            )
            .op(c, "rename-file", json!({}))
            .op(c, "rename-dir", json!({}))
            .op(c, "rename-over", json!({}))
            .op(c, "rename-across", json!({}))
            .op(c, "unlink", json!({}))
            .op(c, "link", json!({ "nlink": 2 }))
            .op(c, "symlink", json!({ "readlink": "target-text" }))
            .op(
                c,
                "realpath",
                json!({ "available": true, "path": "/scratch/work/d1" }),
            )
            .op(
                c,
                "chdir",
                json!({ "getcwd": "/scratch/work", "relative_open": true }),
            )
            .op(c, "unicode-name", json!({ "stat": 0 }))
            .op(c, "name-255", json!({ "length": 255 }));
        r
    }

    #[test]
    fn honest_run_passes() {
        assert_eq!(honest().passing_facts(&FsDirs)["realpath_linked"], true);
    }

    #[test]
    fn duplicates_in_readdir_or_unstable_cookies_fail() {
        assert_each_edit_fails(
            &FsDirs,
            honest,
            &[
                ("readdir-1000", "duplicates", json!(1)),
                ("readdir-1000", "seek_stable", json!(0)),
                ("readdir-1000", "entries", json!(1001)),
            ],
        );
    }

    #[test]
    fn host_tree_disagreeing_with_the_guest_fails() {
        let r = honest();
        fs::write(r.scratch().join("work/r/a"), b"A").unwrap();
        let j = r.judge(&FsDirs);
        assert_verdict(&j, Verdict::Fail);
        assert_eq!(j.evidence["mismatches"][0]["what"], "work/r/a");

        let r = honest();
        fs::remove_file(r.scratch().join("work/l2")).unwrap();
        fs::write(r.scratch().join("work/l2"), b"L").unwrap();
        assert_verdict(&r.judge(&FsDirs), Verdict::Fail);
    }

    #[test]
    fn missing_realpath_is_a_fact_not_a_failure() {
        let mut r = honest();
        r.set("realpath", "available", json!(false))
            .set("realpath", "ret", json!(-1));
        assert_eq!(r.passing_facts(&FsDirs)["realpath_linked"], false);
    }

    #[test]
    fn an_unobservable_field_is_left_out_but_the_rest_of_its_operation_is_judged() {
        let case = Case {
            unobservable: vec![
                ("fs_dirs", "readdir-1000.seek_stable", "no seekdir"),
                ("fs_dirs", "readdir-1000.rewind_count", "no rewinddir"),
            ],
            ..FsDirs.case()
        };
        let mut r = honest();
        r.set("readdir-1000", "seek_stable", json!(null)).set(
            "readdir-1000",
            "rewind_count",
            json!(null),
        );
        assert_verdict(&r.judge(&FsDirs), Verdict::Fail);
        let j = r.judge_case(&FsDirs, &case);
        assert_verdict(&j, Verdict::Pass);
        assert_eq!(
            j.evidence["not_observable"]["readdir-1000.seek_stable"],
            "no seekdir"
        );
        r.set("readdir-1000", "duplicates", json!(1));
        assert_verdict(&r.judge_case(&FsDirs, &case), Verdict::Fail);
    }
}
