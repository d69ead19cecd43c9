//! The dark-features census: how far each program using what Preview 1 lacks gets.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// One feature on one SDK: how far it got, and what it did on each runtime.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Census {
    /// How far the build got: "links", "link-error", "compile-error". A module that links may
    /// still fail to load (an undefined symbol some linkers turn into an `env` import): see
    /// `runs`.
    pub stage: String,
    /// The emulation flags of the attempt reported ([] when the plain build linked, or when the
    /// feature names none).
    pub flags: Vec<String>,
    /// The last lines of the compiler's complaint, when it did not build.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Per runtime: how the run ended and what the program printed.
    pub runs: BTreeMap<String, Value>,
}

/// One cell of the Markdown table.
pub fn short(c: &Census) -> String {
    let flags = if c.flags.is_empty() {
        String::new()
    } else {
        format!(" (with {})", c.flags.join(" "))
    };
    match c.stage.as_str() {
        "links" => {
            let runs: Vec<String> = c
                .runs
                .iter()
                .map(|(rt, v)| {
                    format!(
                        "{rt}: {} {}",
                        v["ended"].as_str().unwrap_or("?"),
                        v.get("observed").map_or(String::new(), |o| o.to_string())
                    )
                })
                .collect();
            format!("links{flags}; {}", runs.join("; "))
        }
        s => format!("{s}{flags}"),
    }
}
