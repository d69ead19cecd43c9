//! Every limit, on every runtime built into this test binary that says it enforces it, each
//! proven against a guest that breaks it. Guests are written in WAT (converted to a binary
//! here, since not every runtime reads text) so these tests need no toolchain.

mod common;

use std::time::Duration;
use wasiprobe_runtimes::{
    HostEnv, Limits, NodeRuntime, Outcome, Preopen, RunSpec, Runtime, Termination, WasmtimeRuntime,
};

/// Every runtime this binary was built with (the cargo features decide). A runtime that is
/// unavailable on this machine is named on stderr and left out.
fn runtimes() -> Vec<Box<dyn Runtime>> {
    let env = host_env();
    let mut v: Vec<Box<dyn Runtime>> = vec![Box::new(WasmtimeRuntime::new().unwrap())];
    // Node.js is installed by scripts/test-deps: its absence is a failure, not a pass.
    match NodeRuntime::new(&env) {
        Ok(rt) => v.push(Box::new(rt)),
        Err(e) => panic!("node: {e:#}"),
    }
    #[cfg(feature = "wasmi")]
    v.push(Box::new(wasiprobe_runtimes::WasmiRuntime::new().unwrap()));
    #[cfg(feature = "wamr")]
    v.push(Box::new(
        wasiprobe_runtimes::WamrRuntime::new(&env).unwrap(),
    ));
    #[cfg(feature = "wasmer")]
    v.push(Box::new(wasiprobe_runtimes::WasmerRuntime::new().unwrap()));
    v
}

fn host_env() -> HostEnv {
    HostEnv {
        cache: std::env::temp_dir().join("wasiprobe-limits-test"),
        // This crate's own worker binary: the tests have no `wasiprobe` to host WAMR.
        #[cfg(feature = "wamr")]
        worker_exe: Some(env!("CARGO_BIN_EXE_wasiprobe-wamr-worker").into()),
        #[cfg(not(feature = "wamr"))]
        worker_exe: None,
    }
}

/// Runs `f` on each runtime that enforces `limit` (every runtime when `None`).
fn each(limit: Option<&str>, f: impl Fn(&dyn Runtime)) {
    for rt in runtimes() {
        match limit {
            Some(l) if !rt.capabilities().enforces(l) => {
                eprintln!("{}: does not enforce {l}; not tested here", rt.name())
            }
            _ => {
                // A failed assertion panics right after this line: it names the runtime.
                eprintln!("testing {}", rt.name());
                f(rt.as_ref())
            }
        }
    }
}

fn run_wat_on(rt: &dyn Runtime, wat: &str, spec: &RunSpec) -> Outcome {
    common::run(rt, wat::parse_str(wat).unwrap(), spec).unwrap()
}

fn limits() -> Limits {
    Limits {
        wall: Duration::from_millis(500),
        memory_bytes: 64 << 20,
        stdout_bytes: 1 << 20,
        stderr_bytes: 1 << 16,
        open_files: 8,
        compile: Duration::from_secs(120),
    }
}

fn spec() -> RunSpec {
    RunSpec {
        args: vec!["guest".into()],
        limits: limits(),
        ..Default::default()
    }
}

const HEADER: &str = r#"
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open" (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_get" (func $prestat_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_dir_name" (func $prestat_dir_name (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 400) "/scratch")
  ;; The fd of the preopen named "/scratch" (not always 3: wasmer puts its virtual root there).
  ;; prestat at 420 (name length at 424), name at 432; "/scratch" is 8 bytes, one i64.
  (func $scratch (result i32) (local $fd i32)
    (local.set $fd (i32.const 3))
    (loop $l
      (if (i32.eqz (call $prestat_get (local.get $fd) (i32.const 420)))
        (then
          (if (i32.eq (i32.load (i32.const 424)) (i32.const 8))
            (then
              (drop (call $prestat_dir_name (local.get $fd) (i32.const 432) (i32.const 8)))
              (if (i64.eq (i64.load (i32.const 432)) (i64.load (i32.const 400)))
                (then (return (local.get $fd))))))))
      (local.set $fd (i32.add (local.get $fd) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $fd) (i32.const 64))))
    unreachable)
"#;

fn module(body: &str) -> String {
    format!("(module {HEADER} {body})")
}

/// Runs `body` inside the common module (its imports and memory) with `spec`.
fn run_body(rt: &dyn Runtime, body: &str, spec: &RunSpec) -> Outcome {
    run_wat_on(rt, &module(body), spec)
}

/// A clock subscription at 0 for a relative sleep of `ns`, its event out at 64 and nevents at
/// 128: userdata(8) tag(1)=clock at 8, clock id(4) at 16, timeout(8) at 24, precision(8) at
/// 32, flags(2) at 40.
fn sleep_subscription(ns: u64) -> String {
    format!(
        r#"
              (i64.store (i32.const 0) (i64.const 1))
              (i32.store8 (i32.const 8) (i32.const 0))
              (i32.store (i32.const 16) (i32.const 1))
              (i64.store (i32.const 24) (i64.const {ns}))
              (i64.store (i32.const 32) (i64.const 0))
              (i32.store16 (i32.const 40) (i32.const 0))"#
    )
}

/// A guest over the memory limit must not run: it is out of memory, or a runtime that cannot
/// express the module refuses to load it.
fn assert_oom_or_refused(rt: &dyn Runtime, o: &Outcome) {
    assert!(
        matches!(
            o.termination,
            Termination::Oom { .. } | Termination::LoadError { .. }
        ),
        "{}: {:?}",
        rt.name(),
        o.termination
    );
}

#[test]
fn exit_status_and_stdout_are_returned() {
    each(None, |rt| {
        let o = run_body(rt, HELLO_EXIT_7, &spec());
        assert_eq!(o.termination, Termination::Exited { code: 7 });
        assert_eq!(o.stdout, b"hello\n");
    });
}

#[test]
fn a_looping_guest_is_a_timeout() {
    each(Some("wall"), |rt| {
        let o = run_body(rt, r#"(func (export "_start") (loop $l (br $l)))"#, &spec());
        assert_eq!(o.termination, Termination::Timeout);
        assert!(o.duration < Duration::from_secs(5), "took {:?}", o.duration);
    });
}

#[test]
fn a_guest_blocked_in_a_host_sleep_is_a_timeout() {
    each(Some("wall"), |rt| {
        // poll_oneoff on a relative clock subscription of one hour: epochs cannot interrupt a host
        // call, so this proves the watchdog.
        let sub = sleep_subscription(3_600_000_000_000);
        let o = run_body(
            rt,
            &format!(
                r#"(func (export "_start") {sub}
              (drop (call $poll (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128))))"#
            ),
            &spec(),
        );
        assert_eq!(o.termination, Termination::Timeout);
        assert!(
            o.duration < Duration::from_secs(10),
            "took {:?}",
            o.duration
        );
    });
}

#[test]
fn a_4_gib_grab_is_oom() {
    each(Some("memory_bytes"), |rt| {
        let o = run_body(
            rt,
            r#"(func (export "_start") (drop (memory.grow (i32.const 65535))))"#,
            &spec(),
        );
        match o.termination {
            Termination::Oom { requested_bytes } => assert!(requested_bytes > 4_000_000_000),
            t => panic!("expected oom, got {t:?}"),
        }
    });
}

#[test]
fn a_huge_initial_memory_is_oom() {
    each(Some("memory_bytes"), |rt| {
        let o = run_wat_on(
            rt,
            r#"(module (memory (export "memory") 20000) (func (export "_start")))"#,
            &spec(),
        );
        assert!(
            matches!(o.termination, Termination::Oom { .. }),
            "{:?}",
            o.termination
        );
    });
}

/// The memory limit is the guest's, not each memory's: three memories of 25 MiB each pass a
/// 64 MiB limit together (a module with six 250 MiB memories once ran under a 512 MiB limit). A
/// runtime without multi-memory may refuse the module instead; it must never run it.
#[test]
fn memories_share_one_limit() {
    each(Some("memory_bytes"), |rt| {
        let o = run_wat_on(
            rt,
            r#"(module (memory (export "memory") 400) (memory 400) (memory 400)
                 (func (export "_start")))"#,
            &spec(),
        );
        assert_oom_or_refused(rt, &o);
    });
}

/// Tables count against the same limit: ten tables of 1M entries are 80 MB of host memory.
#[test]
fn tables_count_against_the_memory_limit() {
    each(Some("memory_bytes"), |rt| {
        let tables: String = (0..10).map(|_| "(table 1000000 funcref) ").collect();
        let o = run_wat_on(
            rt,
            &format!(r#"(module (memory (export "memory") 1) {tables} (func (export "_start")))"#),
            &spec(),
        );
        assert_oom_or_refused(rt, &o);
    });
}

#[test]
fn a_flood_is_an_output_limit_and_keeps_what_fit() {
    each(Some("stdout_bytes"), |rt| {
        let o = run_body(
            rt,
            r#"
            (func (export "_start")
              (i32.store (i32.const 0) (i32.const 1024))
              (i32.store (i32.const 4) (i32.const 4096))
              (loop $l
                (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
                (br $l)))"#,
            &spec(),
        );
        assert_eq!(
            o.termination,
            Termination::OutputLimit {
                stream: "stdout".into()
            }
        );
        assert_eq!(o.stdout.len(), limits().stdout_bytes);
    });
}

#[test]
fn a_trap_is_a_trap() {
    each(None, |rt| {
        let o = run_body(rt, r#"(func (export "_start") unreachable)"#, &spec());
        match o.termination {
            Termination::Trap { message } => assert!(message.contains("unreachable"), "{message}"),
            t => panic!("expected trap, got {t:?}"),
        }
    });
}

/// A host function that fails the guest (wasmtime-wasi refuses a proc_exit status past 125)
/// says why on its first line, not "error while executing at wasm backtrace:".
#[test]
fn a_failing_host_call_names_its_cause_first() {
    let rt = WasmtimeRuntime::new().unwrap();
    let o = run_body(
        &rt,
        r#"(func (export "_start") (call $proc_exit (i32.const 200)))"#,
        &spec(),
    );
    match o.termination {
        Termination::Trap { message } => {
            let first = message.lines().next().unwrap_or_default();
            assert!(!first.contains("wasm backtrace"), "{message}");
            assert!(first.contains("exit"), "{message}");
        }
        t => panic!("expected a trap, got {t:?}"),
    }
}

#[test]
fn open_files_are_limited_with_emfile() {
    each(Some("open_files"), |rt| {
        let dir = tempfile::tempdir().unwrap();
        let mut s = spec();
        s.preopens.push(Preopen {
            host: dir.path().to_owned(),
            guest: "/scratch".into(),
        });
        // Opens "f" (O_CREAT) 20 times without closing; exits with the first non-zero errno.
        // Rights as a libc asks for O_RDWR (fd_read | fd_write): WAMR and node's uvwasi refuse
        // rights a preopen cannot pass on (ENOTCAPABLE), the others mask them.
        let o = run_body(
            rt,
            r#"
            (data (i32.const 200) "f")
            (func (export "_start") (local $i i32) (local $e i32)
              (loop $l
                (local.set $e (call $path_open (call $scratch) (i32.const 0) (i32.const 200) (i32.const 1)
                  (i32.const 1) (i64.const 0x42) (i64.const 0) (i32.const 0) (i32.const 300)))
                (if (local.get $e) (then (call $proc_exit (local.get $e))))
                (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (br_if $l (i32.lt_u (local.get $i) (i32.const 20))))
              (call $proc_exit (i32.const 0)))"#,
            &s,
        );
        assert_eq!(
            o.termination,
            Termination::Exited { code: 33 },
            "EMFILE is errno 33 in Preview 1"
        );
        assert!(dir.path().join("f").exists());
    });
}

#[test]
fn a_corrupt_module_is_a_load_error_not_a_panic() {
    each(None, |rt| {
        let o = common::run(rt, b"\0asm\x01\0\0\0\x01\xff\xff", &spec()).unwrap();
        assert!(
            matches!(o.termination, Termination::LoadError { .. }),
            "{:?}",
            o.termination
        );
    });
}

#[test]
fn a_missing_import_is_a_load_error() {
    each(None, |rt| {
        let o = run_wat_on(
            rt,
            r#"(module (import "env" "nope" (func)) (memory (export "memory") 1) (func (export "_start")))"#,
            &spec(),
        );
        match o.termination {
            Termination::LoadError { message } => assert!(message.contains("nope"), "{message}"),
            t => panic!("expected load error, got {t:?}"),
        }
    });
}

const HELLO_EXIT_7: &str = r#"
    (data (i32.const 100) "hello\n")
    (func (export "_start")
      (i32.store (i32.const 0) (i32.const 100))
      (i32.store (i32.const 4) (i32.const 6))
      (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
      (call $proc_exit (i32.const 7)))"#;

#[test]
fn an_in_process_runtime_refuses_the_worker_crash() {
    let mut s = spec();
    s.inject.push("worker:segfault".parse().unwrap());
    let rt = WasmtimeRuntime::new().unwrap();
    let wasm = wat::parse_str(module(HELLO_EXIT_7)).unwrap();
    let e = common::run(&rt, wasm, &s).unwrap_err();
    assert!(format!("{e:#}").contains("worker:segfault"), "{e:#}");
}

/// The crash-isolation control: the worker really dies by SIGSEGV; the cell is a crash, and the
/// same runtime runs the next guest normally.
#[cfg(feature = "wamr")]
#[test]
fn a_worker_killed_by_sigsegv_is_a_crash_and_the_next_run_works() {
    let rt = wasiprobe_runtimes::WamrRuntime::new(&host_env()).unwrap();
    let mut s = spec();
    s.inject.push("worker:segfault".parse().unwrap());
    let o = run_body(&rt, HELLO_EXIT_7, &s);
    match o.termination {
        Termination::Crash { message } => assert!(message.contains("SIGSEGV"), "{message}"),
        t => panic!("expected crash, got {t:?}"),
    }
    let o = run_body(&rt, HELLO_EXIT_7, &spec());
    assert_eq!(o.termination, Termination::Exited { code: 7 });
    assert_eq!(o.stdout, b"hello\n");
}

#[cfg(feature = "wamr")]
#[test]
fn wamr_without_a_worker_executable_is_unavailable() {
    let env = HostEnv {
        cache: std::env::temp_dir(),
        worker_exe: None,
    };
    let e = wasiprobe_runtimes::WamrRuntime::new(&env).err().unwrap();
    let e = e.to_string();
    assert!(e.contains("worker"), "{e}");
    assert!(e.contains("not named `wasiprobe`"), "{e}");
}

#[test]
fn stdin_reaches_the_guest() {
    each(None, |rt| {
        let mut s = spec();
        s.stdin = b"ping".to_vec();
        // Reads up to 16 bytes of stdin and echoes them to stdout.
        let o = run_wat_on(
            rt,
            &format!(
                r#"(module
              (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
              {HEADER}
              (func (export "_start")
                (i32.store (i32.const 0) (i32.const 100))
                (i32.store (i32.const 4) (i32.const 16))
                (drop (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
                (i32.store (i32.const 4) (i32.load (i32.const 8)))
                (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
                (call $proc_exit (i32.const 0))))"#
            ),
            &s,
        );
        assert_eq!(o.termination, Termination::Exited { code: 0 });
        assert_eq!(o.stdout, b"ping");
    });
}

/// `RunSpec::wasm_stack_bytes` on the embedded wasmtime: a recursion 200 000 frames deep
/// overflows wasmtime's default Wasm stack (a trap) and completes with 16 MiB; a smaller stack
/// than the default traps sooner. Runtimes that cannot set the stack say so in their version.
#[test]
fn wasmtime_honours_the_wasm_stack_size() {
    let rt = WasmtimeRuntime::new().unwrap();
    let wat = module(
        r#"
        (func $down (param i32) (result i32)
          (local i64 i64 i64 i64 i64 i64 i64 i64)
          (if (result i32) (i32.eqz (local.get 0))
            (then (i32.const 0))
            (else (i32.add (i32.const 1) (call $down (i32.sub (local.get 0) (i32.const 1)))))))
        (func (export "_start")
          (drop (call $down (i32.const 200000))))"#,
    );
    let mut s = spec();
    s.limits.wall = Duration::from_secs(10);
    let o = run_wat_on(&rt, &wat, &s);
    assert!(
        matches!(&o.termination, Termination::Trap { message } if message.contains("stack")),
        "default stack: {:?}",
        o.termination
    );
    s.wasm_stack_bytes = Some(16 << 20);
    let o = run_wat_on(&rt, &wat, &s);
    assert_eq!(
        o.termination,
        Termination::Exited { code: 0 },
        "16 MiB stack"
    );
    // The default engine is untouched by the other one.
    s.wasm_stack_bytes = None;
    assert!(matches!(
        run_wat_on(&rt, &wat, &s).termination,
        Termination::Trap { .. }
    ));
    assert!(rt.version().contains("max_wasm_stack"));
}

#[test]
fn a_grow_within_the_limit_succeeds() {
    // The control for the memory limit: a grow that fits must not be refused or reported.
    each(Some("memory_bytes"), |rt| {
        let o = run_body(
            rt,
            r#"(func (export "_start") (call $proc_exit (memory.grow (i32.const 100))))"#,
            &spec(),
        );
        assert_eq!(
            o.termination,
            Termination::Exited { code: 1 },
            "old size is 1 page"
        );
    });
}

#[test]
fn a_short_sleep_is_not_a_timeout() {
    // The control for the wall limit: a 100 ms sleep well inside it completes.
    each(Some("wall"), |rt| {
        let sub = sleep_subscription(100_000_000);
        let o = run_body(
            rt,
            &format!(
                r#"(func (export "_start") {sub}
              (call $proc_exit (call $poll (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128))))"#
            ),
            &spec(),
        );
        assert_eq!(o.termination, Termination::Exited { code: 0 });
        assert!(o.duration >= Duration::from_millis(100), "{:?}", o.duration);
    });
}

#[test]
fn output_under_the_cap_is_not_a_limit() {
    // The control for the output limit: exactly the cap is allowed.
    each(Some("stdout_bytes"), |rt| {
        let mut s = spec();
        s.limits.stdout_bytes = 6;
        let o = run_body(
            rt,
            r#"
            (data (i32.const 100) "hello\n")
            (func (export "_start")
              (i32.store (i32.const 0) (i32.const 100))
              (i32.store (i32.const 4) (i32.const 6))
              (call $proc_exit (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))"#,
            &s,
        );
        assert_eq!(o.termination, Termination::Exited { code: 0 });
        assert_eq!(o.stdout, b"hello\n");
    });
}

#[test]
fn runs_from_a_rayon_pool_do_not_deadlock() {
    // The harness runs cases on rayon; a runtime that compiles with rayon under a lock can
    // deadlock when a waiting worker steals another case (wasmer's singlepass did). Distinct
    // modules, so that every run compiles.
    use rayon::prelude::*;
    each(None, |rt| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        let codes: Vec<Termination> = pool.install(|| {
            (0..8)
                .into_par_iter()
                .map(|i| {
                    let wat = module(&format!(
                        r#"(func (export "_start") (call $proc_exit (i32.const {i})))"#
                    ));
                    run_wat_on(rt, &wat, &spec()).termination
                })
                .collect()
        });
        let want: Vec<Termination> = (0..8).map(|code| Termination::Exited { code }).collect();
        assert_eq!(codes, want);
    });
}

/// The embedded runtimes whose guests run on a thread of this process: a guest left asleep in
/// a host call there would keep its store (its memories) until the process ends. (WAMR's run
/// in a worker process, which is killed.)
fn in_process() -> Vec<Box<dyn Runtime>> {
    runtimes()
        .into_iter()
        .filter(|rt| matches!(rt.name(), "wasmtime" | "wasmi" | "wasmer"))
        .collect()
}

/// A clock-only poll that would wake after the deadline is stopped inside the host at the
/// deadline, and the run comes back through the store: its host-call counts are there, which a
/// guest given up by the watchdog (its store abandoned on the guest thread) cannot report.
#[test]
fn a_guest_asleep_past_its_limit_is_stopped_in_the_host_and_its_store_returned() {
    // A relative hour, and an absolute deadline far on the monotonic clock.
    let relative = sleep_subscription(3_600_000_000_000);
    let absolute = format!(
        "{}\n              (i32.store16 (i32.const 40) (i32.const 1))",
        sleep_subscription(1 << 62)
    );
    for rt in in_process() {
        for (what, sub) in [("relative", &relative), ("absolute", &absolute)] {
            let o = run_body(
                rt.as_ref(),
                &format!(
                    r#"(func (export "_start") {sub}
              (drop (call $poll (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128))))"#
                ),
                &spec(),
            );
            assert_eq!(o.termination, Termination::Timeout, "{} {what}", rt.name());
            assert_eq!(
                o.host_calls.get("poll_oneoff"),
                Some(&1),
                "{} {what}: the store did not come back ({:?})",
                rt.name(),
                o.host_calls
            );
        }
    }
}

/// wasmer-wasix takes a clock timeout of 0 as no timeout (its poll_oneoff.rs), so a relative
/// 0 ns sleep — wasi-libc's `nanosleep(0)` — never returns there: the run is wasmer's timeout,
/// ended in the host at the deadline with its store returned, not a thread left asleep. The
/// control: 1 ns returns at once.
#[cfg(feature = "wasmer")]
#[test]
fn on_wasmer_a_zero_sleep_blocks_until_the_deadline_and_its_store_comes_back() {
    let rt = wasiprobe_runtimes::WasmerRuntime::new().unwrap();
    let run = |ns: u64| {
        let sub = sleep_subscription(ns);
        run_body(
            &rt,
            &format!(
                r#"(func (export "_start") {sub}
              (drop (call $poll (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128))))"#
            ),
            &spec(),
        )
    };
    let zero = run(0);
    assert_eq!(zero.termination, Termination::Timeout);
    assert_eq!(
        zero.host_calls.get("poll_oneoff"),
        Some(&1),
        "{:?}",
        zero.host_calls
    );
    assert_eq!(run(1).termination, Termination::Exited { code: 0 });
}

/// The control: an absolute deadline 100 ms ahead on the guest's own monotonic clock is slept
/// to the end, and the subscription the shadow read the clock through is as the guest wrote it
/// (its precision field holds a marker; exit 3 if it changed).
#[test]
fn an_absolute_sleep_inside_the_limit_completes_and_the_subscription_is_untouched() {
    let sub = sleep_subscription(0);
    for rt in in_process() {
        let o = run_wat_on(
            rt.as_ref(),
            &format!(
                r#"(module
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $now (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start") {sub}
    (i64.store (i32.const 32) (i64.const 0x1234))
    (i32.store16 (i32.const 40) (i32.const 1))
    (if (call $now (i32.const 1) (i64.const 0) (i32.const 200)) (then (call $proc_exit (i32.const 2))))
    (i64.store (i32.const 24) (i64.add (i64.load (i32.const 200)) (i64.const 100000000)))
    (if (call $poll (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128))
      (then (call $proc_exit (i32.const 1))))
    (if (i64.ne (i64.load (i32.const 32)) (i64.const 0x1234)) (then (call $proc_exit (i32.const 3))))
    (call $proc_exit (i32.const 0))))"#
            ),
            &spec(),
        );
        assert_eq!(
            o.termination,
            Termination::Exited { code: 0 },
            "{}",
            rt.name()
        );
        assert_eq!(o.host_calls.get("poll_oneoff"), Some(&1), "{}", rt.name());
    }
}

/// A module whose compilation takes the compile limit or longer is a load error naming the
/// limit and is not run (a zero limit: every compilation reaches it); the default lets it run.
#[test]
fn compiling_past_the_compile_limit_is_a_load_error_and_the_guest_is_not_run() {
    for rt in in_process() {
        let mut s = spec();
        s.limits.compile = Duration::ZERO;
        let o = run_body(rt.as_ref(), HELLO_EXIT_7, &s);
        match &o.termination {
            Termination::LoadError { message } => {
                assert!(
                    message.contains("compile limit"),
                    "{}: {message}",
                    rt.name()
                )
            }
            t => panic!("{}: {t:?}", rt.name()),
        }
        assert!(o.stdout.is_empty(), "{}: the guest ran", rt.name());
        let o = run_body(rt.as_ref(), HELLO_EXIT_7, &spec());
        assert_eq!(
            o.termination,
            Termination::Exited { code: 7 },
            "{}",
            rt.name()
        );
    }
}
