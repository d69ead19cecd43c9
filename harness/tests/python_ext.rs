//! The C-extension build probe with the real toolchains and the real CPython source (fetched
//! into the tool's cache through a private apt state; a failure, saying why, when it cannot be
//! had), and its negative controls: `fork` (in no WASI libc) must fail the link naming it, and a missing or
//! corrupt header tree must give a clear error.

mod common;
use common::{copy_dir, root};

use std::path::PathBuf;
use wasiprobe::matrix::{Kind, Matrix};
use wasiprobe::provision::{self, Provisioned};
use wasiprobe::python::extension::{self as ext, HeaderSpec, LibcView};
use wasiprobe::report::Verdict;

fn cache() -> PathBuf {
    wasiprobe_util::default_cache_dir()
}

fn matrix() -> Matrix {
    Matrix::load(&root().join("sdk-matrix.toml"), &[]).unwrap()
}

/// The toolchains that can be had here (zig wheels; Debian's packages when installed).
fn ready_sdks() -> Vec<Provisioned> {
    let opts = provision::Options::from_env(cache());
    let ready: Vec<Provisioned> = matrix()
        .sdks
        .iter()
        .map(|s| {
            if s.kind == Kind::Zig {
                provision::fetch(s, &opts)
            } else {
                provision::locate(s, &opts)
            }
        })
        .filter(|p| p.is_ready())
        .collect();
    let min: usize = std::env::var("WASIPROBE_MIN_TOOLCHAINS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    assert!(
        ready.len() >= min,
        "{} toolchains ready, WASIPROBE_MIN_TOOLCHAINS wants {min}",
        ready.len()
    );
    ready
}

/// The CPython source, fetched if missing (no root needed): its absence is a failure naming the
/// cause, not a test that passes having tested nothing.
fn headers() -> (HeaderSpec, PathBuf) {
    let spec = matrix()
        .python_headers
        .first()
        .cloned()
        .expect("the matrix declares [[python_headers]]");
    match ext::fetch_headers(&spec, &cache()) {
        Ok(dir) => (spec, dir),
        Err(why) => panic!("no CPython source: {why}"),
    }
}

#[test]
fn every_ready_sdk_builds_the_extension_and_the_fork_control_fails_naming_fork() {
    let (spec, src) = headers();
    let sdks = ready_sdks();
    // Each SDK's configure takes about a minute of one core and runs in a directory of its
    // own (configure_dir), so the SDKs are probed on every core at once; a failed assertion
    // in any of them fails the test when the scope ends.
    let next = std::sync::atomic::AtomicUsize::new(0);
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    std::thread::scope(|s| {
        for _ in 0..workers.min(sdks.len()) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(sdk) = sdks.get(i) else { break };
                probe_one(&spec, &src, sdk);
            });
        }
    });
}

/// One SDK's extension build, its cached second probe and the fork control.
fn probe_one(spec: &HeaderSpec, src: &std::path::Path, sdk: &Provisioned) {
    let r = ext::probe_sdk(&root(), spec, src, sdk, &cache());
    let id = &sdk.spec.id;
    assert_eq!(r.verdict, Verdict::Pass, "{id}: {}", r.reason);
    assert!(r.configure.as_ref().unwrap().ok);
    let e = r.extension.as_ref().unwrap();
    for want in ["PyModule_Create2", "PyErr_Format"] {
        assert!(
            e.python_api.iter().any(|s| s == want),
            "{id}: {:?}",
            e.python_api
        );
    }
    for want in ["snprintf", "strtod", "clock_gettime", "getentropy", "fopen"] {
        let need = e.libc.iter().find(|n| n.symbol == want);
        assert_eq!(
            need.map(|n| n.provider.as_str()),
            Some("libc"),
            "{id}: {want} in {:?}",
            e.libc
        );
    }
    // The linked module imports the Python API and nothing else from outside WASI.
    assert!(!e.imports.is_empty());
    assert!(
        e.imports
            .iter()
            .all(|i| i.starts_with("env::Py") || i.starts_with("env::_Py")),
        "{id}: {:?}",
        e.imports
    );
    // The control: the link fails, and the message names the symbol.
    let c = r.control.as_ref().unwrap();
    assert!(!c.linked(), "{id}: the fork control linked");
    assert!(
        c.link
            .as_ref()
            .unwrap()
            .message
            .contains("undefined symbol: fork"),
        "{id}: {:?}",
        c.link
    );
    assert!(c.failure().unwrap().contains("fork"));
    assert!(
        c.libc
            .iter()
            .any(|n| n.symbol == "fork" && n.provider == "missing"),
        "{id}: {:?}",
        c.libc
    );
    // And the premise of the control holds: this libc has no fork.
    let libc = LibcView::of(sdk).unwrap();
    assert!(!libc.defined.contains("fork") && !libc.runtime.contains("fork"));
    // A second probe takes configure from the cache.
    let again = ext::probe_sdk(&root(), spec, src, sdk, &cache());
    assert!(again.configure.unwrap().cached, "{id}");
    let cell = ext::cell(&r, "wasmtime");
    assert_eq!(
        (cell.probe.as_str(), cell.check.as_str()),
        (ext::PROBE, ext::CHECK)
    );
}

#[test]
fn a_missing_or_incomplete_header_tree_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = HeaderSpec {
        version: "0.0.0".into(),
        debian_source: "python0".into(),
        suite: None,
        orig: "python0.orig.tar.gz".into(),
        sha256: "0".repeat(64),
        build_python: "python3".into(),
    };
    let e = ext::locate_headers(&spec, tmp.path()).unwrap_err();
    assert!(e.contains("CPython 0.0.0 source is not in"), "{e}");
    // A tree without Include/Python.h: named, and not "fixed" by a download over it.
    let dir = ext::src_dir(&spec, tmp.path());
    std::fs::create_dir_all(dir.join("Include")).unwrap();
    std::fs::write(dir.join("configure"), "").unwrap();
    let e = ext::fetch_headers(&spec, tmp.path()).unwrap_err();
    assert!(
        e.contains("incomplete") && e.contains("Include/Python.h"),
        "{e}"
    );
    assert!(!e.contains("configure,"), "configure is present: {e}");
}

#[test]
fn a_corrupt_python_h_fails_the_compile_with_the_compilers_message() {
    let (spec, src) = headers();
    let sdks = ready_sdks();
    let sdk = &sdks[0];
    let (configured, step) = ext::configure(&spec, &src, sdk, &cache()).unwrap();
    assert!(step.ok, "{}: {}", sdk.spec.id, step.message);
    // A copy of the tree's Include/ whose Python.h is cut off mid-way.
    let tmp = tempfile::tempdir().unwrap();
    let include = tmp.path().join("Include");
    copy_dir(&src.join("Include"), &include);
    let h = std::fs::read_to_string(include.join("Python.h")).unwrap();
    std::fs::write(include.join("Python.h"), &h[..h.len() / 2]).unwrap();
    let libc = LibcView::of(sdk).unwrap();
    let b =
        ext::build_extension(&root(), sdk, tmp.path(), &configured, ext::MODULE, &libc).unwrap();
    let c = b.compile.as_ref().unwrap();
    assert!(!c.ok, "a truncated Python.h compiled");
    assert!(b.link.is_none());
    let why = b.failure().unwrap();
    assert!(
        why.starts_with("compile failed") && why.contains("error"),
        "{why}"
    );
}
