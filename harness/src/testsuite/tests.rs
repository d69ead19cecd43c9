use super::*;
use std::time::Duration;
use wasiprobe_runtimes::{Outcome, Termination};

fn spec(json: &str) -> Result<Plan> {
    parse_spec(Path::new("t.json"), &serde_json::from_str(json).unwrap())
}

fn outcome(code: i32, out: &str, err: &str) -> Outcome {
    Outcome {
        termination: Termination::Exited { code },
        stdout: out.as_bytes().to_vec(),
        stderr: err.as_bytes().to_vec(),
        duration: Duration::ZERO,
        host_calls: Default::default(),
    }
}

fn plan(json: &str) -> RunPlan {
    match spec(json).unwrap() {
        Plan::Run(p) => p,
        Plan::Unsupported(w) => panic!("unsupported: {w}"),
    }
}

#[test]
fn legacy_spec_becomes_reads_and_exit_code() {
    let p = plan(
        r#"{"args":["a"],"env":{"K":"v"},"dirs":["d.dir"],"stdout":"x","stderr":"y","exit_code":3}"#,
    );
    assert_eq!(p.args, ["a"]);
    assert_eq!(p.env, [("K".to_string(), "v".to_string())]);
    assert_eq!(p.dirs, ["d.dir"]);
    assert_eq!(
        p.ops,
        [
            Op::Read(StreamId::Stdout, "x".into()),
            Op::Read(StreamId::Stderr, "y".into()),
            Op::Wait(3)
        ]
    );
    assert_eq!(
        plan("{}"),
        RunPlan {
            ops: vec![Op::Wait(0)],
            ..RunPlan::default()
        }
    );
    // `root` is a key of the current format, relative to the test's directory.
    let p = plan(r#"{"root":"fs-tests.dir","args":[]}"#);
    assert_eq!(p.root.as_deref(), Some("fs-tests.dir"));
    let e = spec(r#"{"root":"/etc"}"#).unwrap_err().to_string();
    assert!(e.contains("`root`"), "{e}");
}

#[test]
fn output_is_a_prefix_unless_exact() {
    let p = plan(r#"{"stdout":"hello"}"#);
    let l = Limits::default();
    assert!(judge(&p, &outcome(0, "hello world\n", ""), &l, false).is_empty());
    let d = judge(&p, &outcome(0, "hello world\n", ""), &l, true);
    assert!(
        matches!(
            &d[..],
            [Difference::Output {
                mode: "exact",
                offset: 5,
                ..
            }]
        ),
        "{d:?}"
    );
    // Negative controls: a different or a shorter output, a wrong exit code.
    let d = judge(&p, &outcome(0, "help", ""), &l, false);
    assert!(
        matches!(&d[..], [Difference::Output { offset: 3, .. }]),
        "{d:?}"
    );
    let d = judge(&p, &outcome(1, "hello", ""), &l, false);
    assert_eq!(
        d,
        [Difference::ExitCode {
            expected: 0,
            got: 1
        }]
    );
    // Unchecked stream: anything goes.
    assert!(judge(&plan("{}"), &outcome(0, "x", "y"), &l, true).is_empty());
}

#[test]
fn newlines_are_read_as_python_text_mode_reads_them() {
    let p = plan(r#"{"stdout":"a\nb\nc\n"}"#);
    assert!(judge(&p, &outcome(0, "a\r\nb\rc\n", ""), &Limits::default(), true).is_empty());
}

#[test]
fn consecutive_reads_continue_where_the_last_stopped() {
    let p = plan(
        r#"{"operations":[{"type":"run"},{"type":"read","payload":"ab"},{"type":"read","payload":"cd"},{"type":"wait"}]}"#,
    );
    let l = Limits::default();
    assert!(judge(&p, &outcome(0, "abcd", ""), &l, true).is_empty());
    let d = judge(&p, &outcome(0, "abce", ""), &l, false);
    assert!(
        matches!(&d[..], [Difference::Output { offset: 3, .. }]),
        "{d:?}"
    );
}

#[test]
fn operation_specs_are_validated_or_skipped() {
    let p = plan(
        r#"{"operations":[{"type":"run","root":"r.dir"},{"type":"write","id":"stdin","payload":"a"},
            {"type":"kill","signal":"SIGINT"},{"type":"wait","exit_code":-2}]}"#,
    );
    assert_eq!(p.root.as_deref(), Some("r.dir"));
    assert_eq!(p.kill(), Some(libc::SIGINT));
    assert_eq!(p.ops[0], Op::Write("a".into()));
    let p = plan(
        r#"{"operations":[{"type":"run"},{"type":"connect"},{"type":"send","id":"server","payload":"x"},{"type":"wait"}]}"#,
    );
    assert!(p.uses_network());
    let p = plan(r#"{"proposals":["http"],"operations":[{"type":"run"},{"type":"wait"}]}"#);
    assert_eq!(p.proposals, ["http"]);
    assert!(matches!(
        spec(r#"{"world":"wasi:http/service","operations":[{"type":"run"},{"type":"request"},{"type":"wait"}]}"#).unwrap(),
        Plan::Unsupported(w) if w.contains("request")
    ));
    // An empty list runs nothing, as in the reference.
    assert!(plan(r#"{"operations":[]}"#).no_run);
    for bad in [
        r#"{"operations":[{"type":"run"}]}"#,
        r#"{"operations":[{"type":"read"}]}"#,
        r#"{"operations":[{"type":"fly"}]}"#,
        r#"{"operations":[],"stdout":"x"}"#,
        r#"{"args":"not a list"}"#,
        r#"{"dirs":["../escape"]}"#,
        r#"{"exit_code":"zero"}"#,
        r#"{"operations":[{"type":"run"},{"type":"kill","signal":"SIGNOPE"},{"type":"wait"}]}"#,
        r#"{"operations":[{"type":"run"},{"type":"send","id":"nobody"},{"type":"wait"}]}"#,
        r#"{"world":"wasi:nope","operations":[]}"#,
        r#"{"proposals":["teleport"],"operations":[]}"#,
    ] {
        let e = spec(bad).unwrap_err().to_string();
        assert!(e.contains("t.json"), "{bad}: {e}");
    }
}

#[test]
fn a_kill_without_a_live_process_ends_as_minus_the_signal() {
    let p = plan(
        r#"{"operations":[{"type":"run"},{"type":"read","payload":"ready\n"},{"type":"kill"},{"type":"wait","exit_code":-15}]}"#,
    );
    let l = Limits::default();
    let still_running = Outcome {
        termination: Termination::Timeout,
        ..outcome(0, "ready\n", "")
    };
    assert!(judge(&p, &still_running, &l, false).is_empty());
    // Negative control: a guest that exited by itself before the kill has its own code.
    let d = judge(&p, &outcome(0, "ready\n", ""), &l, false);
    assert_eq!(
        d,
        [Difference::ExitCode {
            expected: -15,
            got: 0
        }]
    );
}

#[test]
fn expectation_errors_name_line_and_field() {
    let p = Path::new("x.toml");
    for (text, at, field) in [
        (
            "version = 1\n[[suite]]\nname = \"s\"\n[[suite.test]]\nname = \"t\"\naction = \"skipp\"\n",
            "x.toml:6:",
            "action",
        ),
        ("version = 2\n", "x.toml:1:", "version"),
        (
            "[[suite]]\nname = \"s\"\n[[suite.test]]\nname = \"t\"\n",
            "x.toml:4:",
            "action",
        ),
        ("[[suite]]\nnom = \"s\"\n", "x.toml:", "name"),
    ] {
        let e = Expectations::parse(text, p).unwrap_err().to_string();
        assert!(e.starts_with(at) && e.contains(field), "{text:?}: {e}");
    }
    let x = Expectations::parse(
        "[[suite]]\nname = \"s\"\n[[suite.test]]\nname = \"t\"\nexpected = \"fail\"\n",
        p,
    )
    .unwrap();
    assert!(x.get("s", "t").expected_fail && !x.get("s", "t").skip);
    assert_eq!(x.get("s", "other"), Expectation::default());
}
