use super::*;
use serde_json::json;
use serde_json::Value;
use wasiprobe_model::report::{Cell, HostInfo, Report, Verdict};

fn report(cells: &[(&str, Verdict)]) -> Report {
    let mut r = Report {
        complete: true,
        finished_at: Some("t1".into()),
        results: cells
            .iter()
            .map(|(check, v)| {
                let problems = json!({ "problems": [format!("{check} went wrong")] });
                cell("zig-0.13", check, *v, problems)
            })
            .collect(),
        ..Report::begin("t0".into(), HostInfo::current(), json!({}))
    };
    r.summarize();
    r
}

/// A cell of probe `p` on wasmtime, in area `a`.
fn cell(sdk: &str, check: &str, verdict: Verdict, evidence: Value) -> Cell {
    Cell {
        sdk: sdk.into(),
        runtime: "wasmtime".into(),
        probe: "p".into(),
        check: check.into(),
        area: "a".into(),
        verdict,
        evidence,
        duration_ms: 1.0,
    }
}

/// A toolchain entry with nothing but its id and kind.
fn spec(id: &str, kind: wasiprobe_model::sdk::Kind) -> wasiprobe_model::sdk::SdkSpec {
    wasiprobe_model::sdk::SdkSpec {
        id: id.into(),
        kind,
        version: None,
        cpython: vec![],
        llvm: None,
        wasi_libc: None,
        url: None,
        sha256: None,
        packages: vec![],
        cc: None,
        sysroot: None,
        target: "wasm32-wasi".into(),
        cflags: vec![],
        suite: None,
        package: None,
        compiler: None,
        snapshot: None,
        provenance: None,
    }
}

/// The same checks on wasmtime and on a second runtime "other" with the given verdicts.
fn two_runtimes(here: &[(&str, Verdict)], there: &[(&str, Verdict)]) -> Report {
    let mut r = report(here);
    let mut other = report(there).results;
    for c in &mut other {
        c.runtime = "other".into();
    }
    r.results.extend(other);
    r
}

#[test]
fn compare_lists_each_behaviour_that_differs_with_both_reasons() {
    let r = two_runtimes(
        &[
            ("a", Verdict::Pass),
            ("b", Verdict::Pass),
            ("c", Verdict::Fail),
            ("d", Verdict::Pass),
        ],
        &[
            ("a", Verdict::Pass),
            ("b", Verdict::Trap),
            ("c", Verdict::Fail),
            ("d", Verdict::Skip),
        ],
    );
    let c = compare_runtimes(&r, "wasmtime").unwrap();
    assert_eq!(c.differences.len(), 1, "{c:?}");
    let d = &c.differences[0];
    assert_eq!((d.check.as_str(), d.verdict), ("b", Verdict::Trap));
    assert_eq!(d.why, "b went wrong");
    assert_eq!(
        c.agreement,
        vec![RuntimeAgreement {
            runtime: "other".into(),
            compared: 3,
            same: 2,
            not_run: 1
        }]
    );
    let md = comparison_markdown(&c);
    assert!(
        md.contains("| other | b | zig-0.13 | pass | trap |"),
        "{md}"
    );
}

#[test]
fn compare_with_identical_runtimes_finds_nothing_and_needs_a_known_reference() {
    let cells = [("a", Verdict::Pass), ("b", Verdict::Fail)];
    let r = two_runtimes(&cells, &cells);
    assert!(compare_runtimes(&r, "wasmtime")
        .unwrap()
        .differences
        .is_empty());
    // Comparing the other way round must agree.
    assert!(compare_runtimes(&r, "other")
        .unwrap()
        .differences
        .is_empty());
    let e = compare_runtimes(&r, "wasmer").unwrap_err();
    assert!(e.contains("other, wasmtime"), "{e}");
}

#[test]
fn diff_classifies_regressions_fixes_new_and_gone() {
    let old = report(&[
        ("a", Verdict::Pass),
        ("b", Verdict::Fail),
        ("c", Verdict::Pass),
        ("d", Verdict::Pass),
    ]);
    let new = report(&[
        ("a", Verdict::Timeout),
        ("b", Verdict::Pass),
        ("c", Verdict::Pass),
        ("e", Verdict::Pass),
    ]);
    let d = diff(&old, &new);
    let kinds: Vec<(Change, &str)> = d
        .cells
        .iter()
        .map(|c| (c.change.clone(), c.key.rsplit("::").next().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            (Change::Regression, "a"),
            (Change::Fixed, "b"),
            (Change::New, "e"),
            (Change::Gone, "d")
        ]
    );
    assert_eq!(d.regressions(), 1);
    assert_eq!(diff(&old, &old).cells.len(), 0);
    // Import sets of the same sdk × probe: what the new build adds and drops.
    let (mut old, mut new) = (old, new);
    let set = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
    old.imports
        .entry("zig-0.13".into())
        .or_default()
        .insert("p".into(), set(&["fd_write", "proc_exit"]));
    new.imports
        .entry("zig-0.13".into())
        .or_default()
        .insert("p".into(), set(&["fd_write", "random_get"]));
    let d = diff(&old, &new);
    assert_eq!(
        d.imports,
        vec![(
            "zig-0.13::p".to_string(),
            set(&["random_get"]),
            set(&["proc_exit"])
        )]
    );
}

#[test]
fn evidence_classifies_breaking_fixed_and_changed_facts() {
    use wasiprobe_model::sdk::{Identity, Kind, Provisioned, Status};
    let mut r = report(&[]);
    for id in ["old", "new"] {
        r.sdks.push(Provisioned {
            spec: spec(id, Kind::Zig),
            status: Status::Ready,
            reason: None,
            identity: Identity::default(),
            compiler: None,
        });
    }
    let with_facts = |sdk: &str, check: &str, v: Verdict, facts: Value| {
        cell(sdk, check, v, json!({ "facts": facts, "problems": ["x"] }))
    };
    r.results = vec![
        with_facts("old", "a", Verdict::Pass, json!({})),
        with_facts("new", "a", Verdict::Fail, json!({})),
        with_facts("old", "b", Verdict::Fail, json!({})),
        with_facts("new", "b", Verdict::Pass, json!({})),
        with_facts("old", "c", Verdict::Pass, json!({ "errno": 76 })),
        with_facts("new", "c", Verdict::Pass, json!({ "errno": 44 })),
        with_facts("old", "d", Verdict::Pass, json!({ "errno": 1 })),
        with_facts("new", "d", Verdict::Pass, json!({ "errno": 1 })),
    ];
    let e = evidence(&r, "old", "new").unwrap();
    let classes: Vec<(Class, &str)> = e
        .items
        .iter()
        .map(|i| (i.class.clone(), i.check.as_str()))
        .collect();
    assert_eq!(
        classes,
        vec![
            (Class::Breaking, "a"),
            (Class::Fixed, "b"),
            (Class::ChangedFact, "c"),
            (Class::NoChange, "d")
        ]
    );
    assert_eq!(e.breaking(), 1);
    assert!(
        evidence_markdown(&e).contains("errno: 76 → 44"),
        "{}",
        evidence_markdown(&e)
    );
    assert!(evidence(&r, "old", "nope")
        .unwrap_err()
        .contains("old, new"));
}

#[test]
fn junit_and_markdown_carry_every_cell() {
    let r = report(&[
        ("a", Verdict::Pass),
        ("b", Verdict::Fail),
        ("c", Verdict::Unavailable),
        ("d", Verdict::Oom),
    ]);
    let x = junit(&r);
    assert_eq!(x.matches("<testcase").count(), 4, "{x}");
    assert!(
        x.contains("<failure") && x.contains("<skipped") && x.contains("<error"),
        "{x}"
    );
    let md = markdown(&r);
    assert!(md.contains("b went wrong") && md.contains("oom"), "{md}");
}

mod python_evidence_pack {
    use super::*;
    use wasiprobe_model::python::{
        CaseOutcome, ModuleRun, PyProvisioned, PythonReport, PythonSource, PythonSpec, SourceBuild,
        TestCase,
    };

    fn py(tc: &str, cases: &[(&str, CaseOutcome)]) -> PythonReport {
        let spec = PythonSpec {
            id: format!("cpython-{tc}"),
            version: "3.13.5".into(),
            sdk: None,
            source: PythonSource::Build {
                source: "3.13.5".into(),
                toolchain: tc.into(),
            },
        };
        let mut p = PyProvisioned::new(&spec, "ready", None);
        p.build = Some(SourceBuild {
            source: "3.13.5".into(),
            source_sha256: "a".repeat(64),
            toolchain: tc.into(),
            toolchain_identity: String::new(),
            script: "Tools/wasm/wasi.py".into(),
            wasm_stack_bytes: 8 << 20,
            key: "k".into(),
            steps: vec![],
            ok: true,
            duration_ms: 1.0,
            cached: false,
            setup_local: vec![],
        });
        let run = ModuleRun {
            module: "test_os".into(),
            verdict: if cases.iter().any(|(_, o)| o.is_bad()) {
                Verdict::Fail
            } else {
                Verdict::Pass
            },
            ended: "exit 0".into(),
            module_skip: None,
            cases: cases
                .iter()
                .map(|(id, o)| TestCase {
                    id: format!("test.test_os.T.{id}"),
                    outcome: *o,
                    detail: None,
                })
                .collect(),
            duration_ms: 1.0,
            reproduce: "wasmtime run … test_os".into(),
            output_tail: String::new(),
        };
        PythonReport {
            provisioned: p,
            runtime_options: json!({}),
            census: None,
            footprint: None,
            census_runtimes: Default::default(),
            regrtest: [("wasmtime".to_string(), vec![run])].into(),
            browser: Default::default(),
        }
    }

    #[test]
    fn the_browser_startup_is_a_table_and_two_plots_with_both_payloads() {
        use wasiprobe_model::python::{BrowserStartup, StartupRun};
        let startup = |variant: &str, first: f64| BrowserStartup {
            runtime: "chromium".into(),
            variant: variant.into(),
            status: "measured".into(),
            reason: None,
            wasm_bytes: 29_000_000,
            wasm_gzip_bytes: 9_000_000,
            stdlib_files: 2000,
            stdlib_bytes: 48_000_000,
            stdlib_gzip_bytes: 12_000_000,
            runs: vec![StartupRun {
                script: "import json".into(),
                ok: true,
                termination: "Exited { code: 0 }".into(),
                phases: [("first_stdout_ms".to_string(), first)].into(),
                stderr_tail: String::new(),
            }],
        };
        let mut r = report(&[]);
        let mut p = py("deb-libc-sdk24", &[]);
        p.browser = vec![startup("full", 1234.0), startup("stripped", 987.0)];
        r.python.insert("cpython-a".into(), p);
        let md = crate::render::python_md(&r);
        assert!(
            md.contains("### cpython-a in the browser (py-browser)"),
            "{md}"
        );
        assert!(md.contains("| chromium | full | 29.0 / 9.0 | 2000 | 48.0 / 12.0 | 21.0 | `import json` | yes |"), "{md}");
        assert!(md.contains("| chromium | stripped |"), "{md}");
        let html = crate::dashboard_html(&r, &[]).unwrap();
        for kind in ["python-browser-bytes", "python-browser-startup"] {
            assert!(html.contains(kind), "no {kind} plot");
        }
        assert!(html.contains("stripped"));
    }

    #[test]
    fn each_test_case_is_classed_and_breaking_ones_carry_a_reproducer() {
        use CaseOutcome::*;
        let mut r = report(&[]);
        r.python.insert(
            "cpython-a".into(),
            py(
                "a",
                &[
                    ("t_same", Pass),
                    ("t_break", Pass),
                    ("t_fix", Fail),
                    ("t_skip", Pass),
                    ("t_hang", Pass),
                ],
            ),
        );
        r.python.insert(
            "cpython-b".into(),
            py(
                "b",
                &[
                    ("t_same", Pass),
                    ("t_break", Error),
                    ("t_fix", Pass),
                    ("t_skip", Skip),
                    ("t_hang", Hang),
                ],
            ),
        );
        let e = python_evidence(&r, "3.13", "a", "b").unwrap();
        let class_of = |t: &str| {
            e.items
                .iter()
                .find(|i| i.test.ends_with(t))
                .map(|i| i.class)
        };
        assert_eq!(class_of("t_same"), None);
        assert_eq!(class_of("t_break"), Some(PyClass::NewlyFails));
        assert_eq!(class_of("t_fix"), Some(PyClass::NewlyPasses));
        assert_eq!(class_of("t_skip"), Some(PyClass::NewlySkipped));
        assert_eq!(class_of("t_hang"), Some(PyClass::Hangs));
        assert_eq!(e.breaking(), 2);
        assert_eq!(e.compared["wasmtime"], 5);
        let broke = e
            .items
            .iter()
            .find(|i| i.test.ends_with("t_break"))
            .unwrap();
        assert!(
            broke.reproduce.ends_with("--match t_break"),
            "{}",
            broke.reproduce
        );
        let md = python_evidence_markdown(&e);
        assert!(md.contains("## Draft note for the lock change"), "{md}");
        assert!(md.contains("t_fix"), "{md}");
        // The same build on both sides is no change at all (the negative control of the diff).
        let same = python_evidence(&r, "3.13", "a", "a").unwrap();
        assert!(same.items.is_empty());
        // A branch or toolchain the report lacks is an error naming what it has.
        let err = python_evidence(&r, "3.14", "a", "b").unwrap_err();
        assert!(err.contains("3.13.5 × a"), "{err}");
    }
}

/// An absent toolchain is said once (why, and what would make it available), not as a row of
/// `unavailable` cells in every table; what ran keeps its rows.
#[test]
fn an_absent_sdk_is_said_once_and_kept_out_of_the_tables() {
    use wasiprobe_model::sdk::{Kind, Provisioned};
    let mut r = report(&[("a", Verdict::Pass), ("b", Verdict::Fail)]);
    r.sdks.push(Provisioned::unavailable(
        &spec("wasi-sdk-24", Kind::WasiSdk),
        "no official tarball here".into(),
    ));
    let absent: Vec<Cell> = (0..23)
        .map(|i| Cell {
            area: format!("area{}", i % 5),
            duration_ms: 0.0,
            ..cell(
                "wasi-sdk-24",
                &format!("c{i}"),
                Verdict::Unavailable,
                json!({ "reason": "no official tarball here" }),
            )
        })
        .collect();
    r.results.extend(absent);
    r.summarize();

    let t = crate::json::table(&r);
    assert_eq!(
        t.lines().filter(|l| l.contains("wasi-sdk-24")).count(),
        1,
        "{t}"
    );
    assert!(t.contains("sdk wasi-sdk-24 unavailable (23 cells not run): no official tarball here; to run it: give its directory with `--sdk-path wasi-sdk-24=DIR`"), "{t}");
    // What ran keeps its row and its failure note (the negative control: nothing else is hidden).
    assert!(t.contains("zig-0.13"), "{t}");
    assert!(t.contains("b went wrong"), "{t}");

    let md = markdown(&r);
    let grid = md.split("## Verdicts").nth(1).unwrap();
    assert!(!grid.contains("wasi-sdk-24"), "{md}");
    assert!(grid.contains("| zig-0.13 | wasmtime | a |"), "{md}");
    assert!(md.contains("- **wasi-sdk-24**: give its directory"), "{md}");
    // The report itself keeps every cell: nothing measured (or not) is dropped.
    assert_eq!(r.results.len(), 25);
}
