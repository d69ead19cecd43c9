//! `entropy_cross_run`: two separate runs of the probe must not draw the same first 32 bytes
//! from any path (a fixed or snapshotted seed), and within one run the first draw must not
//! equal the start of the later stream from the same path (a generator re-seeded per call).
//! False alarm: 2^-256 per comparison.

use super::{find, read};
use crate::{Case, Judged, Judgement, Observed};
use serde_json::json;

check! {
    EntropyCrossRun: "entropy_cross_run", probe super::PROBE, area "entropy",
    case super::case(),
    controls [
        "random_get:zeros",
        "random_get:fixed-seed",
        "random_get:counter",
        "random_get:lcg-low-bits",
    ]
}

impl EntropyCrossRun {
    fn judge(&self, _case: &Case, o: &Observed) -> Judged {
        let obs = o.parsed()?;
        let second = match &o.rerun {
            Some(Ok(v)) => v,
            Some(Err(e)) => return Ok(Judgement::fail(json!({ "protocol_error_second_run": e }))),
            None => {
                return Ok(Judgement::fail(
                    json!({ "reason": "no second run was recorded" }),
                ))
            }
        };
        let mut problems = Vec::new();
        let mut ev = Vec::new();
        for p in find(obs, "prefix") {
            let source = p.str("source").unwrap_or("?");
            let a = p.str("hex").unwrap_or("");
            let b = find(second, "prefix")
                .into_iter()
                .find(|q| q.str("source") == Some(source))
                .and_then(|q| q.str("hex"));
            let stream_start = read(o, &format!("{source}.bin"))
                .ok()
                .map(|s| crate::hex(&s[..s.len().min(32)]));
            if p.i64("errno") != Some(0) {
                problems.push(format!(
                    "{source}: drawing failed with errno {:?}",
                    p.i64("errno")
                ));
                continue;
            }
            match b {
                None => problems.push(format!("{source}: the second run reported no prefix")),
                Some(b) if b == a => problems.push(format!(
                    "{source}: two runs drew the same first 32 bytes {a} (fixed seed)"
                )),
                _ => {}
            }
            if stream_start.as_deref() == Some(a) {
                problems.push(format!("{source}: a later draw in the same run repeated the first one (re-seeded per call)"));
            }
            ev.push(json!({ "source": source, "run1": a, "run2": b }));
        }
        if ev.is_empty() {
            problems.push("the probe reported no prefixes".into());
        }
        Ok(Judgement::from_problems(
            problems,
            json!({ "prefixes": ev }),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entropy::testdata::*;

    #[test]
    fn different_runs_pass_a_fixed_seed_fails() {
        Run::honest(1_000_000, 7).assert_caught(
            &EntropyCrossRun,
            |r| r.rerun[1]["hex"] = r.lines[5]["hex"].clone(),
            "getentropy: two runs",
        );
    }
}
