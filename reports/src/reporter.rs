//! Every output format of a report behind one interface, so `run`, `merge` and `report` write
//! the same files the same way (each atomically: a reader never sees a torn file).

use crate::json::Report;
use crate::{dashboard_html, History, HistoryRun};
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use wasiprobe_util::atomic_write;

pub trait Reporter {
    /// What it writes, for messages ("report.md", "history DB").
    fn name(&self) -> String;
    fn write(&self, r: &Report, dir: &Path) -> Result<()>;
}

/// `report.json` (schema in `reports/schema/`).
pub struct Json;
/// `report.md`, sized for a pull-request comment; `body` replaces the whole-run Markdown
/// (the per-SDK report of `wasiprobe report` has its own).
pub struct Markdown {
    pub body: Option<String>,
}
/// `junit.xml`: one testcase per cell.
pub struct Junit;
/// `report.html`: the self-contained dashboard, with the history's runs plotted.
pub struct Html {
    pub history: Vec<HistoryRun>,
}
/// Adds a complete report to a SQLite history (a no-op for a run it already holds).
pub struct HistoryDb {
    pub db: PathBuf,
}

impl Reporter for Json {
    fn name(&self) -> String {
        "report.json".into()
    }
    fn write(&self, r: &Report, dir: &Path) -> Result<()> {
        crate::json::write(r, &dir.join("report.json"))
    }
}

impl Reporter for Markdown {
    fn name(&self) -> String {
        "report.md".into()
    }
    fn write(&self, r: &Report, dir: &Path) -> Result<()> {
        let md = match &self.body {
            Some(b) => b.clone(),
            None => crate::render::markdown(r),
        };
        atomic_write(&dir.join("report.md"), md.as_bytes())
    }
}

impl Reporter for Junit {
    fn name(&self) -> String {
        "junit.xml".into()
    }
    fn write(&self, r: &Report, dir: &Path) -> Result<()> {
        atomic_write(&dir.join("junit.xml"), crate::render::junit(r).as_bytes())
    }
}

impl Reporter for Html {
    fn name(&self) -> String {
        "report.html".into()
    }
    fn write(&self, r: &Report, dir: &Path) -> Result<()> {
        atomic_write(
            &dir.join("report.html"),
            dashboard_html(r, &self.history)?.as_bytes(),
        )
    }
}

impl Reporter for HistoryDb {
    fn name(&self) -> String {
        format!("history {}", self.db.display())
    }
    fn write(&self, r: &Report, _dir: &Path) -> Result<()> {
        History::open(&self.db)?.add(r).map(|_| ())
    }
}

/// The files of a finished report in `dir`: report.json, report.md, junit.xml and report.html
/// (with `history` plotted).
pub fn standard(history: Vec<HistoryRun>) -> Vec<Box<dyn Reporter>> {
    vec![
        Box::new(Json),
        Box::new(Markdown { body: None }),
        Box::new(Junit),
        Box::new(Html { history }),
    ]
}

/// Writes `r` with every reporter, into `dir` (created), naming the one that failed.
pub fn write_all(r: &Report, dir: &Path, reporters: &[Box<dyn Reporter>]) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for rep in reporters {
        rep.write(r, dir)
            .with_context(|| format!("writing {}", rep.name()))?;
    }
    Ok(())
}
