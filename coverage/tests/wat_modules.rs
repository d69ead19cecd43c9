//! Hand-written modules with known answers, each with its negative control.

use wasiprobe_coverage::{analyze, diff, render_text, ImportReport, PREVIEW1};

fn report(wat_src: &str) -> ImportReport {
    let wasm = wat::parse_str(wat_src).expect("test WAT must assemble");
    analyze(&wasm).expect("test module must validate")
}

const THREE_OK_PLUS_ENV: &str = r#"
(module
  (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func (param i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func (param i32 i64 i32) (result i32)))
  (import "env" "foo" (func (param i32)))
  (memory (export "memory") 1)
  (func (export "_start")))
"#;

#[test]
fn three_correct_p1_imports_plus_env_foo() {
    let r = report(THREE_OK_PLUS_ENV);
    let names: Vec<&str> = r.p1_imported.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["fd_write", "proc_exit", "clock_time_get"]);
    assert!(r.p1_imported.iter().all(|i| i.signature_ok), "{r:#?}");
    assert!(r
        .p1_imported
        .iter()
        .all(|i| i.expected.is_none() && i.actual.is_none()));
    assert!(r.p1_unknown.is_empty());
    assert_eq!(r.non_wasi.len(), 1);
    assert_eq!(
        (
            r.non_wasi[0].module.as_str(),
            r.non_wasi[0].name.as_str(),
            r.non_wasi[0].kind.as_str()
        ),
        ("env", "foo", "func")
    );
    assert!(!r.runnable_on_plain_wasi);
    assert_eq!(r.p1_not_imported.len(), PREVIEW1.len() - 3);
    assert!(!r.p1_not_imported.iter().any(|n| n == "fd_write"));
    assert!(r.exports.has_start);
    assert!(!r.exports.has_initialize);
    assert_eq!(r.exports.memories, ["memory"]);
}

#[test]
fn same_module_without_env_import_is_runnable() {
    // Control for the test above: env.foo alone is what made it unrunnable.
    let r = report(&THREE_OK_PLUS_ENV.replace(r#"(import "env" "foo" (func (param i32)))"#, ""));
    assert!(r.non_wasi.is_empty());
    assert!(r.runnable_on_plain_wasi, "{r:#?}");
}

#[test]
fn wrong_fd_write_signature_is_flagged() {
    let r = report(
        r#"(module
             (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32) (result i32)))
             (import "wasi_snapshot_preview1" "fd_close" (func (param i32) (result i32))))"#,
    );
    let fd_write = &r.p1_imported[0];
    assert_eq!(fd_write.name, "fd_write");
    assert!(!fd_write.signature_ok);
    let expected = fd_write.expected.as_ref().unwrap();
    let actual = fd_write.actual.as_ref().unwrap();
    assert_eq!(expected.params, ["i32", "i32", "i32", "i32"]);
    assert_eq!(expected.results, ["i32"]);
    assert_eq!(actual.params, ["i32", "i32", "i32"]);
    assert_eq!(actual.results, ["i32"]);
    // Control: the correctly typed neighbour is not dragged down with it.
    assert!(r.p1_imported[1].signature_ok);
    assert!(r.non_wasi.is_empty() && r.p1_unknown.is_empty());
    assert!(!r.runnable_on_plain_wasi);
    assert!(render_text(&r).contains(
        "BAD  fd_write: expected (i32, i32, i32, i32) -> (i32), got (i32, i32, i32) -> (i32)"
    ));
}

#[test]
fn i64_where_i32_expected_and_missing_result_are_mismatches() {
    // The table must distinguish widths and result arity, not just counts.
    let r = report(
        r#"(module
             (import "wasi_snapshot_preview1" "fd_seek" (func (param i32 i32 i32 i32) (result i32)))
             (import "wasi_snapshot_preview1" "proc_exit" (func (param i32) (result i32)))
             (import "wasi_snapshot_preview1" "sched_yield" (func (result i32))))"#,
    );
    let ok: Vec<bool> = r.p1_imported.iter().map(|i| i.signature_ok).collect();
    assert_eq!(ok, [false, false, true]);
}

#[test]
fn p1_name_imported_as_non_function_is_a_mismatch() {
    let r = report(r#"(module (import "wasi_snapshot_preview1" "fd_write" (global i32)))"#);
    let i = &r.p1_imported[0];
    assert!(!i.signature_ok);
    assert_eq!(i.kind, "global");
    assert!(i.actual.is_none());
    assert!(!r.runnable_on_plain_wasi);
}

#[test]
fn unknown_p1_name_is_flagged() {
    let r = report(
        r#"(module
             (import "wasi_snapshot_preview1" "not_a_function" (func))
             (import "wasi_snapshot_preview1" "fd_close" (func (param i32) (result i32))))"#,
    );
    assert_eq!(r.p1_unknown.len(), 1);
    assert_eq!(r.p1_unknown[0].module, "wasi_snapshot_preview1");
    assert_eq!(r.p1_unknown[0].name, "not_a_function");
    assert!(r.non_wasi.is_empty());
    assert_eq!(r.p1_imported.len(), 1);
    assert!(r.p1_imported[0].signature_ok);
    assert!(!r.runnable_on_plain_wasi);
}

#[test]
fn older_wasi_modules_count_as_non_wasi() {
    // wasi_unstable (preview 0) is not Preview 1 even though some runtimes
    // still ship it.
    let r = report(
        r#"(module (import "wasi_unstable" "fd_write" (func (param i32 i32 i32 i32) (result i32))))"#,
    );
    assert!(r.p1_imported.is_empty());
    assert_eq!(r.non_wasi[0].module, "wasi_unstable");
    assert!(!r.runnable_on_plain_wasi);
}

#[test]
fn empty_module_is_runnable_and_imports_nothing() {
    let r = report("(module)");
    assert!(r.runnable_on_plain_wasi);
    assert_eq!(r.p1_not_imported.len(), 46);
    assert!(!r.exports.has_start);
    assert!(r.exports.memories.is_empty());
}

#[test]
fn reactor_and_imported_memory() {
    let r = report(
        r#"(module
             (import "env" "memory" (memory 1 1 shared))
             (func (export "_initialize")))"#,
    );
    assert!(r.exports.has_initialize && !r.exports.has_start);
    assert_eq!(r.non_wasi[0].kind, "memory");
    assert!(!r.runnable_on_plain_wasi);
}

#[test]
fn start_export_that_is_not_a_function_does_not_count() {
    let r = report(r#"(module (global (export "_start") i32 (i32.const 0)))"#);
    assert!(!r.exports.has_start);
}

#[test]
fn corrupt_bytes_are_an_error_not_a_panic() {
    let cases: &[&[u8]] = &[
        b"",
        b"\0asm",
        b"not wasm at all",
        // Valid header, then a section claiming more bytes than exist.
        b"\0asm\x01\0\0\0\x02\xff\x01",
    ];
    for bytes in cases {
        let err = analyze(bytes).expect_err("corrupt input must be rejected");
        assert!(err.starts_with("invalid wasm module:"), "{err}");
        assert!(!err.contains('\n'), "one line: {err}");
    }
    // Structurally fine but invalid: a function body returning the wrong type.
    let bad = wat::parse_str(r#"(module (func (result i32) (i64.const 0)))"#).unwrap();
    let err = analyze(&bad).unwrap_err();
    assert!(err.contains("type mismatch"), "{err}");
}

#[test]
fn truncating_a_valid_module_anywhere_never_panics() {
    let wasm = wat::parse_str(THREE_OK_PLUS_ENV).unwrap();
    assert!(analyze(&wasm).is_ok());
    // A cut at a section boundary is a smaller valid module, so only the
    // absence of panics is universal; a cut inside a section must fail.
    let accepted = (0..wasm.len())
        .filter(|&len| analyze(&wasm[..len]).is_ok())
        .count();
    assert!(accepted < wasm.len() / 2, "{accepted} prefixes accepted");
    assert!(analyze(&wasm[..wasm.len() - 1]).is_err());
}

#[test]
fn component_is_rejected_with_a_clear_message() {
    // Component header: magic, version 0x0d, layer 1.
    let err = analyze(b"\0asm\x0d\0\x01\0").unwrap_err();
    assert!(err.contains("component"), "{err}");
}

#[test]
fn diff_reports_both_directions() {
    let a = report(
        r#"(module
             (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
             (import "wasi_snapshot_preview1" "fd_close" (func (param i32) (result i32)))
             (import "env" "old" (func)))"#,
    );
    let b = report(
        r#"(module
             (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
             (import "wasi_snapshot_preview1" "random_get" (func (param i32 i32) (result i32)))
             (import "wasi_snapshot_preview1" "clock_time_get" (func (param i32 i64 i32) (result i32)))
             (import "env" "new" (func)))"#,
    );
    let d = diff(&a, &b);
    assert_eq!(d.p1_added, ["clock_time_get", "random_get"]);
    assert_eq!(d.p1_removed, ["fd_close"]);
    assert_eq!(d.non_wasi_added, ["env.new"]);
    assert_eq!(d.non_wasi_removed, ["env.old"]);
    // Control: a module compared with itself has no differences.
    assert!(diff(&a, &a).is_empty());
    assert_eq!(diff(&b, &a).p1_added, ["fd_close"]);
}

#[test]
fn json_field_names_are_stable() {
    let r = report(THREE_OK_PLUS_ENV);
    let v = serde_json::to_value(&r).unwrap();
    let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "exports",
            "non_wasi",
            "p1_imported",
            "p1_not_imported",
            "p1_unknown",
            "runnable_on_plain_wasi"
        ]
    );
    let mut import_keys: Vec<&str> = v["p1_imported"][0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    import_keys.sort_unstable();
    assert_eq!(
        import_keys,
        ["actual", "expected", "kind", "name", "signature_ok"]
    );
    let exports = v["exports"].as_object().unwrap();
    assert!(exports.contains_key("has_start") && exports.contains_key("memories"));
    // Round-trips, so saved reports can be diffed later.
    let back: ImportReport = serde_json::from_value(v).unwrap();
    assert_eq!(back, r);
}

#[test]
fn render_text_mentions_everything_flagged() {
    let r = report(THREE_OK_PLUS_ENV);
    let text = render_text(&r);
    assert!(text.contains("runnable on plain WASI: no"), "{text}");
    assert!(text.contains("3/46"), "{text}");
    assert!(text.contains("env.foo (func)"), "{text}");
    assert!(text.contains("ok   fd_write"), "{text}");
}
