//! Resuming a killed run: a rerun with the same `--out` keeps the cells its partial report
//! already holds and runs only the rest.
//!
//! A cell is kept only when it was measured under the same plan: the same options, toolchain
//! identities, host, wasiprobe version and built modules (their content-addressed names). The
//! key of the plan is written beside the partial report when the run starts; a report without
//! a matching key is never resumed from, so that a cell of an older probe or toolchain cannot be
//! passed off as a result of this run. Only the probe cells of the job loop are resumed; the
//! Python cells, the dark-features census and the native floor are measured again.

use crate::execute::BuildResult;
use crate::provision::Provisioned;
use crate::report::{self, Cell, HostInfo};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const KEY_FILE: &str = ".wasiprobe-resume";

/// The plan of a run, as a digest.
pub(crate) fn plan_key(
    options: &Value,
    sdks: &[Provisioned],
    host: &HostInfo,
    builds: &[BuildResult],
) -> String {
    let modules: Vec<(&str, &str, String)> = builds
        .iter()
        .map(|((sdk, probe), r)| {
            let what = match r {
                Ok(wasm) => wasm
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                Err(e) => e.to_string(),
            };
            (sdk.as_str(), probe.as_str(), what)
        })
        .collect();
    let text = serde_json::to_string(&(options, sdks, host, modules)).unwrap_or_default();
    format!("{:x}", Sha256::digest(text))
}

fn key_path(out: &Path) -> PathBuf {
    out.join(KEY_FILE)
}

/// The cells of `OUT/report.json` that this run may keep: none unless that report is
/// incomplete and was written under the same plan key. Says in the log what it kept and why
/// it kept nothing.
pub(crate) fn previous(out: &Path, key: &str) -> BTreeMap<String, Cell> {
    let path = out.join("report.json");
    if !path.exists() {
        return BTreeMap::new();
    }
    let old = match report::load(&path) {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!("not resuming from {}: {e:#}", path.display());
            return BTreeMap::new();
        }
    };
    if old.complete {
        return BTreeMap::new();
    }
    match std::fs::read_to_string(key_path(out)) {
        Ok(k) if k.trim() == key => {}
        _ => {
            tracing::warn!(
                "not resuming from the partial {}: it was written under another plan \
                 (options, toolchains, host or probes changed); running every cell",
                path.display()
            );
            return BTreeMap::new();
        }
    }
    let cells: BTreeMap<String, Cell> = old.results.into_iter().map(|c| (c.key(), c)).collect();
    tracing::info!(
        "resuming the partial {}: keeping {} measured cells",
        path.display(),
        cells.len()
    );
    cells
}

/// Records the plan key before the first cell is written.
pub(crate) fn start(out: &Path, key: &str) -> anyhow::Result<()> {
    std::fs::create_dir_all(out)?;
    wasiprobe_util::atomic_write(&key_path(out), key.as_bytes())
}

/// A finished report is never resumed from; the key goes with it.
pub(crate) fn finish(out: &Path) {
    let _ = std::fs::remove_file(key_path(out));
}
