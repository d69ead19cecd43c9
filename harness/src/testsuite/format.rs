//! Reading a suite: the manifest, each test's JSON (legacy keys or operations).
//!
//! Follows WebAssembly/wasi-testsuite `test-runner/wasi_test_runner/test_case.py`
//! (`Config.from_file`, `Run`/`Wait`/`Read`/`Write`/`Connect`/`Send`/`Recv`/`Request`/`Kill`
//! `.from_config`, `TestCaseValidator`), `test-runner/wasi_test_runner/test_suite_runner.py`
//! (`_read_manifest`, `_read_test_config`) and `doc/specification.md`; `root` as in the current
//! tests (`tests/rust/wasm32-wasip1/src/bin/close_preopen.json`) and adapters (`adapters/jco.py`,
//! `adapters/zwasm.py`). See the module above for where this departs from them.

use super::*;
use anyhow::{Context, Result};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Reads a suite directory: manifest, tests, specifications. Malformed input is a usage error
/// naming the file (and for JSON, the line).
pub fn load_suite(dir: &Path) -> Result<Suite> {
    if !dir.is_dir() {
        return Err(usage(format!(
            "{}: no such test suite directory",
            dir.display()
        )));
    }
    let manifest = dir.join("manifest.json");
    if !manifest.is_file() {
        let below: Vec<String> = std::fs::read_dir(dir)
            .map(|rd| {
                let mut v: Vec<String> = rd
                    .flatten()
                    .filter(|e| e.path().join("manifest.json").is_file())
                    .map(|e| e.path().display().to_string())
                    .collect();
                v.sort();
                v
            })
            .unwrap_or_default();
        let hint = match below.is_empty() {
            true => String::new(),
            false => format!("; suites below it: {}", below.join(", ")),
        };
        return Err(usage(format!(
            "{}: not a test suite: it has no manifest.json{hint}",
            dir.display()
        )));
    }
    let v = read_json(&manifest)?;
    let obj = v.as_object().ok_or_else(|| {
        usage(format!(
            "{}: the manifest must be a JSON object",
            manifest.display()
        ))
    })?;
    // The directory name gives the version when it is one (`wasm32-wasip1/`), as in the
    // reference; the manifest's `version` overrides it.
    let mut wasi_version = dir
        .file_name()
        .and_then(|n| n.to_str())
        .filter(|n| WASI_VERSIONS.contains(n))
        .unwrap_or(PREVIEW1)
        .to_string();
    let mut name = None;
    for (k, val) in obj {
        match k.as_str() {
            "name" => {
                name = Some(val.as_str().map(str::to_owned).ok_or_else(|| {
                    usage(format!(
                        "{}: field `name` must be a string",
                        manifest.display()
                    ))
                })?)
            }
            "version" => match val.as_str() {
                Some(s) if WASI_VERSIONS.contains(&s) => wasi_version = s.to_string(),
                _ => {
                    return Err(usage(format!(
                        "{}: field `version` must be one of {}, got {val}",
                        manifest.display(),
                        WASI_VERSIONS.join(", ")
                    )))
                }
            },
            other => {
                return Err(usage(format!(
                    "{}: unexpected manifest field `{other}` (the reference runner rejects it too)",
                    manifest.display()
                )))
            }
        }
    }
    let name =
        name.ok_or_else(|| usage(format!("{}: missing field `name`", manifest.display())))?;
    let mut wasms: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("listing {}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "wasm") && p.is_file())
        .collect();
    wasms.sort();
    let mut tests = Vec::new();
    for wasm in wasms {
        let test = wasm
            .file_stem()
            .and_then(|s| s.to_str())
            .ok_or_else(|| usage(format!("{}: test name is not UTF-8", wasm.display())))?
            .to_string();
        let json = wasm.with_extension("json");
        let plan = if json.is_file() {
            parse_spec(&json, &read_json(&json)?)?
        } else {
            // The reference's default specification: run, then wait for exit code 0.
            Plan::Run(RunPlan {
                ops: vec![Op::Wait(0)],
                ..RunPlan::default()
            })
        };
        tests.push(TestCase {
            name: test,
            wasm,
            plan,
        });
    }
    Ok(Suite {
        dir: dir.to_owned(),
        name,
        wasi_version,
        tests,
    })
}

pub(crate) struct SpecErr<'a>(&'a Path);

impl SpecErr<'_> {
    fn field(&self, field: &str, want: &str) -> anyhow::Error {
        usage(format!(
            "{}: field `{field}` must be {want}",
            self.0.display()
        ))
    }
}

pub(crate) fn strings(v: &Value, field: &str, e: &SpecErr) -> Result<Vec<String>> {
    v.as_array()
        .and_then(|a| {
            a.iter()
                .map(|x| x.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
        })
        .ok_or_else(|| e.field(field, "a list of strings"))
}

pub(crate) fn env_map(v: &Value, field: &str, e: &SpecErr) -> Result<Vec<(String, String)>> {
    v.as_object()
        .and_then(|o| {
            o.iter()
                .map(|(k, x)| x.as_str().map(|s| (k.clone(), s.to_owned())))
                .collect::<Option<Vec<_>>>()
        })
        .ok_or_else(|| e.field(field, "a map of strings to strings"))
}

pub(crate) fn dirs(v: &Value, field: &str, e: &SpecErr) -> Result<Vec<String>> {
    let d = strings(v, field, e)?;
    for x in &d {
        // The reference joins them to the test's directory; an absolute path or `..` would
        // hand the guest a copy of an arbitrary host directory.
        let p = Path::new(x);
        if x.is_empty()
            || p.is_absolute()
            || p.components()
                .any(|c| !matches!(c, std::path::Component::Normal(_)))
        {
            return Err(usage(format!(
                "{}: field `{field}`: {x:?} must be a relative path inside the suite (no `..`)",
                e.0.display()
            )));
        }
    }
    Ok(d)
}

pub(crate) fn exit_code(v: &Value, field: &str, e: &SpecErr) -> Result<i64> {
    v.as_i64().ok_or_else(|| e.field(field, "an integer"))
}

pub(crate) fn string(v: &Value, field: &str, e: &SpecErr) -> Result<String> {
    v.as_str()
        .map(str::to_owned)
        .ok_or_else(|| e.field(field, "a string"))
}

/// A relative path inside the suite (`root`): the reference joins it to the test's directory,
/// and an absolute path or `..` would hand the guest a copy of an arbitrary host directory.
pub(crate) fn inside(v: &Value, field: &str, e: &SpecErr) -> Result<String> {
    let x = string(v, field, e)?;
    let p = Path::new(&x);
    if x.is_empty()
        || p.is_absolute()
        || p.components().any(|c| {
            !matches!(
                c,
                std::path::Component::Normal(_) | std::path::Component::CurDir
            )
        })
    {
        return Err(usage(format!(
            "{}: field `{field}`: {x:?} must be a relative path inside the suite (no `..`)",
            e.0.display()
        )));
    }
    Ok(x)
}

/// Warns about the keys of `obj` that are not in `known`, naming each one; `what` says where.
fn warn_unknown(path: &Path, what: &str, obj: &serde_json::Map<String, Value>, known: &[&str]) {
    for k in obj.keys().filter(|k| !known.contains(&k.as_str())) {
        tracing::warn!(
            "{}: {what}unknown key `{k}` ignored (known: {})",
            path.display(),
            known.join(", ")
        );
    }
}

/// Turns one test's JSON into a plan (`Config.from_file` in the reference).
pub fn parse_spec(path: &Path, v: &Value) -> Result<Plan> {
    let e = SpecErr(path);
    let obj = v.as_object().ok_or_else(|| {
        usage(format!(
            "{}: a test specification must be a JSON object",
            path.display()
        ))
    })?;
    let has = |keys: &[&str]| obj.keys().any(|k| keys.contains(&k.as_str()));
    if has(OPERATION_KEYS) && has(LEGACY_KEYS) {
        return Err(usage(format!(
            "{}: cannot mix the legacy keys ({}) with the operation-based keys ({})",
            path.display(),
            LEGACY_KEYS.join(", "),
            OPERATION_KEYS.join(", ")
        )));
    }
    if has(OPERATION_KEYS) {
        warn_unknown(path, "", obj, OPERATION_KEYS);
        return parse_operations(path, obj, &e);
    }
    warn_unknown(path, "", obj, LEGACY_KEYS);
    // The reference turns the legacy keys into run, read stdout, read stderr, wait.
    let mut p = RunPlan::default();
    let get = |k: &str| obj.get(k).filter(|x| !x.is_null());
    run_fields(&mut p, &|k| get(k), "", &e)?;
    if let Some(x) = get("stdout") {
        p.ops
            .push(Op::Read(StreamId::Stdout, string(x, "stdout", &e)?));
    }
    if let Some(x) = get("stderr") {
        p.ops
            .push(Op::Read(StreamId::Stderr, string(x, "stderr", &e)?));
    }
    let code = match get("exit_code") {
        Some(x) => exit_code(x, "exit_code", &e)?,
        None => 0,
    };
    p.ops.push(Op::Wait(code));
    Ok(Plan::Run(p))
}

/// The fields a legacy spec and a `run` operation share: `args`, `env`, `root`, `dirs`.
fn run_fields<'v>(
    p: &mut RunPlan,
    get: &dyn Fn(&str) -> Option<&'v Value>,
    prefix: &str,
    e: &SpecErr,
) -> Result<()> {
    let f = |k: &str| format!("{prefix}{k}");
    if let Some(x) = get("args") {
        p.args = strings(x, &f("args"), e)?;
    }
    if let Some(x) = get("env") {
        p.env = env_map(x, &f("env"), e)?;
    }
    if let Some(x) = get("root") {
        p.root = Some(inside(x, &f("root"), e)?);
    }
    if let Some(x) = get("dirs") {
        p.dirs = dirs(x, &f("dirs"), e)?;
    }
    Ok(())
}

/// Signal names the reference accepts for `kill` (Python's `signal.Signals` members; the
/// catchable POSIX ones are enough for a test to name).
pub(crate) fn signal_number(name: &str) -> Option<i32> {
    Some(match name {
        "SIGHUP" => libc::SIGHUP,
        "SIGINT" => libc::SIGINT,
        "SIGQUIT" => libc::SIGQUIT,
        "SIGKILL" => libc::SIGKILL,
        "SIGUSR1" => libc::SIGUSR1,
        "SIGUSR2" => libc::SIGUSR2,
        "SIGPIPE" => libc::SIGPIPE,
        "SIGALRM" => libc::SIGALRM,
        "SIGTERM" => libc::SIGTERM,
        _ => return None,
    })
}

pub(crate) fn parse_operations(
    path: &Path,
    obj: &serde_json::Map<String, Value>,
    e: &SpecErr,
) -> Result<Plan> {
    let mut plan = RunPlan::default();
    if let Some(w) = obj.get("world").filter(|x| !x.is_null()) {
        plan.world = string(w, "world", e)?;
        if !WORLDS.contains(&plan.world.as_str()) {
            return Err(usage(format!(
                "{}: field `world`: unknown WASI world {:?} (known: {})",
                path.display(),
                plan.world,
                WORLDS.join(", ")
            )));
        }
    }
    if let Some(p) = obj.get("proposals").filter(|x| !x.is_null()) {
        plan.proposals = strings(p, "proposals", e)?;
        if let Some(bad) = plan
            .proposals
            .iter()
            .find(|p| !PROPOSALS.contains(&p.as_str()))
        {
            return Err(usage(format!(
                "{}: field `proposals`: unknown proposal {bad:?} (known: {})",
                path.display(),
                PROPOSALS.join(", ")
            )));
        }
    }
    let mut unsupported: Option<String> = None;
    if let Some(s) = obj.get("servers").filter(|x| !x.is_null()) {
        let none = s.as_array().is_some_and(|a| a.is_empty())
            || s.as_object().is_some_and(|o| o.is_empty());
        if !none {
            unsupported = Some("needs helper servers (`servers`); not supported here".into());
        }
    }
    let ops: Vec<&Value> = match obj.get("operations") {
        None | Some(Value::Null) => vec![],
        Some(Value::Array(a)) => a.iter().collect(),
        Some(_) => return Err(e.field("operations", "a list of operations")),
    };
    // The reference's `TestCaseValidator`: run, then reads/writes/..., then wait; every run
    // has its wait; connection ids are unique and defined before use.
    let mut running = false;
    let mut runs = 0;
    let mut conns: Vec<String> = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        let field = format!("operations[{i}]");
        let o = op
            .as_object()
            .ok_or_else(|| e.field(&field, "an object with a `type`"))?;
        let ty = o.get("type").and_then(Value::as_str).unwrap_or("");
        let f = |k: &str| format!("{field}.{k}");
        let get = |k: &str| o.get(k).filter(|x| !x.is_null());
        let known: &[&str] = match ty {
            "run" => &["type", "args", "env", "root", "dirs"],
            "wait" => &["type", "exit_code"],
            "read" | "write" | "send" | "recv" => &["type", "id", "payload"],
            "connect" => &["type", "id", "protocol_type"],
            "request" => &["type", "method", "path", "response"],
            "kill" => &["type", "signal"],
            other => {
                return Err(usage(format!(
                    "{}: {field}: unsupported operation type {other:?} (known: run, wait, read, \
                     write, connect, send, recv, request, kill)",
                    path.display()
                )))
            }
        };
        warn_unknown(path, &format!("{field} (`{ty}`): "), o, known);
        let need_run = |running: bool| -> Result<()> {
            match running {
                true => Ok(()),
                false => Err(usage(format!(
                    "{}: {field} (`{ty}`) comes before a `run` or after its `wait`",
                    path.display()
                ))),
            }
        };
        let payload = || -> Result<String> {
            get("payload")
                .map(|x| string(x, &f("payload"), e))
                .transpose()
                .map(Option::unwrap_or_default)
        };
        let conn_id = |conns: &[String]| -> Result<String> {
            let id = get("id")
                .map(|x| string(x, &f("id"), e))
                .transpose()?
                .ok_or_else(|| e.field(&f("id"), "given (a connection id)"))?;
            match conns.contains(&id) {
                true => Ok(id),
                false => Err(usage(format!(
                    "{}: {field}: connection {id:?} has no `connect` before it",
                    path.display()
                ))),
            }
        };
        match ty {
            "run" => {
                if running {
                    return Err(usage(format!(
                        "{}: {field}: `run` while a process is still running (no `wait`)",
                        path.display()
                    )));
                }
                running = true;
                runs += 1;
                run_fields(&mut plan, &|k| get(k), &format!("{field}."), e)?;
            }
            "wait" => {
                need_run(running)?;
                running = false;
                plan.ops.push(Op::Wait(match get("exit_code") {
                    Some(x) => exit_code(x, &f("exit_code"), e)?,
                    None => 0,
                }));
            }
            "read" => {
                need_run(running)?;
                let id = match get("id") {
                    Some(x) => string(x, &f("id"), e)?,
                    None => "stdout".into(),
                };
                let stream = match id.as_str() {
                    "stdout" => StreamId::Stdout,
                    "stderr" => StreamId::Stderr,
                    _ => return Err(e.field(&f("id"), "\"stdout\" or \"stderr\"")),
                };
                plan.ops.push(Op::Read(stream, payload()?));
            }
            "write" => {
                need_run(running)?;
                match get("id").map(|x| string(x, &f("id"), e)).transpose()? {
                    Some(id) if id == "stdin" => {}
                    _ => return Err(e.field(&f("id"), "\"stdin\" (the only writable stream)")),
                }
                plan.ops.push(Op::Write(payload()?));
            }
            "kill" => {
                need_run(running)?;
                let name = match get("signal") {
                    Some(x) => string(x, &f("signal"), e)?,
                    None => "SIGTERM".into(),
                };
                let number = signal_number(&name).ok_or_else(|| {
                    usage(format!(
                        "{}: {}: unknown signal name {name:?}",
                        path.display(),
                        f("signal")
                    ))
                })?;
                plan.ops.push(Op::Kill { name, number });
            }
            "connect" => {
                need_run(running)?;
                let id = match get("id") {
                    Some(x) => string(x, &f("id"), e)?,
                    None => "server".into(),
                };
                if conns.contains(&id) {
                    return Err(usage(format!(
                        "{}: {field}: connection id {id:?} is used twice",
                        path.display()
                    )));
                }
                let proto = match get("protocol_type") {
                    Some(x) => string(x, &f("protocol_type"), e)?,
                    None => "tcp".into(),
                };
                if !["tcp", "udp", "http"].contains(&proto.as_str()) {
                    return Err(e.field(&f("protocol_type"), "\"tcp\", \"udp\" or \"http\""));
                }
                if proto != "tcp" {
                    unsupported.get_or_insert_with(|| {
                        format!("`connect` over {proto}: the reference runner implements tcp only")
                    });
                }
                conns.push(id.clone());
                plan.ops.push(Op::Connect(id));
            }
            "send" => {
                need_run(running)?;
                let id = conn_id(&conns)?;
                plan.ops.push(Op::Send(id, payload()?));
            }
            "recv" => {
                need_run(running)?;
                let id = conn_id(&conns)?;
                plan.ops.push(Op::Recv(id, payload()?));
            }
            "request" => {
                need_run(running)?;
                unsupported.get_or_insert_with(|| {
                    "operation `request` (HTTP to a wasi:http/service) is not supported here".into()
                });
            }
            _ => unreachable!("refused above"),
        }
    }
    if running {
        return Err(usage(format!(
            "{}: a `run` operation has no `wait`",
            path.display()
        )));
    }
    // An empty list runs nothing and so passes, in the reference too (`Config.from_file` keeps
    // the empty list; only a test without JSON gets the default run and wait).
    plan.no_run = runs == 0;
    if runs > 1 {
        unsupported
            .get_or_insert_with(|| "more than one `run` operation; not supported here".into());
    }
    Ok(match unsupported {
        Some(why) => Plan::Unsupported(why),
        None => Plan::Run(plan),
    })
}
