//! Every limit, on every runtime built into this test binary that says it enforces it, each
//! proven against a guest that breaks it. Guests are written in WAT (converted to a binary
//! here, since not every runtime reads text) so these tests need no toolchain.

use std::time::Duration;
use wasiprobe_runtimes::{
    HostEnv, Limits, Outcome, Preopen, RunSpec, Runtime, Termination, WasmtimeRuntime,
};

/// Every runtime this binary was built with (the cargo features decide). A runtime that is
/// unavailable on this machine is named on stderr and left out.
fn runtimes() -> Vec<Box<dyn Runtime>> {
    let _env = HostEnv {
        cache: std::env::temp_dir().join("wasiprobe-limits-test"),
        worker_exe: None,
    };
    #[allow(unused_mut)]
    let mut v: Vec<Box<dyn Runtime>> = vec![Box::new(WasmtimeRuntime::new().unwrap())];
    #[cfg(feature = "wasmer")]
    v.push(Box::new(wasiprobe_runtimes::WasmerRuntime::new().unwrap()));
    v
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
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("guest.wasm");
    std::fs::write(&path, wat::parse_str(wat).unwrap()).unwrap();
    rt.run(&path, spec).unwrap()
}

fn limits() -> Limits {
    Limits {
        wall: Duration::from_millis(500),
        memory_bytes: 64 << 20,
        stdout_bytes: 1 << 20,
        stderr_bytes: 1 << 16,
        open_files: 8,
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

#[test]
fn exit_status_and_stdout_are_returned() {
    each(None, |rt| {
        let o = run_wat_on(
            rt,
            &module(
                r#"
            (data (i32.const 100) "hello\n")
            (func (export "_start")
              (i32.store (i32.const 0) (i32.const 100))
              (i32.store (i32.const 4) (i32.const 6))
              (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
              (call $proc_exit (i32.const 7)))"#,
            ),
            &spec(),
        );
        assert_eq!(o.termination, Termination::Exited { code: 7 });
        assert_eq!(o.stdout, b"hello\n");
    });
}

#[test]
fn a_looping_guest_is_a_timeout() {
    each(Some("wall"), |rt| {
        let o = run_wat_on(
            rt,
            &module(r#"(func (export "_start") (loop $l (br $l)))"#),
            &spec(),
        );
        assert_eq!(o.termination, Termination::Timeout);
        assert!(o.duration < Duration::from_secs(5), "took {:?}", o.duration);
    });
}

#[test]
fn a_guest_blocked_in_a_host_sleep_is_a_timeout() {
    each(Some("wall"), |rt| {
        // poll_oneoff on a relative clock subscription of one hour: epochs cannot interrupt a host
        // call, so this proves the watchdog.
        let o = run_wat_on(
            rt,
            &module(
                r#"
            (func (export "_start")
              ;; subscription at 0: userdata(8) tag(1)=clock at 8, clock id(4) at 16, timeout(8) at 24,
              ;; precision(8) at 32, flags(2) at 40; event out at 64, nevents at 128
              (i64.store (i32.const 0) (i64.const 1))
              (i32.store8 (i32.const 8) (i32.const 0))
              (i32.store (i32.const 16) (i32.const 1))
              (i64.store (i32.const 24) (i64.const 3600000000000))
              (i64.store (i32.const 32) (i64.const 0))
              (i32.store16 (i32.const 40) (i32.const 0))
              (drop (call $poll (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128))))"#,
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
        let o = run_wat_on(
            rt,
            &module(r#"(func (export "_start") (drop (memory.grow (i32.const 65535))))"#),
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

#[test]
fn a_flood_is_an_output_limit_and_keeps_what_fit() {
    each(Some("stdout_bytes"), |rt| {
        let o = run_wat_on(
            rt,
            &module(
                r#"
            (func (export "_start")
              (i32.store (i32.const 0) (i32.const 1024))
              (i32.store (i32.const 4) (i32.const 4096))
              (loop $l
                (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
                (br $l)))"#,
            ),
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
        let o = run_wat_on(
            rt,
            &module(r#"(func (export "_start") unreachable)"#),
            &spec(),
        );
        match o.termination {
            Termination::Trap { message } => assert!(message.contains("unreachable"), "{message}"),
            t => panic!("expected trap, got {t:?}"),
        }
    });
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
        let o = run_wat_on(
            rt,
            &module(
                r#"
            (data (i32.const 200) "f")
            (func (export "_start") (local $i i32) (local $e i32)
              (loop $l
                (local.set $e (call $path_open (call $scratch) (i32.const 0) (i32.const 200) (i32.const 1)
                  (i32.const 1) (i64.const 0x1fffffff) (i64.const 0x1fffffff) (i32.const 0) (i32.const 300)))
                (if (local.get $e) (then (call $proc_exit (local.get $e))))
                (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (br_if $l (i32.lt_u (local.get $i) (i32.const 20))))
              (call $proc_exit (i32.const 0)))"#,
            ),
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
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.wasm");
        std::fs::write(&path, b"\0asm\x01\0\0\0\x01\xff\xff").unwrap();
        let o = rt.run(&path, &spec()).unwrap();
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

#[test]
fn a_grow_within_the_limit_succeeds() {
    // The control for the memory limit: a grow that fits must not be refused or reported.
    each(Some("memory_bytes"), |rt| {
        let o = run_wat_on(
            rt,
            &module(r#"(func (export "_start") (call $proc_exit (memory.grow (i32.const 100))))"#),
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
        let o = run_wat_on(
            rt,
            &module(
                r#"
            (func (export "_start")
              (i64.store (i32.const 0) (i64.const 1))
              (i32.store8 (i32.const 8) (i32.const 0))
              (i32.store (i32.const 16) (i32.const 1))
              (i64.store (i32.const 24) (i64.const 100000000))
              (i64.store (i32.const 32) (i64.const 0))
              (i32.store16 (i32.const 40) (i32.const 0))
              (call $proc_exit (call $poll (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128))))"#,
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
        let o = run_wat_on(
            rt,
            &module(
                r#"
            (data (i32.const 100) "hello\n")
            (func (export "_start")
              (i32.store (i32.const 0) (i32.const 100))
              (i32.store (i32.const 4) (i32.const 6))
              (call $proc_exit (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))"#,
            ),
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
