//! `report.json`: the one artefact every consumer reads (schema in `reports/schema/`).

pub use crate::verdict::Verdict;

use crate::dark;
use crate::libc::LibcFacts;
use crate::python::{ExtReport, PythonReport};
use crate::sdk::Provisioned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Cell {
    pub sdk: String,
    pub runtime: String,
    pub probe: String,
    pub check: String,
    pub area: String,
    pub verdict: Verdict,
    pub evidence: Value,
    pub duration_ms: f64,
}

impl Cell {
    pub fn key(&self) -> String {
        format!(
            "{}::{}::{}::{}",
            self.sdk, self.runtime, self.probe, self.check
        )
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct HostInfo {
    pub os: String,
    pub arch: String,
    pub cpus: usize,
    pub wasiprobe: String,
}

impl HostInfo {
    pub fn current() -> Self {
        HostInfo {
            os: std::env::consts::OS.into(),
            arch: std::env::consts::ARCH.into(),
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            wasiprobe: env!("CARGO_PKG_VERSION").into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RuntimeInfo {
    pub name: String,
    pub version: String,
    pub status: String,
    pub reason: Option<String>,
    pub capabilities: Option<Value>,
}

/// A run's probe builds: what the build cache compiled, served, failed or rebuilt.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct BuildSummary {
    pub compiled: usize,
    pub cached: usize,
    pub failed: usize,
    pub rebuilt_corrupt: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Report {
    pub schema_version: u32,
    /// False while a run is still writing partial results.
    pub complete: bool,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub host: HostInfo,
    /// The run's options that change results: injections, limits, selection.
    pub options: Value,
    pub sdks: Vec<Provisioned>,
    pub runtimes: Vec<RuntimeInfo>,
    pub build: BuildSummary,
    pub results: Vec<Cell>,
    pub summary: BTreeMap<String, usize>,
    /// Preview 1 functions each built probe imports, per SDK then probe: the same source built
    /// by two SDKs shows which syscalls a libc change makes a program use.
    #[serde(default)]
    pub imports: BTreeMap<String, BTreeMap<String, Vec<String>>>,
    /// The dark-features census per SDK then feature (`probes/dark/`, see `dark.rs`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub dark_features: BTreeMap<String, BTreeMap<String, dark::Census>>,
    /// Per CPython binary (`[[python]]`): identity, launch options, stdlib census, footprint and
    /// strip plan, C-extension builds. Its twin cells are in `results` (sdk = the python id).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub python: BTreeMap<String, PythonReport>,
    /// The C-extension build probe per SDK (`python::extension`); its cells are `py-ext`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub python_ext: Option<ExtReport>,
    /// Per SDK: the libc's defined symbols, stubs and header macros, read from the toolchain
    /// (`crate::libc`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub libc: BTreeMap<String, LibcFacts>,
}

impl Report {
    /// A run's report before its first cell: incomplete, every section empty.
    pub fn begin(started_at: String, host: HostInfo, options: Value) -> Self {
        Report {
            schema_version: SCHEMA_VERSION,
            complete: false,
            started_at,
            finished_at: None,
            host,
            options,
            sdks: Vec::new(),
            runtimes: Vec::new(),
            build: BuildSummary::default(),
            results: Vec::new(),
            summary: BTreeMap::new(),
            imports: BTreeMap::new(),
            dark_features: BTreeMap::new(),
            python: BTreeMap::new(),
            python_ext: None,
            libc: BTreeMap::new(),
        }
    }

    pub fn summarize(&mut self) {
        let mut m = BTreeMap::new();
        for c in &self.results {
            *m.entry(c.verdict.as_str().to_string()).or_insert(0) += 1;
        }
        self.summary = m;
    }

    /// The toolchains that were declared but not there: their cells are all `unavailable` for
    /// the same reason, so outputs say it once per toolchain and keep their tables for what ran.
    pub fn absent_sdks(&self) -> Vec<&crate::sdk::Provisioned> {
        self.sdks.iter().filter(|s| !s.is_ready()).collect()
    }

    /// Whether a cell is one of an absent toolchain's (said once, not per cell).
    pub fn of_absent_sdk(&self, c: &Cell) -> bool {
        c.verdict == Verdict::Unavailable
            && self
                .sdks
                .iter()
                .any(|s| s.spec.id == c.sdk && !s.is_ready())
    }

    pub fn has_failures(&self) -> bool {
        self.results.iter().any(|c| c.verdict.is_failure())
    }
}
