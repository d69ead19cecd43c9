//! Sharding: `run --partition K/N` runs a deterministic share of the cells, and `merge` puts the
//! shards back into one report. A shard is chosen per probe run (sdk, runtime, probe), never per
//! check, because the checks of one probe judge one shared run. Every shard records the
//! partition and a digest of what was asked for, so a shard from another matrix, a missing
//! shard or a duplicated one is an error, never a silently smaller report.

use crate::plan::Partition;
use crate::report::{Cell, Report};
use anyhow::{bail, Context, Result};

use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;

/// What a shard was asked to run: the options (minus the partition) and the matrix's SDKs.
pub fn plan_digest(r: &Report) -> String {
    let mut options = r.options.clone();
    if let Some(o) = options.as_object_mut() {
        o.remove("partition");
    }
    let sdks: Vec<&str> = r.sdks.iter().map(|s| s.spec.id.as_str()).collect();
    let text = serde_json::to_string(&(options, sdks)).unwrap_or_default();
    format!("{:x}", Sha256::digest(text))
}

/// The shard's partition as recorded in its options.
pub fn partition_of(r: &Report) -> Option<Partition> {
    r.options
        .get("partition")
        .and_then(|p| serde_json::from_value(p.clone()).ok())
}

/// Merges the shards of one partitioned run. Errors name the file and the cause.
pub fn merge(paths: &[&Path]) -> Result<Report> {
    let mut shards = Vec::new();
    for p in paths {
        let r = crate::report::load(p)?;
        if !r.complete {
            bail!(
                "{}: an incomplete report (the run did not finish)",
                p.display()
            );
        }
        let part = partition_of(&r).with_context(|| {
            format!(
                "{}: not a shard (it was not run with --partition)",
                p.display()
            )
        })?;
        shards.push((p, part, plan_digest(&r), r));
    }
    let Some((first_path, first_part, digest, _)) = shards.first() else {
        bail!("no shards given");
    };
    let count = first_part.count;
    let mut seen: BTreeMap<u32, &Path> = BTreeMap::new();
    for (p, part, d, _) in &shards {
        if d != digest || part.count != count {
            bail!(
                "{}: a shard of another run (its matrix or options differ from {}'s)",
                p.display(),
                first_path.display()
            );
        }
        if let Some(other) = seen.insert(part.index, p) {
            bail!(
                "{} and {}: both are shard {}/{count}",
                other.display(),
                p.display(),
                part.index
            );
        }
    }
    let missing: Vec<String> = (1..=count)
        .filter(|k| !seen.contains_key(k))
        .map(|k| format!("{k}/{count}"))
        .collect();
    if !missing.is_empty() {
        bail!("missing shards: {}", missing.join(", "));
    }

    let mut it = shards.into_iter().map(|(p, _, _, r)| (p, r));
    let (_, mut merged) = it.next().expect("at least one shard");
    let mut keys: BTreeMap<String, String> = merged
        .results
        .iter()
        .map(|c| (c.key(), "shard 1".to_string()))
        .collect();
    for (p, r) in it {
        for c in r.results {
            if let Some(prev) = keys.insert(c.key(), p.display().to_string()) {
                bail!(
                    "{}: cell {} is also in {prev}: shards overlap",
                    p.display(),
                    c.key()
                );
            }
            merged.results.push(c);
        }
        for (sdk, probes) in r.imports {
            merged.imports.entry(sdk).or_default().extend(probes);
        }
        match (&mut merged.python_ext, r.python_ext) {
            (Some(m), Some(e)) => m.sdks.extend(e.sdks),
            (m @ None, e) => *m = e,
            (Some(_), None) => {}
        }
        // Every shard reads the same toolchains' libcs: keep the first shard's reading of each.
        for (sdk, f) in r.libc {
            merged.libc.entry(sdk).or_insert(f);
        }
        for (sdk, features) in r.dark_features {
            merged
                .dark_features
                .entry(sdk)
                .or_default()
                .extend(features);
        }
        for (id, p) in r.python {
            match merged.python.get_mut(&id) {
                None => {
                    merged.python.insert(id, p);
                }
                Some(m) => {
                    if m.census.is_none() {
                        m.census = p.census;
                        m.footprint = p.footprint;
                    }
                    m.census_runtimes.extend(p.census_runtimes);
                    // A shard owns a (python, runtime) regrtest whole.
                    m.regrtest.extend(p.regrtest);
                    // …and a (python, browser row) startup likewise.
                    m.browser.extend(p.browser);
                }
            }
        }
        merged.build.compiled += r.build.compiled;
        merged.build.cached += r.build.cached;
        merged.build.failed += r.build.failed;
        merged.build.rebuilt_corrupt += r.build.rebuilt_corrupt;
        merged.started_at = merged.started_at.min(r.started_at);
        merged.finished_at = merged.finished_at.max(r.finished_at);
    }
    if let Some(o) = merged.options.as_object_mut() {
        o.remove("partition");
        o.insert("merged_shards".into(), serde_json::json!(count));
    }
    rejudge_census(&mut merged);
    merged.results.sort_by_key(Cell::key);
    merged.summarize();
    Ok(merged)
}

/// Census cells of shards that did not own the reference runtime's census were judged alone;
/// with every shard's census in one report, judge them against the reference.
fn rejudge_census(merged: &mut Report) {
    use crate::python::census;
    for (id, p) in &merged.python {
        let Some(reference) = &p.census else { continue };
        for c in merged
            .results
            .iter_mut()
            .filter(|c| &c.sdk == id && c.probe == census::PROBE && c.runtime != reference.runtime)
        {
            if let Some(theirs) = p.census_runtimes.get(&c.runtime) {
                let (v, ev) = census::judge(theirs, Some(reference));
                c.verdict = v;
                c.evidence = ev;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_parse_and_cover_every_run_exactly_once() {
        assert!("0/3".parse::<Partition>().is_err());
        assert!("4/3".parse::<Partition>().is_err());
        assert!("x".parse::<Partition>().is_err());
        let parts: Vec<Partition> = (1..=3).map(|k| format!("{k}/3").parse().unwrap()).collect();
        for sdk in ["zig-0.13", "debian-clang-16", "wasi-sdk-24"] {
            for probe in ["fs", "clocks", "entropy", "stdio", "args_env"] {
                let owners = parts
                    .iter()
                    .filter(|p| p.owns(sdk, "wasmtime", probe))
                    .count();
                assert_eq!(owners, 1, "{sdk} {probe}");
            }
        }
    }

    #[test]
    fn merge_keeps_every_shards_python_and_dark_results_and_rejudges_census_cells() {
        use crate::python::census::{self, sample};
        use crate::report::{HostInfo, Verdict};
        let shard = |k: u32, cells: Vec<Cell>| Report {
            complete: true,
            finished_at: Some("t1".into()),
            results: cells,
            ..Report::begin(
                "t0".into(),
                HostInfo::current(),
                serde_json::json!({ "partition": Partition { index: k, count: 2 } }),
            )
        };
        let cell = |rt: &str, c: &census::Census, reference: Option<&census::Census>| {
            let (verdict, evidence) = census::judge(c, reference);
            let check = "stdlib_census";
            crate::python::python_cell("py", rt, census::PROBE, check, verdict, evidence, 0.0)
        };
        let reference = sample("wasmtime", &[("json", "ok")], &[]);
        // Judged alone in its shard it passes; against the reference, json is lost.
        let other = sample("other", &[("json", "import-error")], &[]);
        let report = |census, census_runtimes| crate::python::PythonReport {
            provisioned: serde_json::from_value(serde_json::json!({
                "spec": { "id": "py", "version": "3.12", "source": { "kind": "path", "dir": "x" } },
                "status": "ready", "wasm_bytes": 0, "p1_imports": [], "non_wasi_imports": [],
                "launch": { "argv": [], "env": [], "preopens": [] }
            }))
            .unwrap(),
            runtime_options: serde_json::json!({}),
            census,
            footprint: None,
            census_runtimes,
            regrtest: Default::default(),
            browser: Default::default(),
        };
        let mut s1 = shard(1, vec![cell("wasmtime", &reference, None)]);
        s1.python.insert(
            "py".into(),
            report(Some(reference.clone()), Default::default()),
        );
        let alone = cell("other", &other, None);
        assert_eq!(alone.verdict, Verdict::Pass);
        let mut s2 = shard(2, vec![alone]);
        s2.python.insert(
            "py".into(),
            report(None, [("other".to_string(), other.clone())].into()),
        );
        s2.dark_features
            .entry("zig-0.13".into())
            .or_default()
            .insert(
                "fork".into(),
                serde_json::from_value(
                    serde_json::json!({"stage": "link-error", "flags": [], "runs": {}}),
                )
                .unwrap(),
            );
        let dir = tempfile::tempdir().unwrap();
        let (p1, p2) = (dir.path().join("1.json"), dir.path().join("2.json"));
        crate::report::write(&s1, &p1).unwrap();
        crate::report::write(&s2, &p2).unwrap();
        // Either order of shards gives the same merged report.
        for paths in [[&p1, &p2], [&p2, &p1]] {
            let m = merge(&[paths[0].as_path(), paths[1].as_path()]).unwrap();
            let py = &m.python["py"];
            assert_eq!(py.census.as_ref().unwrap().runtime, "wasmtime");
            assert!(py.census_runtimes.contains_key("other"));
            assert!(m.dark_features["zig-0.13"].contains_key("fork"));
            let c = m.results.iter().find(|c| c.runtime == "other").unwrap();
            assert_eq!(c.verdict, Verdict::Fail, "{}", c.evidence);
            assert_eq!(
                c.evidence["lost_vs_reference"]["json"]["other"],
                "import-error"
            );
        }
    }
}
