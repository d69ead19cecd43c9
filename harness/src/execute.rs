//! The run itself: provision, build, start the runtimes, run every job in parallel, the Python
//! cells, the dark-features census, the native floor; the partial report while it goes on.

use crate::build::{Cache, Probe};
use crate::case::{check_cell, judge_record, native_cells, run_case};
use crate::checks::Check;
use crate::plan::{
    build_probe, cannot_run, host_env, make_runtime, provision_all, select_checks, select_runtimes,
    select_sdks, wants_dark, Project, RunOptions, SKIP,
};
use crate::provision::Provisioned;
use crate::report::{self, BuildSummary, Cell, HostInfo, Report, RuntimeInfo, Verdict};
use anyhow::Result;
use rayon::prelude::*;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use wasiprobe_runtimes::{Runtime, Unavailable};

/// One probe run on one sdk × runtime, judged by every check that asks for the same case.
pub(crate) struct Job<'a> {
    sdk: &'a Provisioned,
    runtime: usize,
    checks: Vec<&'a dyn Check>,
    built: Result<PathBuf, Value>,
}

pub fn execute(project: &Project, opts: &RunOptions) -> Result<Report> {
    let checks = select_checks(project, opts)?;
    let specs = select_sdks(project, opts)?;
    let runtime_names = select_runtimes(&opts.runtimes, &project.matrix.runtimes)?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.jobs.max(1))
        .build()?;
    let started_at = wasiprobe_util::now_rfc3339();

    let sdks = pool.install(|| provision_all(&specs, opts));
    for s in &sdks {
        match &s.reason {
            None => tracing::info!(
                "sdk {}: ready ({})",
                s.spec.id,
                s.identity.compiler.as_deref().unwrap_or("?")
            ),
            Some(r) => tracing::warn!("sdk {}: unavailable: {r}", s.spec.id),
        }
    }

    let cache = Cache::new(opts.provision.cache.join("build"));
    let needed: Vec<&Probe> = project
        .probes
        .iter()
        .filter(|p| checks.iter().any(|c| c.probe() == p.name))
        .collect();
    // What each libc is, read from the toolchain: the report's `libc` section, and the stub
    // census the `libc_stubs` probe is generated from.
    let libc_facts: std::collections::BTreeMap<String, crate::libc::LibcFacts> =
        pool.install(|| {
            sdks.par_iter()
                .filter(|s| s.is_ready())
                .map(|s| (s.spec.id.clone(), crate::libc::facts(s)))
                .collect()
        });
    for (sdk, f) in &libc_facts {
        for e in &f.errors {
            tracing::warn!("sdk {sdk}: libc facts: {e}");
        }
    }
    let todo: Vec<(&Provisioned, &Probe)> = sdks
        .iter()
        .filter(|s| s.is_ready())
        .flat_map(|s| needed.iter().map(move |p| (s, *p)))
        .collect();
    let progress = crate::progress::Progress::new("builds", todo.len());
    let builds: Vec<BuildResult> = pool.install(|| {
        todo.into_par_iter()
            .map(|(s, p)| {
                progress.running(&format!("{} {}", s.spec.id, p.name));
                let r = build_probe(&cache, s, p, libc_facts.get(&s.spec.id), opts);
                progress.done(1);
                ((s.spec.id.clone(), p.name.clone()), r)
            })
            .collect()
    });
    drop(progress);

    if opts.fetch {
        for r in &project.matrix.runtimes {
            if runtime_names.contains(&r.name) {
                if let Err(e) = crate::runtime_fetch::fetch_runtime(r, &opts.provision) {
                    // The runtime's row will say it is unavailable, and why.
                    tracing::warn!("runtime {}: {e:#}", r.name);
                }
            }
        }
    }
    let env = host_env(opts);
    let mut runtimes: Vec<Box<dyn Runtime>> = Vec::new();
    let mut runtime_infos = Vec::new();
    let mut results = Vec::new();
    for name in &runtime_names {
        match make_runtime(name, &env, &project.matrix.runtimes) {
            Ok(rt) => {
                runtime_infos.push(RuntimeInfo {
                    name: rt.name().into(),
                    version: rt.version(),
                    status: "ready".into(),
                    reason: None,
                    capabilities: serde_json::to_value(rt.capabilities()).ok(),
                });
                runtimes.push(rt);
            }
            Err(e) if e.downcast_ref::<Unavailable>().is_some() => {
                tracing::warn!("runtime {name}: unavailable: {e}");
                runtime_infos.push(RuntimeInfo {
                    name: name.clone(),
                    version: String::new(),
                    status: "unavailable".into(),
                    reason: Some(e.to_string()),
                    capabilities: None,
                });
                for sdk in &sdks {
                    for check in &checks {
                        if opts
                            .partition
                            .is_none_or(|p| p.owns(&sdk.spec.id, name, check.probe()))
                        {
                            results.push(check_cell(
                                &sdk.spec.id,
                                name,
                                check.as_ref(),
                                Verdict::Unavailable,
                                json!({ "reason": format!("runtime {name}: {e}") }),
                                0.0,
                            ));
                        }
                    }
                }
            }
            Err(e) => return Err(e.context(format!("starting runtime {name}"))),
        }
    }

    let mut jobs = Vec::new();
    for sdk in &sdks {
        for (ri, rt) in runtimes.iter().enumerate() {
            let caps = rt.capabilities();
            for check in &checks {
                if opts
                    .partition
                    .is_some_and(|p| !p.owns(&sdk.spec.id, rt.name(), check.probe()))
                {
                    continue;
                }
                let cell = |verdict, evidence| {
                    check_cell(
                        &sdk.spec.id,
                        rt.name(),
                        check.as_ref(),
                        verdict,
                        evidence,
                        0.0,
                    )
                };
                if !sdk.is_ready() {
                    results.push(cell(Verdict::Unavailable, json!({ "reason": sdk.reason })));
                    continue;
                }
                if let Some(why) = cannot_run(&caps, &check.case(), opts) {
                    results.push(cell(Verdict::Skip, json!({ "reason": why })));
                    continue;
                }
                if let Some(j) = jobs.iter_mut().find(|j: &&mut Job| {
                    j.sdk.spec.id == sdk.spec.id
                        && j.runtime == ri
                        && j.checks[0].probe() == check.probe()
                        && j.checks[0].case() == check.case()
                }) {
                    j.checks.push(check.as_ref());
                    continue;
                }
                let built = builds
                    .iter()
                    .find(|((s, p), _)| *s == sdk.spec.id && p == check.probe())
                    .map(|(_, r)| r.clone())
                    .unwrap_or_else(|| {
                        Err(json!({ "reason": format!("no probe named {}", check.probe()) }))
                    });
                jobs.push(Job {
                    sdk,
                    runtime: ri,
                    checks: vec![check.as_ref()],
                    built,
                });
            }
        }
    }

    // A rerun of a killed run with the same --out keeps what it measured under the same plan.
    let options = json!({
        "inject": opts.inject.iter().map(|i| i.to_string()).collect::<Vec<_>>(),
        "limits": opts.limits,
        "sdks": opts.sdks, "runtimes": runtime_names, "probes": opts.probes, "checks": opts.checks,
        "partition": opts.partition,
    });
    let host = HostInfo::current();
    let plan_key = crate::resume::plan_key(&options, &sdks, &host, &builds);
    let kept = crate::resume::previous(&opts.out, &plan_key);
    let mut resumed = 0;
    if !kept.is_empty() {
        jobs.retain(|job: &Job| {
            let rt = runtimes[job.runtime].name();
            let old: Vec<&Cell> = job
                .checks
                .iter()
                .filter_map(|c| {
                    kept.get(&format!(
                        "{}::{rt}::{}::{}",
                        job.sdk.spec.id,
                        c.probe(),
                        c.name()
                    ))
                })
                .collect();
            if old.len() < job.checks.len() {
                return true;
            }
            resumed += old.len();
            results.extend(old.into_iter().cloned());
            false
        });
    }
    crate::resume::start(&opts.out, &plan_key)?;

    let mut report = Report {
        sdks: sdks.clone(),
        runtimes: runtime_infos,
        build: build_summary(&cache),
        results,
        imports: imports_of(&builds),
        libc: libc_facts.clone(),
        ..Report::begin(started_at, host, options)
    };
    let report_path = opts.out.join("report.json");
    // The first cells are written at once, the rest at most every two seconds: a run killed
    // while its first slow guest runs still leaves what it measured before.
    let shared = Mutex::new((report.clone(), None::<Instant>));
    let progress =
        crate::progress::Progress::new("cells", jobs.iter().map(|j| j.checks.len()).sum());
    let cells: Vec<Cell> = pool.install(|| {
        jobs.par_iter()
            .flat_map_iter(|job| {
                progress.running(&format!(
                    "{}::{}::{}",
                    job.sdk.spec.id,
                    runtimes[job.runtime].name(),
                    job.checks[0].probe()
                ));
                let cells = run_job(job, runtimes[job.runtime].as_ref(), opts);
                progress.done(cells.len());
                // Write what is measured so far, at most every two seconds, so a killed run
                // leaves a readable partial report.
                let mut g = shared.lock().unwrap();
                g.0.results.extend(cells.iter().cloned());
                if g.1.is_none_or(|t| t.elapsed() > Duration::from_secs(2)) {
                    g.0.summarize();
                    if let Err(e) = report::write(&g.0, &report_path) {
                        tracing::warn!("partial report: {e:#}");
                    }
                    g.1 = Some(Instant::now());
                }
                cells
            })
            .collect()
    });
    drop(progress);
    report.results.extend(cells);
    let rts: Vec<&dyn Runtime> = runtimes.iter().map(|r| r.as_ref()).collect();
    let (py_cells, py_reports) = crate::python::execute(project, &rts, opts, &pool);
    report.results.extend(py_cells);
    report.python = py_reports;
    let rt_name = rts.first().map_or("wasmtime", |r| r.name());
    let (ext_cells, ext) = crate::python::extension::execute(project, &sdks, rt_name, opts, &pool);
    report.results.extend(ext_cells);
    report.python_ext = ext;
    if wants_dark(opts) {
        let rts: Vec<&dyn Runtime> = runtimes.iter().map(|r| r.as_ref()).collect();
        let ready: Vec<&Provisioned> = sdks.iter().filter(|s| s.is_ready()).collect();
        let census: Vec<_> = pool.install(|| {
            ready
                .par_iter()
                .map(|s| {
                    (
                        s.spec.id.clone(),
                        crate::dark::census(&project.root, s, &rts, opts),
                    )
                })
                .collect()
        });
        for (sdk, c) in census {
            match c {
                Ok(c) => {
                    report.dark_features.insert(sdk, c);
                }
                Err(e) => tracing::warn!("dark-features census for {sdk}: {e:#}"),
            }
        }
    }
    if opts.native {
        report.results.extend(native_cells(project, &checks, opts));
    }
    report.results.sort_by_key(|c| c.key());
    report.build = build_summary(&cache);
    report.complete = true;
    report.finished_at = Some(wasiprobe_util::now_rfc3339());
    report.summarize();
    if resumed > 0 {
        tracing::info!("{resumed} cells were kept from the partial report of an earlier run");
    }
    wasiprobe_reports::reporter::write_all(
        &report,
        &opts.out,
        &wasiprobe_reports::reporter::standard(vec![]),
    )?;
    crate::resume::finish(&opts.out);
    Ok(report)
}

pub(crate) type Imports =
    std::collections::BTreeMap<String, std::collections::BTreeMap<String, Vec<String>>>;

/// ((sdk, probe), the built module or why there is none).
pub(crate) type BuildResult = ((String, String), Result<PathBuf, Value>);

pub(crate) fn imports_of(builds: &[BuildResult]) -> Imports {
    let mut m = Imports::new();
    for ((sdk, probe), r) in builds {
        let Ok(wasm) = r else { continue };
        let names = std::fs::read(wasm)
            .ok()
            .and_then(|b| wasiprobe_coverage::analyze(&b).ok())
            .map(|rep| rep.p1_names().into_iter().map(String::from).collect())
            .unwrap_or_default();
        m.entry(sdk.clone())
            .or_default()
            .insert(probe.clone(), names);
    }
    m
}

pub(crate) fn build_summary(cache: &Cache) -> BuildSummary {
    let s = &cache.stats;
    BuildSummary {
        compiled: s.compiled.load(Ordering::Relaxed),
        cached: s.cached.load(Ordering::Relaxed),
        failed: s.failed.load(Ordering::Relaxed),
        rebuilt_corrupt: s.rebuilt_corrupt.load(Ordering::Relaxed),
    }
}

pub(crate) fn run_job(job: &Job, rt: &dyn Runtime, opts: &RunOptions) -> Vec<Cell> {
    let start = Instant::now();
    let judged: Vec<(Verdict, Value)> = match &job.built {
        Err(e) => {
            let v = if e.get(SKIP).is_some() {
                Verdict::Skip
            } else {
                Verdict::Error
            };
            job.checks.iter().map(|_| (v, e.clone())).collect()
        }
        Ok(wasm) => match run_case(rt, wasm, &job.checks[0].case(), opts) {
            Ok(rec) => {
                let v = job
                    .checks
                    .iter()
                    .map(|c| judge_record(*c, &rec, opts))
                    .collect();
                if opts.keep {
                    let _ = rec.root.keep();
                }
                v
            }
            Err(e) => {
                let ev = json!({ "reason": format!("{e:#}") });
                job.checks
                    .iter()
                    .map(|_| (Verdict::Error, ev.clone()))
                    .collect()
            }
        },
    };
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    job.checks
        .iter()
        .zip(judged)
        .map(|(check, (verdict, evidence))| {
            check_cell(&job.sdk.spec.id, rt.name(), *check, verdict, evidence, ms)
        })
        .collect()
}
