//! Reading a suite: the manifest, each test's JSON (legacy keys or operations).

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
            Plan::Run(RunPlan::default())
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
    let operation_style = obj.get("operations").is_some_and(|x| !x.is_null())
        || obj.get("proposals").is_some_and(|x| !x.is_null());
    if has(OPERATION_KEYS) && has(LEGACY_KEYS) {
        return Err(usage(format!(
            "{}: cannot mix the legacy keys ({}) with the operation-based keys ({})",
            path.display(),
            LEGACY_KEYS.join(", "),
            OPERATION_KEYS.join(", ")
        )));
    }
    let known = if operation_style {
        OPERATION_KEYS
    } else {
        LEGACY_KEYS
    };
    for k in obj.keys().filter(|k| !known.contains(&k.as_str())) {
        tracing::warn!(
            "{}: unknown field `{k}` ignored (the reference runner ignores it with a warning too)",
            path.display()
        );
    }
    if !operation_style {
        let mut p = RunPlan::default();
        let get = |k: &str| obj.get(k).filter(|x| !x.is_null());
        if let Some(x) = get("args") {
            p.args = strings(x, "args", &e)?;
        }
        if let Some(x) = get("env") {
            p.env = env_map(x, "env", &e)?;
        }
        if let Some(x) = get("dirs") {
            p.dirs = dirs(x, "dirs", &e)?;
        }
        if let Some(x) = get("stdout") {
            p.reads.push((StreamId::Stdout, string(x, "stdout", &e)?));
        }
        if let Some(x) = get("stderr") {
            p.reads.push((StreamId::Stderr, string(x, "stderr", &e)?));
        }
        if let Some(x) = get("exit_code") {
            p.exit_code = exit_code(x, "exit_code", &e)?;
        }
        return Ok(Plan::Run(p));
    }
    parse_operations(path, obj, &e)
}

pub(crate) fn parse_operations(
    path: &Path,
    obj: &serde_json::Map<String, Value>,
    e: &SpecErr,
) -> Result<Plan> {
    let world = match obj.get("world") {
        None | Some(Value::Null) => CLI_WORLD.to_string(),
        Some(w) => string(w, "world", e)?,
    };
    let proposals = match obj.get("proposals") {
        None | Some(Value::Null) => vec![],
        Some(p) => strings(p, "proposals", e)?,
    };
    let ops: Vec<&Value> = match obj.get("operations") {
        None | Some(Value::Null) => vec![],
        Some(Value::Array(a)) => a.iter().collect(),
        Some(_) => return Err(e.field("operations", "a list of operations")),
    };
    let mut plan = RunPlan::default();
    let mut unsupported: Option<String> = None;
    // The reference's `TestCaseValidator`: run, then reads/writes, then wait; every run has
    // its wait.
    let mut running = false;
    let mut runs = 0;
    for (i, op) in ops.iter().enumerate() {
        let field = format!("operations[{i}]");
        let o = op
            .as_object()
            .ok_or_else(|| e.field(&field, "an object with a `type`"))?;
        let ty = o.get("type").and_then(Value::as_str).unwrap_or("");
        let f = |k: &str| format!("{field}.{k}");
        let get = |k: &str| o.get(k).filter(|x| !x.is_null());
        let need_run = |running: bool| -> Result<()> {
            match running {
                true => Ok(()),
                false => Err(usage(format!(
                    "{}: {field} (`{ty}`) comes before a `run` or after its `wait`",
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
                if let Some(x) = get("args") {
                    plan.args = strings(x, &f("args"), e)?;
                }
                if let Some(x) = get("env") {
                    plan.env = env_map(x, &f("env"), e)?;
                }
                if let Some(x) = get("dirs") {
                    plan.dirs = dirs(x, &f("dirs"), e)?;
                }
            }
            "wait" => {
                need_run(running)?;
                running = false;
                plan.exit_code = match get("exit_code") {
                    Some(x) => exit_code(x, &f("exit_code"), e)?,
                    None => 0,
                };
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
                let payload = match get("payload") {
                    Some(x) => string(x, &f("payload"), e)?,
                    None => String::new(),
                };
                plan.reads.push((stream, payload));
            }
            "write" => {
                need_run(running)?;
                match get("id").map(|x| string(x, &f("id"), e)).transpose()? {
                    Some(id) if id == "stdin" => {}
                    _ => return Err(e.field(&f("id"), "\"stdin\" (the only writable stream)")),
                }
                if let Some(x) = get("payload") {
                    plan.stdin
                        .extend_from_slice(string(x, &f("payload"), e)?.as_bytes());
                }
            }
            "connect" | "send" | "recv" | "request" | "kill" => {
                need_run(running)?;
                unsupported.get_or_insert_with(|| {
                    format!(
                        "operation `{ty}` needs a live process and networking; not supported here"
                    )
                });
            }
            other => {
                return Err(usage(format!(
                    "{}: {field}: unsupported operation type {other:?}",
                    path.display()
                )))
            }
        }
    }
    if running {
        return Err(usage(format!(
            "{}: a `run` operation has no `wait`",
            path.display()
        )));
    }
    // An empty list is the reference's default too: run, then wait for exit code 0.
    if runs > 1 {
        unsupported
            .get_or_insert_with(|| "more than one `run` operation; not supported here".into());
    }
    if let Some(p) = proposals.first() {
        unsupported.get_or_insert_with(|| {
            format!("needs the WASI proposal `{p}`; Preview 1 runtimes have none")
        });
    }
    if world != CLI_WORLD {
        unsupported.get_or_insert_with(|| format!("world `{world}` is not {CLI_WORLD}"));
    }
    Ok(match unsupported {
        Some(why) => Plan::Unsupported(why),
        None => Plan::Run(plan),
    })
}
