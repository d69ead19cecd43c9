//! Nightly history: one SQLite row per run, one per cell, so the dashboard can plot trends.

use anyhow::{bail, Context, Result};
use rusqlite::{params, Connection, OptionalExtension, Statement, TransactionBehavior};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::report::cells;

/// One run's row in `runs`: the key that makes adding it again a no-op, and what it was.
pub(crate) struct RunRow<'a> {
    pub key: &'a str,
    pub started_at: &'a str,
    pub finished_at: Option<&'a str>,
    pub version: &'a str,
    pub host: &'a str,
    pub options: &'a str,
}
use wasiprobe_model::report::Report;

/// Version of the tables below, kept in SQLite's `user_version`. A database of another version
/// is refused: reading it with the wrong layout would silently show wrong trends.
pub const HISTORY_SCHEMA_VERSION: i64 = 1;

/// Marks the file as ours in SQLite's `application_id` header field ("WPHD"), so a different
/// SQLite database passed by mistake is refused instead of having tables added to it.
const APPLICATION_ID: i64 = 0x5750_4844;

const SCHEMA: &str = "
CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    run_key TEXT NOT NULL UNIQUE,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    wasiprobe_version TEXT NOT NULL,
    host TEXT NOT NULL,
    options TEXT NOT NULL,
    added_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE TABLE cells (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    sdk TEXT NOT NULL,
    runtime TEXT NOT NULL,
    probe TEXT NOT NULL,
    check_name TEXT NOT NULL,
    area TEXT NOT NULL,
    verdict TEXT NOT NULL,
    duration_ms REAL
);
CREATE INDEX cells_by_run ON cells(run_id);
";

/// One result cell of a stored run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HistoryCell {
    pub sdk: String,
    pub runtime: String,
    pub probe: String,
    pub check: String,
    pub verdict: String,
}

/// One stored run with its verdict counts (overall and per SDK) precomputed for plotting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HistoryRun {
    pub id: i64,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub wasiprobe_version: String,
    /// "run" for `wasiprobe run`, [`crate::TESTSUITE_KIND`] for `wasiprobe testsuite`.
    pub kind: String,
    /// verdict → cells
    pub counts: BTreeMap<String, u64>,
    /// sdk → verdict → cells
    pub per_sdk: BTreeMap<String, BTreeMap<String, u64>>,
    pub cells: Vec<HistoryCell>,
}

/// The history database. Writes are single transactions in WAL mode with `synchronous=FULL`:
/// a committed run survives a crash or power loss, and a writer killed mid-way leaves only
/// whole runs behind.
pub struct History {
    pub(crate) conn: Connection,
    pub(crate) path: PathBuf,
}

/// JSON with object keys sorted at every level, so the run key does not depend on whether
/// serde_json was built with `preserve_order`.
pub(crate) fn canonical(v: &Value) -> String {
    fn sort(v: &Value) -> Value {
        match v {
            Value::Object(m) => {
                let sorted: BTreeMap<&String, Value> =
                    m.iter().map(|(k, v)| (k, sort(v))).collect();
                Value::Object(sorted.into_iter().map(|(k, v)| (k.clone(), v)).collect())
            }
            Value::Array(a) => Value::Array(a.iter().map(sort).collect()),
            other => other.clone(),
        }
    }
    sort(v).to_string()
}

impl History {
    /// Opens (creating if absent or empty) the history at `path`.
    ///
    /// Errors name the file and say why: not a database or damaged (integrity check fails),
    /// another application's SQLite database, or a history of another schema version.
    pub fn open(path: impl AsRef<Path>) -> Result<History> {
        let path = path.as_ref().to_path_buf();
        let what = || format!("history database {}", path.display());
        let conn = Connection::open(&path).with_context(what)?;
        conn.busy_timeout(Duration::from_secs(10))
            .with_context(what)?;
        // The first read of the header is where a file of garbage is detected.
        let app_id: i64 = conn
            .query_row("PRAGMA application_id", [], |r| r.get(0))
            .with_context(what)?;
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .with_context(what)?;
        let objects: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
            .with_context(what)?;
        let fresh = app_id == 0 && version == 0 && objects == 0;
        if !fresh {
            if app_id != APPLICATION_ID {
                bail!(
                    "{}: not a wasiprobe history database (SQLite application_id {app_id:#x}, \
                     {objects} schema objects); refusing to modify it",
                    what()
                );
            }
            if version != HISTORY_SCHEMA_VERSION {
                bail!(
                    "{}: history schema version {version}, but this build reads version \
                     {HISTORY_SCHEMA_VERSION} only (use a matching wasiprobe-dashboard, or \
                     start a new history file)",
                    what()
                );
            }
            let problems: Vec<String> = conn
                .prepare("PRAGMA quick_check")
                .and_then(|mut s| {
                    s.query_map([], |r| r.get::<_, String>(0))?
                        .collect::<rusqlite::Result<Vec<_>>>()
                })
                .with_context(what)?;
            if problems != ["ok"] {
                bail!(
                    "{}: the database is damaged (integrity check: {})",
                    what(),
                    problems.join("; ")
                );
            }
        }
        let mode: String = conn
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .with_context(what)?;
        if !mode.eq_ignore_ascii_case("wal") {
            bail!(
                "{}: could not switch to WAL journaling (got {mode})",
                what()
            );
        }
        conn.execute_batch("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;")
            .with_context(what)?;
        let mut h = History {
            conn,
            path: path.clone(),
        };
        if fresh {
            h.create_schema().with_context(what)?;
        } else {
            h.check_tables().with_context(what)?;
        }
        Ok(h)
    }

    fn create_schema(&mut self) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(SCHEMA)?;
        tx.execute_batch(&format!(
            "PRAGMA application_id={APPLICATION_ID}; PRAGMA user_version={HISTORY_SCHEMA_VERSION};"
        ))?;
        tx.commit()?;
        Ok(())
    }

    /// Our header with our tables missing means someone edited the file by hand.
    fn check_tables(&self) -> Result<()> {
        for t in ["runs", "cells"] {
            let n: i64 = self.conn.query_row(
                "SELECT count(*) FROM sqlite_master WHERE type='table' AND name=?1",
                [t],
                |r| r.get(0),
            )?;
            if n != 1 {
                bail!("table `{t}` is missing: the database was damaged or edited");
            }
        }
        Ok(())
    }

    /// Stores a complete report in one transaction and returns its run id.
    ///
    /// Idempotent: a report with the same `started_at`, `host` and `options` as a stored run is
    /// that run (nightly jobs retry), so its existing id is returned and nothing is written.
    pub fn add(&mut self, typed: &Report) -> Result<i64> {
        if !typed.complete {
            bail!(
                "the report is incomplete (complete is not true): it was written while the run \
                 was in progress, and storing it would record a run with cells missing"
            );
        }
        let started_at = typed.started_at.as_str();
        let version = typed.host.wasiprobe.as_str();
        let finished_at = typed.finished_at.as_deref();
        let host = canonical(&serde_json::to_value(&typed.host)?);
        let options = canonical(&typed.options);
        let run_key = canonical(&serde_json::json!([started_at, &host, &options]));
        let cells = cells(typed);

        let run = RunRow {
            key: &run_key,
            started_at,
            finished_at,
            version,
            host: &host,
            options: &options,
        };
        let insert_cell = "INSERT INTO cells (run_id, sdk, runtime, probe, check_name, area, \
                           verdict, duration_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
        self.add_run(&run, insert_cell, |ins, id, what| {
            for c in &cells {
                ins.execute(params![
                    id,
                    c.sdk,
                    c.runtime,
                    c.probe,
                    c.check,
                    c.area,
                    c.verdict.as_str(),
                    c.duration_ms
                ])
                .with_context(what)?;
            }
            Ok(())
        })
    }

    /// Stores one run in one transaction: its row in `runs`, then its cells, which `cells`
    /// inserts under its id with `insert_cell` prepared. A run already stored under the same key
    /// is that run: its id is returned and nothing is written.
    pub(crate) fn add_run(
        &mut self,
        run: &RunRow,
        insert_cell: &str,
        cells: impl FnOnce(&mut Statement, i64, &dyn Fn() -> String) -> Result<()>,
    ) -> Result<i64> {
        let what = || format!("history database {}", self.path.display());
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .with_context(what)?;
        let existing: Option<i64> = tx
            .query_row("SELECT id FROM runs WHERE run_key=?1", [run.key], |r| {
                r.get(0)
            })
            .optional()
            .with_context(what)?;
        if let Some(id) = existing {
            return Ok(id);
        }
        tx.execute(
            "INSERT INTO runs (run_key, started_at, finished_at, wasiprobe_version, host, options)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                run.key,
                run.started_at,
                run.finished_at,
                run.version,
                run.host,
                run.options
            ],
        )
        .with_context(what)?;
        let id = tx.last_insert_rowid();
        {
            let mut ins = tx.prepare(insert_cell).with_context(what)?;
            cells(&mut ins, id, &what)?;
        }
        tx.commit().with_context(what)?;
        Ok(id)
    }

    /// Every stored run, oldest first (by `started_at`, then id), with its cells.
    pub fn runs(&self) -> Result<Vec<HistoryRun>> {
        let what = || format!("history database {}", self.path.display());
        let mut runs: Vec<HistoryRun> = self
            .conn
            .prepare(
                "SELECT id, started_at, finished_at, wasiprobe_version, options FROM runs
                 ORDER BY started_at, id",
            )
            .and_then(|mut s| {
                s.query_map([], |r| {
                    Ok(HistoryRun {
                        id: r.get(0)?,
                        started_at: r.get(1)?,
                        finished_at: r.get(2)?,
                        wasiprobe_version: r.get(3)?,
                        kind: run_kind(&r.get::<_, String>(4)?),
                        counts: BTreeMap::new(),
                        per_sdk: BTreeMap::new(),
                        cells: Vec::new(),
                    })
                })?
                .collect()
            })
            .with_context(what)?;
        let index: BTreeMap<i64, usize> = runs.iter().enumerate().map(|(i, r)| (r.id, i)).collect();
        let mut stmt = self
            .conn
            .prepare(
                "SELECT run_id, sdk, runtime, probe, check_name, verdict FROM cells
                 ORDER BY run_id, rowid",
            )
            .with_context(what)?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    HistoryCell {
                        sdk: r.get(1)?,
                        runtime: r.get(2)?,
                        probe: r.get(3)?,
                        check: r.get(4)?,
                        verdict: r.get(5)?,
                    },
                ))
            })
            .with_context(what)?;
        for row in rows {
            let (run_id, cell) = row.with_context(what)?;
            let Some(&i) = index.get(&run_id) else {
                continue;
            };
            let run = &mut runs[i];
            *run.counts.entry(cell.verdict.clone()).or_insert(0) += 1;
            *run.per_sdk
                .entry(cell.sdk.clone())
                .or_default()
                .entry(cell.verdict.clone())
                .or_insert(0) += 1;
            run.cells.push(cell);
        }
        Ok(runs)
    }
}

/// A run's kind, from its stored options.
fn run_kind(options: &str) -> String {
    serde_json::from_str::<Value>(options)
        .ok()
        .and_then(|v| v.get("kind").and_then(Value::as_str).map(str::to_owned))
        .filter(|k| k == crate::TESTSUITE_KIND)
        .unwrap_or_else(|| "run".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_ignores_key_order() {
        let a: Value = serde_json::from_str(r#"{"b":1,"a":{"y":2,"x":[{"q":1,"p":2}]}}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"a":{"x":[{"p":2,"q":1}],"y":2},"b":1}"#).unwrap();
        assert_eq!(canonical(&a), canonical(&b));
        // Negative control: a different value gives a different key.
        let c: Value = serde_json::from_str(r#"{"a":{"x":[{"p":2,"q":1}],"y":3},"b":1}"#).unwrap();
        assert_ne!(canonical(&a), canonical(&c));
    }
}
