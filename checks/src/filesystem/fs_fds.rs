//! `fs_fds`: descriptors — the preopens the guest can enumerate (exactly the one the harness
//! gave), fd_renumber (the target now reads the source's file, the source is closed), and
//! stdin/stdout that must not be seekable (the errno is a fact).

use super::{case, fixture, Judge, PROBE};
use crate::{Case, Judgement, Observed};
use serde_json::json;

/// What the probe reads through the renumbered descriptor: the first 16 bytes of the fixture's
/// known.bin, in hex.
fn renumbered_head() -> String {
    crate::hex(&fixture::known_bytes()[..16])
}

check! {
    FsFds: "fs_fds", probe PROBE, area "filesystem",
    case case(),
    controls ["preopen:wrong-dir", "path_open:dotdot-escape"]
}

impl FsFds {
    fn judge(&self, case: &Case, o: &Observed) -> Judgement {
        let mut j = Judge::new(case, o, "fs_fds");
        if let Some(ob) = j.op("preopens") {
            let want = format!("{}\n", crate::protocol::SCRATCH_GUEST);
            if ob.str("names") != Some(want.as_str()) {
                j.problems.push(format!(
                    "the guest sees preopens {:?}; the harness gave only {:?}",
                    ob.str("names").unwrap_or(""),
                    crate::protocol::SCRATCH_GUEST
                ));
            }
        }
        if let Some(ob) = j.ok("renumber") {
            j.expect(ob, "hex", json!(renumbered_head()));
            j.expect(ob, "old_fd_read", json!(-1));
            j.expect(ob, "old_fd_errno_name", json!("EBADF"));
        }
        for s in ["seek-stdin", "seek-stdout"] {
            let Some(ob) = j.op(s) else { continue };
            if ob.i64("ret").unwrap_or(-1) >= 0 {
                j.problems.push(format!(
                    "{s}: a stream seeks (to {})",
                    ob.i64("ret").unwrap_or(0)
                ));
            }
            j.fact(
                &format!("{s}_errno"),
                json!(ob.str("errno_name").unwrap_or("")),
            );
        }
        j.finish(json!({}))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filesystem::testutil::*;

    fn honest() -> Run {
        let mut r = Run::new();
        r.op(
            "fs_fds",
            "preopens",
            json!({ "count": 1, "names": "/scratch\n" }),
        )
        .op(
            "fs_fds",
            "renumber",
            json!({ "hex": renumbered_head(), "old_fd_read": -1, "old_fd_errno_name": "EBADF" }),
        )
        .refused("fs_fds", "seek-stdin", "ESPIPE")
        .refused("fs_fds", "seek-stdout", "ESPIPE");
        r
    }

    #[test]
    fn honest_run_passes() {
        assert_eq!(honest().passing_facts(&FsFds)["seek-stdin_errno"], "ESPIPE");
    }

    #[test]
    fn an_extra_preopen_a_live_old_fd_or_a_seekable_stream_fail() {
        assert_each_edit_fails(
            &FsFds,
            honest,
            &[
                ("preopens", "names", json!("/scratch\n/.hidden\n")),
                ("renumber", "old_fd_read", json!(1)),
                ("seek-stdout", "ret", json!(0)),
            ],
        );
    }
}
