//! What a person or a CI system reads: `report.md` (sized for a pull-request comment),
//! `junit.xml` (one testcase per cell), and diffs between two reports.

mod compare;
mod diff;
mod evidence;
mod junit;
pub mod libc;
mod markdown;
mod python;
mod python_evidence;

pub use compare::*;
pub use diff::*;
pub use evidence::*;
pub use junit::*;
pub use markdown::*;
pub use python::*;
pub use python_evidence::*;

use serde_json::Value;
use wasiprobe_model::python::{EXT_CONTROL, EXT_PROBE};

pub(crate) fn one_line(e: &Value) -> String {
    let s = match e {
        Value::Object(m) => ["problems", "reason", "protocol_error"]
            .iter()
            .find_map(|k| m.get(*k))
            .map(|v| match v {
                Value::Array(a) => a
                    .first()
                    .map(|x| x.as_str().map(String::from).unwrap_or(x.to_string()))
                    .unwrap_or_default(),
                Value::String(s) => s.clone(),
                v => v.to_string(),
            })
            .unwrap_or_default(),
        _ => String::new(),
    };
    let s = s.replace(['\n', '|'], " ");
    if s.chars().count() > 200 {
        format!("{}…", s.chars().take(200).collect::<String>())
    } else {
        s
    }
}

#[cfg(test)]
mod tests;
