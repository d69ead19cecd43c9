//! `py-ext` / `c_extension_import` on a source-built python.wasm: the C-extension probe
//! (`probes/python/ext/wpext.c`, compiled in through `Modules/Setup.local`) imported and called
//! on each runtime. The build probe (`c_extension_build`) shows an SDK can compile and link an
//! extension; this shows the interpreter that carries it runs it: the import works, the call
//! reaches C (strtod, snprintf, clock_gettime, getentropy, fopen through the runtime), and what
//! it wrote is on the host afterwards.
//!
//! Negative control in the same run: `wpext.probe("x", …)` must raise the ValueError its C
//! code raises for a non-number; a stand-in that is not the compiled module would not.

use super::{python_cell, PyProvisioned};
use crate::plan::RunOptions;
use crate::report::{Cell, Verdict};
use serde_json::{json, Value};
use wasiprobe_model::python::EXT_PROBE;
use wasiprobe_runtimes::Runtime;

pub const CHECK: &str = "c_extension_import";
const FILE: &str = "wpext.txt";

const SCRIPT: &str = r#"import json, sys
try:
    import wpext
except Exception as e:
    print(json.dumps({"import_error": repr(e)})); sys.exit(0)
v = wpext.probe("1.5", "/scratch/wpext.txt")
try:
    wpext.probe("x", "/scratch/unused.txt")
    control = "no exception"
except ValueError as e:
    control = "ValueError: " + str(e)
print(json.dumps({"value": v[0], "formatted": v[1], "monotonic_ns": v[2], "entropy_ok": v[3],
                  "read_back": v[4], "control": control, "module_file": getattr(wpext, "__file__", None)}))
"#;

/// Judges what the guest printed and what it left on the host.
pub fn judge(exited: Option<i32>, stdout: &str, on_host: Option<&str>) -> (Verdict, Value) {
    let Some(line) = stdout.lines().rev().find(|l| l.starts_with('{')) else {
        return (
            Verdict::Fail,
            json!({ "reason": format!("no result printed (exit {exited:?})") }),
        );
    };
    let Ok(o) = serde_json::from_str::<Value>(line) else {
        return (
            Verdict::Fail,
            json!({ "reason": "the result is not JSON", "stdout": line }),
        );
    };
    if let Some(e) = o.get("import_error") {
        return (
            Verdict::Fail,
            json!({ "reason": format!("import wpext failed: {}", e.as_str().unwrap_or("?")), "observed": o }),
        );
    }
    let mut problems = Vec::new();
    if o["value"].as_f64() != Some(1.5) {
        problems.push(format!("strtod(\"1.5\") gave {}", o["value"]));
    }
    if o["formatted"] != "1.500" {
        problems.push(format!("snprintf %.3f gave {}", o["formatted"]));
    }
    if o["monotonic_ns"].as_i64().is_none_or(|n| n <= 0) {
        problems.push("clock_gettime(CLOCK_MONOTONIC) failed".into());
    }
    if o["entropy_ok"] != 1 {
        problems.push("getentropy failed".into());
    }
    if o["read_back"] != "1.500" {
        problems.push(format!("the file read back {}", o["read_back"]));
    }
    if on_host != Some("1.500") {
        problems.push(format!("the host holds {on_host:?} in /scratch/{FILE}"));
    }
    if !o["control"]
        .as_str()
        .is_some_and(|c| c.starts_with("ValueError: not a number"))
    {
        problems.push(format!(
            "negative control: probe(\"x\") gave {} instead of the C code's ValueError",
            o["control"]
        ));
    }
    if exited != Some(0) {
        problems.push(format!("exit {exited:?}"));
    }
    let v = if problems.is_empty() {
        Verdict::Pass
    } else {
        Verdict::Fail
    };
    (v, json!({ "problems": problems, "observed": o }))
}

pub fn cell(py: &PyProvisioned, rt: &dyn Runtime, opts: &RunOptions) -> Cell {
    let start = std::time::Instant::now();
    let (verdict, evidence) = match wasiprobe_util::scratch::dir("case", None) {
        Err(e) => (Verdict::Error, json!({ "reason": e.to_string() })),
        Ok(scratch) => {
            let spec = super::spec_for(py, SCRIPT, &[], scratch.path(), opts);
            match rt.run(py.wasm.as_deref().unwrap(), &spec) {
                Err(e) => (Verdict::Error, json!({ "reason": format!("{e:#}") })),
                Ok(o) => {
                    let code = match o.termination {
                        wasiprobe_runtimes::Termination::Exited { code } => Some(code),
                        _ => None,
                    };
                    let host = std::fs::read_to_string(scratch.path().join(FILE)).ok();
                    let (v, mut ev) =
                        judge(code, &String::from_utf8_lossy(&o.stdout), host.as_deref());
                    if code.is_none() {
                        ev["ended"] = format!("{:?}", o.termination).into();
                    }
                    ev["stderr_tail"] =
                        String::from_utf8_lossy(&o.stderr[o.stderr.len().saturating_sub(600)..])
                            .into();
                    (v, ev)
                }
            }
        }
    };
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    python_cell(
        &py.spec.id,
        rt.name(),
        EXT_PROBE,
        CHECK,
        verdict,
        evidence,
        ms,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"value": 1.5, "formatted": "1.500", "monotonic_ns": 5, "entropy_ok": 1, "read_back": "1.500", "control": "ValueError: not a number: x"}"#;

    #[test]
    fn a_working_extension_passes_and_each_broken_part_fails() {
        assert_eq!(judge(Some(0), GOOD, Some("1.500")).0, Verdict::Pass);
        assert_eq!(judge(Some(0), GOOD, None).0, Verdict::Fail);
        let no_c = GOOD.replace("ValueError: not a number: x", "no exception");
        assert_eq!(judge(Some(0), &no_c, Some("1.500")).0, Verdict::Fail);
        let missing = r#"{"import_error": "ModuleNotFoundError('wpext')"}"#;
        let (v, ev) = judge(Some(0), missing, None);
        assert_eq!(v, Verdict::Fail);
        assert!(ev["reason"]
            .as_str()
            .unwrap()
            .contains("import wpext failed"));
        assert_eq!(judge(Some(1), "", None).0, Verdict::Fail);
    }
}
