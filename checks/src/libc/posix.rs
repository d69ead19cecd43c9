//! `libc_posix`: POSIX details of the libc that SDK bumps changed (`probes/c/libc_edges.c`).
//! Judged against POSIX: `poll` must not fail on an entry that requests no events (such an
//! entry still reports POLLERR/POLLHUP/POLLNVAL; wasi-libc before #630, SDK 28, returned -1
//! ENOSYS); `linkat` with names relative to the working directory must link the old name to
//! the new (before #690 the old name was lost); `lseek` on stdin/stdout — streams, not files —
//! must fail with ESPIPE, and on a regular file must work. Recorded as facts: POLLPRI (#754),
//! whether readdir/scandir return `.` and `..` (#633), what `linkat(AT_SYMLINK_FOLLOW)` gives.
//! Deterministic: no false alarms (the `poll` timeout is not timed, only its result).

use crate::protocol::first;
use crate::{Case, Judged, Judgement, Observed};
use serde_json::{json, Map, Value};

pub const PROBE: &str = "libc_edges";
/// WASI's errno values, which every wasi-libc uses.
const ESPIPE: i64 = 70;

check! {
    LibcPosix: "libc_posix", probe PROBE, area "libc",
    case Case::probe(PROBE),
    controls ["fd_seek:einval-on-stream"]
}

impl LibcPosix {
    fn judge(&self, _case: &Case, o: &Observed) -> Judged {
        o.done("the probe did not report `done`")?;
        let obs = o.parsed()?;
        let mut problems = Vec::new();
        let mut facts = Map::new();
        let get = |w: &str, k: &str| first(obs, w).and_then(|x| x.i64(k));
        match (get("poll_no_events", "ret"), get("poll_no_events", "errno")) {
            (Some(r), _) if r >= 0 => {}
            (r, e) => problems.push(format!(
                "poll() on an entry with no requested events returned {r:?} (errno {e:?}); POSIX: it reports only errors and hangup there, and the call succeeds"
            )),
        }
        facts.insert(
            "poll_no_events".into(),
            json!(format!(
                "ret {} errno {}",
                get("poll_no_events", "ret").unwrap_or(-99),
                get("poll_no_events", "errno").unwrap_or(0)
            )),
        );
        match (get("linkat_relative", "ret"), first(obs, "linkat_relative").and_then(|x| x.fields.get("same_file"))) {
            (Some(0), Some(Value::Bool(true))) => {}
            (r, same) => problems.push(format!(
                "linkat(AT_FDCWD, \"target\", AT_FDCWD, \"hl1\", 0) after chdir returned {r:?} (errno {:?}), same file: {same:?}",
                get("linkat_relative", "errno")
            )),
        }
        for fd in ["stdout", "stdin"] {
            let w = format!("lseek_{fd}");
            match (get(&w, "ret"), get(&w, "errno")) {
                (Some(-1), Some(ESPIPE)) => {}
                (r, e) => problems.push(format!(
                    "lseek on {fd}, a stream, returned {r:?} with errno {e:?}; POSIX: -1 with ESPIPE ({ESPIPE})"
                )),
            }
            facts.insert(w.clone(), json!(get(&w, "errno")));
        }
        match get("lseek_file", "ret") {
            Some(1) => {}
            r => problems.push(format!(
                "lseek(fd, 0, SEEK_END) on a 1-byte file returned {r:?} (errno {:?})",
                get("lseek_file", "errno")
            )),
        }
        if let Some(p) = first(obs, "pollpri") {
            facts.insert(
                "POLLPRI".into(),
                match p.fields.get("defined") {
                    Some(Value::Bool(true)) => json!(format!(
                        "{:#x}; poll(POLLIN|POLLPRI) → {} errno {}",
                        p.i64("value").unwrap_or(0),
                        p.i64("ret").unwrap_or(-99),
                        p.i64("errno").unwrap_or(0)
                    )),
                    _ => json!("undefined"),
                },
            );
        }
        if let Some(d) = first(obs, "readdir") {
            let b = |k: &str| d.fields.get(k) == Some(&Value::Bool(true));
            facts.insert("readdir_dot_entries".into(), json!(b("dot") && b("dotdot")));
            facts.insert("scandir_dot_entries".into(), json!(b("scandir_dots")));
        }
        facts.insert(
            "linkat_symlink_follow_errno".into(),
            json!(get("linkat_symlink_follow", "errno")),
        );
        Ok(Judgement::from_problems(
            problems,
            json!({ "facts": facts }),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{assert_fails_saying, assert_verdict, judge_stdout};
    use wasiprobe_model::report::Verdict;

    /// What the probe prints with wasi-libc 161b3195 on wasmtime.
    pub fn honest() -> String {
        [
            r#"{"probe":"libc_edges","check":"libc_posix","what":"poll_no_events","ret":0,"errno":0,"revents":0,"elapsed_ms":50}"#,
            r#"{"probe":"libc_edges","check":"libc_posix","what":"pollpri","defined":true,"value":512,"ret":1,"errno":0,"revents":1}"#,
            r#"{"probe":"libc_edges","check":"libc_posix","what":"readdir","entries":3,"dot":true,"dotdot":true,"scandir_entries":3,"scandir_dots":true}"#,
            r#"{"probe":"libc_edges","check":"libc_posix","what":"linkat_relative","ret":0,"errno":0,"same_file":true}"#,
            r#"{"probe":"libc_edges","check":"libc_posix","what":"linkat_symlink_follow","ret":-1,"errno":28}"#,
            r#"{"probe":"libc_edges","check":"libc_posix","what":"lseek_stdout","ret":-1,"errno":70}"#,
            r#"{"probe":"libc_edges","check":"libc_posix","what":"lseek_stdin","ret":-1,"errno":70}"#,
            r#"{"probe":"libc_edges","check":"libc_posix","what":"lseek_file","ret":1,"errno":0}"#,
            r#"{"probe":"libc_edges","check":"libc_posix","what":"done"}"#,
        ]
        .join("\n")
            + "\n"
    }

    #[test]
    fn posix_behaviour_passes_and_facts_are_kept() {
        let j = judge_stdout(&LibcPosix, honest());
        assert_verdict(&j, Verdict::Pass);
        assert_eq!(j.evidence["facts"]["readdir_dot_entries"], true);
        assert!(j.evidence["facts"]["POLLPRI"]
            .as_str()
            .unwrap()
            .starts_with("0x200"));
    }

    #[test]
    fn the_old_libc_behaviours_are_rejected() {
        for (from, to, needle) in [
            // wasi-libc before #630.
            (
                r#""poll_no_events","ret":0,"errno":0"#,
                r#""poll_no_events","ret":-1,"errno":52"#,
                "no requested events returned Some(-1)",
            ),
            // wasi-libc before #690.
            (
                r#""linkat_relative","ret":0,"errno":0,"same_file":true"#,
                r#""linkat_relative","ret":-1,"errno":44,"same_file":false"#,
                "linkat(AT_FDCWD",
            ),
            // A runtime (or the fd_seek:einval-on-stream liar) answering EINVAL.
            (
                r#""lseek_stdout","ret":-1,"errno":70"#,
                r#""lseek_stdout","ret":-1,"errno":28"#,
                "lseek on stdout",
            ),
            (
                r#""lseek_file","ret":1"#,
                r#""lseek_file","ret":-1"#,
                "1-byte file",
            ),
            (
                "{\"probe\":\"libc_edges\",\"check\":\"libc_posix\",\"what\":\"done\"}\n",
                "",
                "did not report",
            ),
        ] {
            let out = honest().replace(from, to);
            assert_ne!(out, honest(), "{needle}: the edit did not apply");
            assert_fails_saying(&judge_stdout(&LibcPosix, out), needle);
        }
    }
}
