//! `entropy_edges`: `getentropy` of 257 bytes fails with EIO (its documented 256-byte limit);
//! of 256 succeeds; `random_get` of length 0 succeeds; one 1 MiB `random_get` succeeds.
//! Whether `/dev/urandom` exists is a fact. Deterministic: no false alarms.

use super::find;
use crate::{Case, Judged, Judgement, Observed};
use serde_json::json;

check! {
    EntropyEdges: "entropy_edges", probe super::PROBE, area "entropy",
    case super::case(),
    controls []
}

impl EntropyEdges {
    fn judge(&self, _case: &Case, o: &Observed) -> Judged {
        let obs = o.parsed()?;
        let one = |w: &str| find(obs, w).into_iter().next();
        let mut problems = Vec::new();
        match one("getentropy_257") {
            Some(g) if g.i64("ret") == Some(-1) && g.i64("errno") == g.i64("EIO") => {}
            Some(g) => problems.push(format!(
                "getentropy(257) returned {:?} errno {:?}, expected -1 / EIO",
                g.i64("ret"),
                g.i64("errno")
            )),
            None => problems.push("no getentropy(257) observation".into()),
        }
        if one("getentropy_256").and_then(|g| g.i64("ret")) != Some(0) {
            problems.push("getentropy(256) did not succeed".into());
        }
        if one("random_get_0").and_then(|g| g.i64("errno")) != Some(0) {
            problems.push("random_get of length 0 did not succeed".into());
        }
        if one("random_get_1mib").and_then(|g| g.i64("errno")) != Some(0) {
            problems.push("a single 1 MiB random_get did not succeed".into());
        }
        let urandom = one("dev_urandom")
            .map(|u| json!({ "exists": u.fields.get("exists"), "errno": u.i64("errno") }));
        let facts = json!({
            "dev_urandom_exists": urandom.as_ref().and_then(|u| u.get("exists").cloned()),
            "dev_urandom_errno": urandom.as_ref().and_then(|u| u.get("errno").cloned()),
            "getentropy_257_errno": one("getentropy_257").and_then(|g| g.i64("errno")),
        });
        Ok(Judgement::from_problems(
            problems,
            json!({ "dev_urandom": urandom, "facts": facts }),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entropy::testdata::*;

    #[test]
    fn limits_hold_and_a_257_byte_success_fails() {
        Run::honest(1_000_000, 8).assert_caught(
            &EntropyEdges,
            |r| {
                for l in r.lines.iter_mut() {
                    if l["what"] == "getentropy_257" {
                        l["ret"] = 0.into();
                        l["errno"] = 0.into();
                    }
                }
            },
            "getentropy(257) returned Some(0)",
        );
    }
}
