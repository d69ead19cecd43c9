//! Turns wasiprobe's `report.json` (and the `wasiprobe evidence --json` document) into static,
//! self-contained HTML pages, and keeps nightly runs in a SQLite history so the dashboard can
//! plot how verdicts move over time. The pages load nothing at view time (inline CSS and SVG,
//! a Content-Security-Policy that forbids fetching) because they are archived as CI artifacts
//! and opened offline; every string from a report is escaped because guests write evidence.

mod dashboard;
mod evidence;
mod history;
mod history_testsuite;
mod html;
pub mod json;
pub mod libcdiff;
pub mod render;
mod report;
pub mod reporter;
mod svg;

pub use dashboard::dashboard_html;
pub use evidence::evidence_html;
pub use history::{History, HistoryCell, HistoryRun, HISTORY_SCHEMA_VERSION};
pub use history_testsuite::{
    pass_rate, rates, runtime_label, TestsuiteCell, TestsuiteRecord, TESTSUITE_KIND,
};
