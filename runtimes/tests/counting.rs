//! Host-call counting: every Preview 1 call the guest makes is counted once, whichever wrapper
//! (counting, fd accounting, a liar) serves it, including a call that traps.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;
use wasiprobe_runtimes::{Limits, Outcome, Preopen, RunSpec, Termination, WasmtimeRuntime};

/// wasmtime reads WAT text as it is.
fn run_wat(wat: &str, spec: &RunSpec) -> Outcome {
    common::run(&WasmtimeRuntime::new().unwrap(), wat, spec).unwrap()
}

fn spec() -> RunSpec {
    RunSpec {
        args: vec!["guest".into()],
        limits: Limits {
            wall: Duration::from_secs(5),
            ..Limits::default()
        },
        ..Default::default()
    }
}

const HEADER: &str = r#"
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open" (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $fd_close (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "hi\n")
  (data (i32.const 200) "f")
"#;

/// Runs a `_start` that first points the iovec at 0 to the 3 bytes "hi\n", then does `calls`.
fn run_start(calls: &str, spec: &RunSpec) -> Outcome {
    run_wat(
        &format!(
            r#"(module {HEADER}
        (func (export "_start")
          (i32.store (i32.const 0) (i32.const 100))
          (i32.store (i32.const 4) (i32.const 3))
          {calls}))"#
        ),
        spec,
    )
}

fn counts(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(f, n)| (f.to_string(), *n)).collect()
}

#[test]
fn three_writes_and_two_clock_reads_are_counted_exactly() {
    let o = run_start(
        r#"
          (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
          (drop (call $clock (i32.const 1) (i64.const 0) (i32.const 16)))
          (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
          (drop (call $clock (i32.const 0) (i64.const 0) (i32.const 16)))
          (drop (call $fd_write (i32.const 2) (i32.const 0) (i32.const 1) (i32.const 8)))"#,
        &spec(),
    );
    assert_eq!(o.termination, Termination::Exited { code: 0 });
    assert_eq!(o.stdout, b"hi\nhi\n");
    assert_eq!(
        o.host_calls,
        counts(&[("fd_write", 3), ("clock_time_get", 2)])
    );
}

#[test]
fn liars_fd_accounting_proc_exit_and_traps_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = spec();
    s.preopens.push(Preopen {
        host: dir.path().to_owned(),
        guest: "/scratch".into(),
    });
    s.inject = vec!["fd_write:drop-tail".parse().unwrap()];
    // path_open and fd_close are served by the open-file accounting, fd_write by a liar; the
    // last fd_write's iovec pointer is out of bounds, so it traps.
    let o = run_start(
        r#"
          (drop (call $path_open (i32.const 3) (i32.const 0) (i32.const 200) (i32.const 1)
            (i32.const 1) (i64.const 0x1fffffff) (i64.const 0x1fffffff) (i32.const 0) (i32.const 300)))
          (drop (call $fd_close (i32.load (i32.const 300))))
          (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
          (drop (call $fd_write (i32.const 1) (i32.const 0xfffffff0) (i32.const 1) (i32.const 8)))"#,
        &s,
    );
    assert!(
        matches!(o.termination, Termination::Trap { .. }),
        "{:?}",
        o.termination
    );
    assert_eq!(
        o.host_calls,
        counts(&[("path_open", 1), ("fd_close", 1), ("fd_write", 2)])
    );
    let o = run_wat(
        &format!(r#"(module {HEADER} (func (export "_start") (call $proc_exit (i32.const 9))))"#),
        &spec(),
    );
    assert_eq!(o.termination, Termination::Exited { code: 9 });
    assert_eq!(o.host_calls, counts(&[("proc_exit", 1)]));
}

#[test]
fn the_argv_and_environ_liars_cut_one_string_each_and_are_counted_once() {
    let mut s = spec();
    s.args = vec!["guest".into(), "abcd".into(), "x".into()];
    s.env = vec![("A".into(), "1".into()), ("B".into(), "2".into())];
    s.inject = vec![
        "args_get:truncate".parse().unwrap(),
        "environ_get:drop-value".parse().unwrap(),
    ];
    // Each string buffer goes out whole (its size from the *_sizes_get call): argv to stdout,
    // environ to stderr.
    let o = run_wat(
        r#"(module
          (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes (param i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "args_get" (func $args (param i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "environ_sizes_get" (func $env_sizes (param i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "environ_get" (func $env (param i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
          (memory (export "memory") 1)
          (func (export "_start")
            (drop (call $args_sizes (i32.const 400) (i32.const 404)))
            (drop (call $args (i32.const 500) (i32.const 1024)))
            (i32.store (i32.const 0) (i32.const 1024))
            (i32.store (i32.const 4) (i32.load (i32.const 404)))
            (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
            (drop (call $env_sizes (i32.const 408) (i32.const 412)))
            (drop (call $env (i32.const 600) (i32.const 2048)))
            (i32.store (i32.const 0) (i32.const 2048))
            (i32.store (i32.const 4) (i32.load (i32.const 412)))
            (drop (call $fd_write (i32.const 2) (i32.const 0) (i32.const 1) (i32.const 8)))))"#,
        &s,
    );
    assert_eq!(o.termination, Termination::Exited { code: 0 });
    // The last argument longer than one byte is cut in half, the first variable's value to "".
    assert_eq!(o.stdout, b"guest\0ab\0d\0x\0");
    assert_eq!(o.stderr, b"A=\0\0B=2\0");
    assert_eq!(
        o.host_calls,
        counts(&[
            ("args_sizes_get", 1),
            ("args_get", 1),
            ("environ_sizes_get", 1),
            ("environ_get", 1),
            ("fd_write", 2),
        ])
    );
}

/// The poll liars, on a relative sleep of 1 s whose event (userdata 1) goes to stdout: `half`
/// wakes the guest after half the time, `wrong-userdata` on time with another userdata.
#[test]
fn the_poll_liars_halve_the_sleep_or_change_the_userdata_and_are_counted_once() {
    let wat = r#"(module
      (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 1)
      (func (export "_start")
        (i64.store (i32.const 0) (i64.const 1))
        (i32.store (i32.const 16) (i32.const 1))
        (i64.store (i32.const 24) (i64.const 1000000000))
        (drop (call $poll (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128)))
        (i32.store (i32.const 200) (i32.const 64))
        (i32.store (i32.const 204) (i32.const 8))
        (drop (call $fd_write (i32.const 1) (i32.const 200) (i32.const 1) (i32.const 208)))))"#;
    let second = Duration::from_secs(1);
    for (mode, userdata) in [("half", 1u64), ("wrong-userdata", 1 ^ 0xdead_0000)] {
        let mut s = spec();
        s.inject = vec![format!("poll_oneoff:{mode}").parse().unwrap()];
        let o = run_wat(wat, &s);
        assert_eq!(o.termination, Termination::Exited { code: 0 }, "{mode}");
        assert_eq!(o.stdout, userdata.to_le_bytes(), "{mode}");
        match mode {
            "half" => assert!(
                o.duration >= second / 2 && o.duration < second,
                "{:?}",
                o.duration
            ),
            _ => assert!(o.duration >= second, "{:?}", o.duration),
        }
        assert_eq!(
            o.host_calls,
            counts(&[("poll_oneoff", 1), ("fd_write", 1)]),
            "{mode}"
        );
    }
}

#[test]
fn the_counted_functions_are_the_46_of_preview1_in_order() {
    use wasiprobe_runtimes::host::calls as count;
    let names: Vec<&str> = wasiprobe_coverage::PREVIEW1
        .iter()
        .map(|f| f.name)
        .collect();
    let counted: Vec<&str> = (0..count::N).map(count::name).collect();
    assert_eq!(names, counted);
    assert_eq!(count::N, 46);
}

/// Counting's cost per host call, against wasmtime-wasi's own linker: a guest making 10^6
/// clock_time_get calls, run through both. A measurement, printed (`--ignored --nocapture`).
#[test]
#[ignore]
fn counting_cost_per_call() {
    use std::time::Instant;
    use wasiprobe_runtimes::inject::Host;
    use wasmtime::{Engine, Linker, Module, Store};
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
          (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
          (memory (export "memory") 1)
          (func (export "_start") (local $i i32)
            (loop $l
              (drop (call $clock (i32.const 1) (i64.const 0) (i32.const 16)))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br_if $l (i32.lt_u (local.get $i) (i32.const 1000000))))))"#,
    )
    .unwrap();
    let mut plain: Linker<Host> = Linker::new(&engine);
    wasmtime_wasi::p1::add_to_linker_sync(&mut plain, |h: &mut Host| &mut h.wasi).unwrap();
    let mut counted = plain.clone();
    wasiprobe_runtimes::inject::install_call_counting(&mut counted).unwrap();
    let time = |linker: &Linker<Host>| {
        let wasi = wasmtime_wasi::WasiCtxBuilder::new().build_p1();
        let mut store = Store::new(&engine, Host::new(wasi, &spec()));
        let start = linker
            .instantiate(&mut store, &module)
            .unwrap()
            .get_typed_func::<(), ()>(&mut store, "_start")
            .unwrap();
        let t = Instant::now();
        start.call(&mut store, ()).unwrap();
        let ns = t.elapsed().as_nanos() as f64 / 1e6;
        (ns, store.data().host_calls())
    };
    let (mut p, mut c) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        p.push(time(&plain).0);
        let (ns, calls) = time(&counted);
        assert_eq!(calls, counts(&[("clock_time_get", 1_000_000)]));
        c.push(ns);
    }
    p.sort_by(f64::total_cmp);
    c.sort_by(f64::total_cmp);
    println!(
        "clock_time_get ns/call, median of 5 x 10^6: wasmtime-wasi {:.1}, counted {:.1}",
        p[2], c[2]
    );
}
