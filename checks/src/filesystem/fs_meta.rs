//! `fs_meta`: stat, lstat, fstat and fstatat against the fixture as the host has it (type,
//! size, link count, mtime to the nanosecond), and times the guest sets with utimensat/futimens
//! (explicit values, UTIME_OMIT, UTIME_NOW) as the host records them. File-type constants and
//! whether inode numbers are the host's are facts.

use super::{case, fixture, ns, system_ns, Judge, PROBE};
use crate::protocol::Observation;
use crate::{Case, Judgement, Observed};
use serde_json::{json, Value};
use std::os::unix::fs::MetadataExt;

/// UTIME_NOW is stamped by the host kernel from a coarse clock that may lag the run's start.
const NOW_SLACK_NS: i128 = 1_000_000_000;

fn host_type(md: &std::fs::Metadata) -> &'static str {
    let t = md.file_type();
    if t.is_symlink() {
        "symlink"
    } else if t.is_dir() {
        "directory"
    } else if t.is_file() {
        "regular"
    } else {
        "other"
    }
}

/// The guest's stat fields beside the host's metadata; every difference is a mismatch.
fn compare(j: &mut Judge, ob: &Observation, rel: &str, follow: bool) {
    let Some(p) = j.host(rel) else { return };
    let md = if follow {
        std::fs::metadata(&p)
    } else {
        std::fs::symlink_metadata(&p)
    };
    let Ok(md) = md else {
        j.mismatch(rel, json!("exists"), json!("absent"));
        return;
    };
    let guest = json!({
        "type": ob.str("type"),
        "size": ob.i64("size"),
        "nlink": ob.i64("nlink"),
        "mtime_ns": ob.i64("mtime_s").zip(ob.i64("mtime_ns")).map(|(s, n)| ns(s, n).to_string()),
    });
    let host = json!({
        "type": host_type(&md),
        "size": md.len(),
        "nlink": md.nlink(),
        "mtime_ns": system_ns(md.modified()).map(|t| t.to_string()),
    });
    if guest != host {
        j.mismatch(
            &format!("{} {rel}", ob.str("op").unwrap_or("?")),
            guest,
            host,
        );
    }
}

fn times(ob: &Observation) -> (Option<i128>, Option<i128>) {
    let t = |k: &str| {
        ob.i64(&format!("{k}_s"))
            .zip(ob.i64(&format!("{k}_ns")))
            .map(|(s, n)| ns(s, n))
    };
    (t("atime"), t("mtime"))
}

/// The stat calls on the fixture, as (operation, path in the case root, whether it follows a
/// link): the check compares each with the host, and the test's honest run answers each.
const FIXTURE_STATS: [(&str, &str, bool); 8] = [
    ("stat:known.bin", "fixtures/known.bin", true),
    ("stat:empty", "fixtures/empty", true),
    ("stat:tree", "fixtures/tree", true),
    ("lstat:link-to-known", "fixtures/link-to-known", false),
    ("stat:link-to-known", "fixtures/link-to-known", true),
    (
        "fstatat-nofollow:link-to-known",
        "fixtures/link-to-known",
        false,
    ),
    ("fstatat:tree/a/b/c.txt", "fixtures/tree/a/b/c.txt", true),
    ("fstat:known.bin", "fixtures/known.bin", true),
];

check! {
    FsMeta: "fs_meta", probe PROBE, area "filesystem",
    case case(),
    controls ["fd_filestat_get:mtime-plus-1h", "preopen:wrong-dir"]
}

impl FsMeta {
    fn judge(&self, case: &Case, o: &Observed) -> Judgement {
        let mut j = Judge::new(case, o, "fs_meta");
        for (op, rel, follow) in FIXTURE_STATS {
            if let Some(ob) = j.ok(op) {
                compare(&mut j, ob, rel, follow);
            }
        }
        // The fixture's atime is read before anything reads the file, so it must still be the
        // value the harness set (the host's atime may have moved since, by the probe's reads).
        if let Some(ob) = j.ok("stat:known.bin") {
            let want = ns(fixture::KNOWN_ATIME.0, fixture::KNOWN_ATIME.1);
            if times(ob).0 != Some(want) {
                j.mismatch(
                    "atime of fixtures/known.bin",
                    json!(times(ob).0.map(|t| t.to_string())),
                    json!(want.to_string()),
                );
            }
        }
        let host_ino = j
            .host("fixtures/known.bin")
            .and_then(|p| std::fs::metadata(p).ok())
            .map(|m| m.ino());
        if let Some(ob) = j.ok("stat:known.bin") {
            j.fact(
                "ino_is_host_ino",
                json!(host_ino.is_some() && ob.i64("ino").map(|i| i as u64) == host_ino),
            );
        }
        if let (Some(a), Some(b)) = (j.ok("stat:known.bin"), j.ok("fstat:known.bin")) {
            if a.i64("ino") != b.i64("ino") {
                j.problems.push(format!(
                    "stat and fstat disagree on the inode of known.bin: {:?} vs {:?}",
                    a.i64("ino"),
                    b.i64("ino")
                ));
            }
        }

        let set = (
            Some(ns(1_000_000_000, 500_000_000)),
            Some(ns(1_234_567_890, 123_456_789)),
        );
        j.ok("utimensat:times.txt");
        if let Some(ob) = j.ok("stat:times.txt") {
            if times(ob) != set {
                j.mismatch(
                    "utimensat times as the guest reads them back",
                    json!(format!("{:?}", times(ob))),
                    json!(format!("{set:?}")),
                );
            }
        }
        host_times(&mut j, "work/times.txt", set.0, |m| m == set.1);

        // UTIME_OMIT / UTIME_NOW: the one part a program may be unable to spell (Python's
        // os.utime takes explicit times or none); then it is left out, saying so.
        if !j.unobservable("futimens:now.txt") {
            // Seen failing in libc itself (EINVAL, no host call) on some wasi-libc revisions, so
            // it is also a fact a diff between SDKs shows.
            if let Some(ob) = j.op("futimens:now.txt") {
                let r = ob.i64("ret").unwrap_or(-1);
                let v = if r >= 0 {
                    "ok"
                } else {
                    ob.str("errno_name").unwrap_or("?")
                };
                j.fact("futimens_omit_now", json!(v));
            }
            j.ok("futimens:now.txt");
            let omitted = Some(ns(1_100_000_000, 250_000_000));
            let wide = |t: u128| i128::try_from(t).unwrap_or(i128::MAX);
            let (lo, hi) = (
                wide(o.host_window_ns.0) - NOW_SLACK_NS,
                wide(o.host_window_ns.1),
            );
            let in_window = |m: Option<i128>| m.is_some_and(|m| m >= lo && m <= hi);
            if let Some(ob) = j.ok("fstat:now.txt") {
                let (a, m) = times(ob);
                if a != omitted || !in_window(m) {
                    j.mismatch(
                        "futimens(UTIME_OMIT, UTIME_NOW) on work/now.txt as the guest reads it back",
                        json!({ "atime": a.map(|t| t.to_string()), "mtime": m.map(|t| t.to_string()) }),
                        json!({ "atime": omitted.map(|t| t.to_string()), "mtime_within": [lo.to_string(), hi.to_string()] }),
                    );
                }
            }
            host_times(&mut j, "work/now.txt", omitted, in_window);
        }

        if let Some(ob) = j.op("constants") {
            let mut c = ob.fields.clone();
            for k in ["probe", "check", "via", "op", "ret", "errno", "errno_name"] {
                c.remove(k);
            }
            j.fact("constants", Value::Object(c));
        }
        j.finish(json!({}))
    }
}

/// The host's atime must be `atime` and its mtime must satisfy `mtime_ok`.
fn host_times(
    j: &mut Judge,
    rel: &str,
    atime: Option<i128>,
    mtime_ok: impl Fn(Option<i128>) -> bool,
) {
    let Some(p) = j.host(rel) else { return };
    let md = std::fs::metadata(&p);
    let (a, m) = match &md {
        Ok(md) => (system_ns(md.accessed()), system_ns(md.modified())),
        Err(_) => (None, None),
    };
    if a != atime || !mtime_ok(m) {
        j.mismatch(
            &format!("host times of {rel}"),
            json!({ "atime": atime.map(|t| t.to_string()), "mtime": "as set by the guest" }),
            json!({ "atime": a.map(|t| t.to_string()), "mtime": m.map(|t| t.to_string()) }),
        );
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::filesystem::testutil::*;
    use crate::Check;
    use std::fs::{self, FileTimes};
    use std::os::unix::fs::MetadataExt;
    use std::time::{Duration, UNIX_EPOCH};

    fn stat_of(p: &std::path::Path, follow: bool) -> Value {
        let md = if follow {
            fs::metadata(p)
        } else {
            fs::symlink_metadata(p)
        }
        .unwrap();
        let m = system_ns(md.modified()).unwrap();
        let a = system_ns(md.accessed()).unwrap();
        json!({
            "type": host_type(&md), "size": md.len(), "nlink": md.nlink(), "ino": md.ino(),
            "mtime_s": (m.div_euclid(1_000_000_000)) as i64, "mtime_ns": (m.rem_euclid(1_000_000_000)) as i64,
            "atime_s": (a.div_euclid(1_000_000_000)) as i64, "atime_ns": (a.rem_euclid(1_000_000_000)) as i64,
        })
    }

    fn set_times(p: &std::path::Path, a: (u64, u32), m: (u64, u32)) {
        fs::File::options()
            .write(true)
            .open(p)
            .unwrap()
            .set_times(
                FileTimes::new()
                    .set_accessed(UNIX_EPOCH + Duration::new(a.0, a.1))
                    .set_modified(UNIX_EPOCH + Duration::new(m.0, m.1)),
            )
            .unwrap();
    }

    pub fn honest() -> Run {
        let mut r = Run::new();
        let s = r.scratch();
        let w = s.join("work");
        fs::write(w.join("times.txt"), b"t").unwrap();
        set_times(
            &w.join("times.txt"),
            (1_000_000_000, 500_000_000),
            (1_234_567_890, 123_456_789),
        );
        fs::write(w.join("now.txt"), b"n").unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap();
        set_times(
            &w.join("now.txt"),
            (1_100_000_000, 250_000_000),
            (now.as_secs(), now.subsec_nanos()),
        );
        let c = "fs_meta";
        for (op, rel, follow) in FIXTURE_STATS.into_iter().chain([
            ("stat:times.txt", "work/times.txt", true),
            ("fstat:now.txt", "work/now.txt", true),
        ]) {
            let v = stat_of(&s.join(rel), follow);
            r.op(c, op, v);
        }
        r.op(c, "utimensat:times.txt", json!({}))
            .op(c, "futimens:now.txt", json!({}))
            .op(c, "constants", json!({ "S_IFIFO": 4096 }));
        r
    }

    #[test]
    fn honest_run_passes_and_records_facts() {
        let facts = honest().passing_facts(&FsMeta);
        assert_eq!(facts["constants"]["S_IFIFO"], 4096);
        assert_eq!(facts["ino_is_host_ino"], true);
    }

    #[test]
    fn an_mtime_an_hour_off_is_a_mismatch() {
        let mut r = honest();
        r.set(
            "stat:known.bin",
            "mtime_s",
            json!(fixture::KNOWN_MTIME.0 + 3600),
        );
        let j = r.judge(&FsMeta);
        assert_verdict(&j, Verdict::Fail);
        assert!(j.evidence["mismatches"][0]["what"]
            .as_str()
            .unwrap()
            .contains("known.bin"));
    }

    #[test]
    fn utime_omit_ignored_or_host_times_not_set_fail() {
        assert_each_edit_fails(
            &FsMeta,
            honest,
            &[
                ("fstat:now.txt", "atime_s", json!(1_700_000_000)),
                ("lstat:link-to-known", "type", json!("regular")),
            ],
        );
        let r = honest();
        set_times(&r.scratch().join("work/times.txt"), (1, 0), (1, 0));
        assert_verdict(&r.judge(&FsMeta), Verdict::Fail);
    }

    #[test]
    fn a_part_the_case_declares_unobservable_is_left_out_and_named_nothing_else() {
        let without_now = || {
            let mut r = honest();
            r.remove("futimens:now.txt").remove("fstat:now.txt");
            set_times(&r.scratch().join("work/now.txt"), (1, 0), (1, 0));
            r
        };
        let case = |check: &'static str| Case {
            unobservable: vec![(check, "futimens:now.txt", "no spelling for UTIME_OMIT")],
            ..FsMeta.case()
        };
        let r = without_now();
        assert_verdict(&r.judge(&FsMeta), Verdict::Fail);
        let j = r.judge_case(&FsMeta, &case("fs_meta"));
        assert_verdict(&j, Verdict::Pass);
        assert_eq!(
            j.evidence["not_observable"]["futimens:now.txt"],
            "no spelling for UTIME_OMIT"
        );
        // Declared for another check: no effect here.
        assert_verdict(&r.judge_case(&FsMeta, &case("fs_dirs")), Verdict::Fail);
        // The rest of the check is judged as ever.
        let mut r = without_now();
        r.set("stat:known.bin", "size", json!(4095));
        assert_verdict(&r.judge_case(&FsMeta, &case("fs_meta")), Verdict::Fail);
    }
}
