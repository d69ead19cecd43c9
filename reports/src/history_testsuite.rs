//! `wasiprobe testsuite --history DB`: wasi-testsuite runs in the same history as `run`, and
//! their plot on the dashboard (pass rate per runtime over time).
//!
//! A testsuite run is a row of `runs` (its `options` say `"kind": "testsuite"`), and each test
//! on each runtime a row of `cells`: `sdk` holds the suite's WASI version, `runtime` the
//! runtime's name with its version string, `probe` the suite, `check_name` the test, `area`
//! "wasi-testsuite", `verdict` the outcome. Storing tests rather than totals keeps the schema
//! as it is and lets any later view recount them.

use crate::history::{canonical, History, HistoryRun, RunRow};
use crate::html::esc;
use crate::svg::{LineChart, Series, PALETTE};
use anyhow::{Context, Result};
use rusqlite::params;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// The value of `kind` in a testsuite run's `options`, and in [`HistoryRun::kind`].
pub const TESTSUITE_KIND: &str = "testsuite";

/// One test's outcome on one runtime.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TestsuiteCell {
    pub runtime: String,
    /// The runtime's own version string (for an adapter module, `get_name()` and
    /// `get_version()`).
    pub runtime_version: String,
    pub wasi_version: String,
    pub suite: String,
    pub test: String,
    /// pass, fail, skip, xfail or xpass.
    pub outcome: String,
    pub duration_ms: f64,
}

/// A whole `wasiprobe testsuite` run, as it is stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TestsuiteRecord {
    pub started_at: String,
    pub finished_at: String,
    pub wasiprobe_version: String,
    pub cells: Vec<TestsuiteCell>,
}

/// The runtime column of a cell: the name and the version it had then, so an upgrade shows.
pub fn runtime_label(runtime: &str, version: &str) -> String {
    format!("{runtime} ({version})")
}

/// Tests that passed among those that ran: pass and xpass over pass, fail, xfail and xpass
/// (a skipped test says nothing about the runtime). `None` when none ran.
pub fn pass_rate(counts: &BTreeMap<String, u64>) -> Option<f64> {
    let n = |k: &str| counts.get(k).copied().unwrap_or(0) as f64;
    let ran = n("pass") + n("fail") + n("xfail") + n("xpass");
    (ran > 0.0).then(|| 100.0 * (n("pass") + n("xpass")) / ran)
}

impl History {
    /// Stores a testsuite run in one transaction; the same run added again is a no-op that
    /// returns the stored id.
    pub fn add_testsuite(&mut self, r: &TestsuiteRecord) -> Result<i64> {
        let runtimes: BTreeMap<&str, &str> = r
            .cells
            .iter()
            .map(|c| (c.runtime.as_str(), c.runtime_version.as_str()))
            .collect();
        let options = canonical(&serde_json::json!({
            "kind": TESTSUITE_KIND,
            "runtimes": runtimes,
        }));
        let host = canonical(&serde_json::json!({ "wasiprobe": r.wasiprobe_version }));
        let run_key = canonical(&serde_json::json!([r.started_at, &host, &options]));
        let run = RunRow {
            key: &run_key,
            started_at: &r.started_at,
            finished_at: Some(&r.finished_at),
            version: &r.wasiprobe_version,
            host: &host,
            options: &options,
        };
        let insert_cell = "INSERT INTO cells (run_id, sdk, runtime, probe, check_name, area, \
                           verdict, duration_ms) VALUES (?1, ?2, ?3, ?4, ?5, 'wasi-testsuite', ?6, ?7)";
        self.add_run(&run, insert_cell, |ins, id, what| {
            for c in &r.cells {
                ins.execute(params![
                    id,
                    c.wasi_version,
                    runtime_label(&c.runtime, &c.runtime_version),
                    c.suite,
                    c.test,
                    c.outcome,
                    c.duration_ms
                ])
                .with_context(what)?;
            }
            Ok(())
        })
    }
}

/// Pass rate per run of each (runtime, WASI version), oldest run first; `NaN` where the runtime
/// ran no test of that version in a run.
pub fn rates(runs: &[&HistoryRun]) -> BTreeMap<(String, String), Vec<f64>> {
    let keys: BTreeSet<(String, String)> = runs
        .iter()
        .flat_map(|r| r.cells.iter().map(|c| (c.runtime.clone(), c.sdk.clone())))
        .collect();
    let mut out = BTreeMap::new();
    for k in keys {
        let v = runs
            .iter()
            .map(|r| {
                let mut counts: BTreeMap<String, u64> = BTreeMap::new();
                for c in r.cells.iter().filter(|c| c.runtime == k.0 && c.sdk == k.1) {
                    *counts.entry(c.verdict.clone()).or_insert(0) += 1;
                }
                pass_rate(&counts).unwrap_or(f64::NAN)
            })
            .collect();
        out.insert(k, v);
    }
    out
}

/// The dashboard's wasi-testsuite section: a line per runtime and WASI version.
pub(crate) fn section(b: &mut String, history: &[HistoryRun]) {
    let runs: Vec<&HistoryRun> = history
        .iter()
        .filter(|r| r.kind == TESTSUITE_KIND)
        .collect();
    b.push_str("<section id=\"testsuite\"><h2>wasi-testsuite</h2>");
    if runs.is_empty() {
        b.push_str(
            "<p id=\"no-testsuite\">No wasi-testsuite run is recorded (`wasiprobe testsuite \
             --history DB` records one).</p></section>\n",
        );
        return;
    }
    let labels: Vec<String> = runs
        .iter()
        .map(|r| r.started_at.replace('T', " ").chars().take(16).collect())
        .collect();
    let series: Vec<Series> = rates(&runs)
        .into_iter()
        .enumerate()
        .map(|(i, ((runtime, version), values))| Series {
            name: format!("{runtime} [{version}]"),
            colour: PALETTE[i % PALETTE.len()].into(),
            values,
            whiskers: None,
        })
        .collect();
    let chart = LineChart {
        kind: "testsuite-pass-rate",
        title: "Pass rate per runtime (% of the tests that ran)",
        x_labels: labels,
        y_title: "% passed",
        series,
        width: 860.0,
        height: 260.0,
    }
    .render();
    let _ = write!(b, "<div class=\"plots\"><figure>{chart}</figure></div>");
    b.push_str(
        "<details><summary>Runs</summary><table><thead><tr><th>run</th><th>started</th>\
         <th>runtime</th><th>WASI version</th><th>pass rate</th></tr></thead><tbody>",
    );
    for r in &runs {
        for ((runtime, version), v) in rates(&[*r]) {
            let rate = v[0];
            let shown = match rate.is_finite() {
                true => format!("{rate:.1} %"),
                false => "— (nothing ran)".into(),
            };
            let _ = write!(
                b,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{shown}</td></tr>",
                r.id,
                esc(&r.started_at),
                esc(&runtime),
                esc(&version),
            );
        }
    }
    b.push_str("</tbody></table></details></section>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(runtime: &str, outcome: &str) -> TestsuiteCell {
        TestsuiteCell {
            runtime: runtime.into(),
            runtime_version: "9.9".into(),
            wasi_version: "wasm32-wasip1".into(),
            suite: "s".into(),
            test: format!("t-{outcome}"),
            outcome: outcome.into(),
            duration_ms: 1.0,
        }
    }

    #[test]
    fn runs_are_stored_once_and_give_pass_rates_per_runtime() {
        let d = tempfile::tempdir().unwrap();
        let mut h = History::open(d.path().join("h.db")).unwrap();
        let mut r = TestsuiteRecord {
            started_at: "2026-01-01T00:00:00Z".into(),
            finished_at: "2026-01-01T00:00:01Z".into(),
            wasiprobe_version: "0.1.0".into(),
            cells: ["pass", "pass", "fail", "skip", "xfail"]
                .iter()
                .map(|o| cell("a", o))
                .chain([cell("b", "pass")])
                .collect(),
        };
        let id = h.add_testsuite(&r).unwrap();
        assert_eq!(
            h.add_testsuite(&r).unwrap(),
            id,
            "adding it again is a no-op"
        );
        r.started_at = "2026-01-02T00:00:00Z".into();
        r.cells = vec![cell("a", "pass")];
        h.add_testsuite(&r).unwrap();
        let runs = h.runs().unwrap();
        assert_eq!(runs.len(), 2);
        assert!(runs.iter().all(|r| r.kind == TESTSUITE_KIND));
        let refs: Vec<&HistoryRun> = runs.iter().collect();
        let rates = rates(&refs);
        let a = &rates[&("a (9.9)".to_string(), "wasm32-wasip1".to_string())];
        // 2 of the 4 that ran (the skip does not count), then 1 of 1.
        assert_eq!(a, &vec![50.0, 100.0]);
        let b = &rates[&("b (9.9)".to_string(), "wasm32-wasip1".to_string())];
        assert_eq!(b[0], 100.0);
        assert!(b[1].is_nan(), "b did not run the second time");
        let mut page = String::new();
        section(&mut page, &runs);
        assert!(
            page.contains("testsuite-pass-rate") && page.contains("50.0 %"),
            "{page}"
        );
    }
}
