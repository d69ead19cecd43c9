//! Running the tests: every test on every runtime, in parallel, each on a scratch copy.

use super::*;
use anyhow::{Context, Result};
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;
use wasiprobe_runtimes::{Preopen, RunSpec, Runtime};

/// Runs every selected test of every suite on every runtime.
pub fn execute(opts: &Options) -> Result<Run> {
    let started = Instant::now();
    if opts.dirs.is_empty() {
        return Err(usage("testsuite: give at least one suite directory".into()));
    }
    let mut suites = Vec::new();
    for d in &opts.dirs {
        suites.push(load_suite(d)?);
    }
    let expectations: Vec<Expectations> = opts
        .expectations
        .iter()
        .map(|p| Expectations::load(p))
        .collect::<Result<_>>()?;
    warn_stale(&suites, &expectations, opts.filter.is_some());
    let names = crate::plan::select_runtimes(&opts.runtimes, &opts.configured)?;
    let mut runtimes: Vec<(RuntimeStatus, Option<Box<dyn Runtime>>)> = Vec::new();
    for n in &names {
        match crate::plan::make_runtime(n, &opts.host, &opts.configured) {
            Ok(rt) => runtimes.push((
                RuntimeStatus {
                    name: n.clone(),
                    version: Some(rt.version()),
                    unavailable: None,
                },
                Some(rt),
            )),
            Err(e) if e.is::<wasiprobe_runtimes::Unavailable>() => runtimes.push((
                RuntimeStatus {
                    name: n.clone(),
                    version: None,
                    unavailable: Some(format!("{e:#}")),
                },
                None,
            )),
            Err(e) => return Err(e),
        }
    }
    // Output order: suite (as given), test (by name), runtime (as given).
    let mut jobs = Vec::new();
    for (si, s) in suites.iter().enumerate() {
        for (ti, t) in s.tests.iter().enumerate() {
            if opts.filter.as_deref().is_some_and(|f| !t.name.contains(f)) {
                continue;
            }
            for ri in 0..runtimes.len() {
                jobs.push((si, ti, ri));
            }
        }
    }
    if jobs.is_empty() {
        tracing::warn!("no test selected (is --filter too narrow, or the suites empty?)");
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.jobs.max(1))
        .build()?;
    let tests: Vec<TestResult> = pool.install(|| {
        jobs.par_iter()
            .map(|&(si, ti, ri)| {
                let s = &suites[si];
                let t = &s.tests[ti];
                let (status, rt) = &runtimes[ri];
                let mut x = Expectation::default();
                let mut skip_by = None;
                for e in &expectations {
                    let one = e.get(&s.name, &t.name);
                    if one.skip && skip_by.is_none() {
                        skip_by = Some(e.file.display().to_string());
                    }
                    x.expected_fail |= one.expected_fail;
                }
                let skip_reason = if let Some(why) = &status.unavailable {
                    Some(format!("runtime unavailable: {why}"))
                } else if let Some(f) = skip_by {
                    Some(format!("skipped by expectation file {f}"))
                } else if s.wasi_version != PREVIEW1 {
                    Some(format!(
                        "WASI version {} unsupported by runtime",
                        s.wasi_version
                    ))
                } else if let Plan::Unsupported(why) = &t.plan {
                    Some(why.clone())
                } else {
                    None
                };
                let base = TestResult {
                    suite: s.name.clone(),
                    suite_dir: s.dir.clone(),
                    test: t.name.clone(),
                    runtime: status.name.clone(),
                    outcome: Verdict::Skip,
                    reason: None,
                    differences: vec![],
                    duration_ms: 0,
                };
                if let Some(why) = skip_reason {
                    return TestResult {
                        reason: Some(why),
                        ..base
                    };
                }
                let (Some(rt), Plan::Run(plan)) = (rt, &t.plan) else {
                    unreachable!("skipped above")
                };
                let start = Instant::now();
                let differences = run_one(rt.as_ref(), s, t, plan, opts);
                let failed = !differences.is_empty();
                TestResult {
                    outcome: match (failed, x.expected_fail) {
                        (false, false) => Verdict::Pass,
                        (true, false) => Verdict::Fail,
                        (true, true) => Verdict::Xfail,
                        (false, true) => Verdict::Xpass,
                    },
                    differences,
                    duration_ms: start.elapsed().as_millis(),
                    ..base
                }
            })
            .collect()
    });
    let mut summary = BTreeMap::new();
    for (st, _) in &runtimes {
        let mut c: BTreeMap<&'static str, usize> =
            Verdict::ALL.iter().map(|v| (v.name(), 0)).collect();
        for t in tests.iter().filter(|t| t.runtime == st.name) {
            *c.get_mut(t.outcome.name()).unwrap() += 1;
        }
        summary.insert(st.name.clone(), c);
    }
    Ok(Run {
        runtimes: runtimes.into_iter().map(|(s, _)| s).collect(),
        tests,
        summary,
        wall_ms: started.elapsed().as_millis(),
    })
}

/// An expectation naming a suite or test that is not there usually means a rename upstream:
/// it would silently stop doing anything.
pub(crate) fn warn_stale(suites: &[Suite], expectations: &[Expectations], filtered: bool) {
    if filtered {
        return;
    }
    for e in expectations {
        for (suite, tests) in &e.suites {
            let Some(s) = suites.iter().find(|s| &s.name == suite) else {
                continue; // a file may cover suites that are not part of this run
            };
            for (test, (_, line)) in tests {
                if !s.tests.iter().any(|t| &t.name == test) {
                    tracing::warn!(
                        "{}:{line}: suite {suite:?} has no test {test:?}; the entry does nothing",
                        e.file.display()
                    );
                }
            }
        }
    }
}

/// Runs one test in its own scratch copy of its dirs; the differences from its specification
/// (empty: it passed).
pub(crate) fn run_one(
    rt: &dyn Runtime,
    s: &Suite,
    t: &TestCase,
    plan: &RunPlan,
    opts: &Options,
) -> Vec<Difference> {
    let setup = |message: String| vec![Difference::Setup { message }];
    let scratch = match tempfile::Builder::new()
        .prefix("wasiprobe-testsuite-")
        .tempdir()
    {
        Ok(d) => d,
        Err(e) => return setup(format!("cannot create a scratch directory: {e}")),
    };
    let mut preopens = Vec::new();
    for d in &plan.dirs {
        let src = s.dir.join(d);
        if !src.is_dir() {
            return setup(format!(
                "`dirs` entry {d:?}: {} is not a directory",
                src.display()
            ));
        }
        let dst = scratch.path().join(d);
        if let Err(e) = copy_tree(&src, &dst) {
            return setup(format!("copying {} to scratch: {e:#}", src.display()));
        }
        preopens.push(Preopen {
            host: dst,
            guest: d.clone(),
        });
    }
    let argv0 = t
        .wasm
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let spec = RunSpec {
        args: std::iter::once(argv0)
            .chain(plan.args.iter().cloned())
            .collect(),
        env: plan.env.clone(),
        preopens,
        stdin: plan.stdin.clone(),
        limits: opts.limits.clone(),
        ..RunSpec::default()
    };
    let outcome = match rt.run(&t.wasm, &spec) {
        Ok(o) => o,
        Err(e) => return setup(format!("the runtime failed: {e:#}")),
    };
    judge(plan, &outcome, &opts.limits, opts.exact_output)
}

/// Copies a test's directory into its scratch: files, subdirectories and symlinks (as links,
/// so a test about dangling links sees one), without `*.cleanup` entries.
pub(crate) fn copy_tree(src: &Path, dst: &Path) -> Result<()> {
    std::fs::create_dir_all(dst).with_context(|| format!("creating {}", dst.display()))?;
    for entry in std::fs::read_dir(src).with_context(|| format!("listing {}", src.display()))? {
        let entry = entry?;
        let name = entry.file_name();
        if name.to_string_lossy().ends_with(CLEANUP_SUFFIX) {
            continue;
        }
        let from = entry.path();
        let to = dst.join(&name);
        let ty = entry.file_type()?;
        if ty.is_symlink() {
            let target = std::fs::read_link(&from)?;
            #[cfg(unix)]
            std::os::unix::fs::symlink(&target, &to)
                .with_context(|| format!("linking {}", to.display()))?;
            #[cfg(not(unix))]
            anyhow::bail!("{}: symlinks are only copied on Unix", from.display());
        } else if ty.is_dir() {
            copy_tree(&from, &to)?;
        } else {
            std::fs::copy(&from, &to).with_context(|| format!("copying {}", from.display()))?;
        }
    }
    Ok(())
}
