//! The entropy checks. All judge one run of the `entropy` probe (plus, for `entropy_cross_run`,
//! a second run in `prefix` mode). Streams arrive as files in the case's scratch directory.
//! Each file states its false-alarm rate on an honest source; together about 1.5e-5 per run
//! (dominated by the SP 800-90B estimate), so 20 runs of an honest runtime flip with
//! probability ≈ 3e-4.
//!
//! An entropy check's controls are every liar it rejects, as measured — not only the one it is
//! meant for: the test suite requires exactly these to fail, so the list is the check's
//! confusion row. The rows look alike because they are drawn from the same few `random_get`
//! liars, but each is measured on its own and changes on its own, so each check spells out its
//! own rather than sharing a named set.

use super::{Case, Observed};
use crate::protocol::Observation;
use rayon::prelude::*;
use serde_json::{json, Value};

area_checks! {
    sp800_22::EntropySp80022,
    min_entropy::EntropyMin,
    repeats::EntropyRepeats,
    bit_lanes::EntropyBitLanes,
    fill::EntropyFill,
    cross_run::EntropyCrossRun,
    edges::EntropyEdges,
    source::EntropySource,
}

mod memo;

pub const PROBE: &str = "entropy";
pub const SOURCES: [&str; 3] = ["random_get", "getentropy", "arc4random"];
/// The long stream `entropy_sp800_22` runs its battery on: random_get from the C probe,
/// os.urandom (getentropy → random_get underneath) from the Python twin.
pub const PRIMARY_SOURCES: [&str; 2] = ["random_get", "os.urandom"];

pub fn case() -> Case {
    Case {
        rerun_args: Some(vec![PROBE.into(), "prefix".into()]),
        ..Case::probe(PROBE)
    }
}

pub fn find<'a>(obs: &'a [Observation], what: &str) -> Vec<&'a Observation> {
    obs.iter().filter(|o| o.str("what") == Some(what)).collect()
}

/// The probe's observations, or a failing evidence value.
pub fn observations<'a>(o: &'a Observed) -> Result<&'a [Observation], Value> {
    o.observations
        .as_deref()
        .map_err(|e| json!({ "protocol_error": e }))
}

/// Reads a file the probe announced, from the scratch directory.
pub fn read(o: &Observed, file: &str) -> Result<Vec<u8>, String> {
    let dir = o.scratch.ok_or("no scratch directory")?;
    if file.contains('/') || file.contains("..") {
        return Err(format!("refusing file name {file:?}"));
    }
    std::fs::read(dir.join(file)).map_err(|e| format!("{file}: {e}"))
}

/// The bytes of the file an observation announces — unless the probe reports that `doing` them
/// (drawing, filling) failed, which is then the problem.
fn announced_file(o: &Observed, s: &Observation, doing: &str) -> Result<Vec<u8>, String> {
    if s.i64("errno") != Some(0) {
        return Err(format!(
            "{}: {doing} failed with errno {:?}",
            s.str("source").unwrap_or("?"),
            s.i64("errno")
        ));
    }
    read(o, s.str("file").unwrap_or(""))
}

/// The streams, or the failing judgement a stream check returns when it cannot read them.
pub fn streams_or_judgement(o: &Observed) -> Result<Vec<(String, Vec<u8>)>, crate::Judgement> {
    o.parsed()?;
    streams(o).map_err(|p| crate::Judgement::from_problems(p, json!({})))
}

/// Judges every stream on its own, in parallel (the estimators are costly): `judge` returns a
/// stream's problems and the evidence filed under its source (none when it has nothing to show).
/// The problems come back in stream order, as if judged one after the other.
pub fn judge_each_stream<F>(
    o: &Observed,
    judge: F,
) -> Result<(Vec<String>, serde_json::Map<String, Value>), crate::Judgement>
where
    F: Fn(&str, &[u8]) -> (Vec<String>, Option<Value>) + Sync,
{
    let streams = streams_or_judgement(o)?;
    let judged: Vec<_> = streams
        .par_iter()
        .map(|(source, bytes)| (source, judge(source, bytes)))
        .collect();
    let mut problems = Vec::new();
    let mut ev = serde_json::Map::new();
    for (source, (p, v)) in judged {
        problems.extend(p);
        if let Some(v) = v {
            ev.insert(source.clone(), v);
        }
    }
    Ok((problems, ev))
}

/// Every stream file announced by the probe, as (source, bytes) — or the reasons one is missing.
pub fn streams(o: &Observed) -> Result<Vec<(String, Vec<u8>)>, Vec<String>> {
    let obs = observations(o).map_err(|e| vec![e.to_string()])?;
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for s in find(obs, "stream") {
        let source = s.str("source").unwrap_or("?").to_string();
        match announced_file(o, s, "drawing") {
            Ok(b) if b.len() as i64 == s.i64("bytes").unwrap_or(-1) => out.push((source, b)),
            Ok(b) => problems.push(format!(
                "{source}: file has {} bytes, the probe wrote {:?}",
                b.len(),
                s.i64("bytes")
            )),
            Err(e) => problems.push(e),
        }
    }
    if out.is_empty() && problems.is_empty() {
        problems.push("the probe announced no streams".into());
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

pub mod control {
    //! The known-good control: a synthetic `entropy` run whose every stream is ChaCha20
    //! (rand_chacha), laid out exactly as the probe lays out its files and stdout. The unit tests
    //! break it one stream at a time; the test suite runs it with 20 seeds and requires every
    //! entropy check to pass every time.
    use crate::{Check, Judgement, Observed};
    use std::time::Duration;
    use wasiprobe_model::run::{Outcome, Termination};

    fn outcome(stdout: Vec<u8>) -> Outcome {
        Outcome {
            termination: Termination::Exited { code: 0 },
            stdout,
            stderr: vec![],
            duration: Duration::ZERO,
            host_calls: Default::default(),
        }
    }
    use rand_chacha::rand_core::{RngCore, SeedableRng};

    pub fn chacha(seed: u64, n: usize) -> Vec<u8> {
        let mut r = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
        let mut v = vec![0; n];
        r.fill_bytes(&mut v);
        v
    }

    pub struct Run {
        pub dir: tempfile::TempDir,
        pub lines: Vec<serde_json::Value>,
        pub rerun: Vec<serde_json::Value>,
    }

    impl Run {
        pub fn honest(stream_bytes: usize, seed: u64) -> Run {
            let dir = tempfile::tempdir().unwrap();
            let mut lines = Vec::new();
            let mut rerun = Vec::new();
            for (i, s) in super::SOURCES.iter().enumerate() {
                let n = if i == 0 { stream_bytes } else { 1 << 20 };
                let data = chacha(seed * 10 + i as u64, n);
                std::fs::write(dir.path().join(format!("{s}.bin")), &data).unwrap();
                lines.push(serde_json::json!({"check":"entropy_sp800_22","what":"stream","source":s,"file":format!("{s}.bin"),"bytes":n,"errno":0}));
                lines.push(serde_json::json!({"check":"entropy_cross_run","what":"prefix","source":s,"errno":0,"hex":crate::hex(&chacha(seed * 100 + i as u64, 32))}));
                rerun.push(serde_json::json!({"check":"entropy_cross_run","what":"prefix","source":s,"errno":0,"hex":crate::hex(&chacha(seed * 1000 + i as u64, 32))}));
                for sentinel in [0u8, 0xff] {
                    let file = format!("fill_{s}_{sentinel:02x}.bin");
                    std::fs::write(
                        dir.path().join(&file),
                        chacha(seed * 7 + sentinel as u64 + i as u64, 65536),
                    )
                    .unwrap();
                    lines.push(serde_json::json!({"check":"entropy_fill","what":"sentinel","source":s,"sentinel":sentinel,"file":file,"bytes":65536,"errno":0}));
                }
            }
            std::fs::write(
                dir.path().join("random_get_1mib.bin"),
                chacha(seed + 99, 1 << 20),
            )
            .unwrap();
            lines.extend([
                serde_json::json!({"check":"entropy_edges","what":"getentropy_257","ret":-1,"errno":29,"EIO":29}),
                serde_json::json!({"check":"entropy_edges","what":"getentropy_256","ret":0,"errno":0}),
                serde_json::json!({"check":"entropy_edges","what":"random_get_0","errno":0}),
                serde_json::json!({"check":"entropy_edges","what":"random_get_1mib","errno":0,"file":"random_get_1mib.bin"}),
                serde_json::json!({"check":"entropy_edges","what":"dev_urandom","exists":false,"errno":44}),
            ]);
            Run { dir, lines, rerun }
        }

        /// Replaces a file's bytes (a broken stream).
        pub fn write(&self, file: &str, bytes: &[u8]) {
            std::fs::write(self.dir.path().join(file), bytes).unwrap();
        }

        pub fn judge(&self, check: &dyn Check) -> Judgement {
            let text = |v: &[serde_json::Value]| -> Vec<u8> {
                v.iter()
                    .map(|l| {
                        let mut l = l.clone();
                        l["probe"] = "entropy".into();
                        format!("{l}\n")
                    })
                    .collect::<String>()
                    .into_bytes()
            };
            let out = outcome(text(&self.lines));
            let re = outcome(text(&self.rerun));
            check.judge(
                &check.case(),
                &Observed {
                    outcome: &out,
                    observations: crate::protocol::parse(&out.stdout),
                    scratch: Some(self.dir.path()),
                    case_root: None,
                    host_window_ns: (0, u128::MAX),
                    rerun: Some(crate::protocol::parse(&re.stdout)),
                    rerun_outcome: None,
                    isolated: &[],
                },
            )
        }
    }
}

#[cfg(test)]
pub(crate) mod testdata {
    pub use super::control::*;
    pub use crate::testutil::{assert_fails_saying, assert_verdict};
    use crate::{Check, Judgement};
    pub use wasiprobe_model::report::Verdict;

    impl Run {
        /// `check` passes this run, and fails it once `break_it` has broken it, saying `needle`;
        /// returns that judgement, for what else a test asserts.
        #[track_caller]
        pub fn assert_caught(
            mut self,
            check: &dyn Check,
            break_it: impl FnOnce(&mut Run),
            needle: &str,
        ) -> Judgement {
            assert_verdict(&self.judge(check), Verdict::Pass);
            break_it(&mut self);
            let j = self.judge(check);
            assert_fails_saying(&j, needle);
            j
        }
    }
}
