//! The stdlib census: every module of the binary's own listing (`census.py list`: its stdlib
//! directory, `sys.builtin_module_names`, `sys.stdlib_module_names`) imported in batches, one
//! process per batch; a batch that does not finish (trap, crash, timeout) keeps what it reported
//! and its remaining modules are imported one process each, so one trap hides nothing else.
//! Modules of one batch share a process, so an import with side effects could in principle
//! change a later one's result; the per-module fallback is the isolated truth for trapped ones.
//! Then the dark features (`census.py dark F`), one process each, with a small real use.

pub use wasiprobe_model::python::{Census, DarkFeature, ImportResult, ModuleInfo};

use super::PyProvisioned;
use crate::plan::RunOptions;
use crate::protocol::{self, Observation};
use anyhow::{Context, Result};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;
use wasiprobe_runtimes::{Outcome, Runtime, Termination};

/// The probe column of census rows.
pub use wasiprobe_model::python::CENSUS_PROBE as PROBE;
/// Modules per process. Small enough that the per-module fallback after a trap is cheap,
/// large enough that interpreter start-up does not dominate.
pub const BATCH: usize = 40;

/// Import results that mean the interpreter, not the module, failed: the module neither
/// imported nor raised ImportError.
pub const BROKEN: &[&str] = &[
    "trap",
    "crash",
    "timeout",
    "oom",
    "no-report",
    "exception",
    "not-run",
];

/// The `stdlib_census` cell of one runtime. Fails when an import ends in a trap, crash,
/// timeout, out-of-memory, a non-ImportError exception or no report at all, or when a module
/// (or dark feature) that works on the reference runtime does not work here — the same binary
/// and stdlib on both sides, so the runtime is what differs. The reference itself is judged
/// only by the first rule. Deterministic: no statistics, no false-alarm rate beyond an import
/// that depends on timing (none in the stdlib census's modules was seen to).
pub fn judge(c: &Census, reference: Option<&Census>) -> (crate::report::Verdict, Value) {
    let broken: BTreeMap<&String, &ImportResult> = c
        .imports
        .iter()
        .filter(|(_, r)| BROKEN.contains(&r.result.as_str()))
        .collect();
    let (lost, dark_lost) = match reference.filter(|r| r.runtime != c.runtime) {
        Some(r) => (
            lost_vs_reference(r, c, |x| &x.imports, |i| i.result.as_str(), "ok"),
            lost_vs_reference(r, c, |x| &x.dark, |f| f.status.as_str(), "works"),
        ),
        None => Default::default(),
    };
    let pass = broken.is_empty() && lost.is_empty() && dark_lost.is_empty();
    let mut reasons = vec![];
    if !broken.is_empty() {
        let names: Vec<String> = broken
            .iter()
            .take(8)
            .map(|(m, r)| format!("{m} ({})", r.result))
            .collect();
        reasons.push(format!(
            "{} module(s) broke the interpreter on import: {}",
            broken.len(),
            names.join(", ")
        ));
    }
    if !lost.is_empty() {
        reasons.push(format!(
            "{} module(s) import on {} but not here: {}",
            lost.len(),
            reference.map_or("", |r| r.runtime.as_str()),
            lost.keys().take(8).cloned().collect::<Vec<_>>().join(", ")
        ));
    }
    if !dark_lost.is_empty() {
        reasons.push(format!(
            "dark feature(s) that work on {} but not here: {}",
            reference.map_or("", |r| r.runtime.as_str()),
            dark_lost.keys().cloned().collect::<Vec<_>>().join(", ")
        ));
    }
    let verdict = if pass {
        crate::report::Verdict::Pass
    } else {
        crate::report::Verdict::Fail
    };
    let mut ev = serde_json::json!({
        "counts": c.counts,
        "processes": c.processes,
        "duration_ms": c.duration_ms,
        "broken": broken,
        "lost_vs_reference": lost,
        "dark_lost_vs_reference": dark_lost,
        "dark": c.dark.iter().map(|(k, d)| (k.clone(), d.status.clone())).collect::<BTreeMap<_, _>>(),
    });
    if let Some(r) = reference {
        ev["reference"] = r.runtime.clone().into();
    }
    if !reasons.is_empty() {
        ev["reason"] = reasons.join("; ").into();
    }
    (verdict, ev)
}

/// How a guest run ended and its stdout, parsed by the protocol (or why it could not be).
pub type PyRun = (Outcome, Result<Vec<Observation>, String>);

/// One run of `census.py` (or another script): its outcome and parsed stdout.
pub fn py_run(
    py: &PyProvisioned,
    rt: &dyn Runtime,
    script: &str,
    args: &[String],
    opts: &RunOptions,
) -> Result<PyRun> {
    let dir = wasiprobe_util::scratch::dir("py", opts.scratch_root.as_deref())?;
    let spec = super::spec_for(py, script, args, dir.path(), opts);
    let wasm = py.wasm.as_deref().context("no python.wasm")?;
    let o = rt.run(wasm, &spec)?;
    let obs = protocol::parse(&o.stdout);
    Ok((o, obs))
}

pub fn script(root: &Path) -> Result<String> {
    let p = root.join("probes/python/census.py");
    std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))
}

/// How a run ended, as a census word (None when it exited).
fn ended(o: &Outcome) -> Option<(String, String)> {
    match &o.termination {
        Termination::Exited { .. } => None,
        Termination::Trap { message } => Some(("trap".into(), first_line(message))),
        Termination::Timeout => Some(("timeout".into(), "wall-time limit".into())),
        Termination::Oom { requested_bytes } => {
            Some(("oom".into(), format!("asked for {requested_bytes} bytes")))
        }
        Termination::OutputLimit { stream } => {
            Some(("output-limit".into(), format!("{stream} limit")))
        }
        Termination::Crash { message } => Some(("crash".into(), first_line(message))),
        Termination::LoadError { message } => Some(("load-error".into(), first_line(message))),
    }
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").chars().take(300).collect()
}

/// The module listing (`census.py list`).
pub fn list(
    py: &PyProvisioned,
    rt: &dyn Runtime,
    script: &str,
    opts: &RunOptions,
) -> Result<(Value, Vec<ModuleInfo>)> {
    let (o, obs) = py_run(py, rt, script, &["list".into()], opts)?;
    if let Some((w, m)) = ended(&o) {
        anyhow::bail!(
            "census.py list ended with {w}: {m}; stderr: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let obs = obs.map_err(|e| {
        anyhow::anyhow!(
            "census.py list: {e}; stderr: {}",
            String::from_utf8_lossy(&o.stderr)
        )
    })?;
    parse_list(&obs)
}

pub fn parse_list(obs: &[Observation]) -> Result<(Value, Vec<ModuleInfo>)> {
    if !obs.iter().any(|o| o.str("what") == Some("done")) {
        anyhow::bail!("census.py list stopped before `done`");
    }
    let identity = obs
        .iter()
        .find(|o| o.str("what") == Some("identity"))
        .map(|o| Value::Object(o.fields.clone()))
        .unwrap_or(Value::Null);
    let mut mods = Vec::new();
    for o in obs.iter().filter(|o| o.str("what") == Some("module")) {
        let m: ModuleInfo = serde_json::from_value(Value::Object(o.fields.clone()))
            .with_context(|| format!("malformed module line {:?}", o.fields))?;
        mods.push(m);
    }
    anyhow::ensure!(!mods.is_empty(), "census.py list reported no modules");
    Ok((identity, mods))
}

/// Reads one `import` run: the results it reported and whether it finished.
pub fn parse_imports(obs: &[Observation]) -> (BTreeMap<String, ImportResult>, bool) {
    let mut out = BTreeMap::new();
    for o in obs.iter().filter(|o| o.str("what") == Some("import")) {
        if let Some(m) = o.str("module") {
            out.insert(
                m.to_string(),
                ImportResult {
                    result: o.str("result").unwrap_or("?").into(),
                    error: o.str("error").map(String::from),
                    message: o.str("message").map(String::from),
                    isolated: false,
                },
            );
        }
    }
    let done = obs.iter().any(|o| o.str("what") == Some("done"));
    (out, done)
}

/// What was `good` on the `reference` census and is not on `c` (or is missing there): each
/// entry of the part of the census that `part` picks, with both runtimes' `word` for it.
fn lost_vs_reference<T>(
    reference: &Census,
    c: &Census,
    part: impl Fn(&Census) -> &BTreeMap<String, T>,
    word: impl Fn(&T) -> &str,
    good: &str,
) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for (k, there) in part(reference) {
        let here = part(c).get(k).map_or("missing", &word);
        if word(there) == good && here != good {
            out.insert(
                k.clone(),
                serde_json::json!({ reference.runtime.as_str(): good, c.runtime.as_str(): here }),
            );
        }
    }
    out
}

/// A result the guest did not report itself: the harness's `result` for the module, and why.
fn unreported(result: impl Into<String>, why: impl Into<String>, isolated: bool) -> ImportResult {
    ImportResult {
        result: result.into(),
        error: None,
        message: Some(why.into()),
        isolated,
    }
}

/// Imports `names` in batches with the per-module fallback. Returns the results and the number
/// of processes started.
pub fn import_all(
    names: &[String],
    run: &dyn Fn(&[String]) -> Result<PyRun>,
) -> Result<(BTreeMap<String, ImportResult>, usize)> {
    import_all_within(names, run, CENSUS_BUDGET)
}

/// How long one runtime's import census may take. On a runtime where imports hang (wasmer
/// 7.4 was seen timing out batch after batch), the per-module fallback costs a wall limit per
/// module — hours for the stdlib; past the budget the modules left are `not-run`, named in the
/// cell, and the run goes on.
pub const CENSUS_BUDGET: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// [`import_all`] with an explicit budget.
pub fn import_all_within(
    names: &[String],
    run: &dyn Fn(&[String]) -> Result<PyRun>,
    budget: std::time::Duration,
) -> Result<(BTreeMap<String, ImportResult>, usize)> {
    let start = Instant::now();
    let mut results = BTreeMap::new();
    let mut processes = 0;
    let over = |results: &mut BTreeMap<String, ImportResult>, left: &[&String]| {
        for m in left {
            results.insert(
                (*m).clone(),
                unreported(
                    "not-run",
                    format!(
                        "the census budget ({} s on this runtime) ran out before this module",
                        budget.as_secs()
                    ),
                    false,
                ),
            );
        }
    };
    for batch in names.chunks(BATCH) {
        if start.elapsed() >= budget {
            over(&mut results, &batch.iter().collect::<Vec<_>>());
            continue;
        }
        let mut args = vec!["import".to_string()];
        args.extend(batch.iter().cloned());
        let (o, obs) = run(&args)?;
        processes += 1;
        let (got, done) = match &obs {
            Ok(v) => parse_imports(v),
            // Garbled output after a trap: keep nothing from this batch, retry each alone.
            Err(_) => (BTreeMap::new(), false),
        };
        let finished = done && ended(&o).is_none();
        results.extend(got);
        if finished {
            continue;
        }
        let left: Vec<&String> = batch.iter().filter(|m| !results.contains_key(*m)).collect();
        for (i, m) in left.iter().enumerate() {
            if start.elapsed() >= budget {
                over(&mut results, &left[i..]);
                break;
            }
            let m = *m;
            let (o, obs) = run(&["import".to_string(), m.clone()])?;
            processes += 1;
            let (mut got, _) = obs.as_deref().map(parse_imports).unwrap_or_default();
            let r = match (got.remove(m), ended(&o)) {
                (Some(mut r), None) => {
                    r.isolated = true;
                    r
                }
                (_, Some((w, msg))) => unreported(w, msg, true),
                (None, None) => unreported(
                    "no-report",
                    format!(
                        "exited without a result; stderr: {}",
                        first_line(&String::from_utf8_lossy(&o.stderr))
                    ),
                    true,
                ),
            };
            results.insert(m.clone(), r);
        }
    }
    Ok((results, processes))
}

/// The whole census of one binary on one runtime.
pub fn census(
    root: &Path,
    py: &PyProvisioned,
    rt: &dyn Runtime,
    opts: &RunOptions,
) -> Result<Census> {
    let start = Instant::now();
    let script = script(root)?;
    let (identity, modules) = list(py, rt, &script, opts)?;
    // `__main__` modules are programs: importing one runs it (unittest.__main__ exits).
    let is_main = |m: &ModuleInfo| m.module == "__main__" || m.module.ends_with(".__main__");
    let names: Vec<String> = modules
        .iter()
        .filter(|m| m.kind != "absent" && !is_main(m))
        .map(|m| m.module.clone())
        .collect();
    let run = |args: &[String]| py_run(py, rt, &script, args, opts);
    let (mut imports, mut processes) = import_all(&names, &run)?;
    for m in modules.iter().filter(|m| is_main(m)) {
        let why = "a __main__ module is a program: importing it runs it";
        imports.insert(m.module.clone(), unreported("not-imported", why, false));
    }
    for m in modules.iter().filter(|m| m.kind == "absent") {
        let why = "named by sys.stdlib_module_names but not in this build";
        imports.insert(m.module.clone(), unreported("absent", why, false));
    }
    let mut counts = BTreeMap::new();
    for r in imports.values() {
        *counts.entry(r.result.clone()).or_insert(0) += 1;
    }
    let dark = dark(py, rt, &script, opts, &mut processes)?;
    Ok(Census {
        runtime: rt.name().into(),
        identity,
        modules,
        imports,
        counts,
        dark,
        processes,
        duration_ms: start.elapsed().as_secs_f64() * 1000.0,
    })
}

fn dark(
    py: &PyProvisioned,
    rt: &dyn Runtime,
    script: &str,
    opts: &RunOptions,
    processes: &mut usize,
) -> Result<BTreeMap<String, DarkFeature>> {
    let (_, obs) = py_run(py, rt, script, &["dark".into(), "--names".into()], opts)?;
    *processes += 1;
    let names: Vec<String> = obs
        .map_err(|e| anyhow::anyhow!("census.py dark --names: {e}"))?
        .iter()
        .find_map(|o| o.fields.get("names").cloned())
        .and_then(|v| serde_json::from_value(v).ok())
        .context("census.py dark --names reported no names")?;
    let mut out = BTreeMap::new();
    for f in names {
        let (o, obs) = py_run(py, rt, script, &["dark".into(), f.clone()], opts)?;
        *processes += 1;
        let line = obs
            .ok()
            .and_then(|v| v.into_iter().find(|o| o.str("what") == Some("dark")));
        let r = match (line, ended(&o)) {
            (_, Some((w, m))) => DarkFeature {
                status: w,
                detail: Some(m),
            },
            (Some(l), None) => DarkFeature {
                status: l.str("status").unwrap_or("?").into(),
                detail: l.str("detail").map(String::from).or_else(|| {
                    Some(format!(
                        "{}: {}",
                        l.str("error").unwrap_or("?"),
                        l.str("message").unwrap_or("")
                    ))
                }),
            },
            (None, None) => DarkFeature {
                status: "no-report".into(),
                detail: Some(first_line(&String::from_utf8_lossy(&o.stderr))),
            },
        };
        out.insert(f, r);
    }
    Ok(out)
}

/// A census made up for tests (no modules listing).
#[cfg(test)]
pub(crate) fn sample(runtime: &str, imports: &[(&str, &str)], dark: &[(&str, &str)]) -> Census {
    let imports: BTreeMap<String, ImportResult> = imports
        .iter()
        .map(|(m, r)| {
            (
                m.to_string(),
                ImportResult {
                    result: r.to_string(),
                    error: None,
                    message: None,
                    isolated: false,
                },
            )
        })
        .collect();
    let mut counts = BTreeMap::new();
    for r in imports.values() {
        *counts.entry(r.result.clone()).or_insert(0) += 1;
    }
    Census {
        runtime: runtime.into(),
        identity: Value::Null,
        modules: vec![],
        imports,
        counts,
        dark: dark
            .iter()
            .map(|(f, s)| {
                (
                    f.to_string(),
                    DarkFeature {
                        status: s.to_string(),
                        detail: None,
                    },
                )
            })
            .collect(),
        processes: 1,
        duration_ms: 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::time::Duration;

    fn outcome(t: Termination, stdout: String) -> Outcome {
        Outcome {
            termination: t,
            stdout: stdout.into_bytes(),
            stderr: vec![],
            duration: Duration::ZERO,
            host_calls: Default::default(),
        }
    }

    fn line(m: &str, r: &str) -> String {
        format!("{{\"probe\":\"census\",\"check\":\"stdlib_census\",\"what\":\"import\",\"module\":\"{m}\",\"result\":\"{r}\"}}\n")
    }

    /// A fake interpreter: `boom` traps whenever it is imported; everything else imports.
    #[test]
    fn a_trapping_module_is_isolated_and_hides_nothing_else() {
        let names: Vec<String> = (0..BATCH + 5)
            .map(|i| {
                if i == 3 {
                    "boom".into()
                } else {
                    format!("m{i}")
                }
            })
            .collect();
        let calls = RefCell::new(0);
        let run = |args: &[String]| {
            *calls.borrow_mut() += 1;
            let mut out = String::new();
            for m in &args[1..] {
                if m == "boom" {
                    return Ok((
                        outcome(
                            Termination::Trap {
                                message: "wasm trap: unreachable".into(),
                            },
                            out,
                        ),
                        Ok(vec![]),
                    ));
                }
                out.push_str(&line(m, "ok"));
            }
            out.push_str("{\"probe\":\"census\",\"check\":\"stdlib_census\",\"what\":\"done\"}\n");
            let obs = protocol::parse(out.as_bytes());
            Ok((outcome(Termination::Exited { code: 0 }, out), obs))
        };
        // The runner returns parsed observations from its stdout, as py_run does.
        let run2 = |args: &[String]| {
            run(args).map(|(o, _): (Outcome, Result<Vec<Observation>, String>)| {
                let obs = protocol::parse(&o.stdout);
                (o, obs)
            })
        };
        let (r, processes) = import_all(&names, &run2).unwrap();
        assert_eq!(r.len(), names.len());
        assert_eq!(r["boom"].result, "trap");
        assert!(r["boom"].isolated);
        assert_eq!(r["m0"].result, "ok");
        assert!(
            !r["m0"].isolated,
            "reported before the trap: kept from the batch"
        );
        assert_eq!(r["m4"].result, "ok");
        assert!(r["m4"].isolated, "after the trap: imported alone");
        assert_eq!(r[&format!("m{}", BATCH + 4)].result, "ok");
        // batch 1 + (BATCH - 3) modules alone + batch 2.
        assert_eq!(processes, 1 + (BATCH - 3) + 1);
    }

    #[test]
    fn the_census_cell_fails_on_a_broken_import_or_a_module_lost_against_the_reference() {
        use crate::report::Verdict;
        let reference = sample(
            "wasmtime",
            &[
                ("json", "ok"),
                ("tkinter", "import-error"),
                ("lzma", "absent"),
            ],
            &[("zlib", "works"), ("ssl", "absent")],
        );
        // The positive control: the same results on another runtime pass.
        let same = Census {
            runtime: "other".into(),
            ..reference.clone()
        };
        assert_eq!(judge(&reference, None).0, Verdict::Pass);
        assert_eq!(judge(&same, Some(&reference)).0, Verdict::Pass);
        // A module failing differently where the reference also fails is no loss.
        let mut err = same.clone();
        err.imports.get_mut("tkinter").unwrap().result = "absent".into();
        assert_eq!(judge(&err, Some(&reference)).0, Verdict::Pass);
        // Negative controls: a trap, an exception, a lost module, a lost dark feature.
        for (m, r) in [("json", "trap"), ("tkinter", "exception")] {
            let mut bad = same.clone();
            bad.imports.get_mut(m).unwrap().result = r.into();
            let (v, ev) = judge(&bad, Some(&reference));
            assert_eq!(v, Verdict::Fail, "{m} {r}");
            assert!(ev["reason"].as_str().unwrap().contains(m), "{ev}");
            // …even with no reference at all.
            assert_eq!(judge(&bad, None).0, Verdict::Fail);
        }
        let mut lost = same.clone();
        lost.imports.get_mut("json").unwrap().result = "import-error".into();
        let (v, ev) = judge(&lost, Some(&reference));
        assert_eq!(v, Verdict::Fail);
        assert_eq!(ev["lost_vs_reference"]["json"]["other"], "import-error");
        let mut dark = same.clone();
        dark.dark.get_mut("zlib").unwrap().status = "fails-on-use".into();
        let (v, ev) = judge(&dark, Some(&reference));
        assert_eq!(v, Verdict::Fail);
        assert!(ev["reason"].as_str().unwrap().contains("zlib"), "{ev}");
    }

    #[test]
    fn past_the_budget_modules_are_not_run_and_the_cell_fails() {
        let names: Vec<String> = (0..BATCH * 2).map(|i| format!("m{i}")).collect();
        let calls = RefCell::new(0);
        // Every process hangs until the wall limit, as imports did on wasmer.
        let run = |_: &[String]| {
            *calls.borrow_mut() += 1;
            std::thread::sleep(Duration::from_millis(20));
            Ok((outcome(Termination::Timeout, String::new()), Ok(vec![])))
        };
        let (r, processes) = import_all_within(&names, &run, Duration::from_millis(50)).unwrap();
        assert_eq!(r.len(), names.len(), "every module has a result");
        assert!(
            processes < 6,
            "stopped at the budget: {processes} processes"
        );
        assert_eq!(r["m0"].result, "timeout");
        let last = &r[&format!("m{}", BATCH * 2 - 1)];
        assert_eq!(last.result, "not-run");
        assert!(last.message.as_deref().unwrap().contains("budget"));
        let mut c = sample("slow", &[], &[]);
        c.imports = r;
        let (v, ev) = judge(&c, None);
        assert_eq!(v, crate::report::Verdict::Fail);
        assert!(ev["reason"].as_str().unwrap().contains("not-run"), "{ev}");
    }

    #[test]
    fn a_listing_without_done_or_modules_is_rejected() {
        let obs = protocol::parse(b"{\"probe\":\"census\",\"check\":\"stdlib_census\",\"what\":\"module\",\"module\":\"os\",\"kind\":\"module\",\"source_bytes\":1,\"pyc_bytes\":0}\n").unwrap();
        assert!(parse_list(&obs).unwrap_err().to_string().contains("done"));
        let obs = protocol::parse(
            b"{\"probe\":\"census\",\"check\":\"stdlib_census\",\"what\":\"done\"}\n",
        )
        .unwrap();
        assert!(parse_list(&obs)
            .unwrap_err()
            .to_string()
            .contains("no modules"));
        let obs = protocol::parse(b"{\"probe\":\"census\",\"check\":\"stdlib_census\",\"what\":\"module\",\"module\":\"os\"}\n{\"probe\":\"census\",\"check\":\"stdlib_census\",\"what\":\"done\"}\n").unwrap();
        assert!(parse_list(&obs)
            .unwrap_err()
            .to_string()
            .contains("malformed"));
    }
}
