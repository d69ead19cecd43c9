//! A `[[runtime]]` of the matrix: a runtime driven through its command line.

use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq)]
pub enum CliKind {
    /// The adapter, as written in the matrix (relative to the project root, or on `PATH`).
    Adapter(String),
    Command(Vec<String>),
    /// A wasi-testsuite adapter *module* (`get_name`, `get_version`, `get_wasi_versions`,
    /// `compute_argv`, ...), as written in the matrix; run by `adapter_module.rs`.
    AdapterModule(String),
}

/// One `[[runtime]]` entry, validated by the matrix parser.
#[derive(Debug, Clone, PartialEq)]
pub struct CliSpec {
    pub name: String,
    pub kind: CliKind,
    pub runtime: Option<String>,
    /// `pkg==version` to install with pip into the cache.
    pub pypi: Option<String>,
    /// Overrides of the default capabilities.
    pub enforced_limits: Option<Vec<String>>,
    pub host_call_counting: Option<bool>,
    /// The project root, for relative paths.
    pub root: PathBuf,
}

/// Every field of [`Limits`], by the name `Capabilities::enforced_limits` uses.
pub const LIMIT_NAMES: &[&str] = &[
    "wall",
    "memory_bytes",
    "stdout_bytes",
    "stderr_bytes",
    "open_files",
];

pub const PLACEHOLDERS: &[&str] = &[
    "runtime",
    "wasm",
    "argv0",
    "args",
    "dir.host",
    "dir.guest",
    "env.key",
    "env.value",
    "limits.memory_bytes",
    "limits.open_files",
    "limits.wall_ms",
];

pub fn placeholders(elem: &str) -> Result<Vec<&str>, String> {
    let mut v = Vec::new();
    let mut rest = elem;
    while let Some(i) = rest.find('{') {
        let after = &rest[i + 1..];
        let j = after
            .find('}')
            .ok_or_else(|| format!("'{elem}': a '{{' without its '}}'"))?;
        let name = &after[..j];
        if !PLACEHOLDERS.contains(&name) {
            return Err(format!(
                "'{elem}': unknown placeholder {{{name}}}; valid: {}",
                PLACEHOLDERS
                    .iter()
                    .map(|p| format!("{{{p}}}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        v.push(name);
        rest = &after[j + 1..];
    }
    Ok(v)
}

/// Checks a command template; the message names the offending element.
pub fn validate_template(t: &[String]) -> Result<(), String> {
    if t.is_empty() {
        return Err("the command is empty".into());
    }
    let mut has_wasm = false;
    for e in t {
        let p = placeholders(e)?;
        if p.contains(&"args") && e != "{args}" {
            return Err(format!("'{e}': {{args}} must be an element of its own"));
        }
        let dir = p.iter().any(|n| n.starts_with("dir."));
        let env = p.iter().any(|n| n.starts_with("env."));
        if dir && env {
            return Err(format!(
                "'{e}': one element cannot repeat both per dir and per env"
            ));
        }
        has_wasm |= p.contains(&"wasm");
    }
    if !has_wasm {
        return Err("the command never names the module ({wasm})".into());
    }
    Ok(())
}
