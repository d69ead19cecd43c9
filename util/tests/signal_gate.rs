//! Once the signal handler has run, no scratch directory appears before the process exits: a
//! worker that asks for one waits instead (its own test binary, since the gate never reopens).

use std::time::Duration;

#[test]
fn after_on_signal_no_scratch_directory_is_made_and_this_processs_are_gone() {
    let tmp = tempfile::tempdir().unwrap();
    // SAFETY: set before any other thread of this test binary reads the environment.
    unsafe { std::env::set_var("TMPDIR", tmp.path()) };
    let before = wasiprobe_util::scratch::dir("case", None).unwrap().keep();
    assert!(before.exists());
    wasiprobe_util::scratch::on_signal();
    assert!(!before.exists(), "on_signal left {}", before.display());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let d = wasiprobe_util::scratch::dir("case", None);
        let _ = tx.send(d.map(|d| d.keep()));
    });
    assert!(
        rx.recv_timeout(Duration::from_millis(500)).is_err(),
        "a scratch directory was made after the handler ran"
    );
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().flatten().collect();
    assert!(left.is_empty(), "{left:?}");
}
