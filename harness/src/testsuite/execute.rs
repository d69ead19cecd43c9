//! Running the tests: every test on every runtime, in parallel, each in its own scratch
//! directory. Embedded runtimes run a guest to completion and the operations are judged on the
//! result (`judge.rs`); adapter modules give an argv, which runs as a live process the
//! operations are carried out on (`live.rs`).

use super::*;
use anyhow::{Context, Result};
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;
use wasiprobe_runtimes::adapter_module::{AdapterModuleRuntime, ArgvRequest};
use wasiprobe_runtimes::{CliKind, Preopen, RunSpec, Runtime};

/// A runtime as the testsuite drives it.
pub(crate) enum Handle {
    /// Runs a guest to completion (embedded engines, the older CLI contracts).
    Whole(Box<dyn Runtime>),
    /// An adapter module: an argv per test, run live.
    Module(Box<AdapterModuleRuntime>),
}

impl Handle {
    fn version(&self) -> String {
        match self {
            Handle::Whole(r) => r.version(),
            Handle::Module(m) => m.version(),
        }
    }
}

/// Builds the named runtime for the testsuite; [`wasiprobe_runtimes::Unavailable`] when it
/// cannot run here.
pub(crate) fn make_handle(name: &str, opts: &Options) -> Result<Handle> {
    match opts.configured.iter().find(|c| c.name == name) {
        Some(c) if matches!(c.kind, CliKind::AdapterModule(_)) => Ok(Handle::Module(Box::new(
            AdapterModuleRuntime::new(c.clone(), &opts.host)?,
        ))),
        _ => Ok(Handle::Whole(crate::plan::make_runtime(
            name,
            &opts.host,
            &opts.configured,
        )?)),
    }
}

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
    if let Some(p) = &opts.fetch {
        for r in opts.configured.iter().filter(|r| names.contains(&r.name)) {
            if let Err(e) = crate::runtime_fetch::fetch_runtime(r, p) {
                // The runtime's row will say it is unavailable, and why.
                tracing::warn!("runtime {}: {e:#}", r.name);
            }
        }
    }
    let mut runtimes: Vec<(RuntimeStatus, Option<Handle>)> = Vec::new();
    for n in &names {
        match make_handle(n, opts) {
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
                } else {
                    match (&t.plan, rt) {
                        (Plan::Unsupported(why), _) => Some(why.clone()),
                        (Plan::Run(p), Some(h)) => cannot_run(h, &status.name, s, p),
                        (Plan::Run(_), None) => unreachable!("unavailable above"),
                    }
                };
                let base = TestResult {
                    suite: s.name.clone(),
                    suite_dir: s.dir.clone(),
                    wasi_version: s.wasi_version.clone(),
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
                let differences = run_one(rt, s, t, plan, opts);
                let failed = !differences.is_empty();
                let escaped = differences
                    .iter()
                    .any(|d| matches!(d, crate::testsuite::Difference::Escape { .. }));
                TestResult {
                    outcome: match (failed, x.expected_fail) {
                        _ if escaped => Verdict::Security,
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

/// Why `h` cannot run this test, decided before running it: the suite's WASI version, the
/// world, the proposals or network operations it cannot serve.
pub(crate) fn cannot_run(h: &Handle, name: &str, s: &Suite, p: &RunPlan) -> Option<String> {
    match h {
        Handle::Whole(_) => {
            if s.wasi_version != PREVIEW1 {
                Some(format!(
                    "WASI version {} unsupported by runtime: {name} runs Preview 1 modules, \
                     not components",
                    s.wasi_version
                ))
            } else if p.world() != CLI_WORLD {
                Some(format!(
                    "world {} needs a component runtime; {name} runs Preview 1 commands",
                    p.world()
                ))
            } else if let Some(x) = p.proposals.first() {
                Some(format!(
                    "needs the WASI proposal `{x}`; {name} runs Preview 1, which has none"
                ))
            } else if p.uses_network() {
                Some(format!(
                    "network operations (connect/send/recv) need the guest in a process of its \
                     own; {name} runs it in-process"
                ))
            } else {
                refused_tree(h, name, s, p)
            }
        }
        Handle::Module(m) => {
            let meta = m.meta();
            if !meta.wasi_versions.contains(&s.wasi_version) {
                Some(format!(
                    "WASI version {} unsupported by runtime (the adapter supports {})",
                    s.wasi_version,
                    meta.wasi_versions.join(", ")
                ))
            } else if !meta.wasi_worlds.iter().any(|w| w == p.world()) {
                Some(format!(
                    "world {} unsupported by runtime (the adapter supports {})",
                    p.world(),
                    meta.wasi_worlds.join(", ")
                ))
            } else if meta.style == "root" && !p.dirs.is_empty() {
                Some(
                    "the adapter takes one root directory; this test preopens named `dirs` \
                     (the older format)"
                        .into(),
                )
            } else {
                None
            }
        }
    }
}

/// A test's scratch directory: a copy of its `root` (the guest's `/`) and of its `dirs`,
/// without `*.cleanup` entries. Removed when dropped.
pub(crate) struct Scratch {
    pub dir: tempfile::TempDir,
    pub root: Option<std::path::PathBuf>,
    pub dirs: Vec<(std::path::PathBuf, String)>,
}

pub(crate) fn scratch(s: &Suite, plan: &RunPlan) -> Result<Scratch, String> {
    let dir = wasiprobe_util::scratch::dir("testsuite", None)
        .map_err(|e| format!("cannot create a scratch directory: {e}"))?;
    let copy =
        |what: &str, rel: &str, to: std::path::PathBuf| -> Result<std::path::PathBuf, String> {
            let src = s.dir.join(rel);
            if !src.is_dir() {
                return Err(format!(
                    "`{what}` {rel:?}: {} is not a directory",
                    src.display()
                ));
            }
            copy_tree(&src, &to)
                .map_err(|e| format!("copying {} to scratch: {e:#}", src.display()))?;
            Ok(to)
        };
    let root = match &plan.root {
        Some(r) => Some(copy("root", r, dir.path().join("root"))?),
        None => None,
    };
    let mut dirs = Vec::new();
    for d in &plan.dirs {
        dirs.push((copy("dirs", d, dir.path().join("dirs").join(d))?, d.clone()));
    }
    Ok(Scratch { dir, root, dirs })
}

/// A runtime that follows links wherever they point (not a sandbox) is never handed a test
/// whose directories hold a link leading out of them: the guest would reach the host through it.
fn refused_tree(h: &Handle, name: &str, s: &Suite, p: &RunPlan) -> Option<String> {
    let Handle::Whole(rt) = h else { return None };
    if !rt.capabilities().follows_links_out {
        return None;
    }
    let trees = p.root.iter().chain(&p.dirs).map(|d| s.dir.join(d));
    let out: Vec<String> = trees.flat_map(|t| links_leading_out(&t)).collect();
    (!out.is_empty()).then(|| {
        format!(
            "not handed to {name}: {} lead(s) out of the test's directories, and {name} follows \
             links wherever they point (not a sandbox)",
            out.join(", ")
        )
    })
}

/// The links under `tree` whose target, resolved on the host (through any links on the way,
/// and for a dangling link as far as it exists), is outside `tree`: "a/b -> /etc".
pub(crate) fn links_leading_out(tree: &Path) -> Vec<String> {
    let Ok(root) = std::fs::canonicalize(tree) else {
        return vec![];
    };
    let mut out = Vec::new();
    let mut stack = vec![tree.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let Ok(ty) = e.file_type() else { continue };
            if ty.is_dir() {
                stack.push(e.path());
            } else if ty.is_symlink() {
                let Ok(target) = std::fs::read_link(e.path()) else {
                    continue;
                };
                if !resolve(&d.join(&target), 0).is_some_and(|r| r.starts_with(&root)) {
                    let rel = e
                        .path()
                        .strip_prefix(tree)
                        .unwrap_or(&e.path())
                        .to_path_buf();
                    out.push(format!("{} -> {}", rel.display(), target.display()));
                }
            }
        }
    }
    out.sort();
    out
}

/// Where a path leads on the host: canonical when it exists; otherwise its longest existing
/// ancestor, canonical, with the rest appended (a dangling link creates its target there).
/// None when it cannot be told (a loop): treated as leading out.
fn resolve(p: &Path, depth: u32) -> Option<std::path::PathBuf> {
    if depth > 40 {
        return None;
    }
    if let Ok(c) = std::fs::canonicalize(p) {
        return Some(c);
    }
    if let Ok(target) = std::fs::read_link(p) {
        // A dangling link: where its target would be.
        return resolve(&p.parent()?.join(target), depth + 1);
    }
    let parent = resolve(p.parent()?, depth + 1)?;
    match p.file_name() {
        Some(n) => Some(parent.join(n)),
        // "..": the parent of what came before.
        None => parent.parent().map(Path::to_path_buf),
    }
}

/// The host side of a test's scratch directory outside the trees the guest is given: the
/// directory around them and a sentinel file in it. A guest that changes any of it reached
/// outside its preopens, whatever its exit code says.
pub(crate) struct Surroundings {
    listing: BTreeMap<std::path::PathBuf, Option<Vec<u8>>>,
}

const SENTINEL: &str = "wasiprobe-sentinel";

impl Surroundings {
    pub fn watch(sc: &Scratch) -> std::io::Result<Self> {
        std::fs::write(
            sc.dir.path().join(SENTINEL),
            b"outside the guest's directories\n",
        )?;
        Ok(Surroundings {
            listing: surroundings(sc),
        })
    }

    /// What changed, as an escape (empty: nothing).
    pub fn escapes(&self, sc: &Scratch) -> Vec<Difference> {
        let now = surroundings(sc);
        let mut changed: Vec<String> = self
            .listing
            .iter()
            .filter(|(p, v)| now.get(*p) != Some(*v))
            .map(|(p, _)| format!("{} changed or removed", p.display()))
            .collect();
        changed.extend(
            now.keys()
                .filter(|p| !self.listing.contains_key(*p))
                .map(|p| format!("{} created", p.display())),
        );
        if changed.is_empty() {
            return vec![];
        }
        vec![Difference::Escape {
            message: format!(
                "outside the test's directories, in the scratch directory around them: {}",
                changed.join(", ")
            ),
        }]
    }
}

/// Every entry of the scratch directory with its bytes (None for directories and links),
/// leaving out the trees given to the guest.
fn surroundings(sc: &Scratch) -> BTreeMap<std::path::PathBuf, Option<Vec<u8>>> {
    let given: Vec<&Path> = sc
        .root
        .iter()
        .map(|r| r.as_path())
        .chain(sc.dirs.iter().map(|(h, _)| h.as_path()))
        .collect();
    let mut m = BTreeMap::new();
    let mut stack = vec![sc.dir.path().to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if given.contains(&p.as_path()) {
                continue;
            }
            let rel = p.strip_prefix(sc.dir.path()).unwrap_or(&p).to_path_buf();
            match e.file_type() {
                Ok(t) if t.is_dir() => {
                    m.insert(rel, None);
                    stack.push(p);
                }
                Ok(t) if t.is_file() => {
                    m.insert(rel, Some(std::fs::read(&p).unwrap_or_default()));
                }
                _ => {
                    m.insert(rel, None);
                }
            }
        }
    }
    m
}

/// A test that could not be set up, or whose runtime failed on its own side.
fn setup(message: String) -> Vec<Difference> {
    vec![Difference::Setup { message }]
}

/// Runs one test in its own scratch directory; the differences from its specification
/// (empty: it passed).
pub(crate) fn run_one(
    h: &Handle,
    s: &Suite,
    t: &TestCase,
    plan: &RunPlan,
    opts: &Options,
) -> Vec<Difference> {
    if plan.no_run {
        return vec![];
    }
    let sc = match scratch(s, plan) {
        Ok(sc) => sc,
        Err(e) => return setup(e),
    };
    // Watched for the runtimes the harness hosts; an adapter's CLI runs with the scratch
    // directory as its working directory, where it may keep files of its own.
    let watch = match h {
        Handle::Whole(_) => match Surroundings::watch(&sc) {
            Ok(w) => Some(w),
            Err(e) => return setup(format!("cannot plant the sentinel: {e}")),
        },
        Handle::Module(_) => None,
    };
    let mut diffs = run_in(h, s, t, plan, opts, &sc);
    if let Some(w) = watch {
        diffs.extend(w.escapes(&sc));
    }
    diffs
}

fn run_in(
    h: &Handle,
    s: &Suite,
    t: &TestCase,
    plan: &RunPlan,
    opts: &Options,
    sc: &Scratch,
) -> Vec<Difference> {
    match h {
        Handle::Whole(rt) => {
            let mut preopens: Vec<Preopen> = sc
                .root
                .iter()
                .map(|r| Preopen {
                    host: r.clone(),
                    guest: "/".into(),
                })
                .collect();
            preopens.extend(sc.dirs.iter().map(|(host, guest)| Preopen {
                host: host.clone(),
                guest: guest.clone(),
            }));
            let argv0 = t
                .wasm
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let mut limits = opts.limits.clone();
            if plan.kill().is_some() {
                // No live process to signal: the guest gets this long, then counts as killed.
                limits.wall = limits.wall.min(opts.kill_after);
            }
            let stdin: Vec<u8> = plan
                .ops
                .iter()
                .filter_map(|o| match o {
                    Op::Write(p) => Some(p.as_bytes()),
                    _ => None,
                })
                .flatten()
                .copied()
                .collect();
            let spec = RunSpec {
                args: std::iter::once(argv0)
                    .chain(plan.args.iter().cloned())
                    .collect(),
                env: plan.env.clone(),
                preopens,
                stdin,
                limits: limits.clone(),
                ..RunSpec::default()
            };
            match rt.run(&t.wasm, &spec) {
                Ok(o) => judge(plan, &o, &limits, opts.exact_output),
                Err(e) => setup(format!("the runtime failed: {e:#}")),
            }
        }
        Handle::Module(m) => {
            let req = ArgvRequest {
                test_path: t.wasm.clone(),
                args: plan.args.clone(),
                env: plan.env.clone(),
                root: sc.root.clone(),
                dirs: sc.dirs.clone(),
                proposals: plan.proposals.clone(),
                wasi_world: plan.world().to_string(),
                wasi_version: s.wasi_version.clone(),
            };
            let argv = match m.compute_argv(&req) {
                Ok(a) => a,
                Err(e) => return setup(format!("{e:#}")),
            };
            let mut limits = opts.limits.clone();
            if let Some(secs) = m.meta().timeout_s {
                // The adapter knows its runtime is slow to start (jco transpiles first).
                limits.wall = limits.wall.max(std::time::Duration::from_secs_f64(secs));
            }
            live::run_live(
                &argv,
                m.child_env(),
                sc.dir.path(),
                plan,
                &limits,
                opts.exact_output,
            )
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn links_leading_out_are_found_however_they_are_spelt() {
        let d = tempfile::tempdir().unwrap();
        let tree = d.path().join("tree");
        std::fs::create_dir_all(tree.join("a/deep")).unwrap();
        std::fs::write(tree.join("a/file"), "x").unwrap();
        // Inside: relative, to a directory, dangling but inside, through another link.
        symlink("file", tree.join("a/in")).unwrap();
        symlink("../../a", tree.join("a/deep/up-in")).unwrap();
        symlink("missing", tree.join("a/dangling-in")).unwrap();
        symlink("deep/up-in/file", tree.join("a/via-link")).unwrap();
        assert_eq!(links_leading_out(&tree), Vec::<String>::new());
        // Outside: absolute, dotdot, dangling outside, and a dotdot that is only outside
        // once a link on the way is followed (a lexical check says "inside").
        symlink("/etc", tree.join("abs")).unwrap();
        symlink("../../outside.txt", tree.join("a/dotdot")).unwrap();
        symlink(d.path().join("new-file"), tree.join("a/dangling-out")).unwrap();
        symlink(".", tree.join("a/self")).unwrap();
        symlink("self/../..", tree.join("a/tricky")).unwrap();
        let out = links_leading_out(&tree);
        assert_eq!(
            out,
            [
                "a/dangling-out -> ".to_string() + &d.path().join("new-file").display().to_string(),
                "a/dotdot -> ../../outside.txt".into(),
                "a/tricky -> self/../..".into(),
                "abs -> /etc".into(),
            ],
            "{out:?}"
        );
    }

    #[test]
    fn the_sentinel_sees_a_write_around_the_guests_directories_and_nothing_inside() {
        let d = tempfile::tempdir().unwrap();
        let sc = Scratch {
            dir: tempfile::Builder::new().tempdir_in(d.path()).unwrap(),
            root: None,
            dirs: vec![],
        };
        let inside = sc.dir.path().join("dirs/fs");
        std::fs::create_dir_all(&inside).unwrap();
        let sc = Scratch {
            dirs: vec![(inside.clone(), "fs".into())],
            ..sc
        };
        let w = Surroundings::watch(&sc).unwrap();
        std::fs::write(inside.join("allowed.txt"), "the guest's own").unwrap();
        assert_eq!(w.escapes(&sc), vec![]);
        std::fs::write(sc.dir.path().join("dirs/planted"), "escaped").unwrap();
        let e = w.escapes(&sc);
        assert!(
            matches!(&e[..], [Difference::Escape { message }] if message.contains("dirs/planted created")),
            "{e:?}"
        );
        std::fs::remove_file(sc.dir.path().join("dirs/planted")).unwrap();
        std::fs::write(sc.dir.path().join(SENTINEL), "overwritten").unwrap();
        assert!(matches!(&w.escapes(&sc)[..], [Difference::Escape { .. }]));
    }
}
