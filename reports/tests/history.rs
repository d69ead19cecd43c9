//! The SQLite history: round trips, refusals, damage and killed writers.

mod common;

use common::{add_value, sample_report};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use wasiprobe_reports::{History, HistoryRun};

/// Set in a child copy of this test binary to make it a writer the parent kills.
const CHILD_DB: &str = "WASIPROBE_DASHBOARD_TEST_CHILD_DB";
const CHILD_MODE: &str = "WASIPROBE_DASHBOARD_TEST_CHILD_MODE";

fn verdict_counts(report: &Value) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for c in report["results"].as_array().unwrap() {
        *m.entry(c["verdict"].as_str().unwrap().to_string())
            .or_insert(0) += 1;
    }
    m
}

fn per_sdk(report: &Value) -> BTreeMap<String, BTreeMap<String, u64>> {
    let mut m: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    for c in report["results"].as_array().unwrap() {
        *m.entry(c["sdk"].as_str().unwrap().into())
            .or_default()
            .entry(c["verdict"].as_str().unwrap().into())
            .or_insert(0) += 1;
    }
    m
}

/// A second night: later, with some verdicts changed.
fn second_report() -> Value {
    let mut r = sample_report();
    r["started_at"] = json!("2026-11-26T04:50:44Z");
    r["finished_at"] = json!("2026-11-26T04:51:50Z");
    for (i, c) in r["results"].as_array_mut().unwrap().iter_mut().enumerate() {
        if i % 9 == 0 {
            c["verdict"] = json!(if i % 2 == 0 { "fail" } else { "timeout" });
        }
    }
    r
}

fn run_summary(runs: &[HistoryRun]) -> Vec<(i64, String, usize)> {
    runs.iter()
        .map(|r| (r.id, r.started_at.clone(), r.cells.len()))
        .collect()
}

#[test]
fn two_reports_round_trip_and_adding_again_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("history.sqlite");
    let (a, b) = (sample_report(), second_report());
    let (ia, ib) = {
        let mut h = History::open(&db).unwrap();
        assert!(h.runs().unwrap().is_empty());
        // Added newest first: runs() still comes back in time order.
        let ib = add_value(&mut h, &b).unwrap();
        let ia = add_value(&mut h, &a).unwrap();
        (ia, ib)
    };
    assert_ne!(ia, ib);
    // Reopened from disk, not from a connection's cache.
    let mut h = History::open(&db).unwrap();
    let runs = h.runs().unwrap();
    assert_eq!(runs.len(), 2);
    for (run, report, id) in [(&runs[0], &a, ia), (&runs[1], &b, ib)] {
        assert_eq!(run.id, id);
        assert_eq!(run.started_at, report["started_at"].as_str().unwrap());
        assert_eq!(run.finished_at.as_deref(), report["finished_at"].as_str());
        assert_eq!(run.wasiprobe_version, "0.1.0");
        assert_eq!(run.counts, verdict_counts(report));
        assert_eq!(run.per_sdk, per_sdk(report));
        assert_eq!(run.cells.len(), report["results"].as_array().unwrap().len());
        let c = &report["results"][7];
        assert_eq!(run.cells[7].sdk, c["sdk"].as_str().unwrap());
        assert_eq!(run.cells[7].check, c["check"].as_str().unwrap());
        assert_eq!(run.cells[7].verdict, c["verdict"].as_str().unwrap());
    }
    // The two nights really differ (so the equalities above are not vacuous).
    assert_ne!(runs[0].counts, runs[1].counts);
    assert!(runs[1].counts.get("fail").copied().unwrap_or(0) > 0);

    // Same started_at + host + options: the same run.
    assert_eq!(add_value(&mut h, &a).unwrap(), ia);
    let mut reordered = a.clone();
    reordered["options"] = serde_json::from_str(&a["options"].to_string()).unwrap();
    assert_eq!(add_value(&mut h, &reordered).unwrap(), ia);
    assert_eq!(h.runs().unwrap().len(), 2);
    // Negative control: other options make another run.
    let mut other = a.clone();
    other["options"]["runtimes"] = json!(["wasmtime", "wamr"]);
    let io = add_value(&mut h, &other).unwrap();
    assert!(io != ia && io != ib);
    assert_eq!(h.runs().unwrap().len(), 3);
}

#[test]
fn incomplete_or_foreign_version_reports_are_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = History::open(dir.path().join("h.db")).unwrap();
    let mut partial = sample_report();
    partial["complete"] = json!(false);
    let e = add_value(&mut h, &partial).unwrap_err().to_string();
    assert!(e.contains("incomplete"), "{e}");
    let mut v2 = sample_report();
    v2["schema_version"] = json!(2);
    let e = add_value(&mut h, &v2).unwrap_err().to_string();
    assert!(e.contains("schema_version 2"), "{e}");
    let mut broken = sample_report();
    broken["results"][5]["sdk"] = json!(null);
    let e = add_value(&mut h, &broken).unwrap_err().to_string();
    assert!(e.contains("results[5]"), "{e}");
    assert!(h.runs().unwrap().is_empty());
    // Negative control.
    add_value(&mut h, &sample_report()).unwrap();
    assert_eq!(h.runs().unwrap().len(), 1);
}

fn open_err(path: &Path) -> String {
    match History::open(path) {
        Ok(_) => panic!("{} opened", path.display()),
        Err(e) => format!("{e:#}"),
    }
}

#[test]
fn garbage_and_truncated_files_are_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage-history.db");
    let bytes: Vec<u8> = (0..8192u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    std::fs::write(&garbage, &bytes).unwrap();
    let e = open_err(&garbage);
    assert!(e.contains("garbage-history.db"), "{e}");
    assert!(e.contains("not a database"), "{e}");
    assert_eq!(std::fs::read(&garbage).unwrap(), bytes, "left untouched");

    // A real history cut short (a bad copy, a full disk).
    let good = dir.path().join("good.db");
    {
        let mut h = History::open(&good).unwrap();
        for day in 10..30 {
            let mut r = sample_report();
            r["started_at"] = json!(format!("2026-11-{day}T04:50:44Z"));
            add_value(&mut h, &r).unwrap();
        }
    }
    let full = std::fs::read(&good).unwrap();
    assert!(full.len() > 64 * 1024, "{} bytes", full.len());
    let cut = dir.path().join("truncated-history.db");
    std::fs::write(&cut, &full[..full.len() / 2]).unwrap();
    let e = open_err(&cut);
    assert!(e.contains("truncated-history.db"), "{e}");
    // Negative control: the untruncated file opens and has every run.
    assert_eq!(History::open(&good).unwrap().runs().unwrap().len(), 20);
}

#[test]
fn foreign_databases_and_other_schema_versions_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let foreign = dir.path().join("someone-else.db");
    {
        let c = rusqlite::Connection::open(&foreign).unwrap();
        c.execute_batch("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL);")
            .unwrap();
    }
    let e = open_err(&foreign);
    assert!(
        e.contains("someone-else.db") && e.contains("not a wasiprobe history"),
        "{e}"
    );
    {
        let c = rusqlite::Connection::open(&foreign).unwrap();
        let tables: Vec<String> = c
            .prepare("SELECT name FROM sqlite_master")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(tables, ["invoices"], "refused without adding tables");
    }

    let newer = dir.path().join("newer.db");
    add_value(&mut History::open(&newer).unwrap(), &sample_report()).unwrap();
    // Negative control before the change: it opens.
    assert_eq!(History::open(&newer).unwrap().runs().unwrap().len(), 1);
    rusqlite::Connection::open(&newer)
        .unwrap()
        .execute_batch("PRAGMA user_version=2;")
        .unwrap();
    let e = open_err(&newer);
    assert!(
        e.contains("newer.db") && e.contains("schema version 2") && e.contains("reads version 1"),
        "{e}"
    );
}

/// Not a test of its own: the body of the child process the killed-writer tests start (this
/// same binary, run with `--ignored --exact child_writer_process` and `CHILD_DB` set), hence
/// ignored in a normal run.
#[test]
#[ignore = "the child process of the killed-writer tests, not a test; they run it"]
fn child_writer_process() {
    let db = std::env::var(CHILD_DB).expect("run by the killed-writer tests, with CHILD_DB set");
    let mode = std::env::var(CHILD_MODE).unwrap();
    let mut h = History::open(&db).unwrap();
    let out = std::io::stdout();
    let say = |s: String| {
        let mut o = out.lock();
        writeln!(o, "{s}").unwrap();
        o.flush().unwrap();
    };
    match mode.as_str() {
        // Commit run after run until killed at some arbitrary point.
        "loop" => {
            for i in 0.. {
                let mut r = sample_report();
                r["started_at"] = json!(format!("2027-01-01T00:00:00Z#{i}"));
                say(format!("committed {}", add_value(&mut h, &r).unwrap()));
            }
        }
        // One small committed run, then one so large the parent can kill the child inside it.
        "huge" => {
            say(format!(
                "committed {}",
                add_value(&mut h, &sample_report()).unwrap()
            ));
            let mut r = sample_report();
            r["started_at"] = json!("2027-02-02T00:00:00Z");
            let one = r["results"][0].clone();
            let big: Vec<Value> = (0..400_000)
                .map(|i| {
                    let mut c = one.clone();
                    c["probe"] = json!(format!("p{i}"));
                    c
                })
                .collect();
            r["results"] = Value::Array(big);
            say("start".to_string());
            let id = add_value(&mut h, &r).unwrap();
            say(format!("done {id}"));
        }
        m => panic!("unknown child mode {m}"),
    }
}

/// Runs the child writer, returns the lines it printed before `kill_when` said to kill it.
fn run_and_kill(
    db: &Path,
    mode: &str,
    mut kill_when: impl FnMut(&[String]) -> bool,
) -> Vec<String> {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "child_writer_process",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DB, db)
        .env(CHILD_MODE, mode)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if tx.send(line.unwrap_or_default()).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut lines = Vec::new();
    loop {
        if let Ok(l) = rx.recv_timeout(Duration::from_millis(20)) {
            lines.extend(child_line(&l));
        }
        if kill_when(&lines) {
            break;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("child writer exited by itself ({status}) after {lines:?}");
        }
        assert!(
            Instant::now() < deadline,
            "child writer never got there: {lines:?}"
        );
    }
    child.kill().unwrap(); // SIGKILL: no destructors, no rollback by the writer itself
    child.wait().unwrap();
    lines.extend(rx.try_iter().filter_map(|l| child_line(&l)));
    lines
}

/// The child's own message in a line of its output. libtest prints `test NAME ... ` without a
/// newline before the test body runs, so the first message shares a line with it.
fn child_line(line: &str) -> Option<String> {
    ["committed ", "start", "done "]
        .iter()
        .find_map(|m| line.find(m).map(|i| line[i..].to_string()))
}

fn committed_ids(lines: &[String]) -> Vec<i64> {
    lines
        .iter()
        .filter_map(|l| l.strip_prefix("committed "))
        .map(|n| n.parse().unwrap())
        .collect()
}

#[test]
fn a_writer_killed_at_an_arbitrary_point_leaves_only_whole_runs() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.db");
    let lines = run_and_kill(&db, "loop", |l| committed_ids(l).len() >= 5);
    let printed = committed_ids(&lines);
    let runs = History::open(&db).unwrap().runs().unwrap();
    let stored: Vec<i64> = runs.iter().map(|r| r.id).collect();
    for id in &printed {
        assert!(
            stored.contains(id),
            "committed run {id} lost; stored {stored:?}"
        );
    }
    // At most one more: committed but killed before it could say so.
    assert!(
        stored.len() <= printed.len() + 1,
        "{stored:?} vs {printed:?}"
    );
    let whole = verdict_counts(&sample_report());
    for r in &runs {
        assert_eq!(r.counts, whole, "run {} is partial", r.id);
    }
}

#[test]
fn a_writer_killed_inside_its_transaction_leaves_the_committed_runs_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.db");
    let mut started: Option<Instant> = None;
    let lines = run_and_kill(&db, "huge", |l| {
        if l.iter().any(|x| x == "start") {
            let t = *started.get_or_insert_with(Instant::now);
            return t.elapsed() > Duration::from_millis(150);
        }
        false
    });
    assert!(
        !lines.iter().any(|l| l.starts_with("done")),
        "the big add finished before the kill, so this test proved nothing: {lines:?}"
    );
    let committed = committed_ids(&lines);
    assert_eq!(committed.len(), 1);
    let runs = History::open(&db).unwrap().runs().unwrap();
    assert_eq!(
        run_summary(&runs),
        [(committed[0], "2026-11-25T04:50:44Z".to_string(), 141)]
    );
    // The killed writer left no lock or half-written state behind: the file takes new runs.
    let mut h = History::open(&db).unwrap();
    let mut r = sample_report();
    r["started_at"] = json!("2027-02-02T00:00:00Z");
    add_value(&mut h, &r).unwrap();
    assert_eq!(h.runs().unwrap().len(), 2);
}
