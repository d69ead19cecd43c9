//! Sharding: `run --partition K/N` runs a deterministic share of the cells, and `merge` puts the
//! shards back into one report. A shard is chosen per probe run (sdk, runtime, probe), never per
//! check, because the checks of one probe judge one shared run. Every shard records the
//! partition and a digest of what was asked for, so a shard from another matrix, a missing
//! shard or a duplicated one is an error, never a silently smaller report.

use crate::report::{Cell, Report};
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Partition {
    /// 1-based.
    pub index: u32,
    pub count: u32,
}

impl FromStr for Partition {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("partition '{s}' is not K/N with 1 <= K <= N");
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count): (u32, u32) = (
            k.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        if index == 0 || count == 0 || index > count {
            return Err(bad());
        }
        Ok(Partition { index, count })
    }
}

impl std::fmt::Display for Partition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Partition {
    /// Whether the probe run (sdk, runtime, probe) belongs to this shard. A stable hash (not
    /// std's randomized one), so every machine of a CI matrix agrees.
    pub fn owns(&self, sdk: &str, runtime: &str, probe: &str) -> bool {
        let h = Sha256::digest(format!("{sdk}\0{runtime}\0{probe}"));
        let v = u32::from_le_bytes([h[0], h[1], h[2], h[3]]);
        v % self.count == self.index - 1
    }
}

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
        let r = Report::load(p)?;
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
    merged.results.sort_by_key(Cell::key);
    merged.summarize();
    Ok(merged)
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
}
