//! `wasiprobe bench --testsuite`: the same wasi-testsuite corpus on embedded wasmtime (one test
//! at a time, and on every core as `testsuite` runs by default) and on an adapter-module runtime
//! (the wasmtime CLI, one process per test, one test at a time as the reference runner runs
//! it), and the ratios of their wall times. A measurement, printed — never asserted.

use crate::testsuite::{self, Plan};
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Where the fixture corpus of the current format lives in the repository.
pub const FIXTURES: &str = "harness/tests/testsuite-fixtures/current/wasm32-wasip1";

/// Copies a fixture suite with its `NAME.wat` compiled to `NAME.wasm` and each `NAME.alias`
/// (naming another guest of the suite) made `NAME.wasm`, as the integration tests do; with
/// `copies` > 1 each test is there that many times (`NAME_K`), each module made distinct by a
/// custom section so none is compiled once for all, as in a real corpus of distinct tests.
pub fn compile_fixtures(src: &Path, dst: &Path, copies: usize) -> Result<()> {
    std::fs::create_dir_all(dst)?;
    for e in std::fs::read_dir(src).with_context(|| format!("listing {}", src.display()))? {
        let e = e?;
        let to = dst.join(e.file_name());
        let path = e.path();
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        let ext = path.extension().and_then(|x| x.to_str());
        let wat = match ext {
            _ if e.file_type()?.is_dir() => {
                compile_fixtures(&path, &to, 1)?;
                continue;
            }
            Some("wat") => path.clone(),
            Some("alias") => src.join(format!("{}.wat", std::fs::read_to_string(&path)?.trim())),
            Some("json") if stem != "manifest" && copies > 1 => {
                for k in 0..copies {
                    std::fs::copy(&path, dst.join(format!("{stem}_{k}.json")))?;
                }
                continue;
            }
            _ => {
                std::fs::copy(&path, &to)?;
                continue;
            }
        };
        let wasm = wat::parse_file(&wat).with_context(|| format!("{}", wat.display()))?;
        if copies <= 1 {
            std::fs::write(to.with_extension("wasm"), wasm)?;
            continue;
        }
        for k in 0..copies {
            let mut m = wasm.clone();
            let name = b"wasiprobe-copy";
            let payload = k.to_string();
            // A custom section: id 0, size, name (length-prefixed), payload; sizes < 128 fit
            // one LEB128 byte.
            m.push(0);
            m.push((1 + name.len() + payload.len()) as u8);
            m.push(name.len() as u8);
            m.extend_from_slice(name);
            m.extend_from_slice(payload.as_bytes());
            std::fs::write(dst.join(format!("{stem}_{k}.wasm")), m)?;
        }
    }
    Ok(())
}

pub struct Timing {
    pub runtime: String,
    pub jobs: usize,
    pub version: String,
    pub tests: usize,
    /// Wall time of each round.
    pub rounds: Vec<Duration>,
    /// Time inside the tests themselves (set-up, run, judging), summed, per round.
    pub in_tests: Vec<Duration>,
}

/// Runs `dirs` on `runtime`, `rounds` times, `jobs` tests at a time; fails if any test had a
/// different outcome than on the first round (a bench of a flaky corpus measures nothing).
pub fn time_runtime(
    base: &testsuite::Options,
    runtime: &str,
    rounds: usize,
    jobs: usize,
) -> Result<Timing> {
    let opts = testsuite::Options {
        runtimes: vec![runtime.into()],
        jobs,
        ..base.clone()
    };
    let mut times = Vec::new();
    let mut in_tests = Vec::new();
    let mut first: Option<Vec<&'static str>> = None;
    let mut version = String::new();
    let mut tests = 0;
    for _ in 0..rounds.max(1) {
        let start = Instant::now();
        let r = testsuite::execute(&opts)?;
        times.push(start.elapsed());
        in_tests.push(Duration::from_millis(
            r.tests.iter().map(|t| t.duration_ms as u64).sum(),
        ));
        if let Some(why) = &r.runtimes[0].unavailable {
            anyhow::bail!("runtime {runtime} is unavailable: {why}");
        }
        version = r.runtimes[0].version.clone().unwrap_or_default();
        let outcomes: Vec<&'static str> = r.tests.iter().map(|t| t.outcome.name()).collect();
        tests = outcomes.len();
        match &first {
            None => first = Some(outcomes),
            Some(f) => {
                anyhow::ensure!(f == &outcomes, "{runtime}: outcomes changed between rounds")
            }
        }
    }
    Ok(Timing {
        runtime: runtime.into(),
        jobs,
        version,
        tests,
        rounds: times,
        in_tests,
    })
}

/// The tests of `dir` whose plan has a `kill`: on an in-process runtime they last the kill
/// window by design, so a bench of start-up and judging leaves them out (the name says which).
pub fn kill_tests(dir: &Path) -> Result<Vec<String>> {
    let s = testsuite::load_suite(dir)?;
    Ok(s.tests
        .iter()
        .filter(|t| matches!(&t.plan, Plan::Run(p) if p.kill().is_some()))
        .map(|t| t.name.clone())
        .collect())
}

/// A copy of `dir` without the named tests.
pub fn without(dir: &Path, drop: &[String], into: &Path) -> Result<PathBuf> {
    let to = into.join(dir.file_name().context("a suite directory has a name")?);
    std::fs::create_dir_all(&to)?;
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let p = e.path();
        let stem = p.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        if drop.iter().any(|d| d == stem) {
            continue;
        }
        if e.file_type()?.is_dir() {
            crate::testsuite::copy_dir(&p, &to.join(e.file_name()))?;
        } else {
            std::fs::copy(&p, to.join(e.file_name()))?;
        }
    }
    Ok(to)
}
