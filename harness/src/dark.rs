//! The "dark features" census: what happens, per SDK × runtime, when a program uses what WASI
//! Preview 1 does not really have — sockets, threads, signals, mmap, getpid, clock(), dlopen,
//! fork/exec/system, setjmp/longjmp. Each feature is a small program in `probes/dark/`; it is
//! compiled, linked (first plainly, then with the emulation flags its header names) and, when it
//! links, run. Every stage's outcome is recorded, not judged: this table is a map of the
//! platform's edges, and a change in it between SDKs is what a maintainer looks for.

pub use wasiprobe_model::dark::{short, Census};

use crate::build::Probe;
use crate::case::run_case;
use crate::plan::RunOptions;
use crate::provision::Provisioned;
use anyhow::Result;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;
use wasiprobe_runtimes::{Runtime, Termination};
use wasiprobe_util::command_output;

/// The emulation flags a feature may need, from its `/* emulation: ... */` line.
fn emulation_flags(source: &str) -> Vec<String> {
    crate::build::directive(source, "emulation")
}

pub fn features(root: &Path) -> Result<Vec<Probe>> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(root.join("probes/dark"))? {
        let p = e?.path();
        if p.extension().is_some_and(|x| x == "c") {
            v.push(Probe {
                name: p.file_stem().unwrap().to_string_lossy().into_owned(),
                source: p,
                requires: vec![],
                flags: vec![],
            });
        }
    }
    v.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(v)
}

fn tail(s: &[u8]) -> String {
    let s = String::from_utf8_lossy(s);
    let lines: Vec<&str> = s.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(4)..].join("\n")
}

/// Compiles (`-c`) then links, so a missing declaration and a missing symbol read differently.
fn build(
    sdk: &Provisioned,
    f: &Probe,
    flags: &[String],
    out: &Path,
) -> Result<Result<(), (String, String)>> {
    let c = sdk
        .compiler
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("{} has no compiler", sdk.spec.id))?;
    let include = f.source.parent().unwrap().join("../c");
    let (defines, libs) = crate::build::split_flags(flags);
    let obj = out.with_extension("o");
    let mut cc = c.command();
    cc.args(crate::build::CFLAGS)
        .args(&defines)
        .arg("-I")
        .arg(&include)
        .arg("-c")
        .arg(&f.source)
        .arg("-o")
        .arg(&obj);
    let o = command_output(cc, Duration::from_secs(120))?;
    if !o.status.success() {
        return Ok(Err(("compile-error".into(), tail(&o.stderr))));
    }
    let mut ld = c.command();
    ld.args(&defines).arg(&obj).args(&libs).arg("-o").arg(out);
    let o = command_output(ld, Duration::from_secs(120))?;
    if !o.status.success() {
        return Ok(Err(("link-error".into(), tail(&o.stderr))));
    }
    Ok(Ok(()))
}

/// The census of every feature on one ready SDK, run on every given runtime.
pub fn census(
    root: &Path,
    sdk: &Provisioned,
    runtimes: &[&dyn Runtime],
    opts: &RunOptions,
) -> Result<BTreeMap<String, Census>> {
    let dir = wasiprobe_util::scratch::dir("dark", None)?;
    let mut out = BTreeMap::new();
    for f in features(root)? {
        let text = std::fs::read_to_string(&f.source)?;
        let wasm: PathBuf = dir.path().join(format!("{}.wasm", f.name));
        let mut result = build(sdk, &f, &[], &wasm)?;
        let mut flags = vec![];
        let emulation = emulation_flags(&text);
        if result.is_err() && !emulation.is_empty() {
            // The attempt with the flags is the one reported: it is the one a user would try.
            result = build(sdk, &f, &emulation, &wasm)?;
            flags = emulation;
        }
        let mut c = Census {
            stage: "links".into(),
            flags,
            message: None,
            runs: BTreeMap::new(),
        };
        match result {
            Err((stage, msg)) => {
                c.stage = stage;
                // Reports travel (baselines are committed): no path of this machine in them.
                let msg = msg
                    .replace(&dir.path().display().to_string(), "$TMP")
                    .replace(
                        &opts.provision.cache.display().to_string(),
                        "$WASIPROBE_CACHE",
                    );
                c.message = Some(msg);
            }
            Ok(()) => {
                for rt in runtimes {
                    let case = crate::checks::Case {
                        args: vec![f.name.clone()],
                        ..Default::default()
                    };
                    let v = match run_case(*rt, &wasm, &case, opts) {
                        Ok(rec) => describe(&rec.outcome.termination, &rec.outcome.stdout),
                        Err(e) => serde_json::json!({ "error": format!("{e:#}") }),
                    };
                    c.runs.insert(rt.name().to_string(), v);
                }
            }
        }
        out.insert(f.name, c);
    }
    Ok(out)
}

fn describe(t: &Termination, stdout: &[u8]) -> Value {
    let observed = crate::protocol::parse(stdout)
        .ok()
        .and_then(|obs| obs.into_iter().next())
        .map(|mut o| {
            o.fields.remove("probe");
            o.fields.remove("check");
            Value::Object(o.fields)
        });
    let ended = match t {
        Termination::Exited { code } => format!("exit {code}"),
        Termination::Trap { message } => {
            format!("trap: {}", message.lines().next().unwrap_or_default())
        }
        Termination::LoadError { message } => {
            format!("load error: {}", message.lines().next().unwrap_or_default())
        }
        other => format!("{other:?}"),
    };
    serde_json::json!({ "ended": ended, "observed": observed })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emulation_line_is_read_from_the_source() {
        let src = "/* x */\n/* emulation: -D_WASI_EMULATED_MMAN -lwasi-emulated-mman */\n";
        assert_eq!(
            emulation_flags(src),
            vec!["-D_WASI_EMULATED_MMAN", "-lwasi-emulated-mman"]
        );
        assert!(emulation_flags("int main;").is_empty());
    }

    #[test]
    fn every_feature_of_the_issue_has_a_program() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let names: Vec<String> = features(&root)
            .unwrap()
            .into_iter()
            .map(|f| f.name)
            .collect();
        for want in [
            "sockets", "threads", "signals", "mmap", "getpid", "clock", "dlopen", "process",
            "setjmp",
        ] {
            assert!(names.iter().any(|n| n == want), "{want} missing: {names:?}");
        }
    }
}
