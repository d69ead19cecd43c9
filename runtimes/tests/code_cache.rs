//! wasmtime's on-disk compiled-code cache (`WasmtimeRuntime::with_code_cache`): a large module
//! is stored once and loaded by the next process; a damaged cache file is never trusted — it is
//! recompiled, the guest still runs correctly, and the file is replaced.

mod common;

use wasiprobe_runtimes::{RunSpec, Runtime, Termination, WasmtimeRuntime, CODE_CACHE_MIN_BYTES};

/// Prints "cached\n" and exits 7; a data segment makes the module large enough to be cached.
fn big_module() -> Vec<u8> {
    let filler = "\\00".repeat(CODE_CACHE_MIN_BYTES + 1024);
    wat::parse_str(format!(
        r#"(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 40)
  (data (i32.const 16) "cached\n")
  (data (i32.const 4096) "{filler}")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 7))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    (call $proc_exit (i32.const 7))))"#
    ))
    .unwrap()
}

fn run(cache: &std::path::Path, module: &std::path::Path) {
    let rt = WasmtimeRuntime::with_code_cache(cache.to_owned()).unwrap();
    let o = rt
        .run(
            module,
            &RunSpec {
                args: vec!["big".into()],
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(o.termination, Termination::Exited { code: 7 });
    assert_eq!(o.stdout, b"cached\n");
}

fn cached_files(cache: &std::path::Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(cache)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "cwasm"))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_large_module_is_cached_on_disk_and_a_damaged_entry_is_recompiled() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("code");
    let module = dir.path().join("big.wasm");
    std::fs::write(&module, big_module()).unwrap();

    run(&cache, &module);
    let files = cached_files(&cache);
    assert_eq!(
        files.len(),
        1,
        "one entry after the first process: {files:?}"
    );
    let good = std::fs::read(&files[0]).unwrap();

    // A second runtime (as a second process would) loads it and writes nothing new.
    run(&cache, &module);
    assert_eq!(cached_files(&cache), files);

    // Negative controls: a truncated entry and garbage are recompiled, and the entry replaced.
    for damaged in [
        good[..good.len() / 2].to_vec(),
        b"not compiled code".to_vec(),
    ] {
        std::fs::write(&files[0], &damaged).unwrap();
        run(&cache, &module);
        assert_eq!(std::fs::read(&files[0]).unwrap(), good);
    }
}

#[test]
fn a_small_module_is_not_written_to_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("code");
    let small = wat::parse_str(
        r#"(module (import "wasi_snapshot_preview1" "proc_exit" (func $e (param i32)))
            (memory (export "memory") 1)
            (func (export "_start") (call $e (i32.const 7))))"#,
    )
    .unwrap();
    let rt = WasmtimeRuntime::with_code_cache(cache.clone()).unwrap();
    let o = common::run(&rt, small, &RunSpec::default()).unwrap();
    assert_eq!(o.termination, Termination::Exited { code: 7 });
    assert!(cached_files(&cache).is_empty());
}
