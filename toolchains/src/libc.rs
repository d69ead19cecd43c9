//! What a toolchain's libc is, read from the toolchain itself rather than from a probe run:
//! the symbols its archives define (`symbols`), its stubs (`stubs`), and the macros a program
//! sees after including the common headers (`clang -dM -E`). Recorded per SDK in every report
//! (`report.libc`), diffed by `wasiprobe sdk diff` and by the SDK-update evidence.

pub use wasiprobe_model::libc::LibcFacts;

use crate::provision::Provisioned;
use anyhow::{bail, Result};
use std::collections::BTreeMap;
use std::time::Duration;
use wasiprobe_util::command_output;

/// The headers whose macros are recorded: what CPython's configure and a C extension include
/// (`signal.h` is left out: wasi-libc's refuses to compile without `_WASI_EMULATED_SIGNAL`).
const HEADERS: &[&str] = &[
    "stddef.h",
    "stdint.h",
    "limits.h",
    "errno.h",
    "fcntl.h",
    "unistd.h",
    "sys/stat.h",
    "sys/types.h",
    "time.h",
    "stdio.h",
    "stdlib.h",
    "poll.h",
    "dirent.h",
    "pthread.h",
    "sys/socket.h",
    "netinet/in.h",
];

/// Reads everything; a part that fails is named in `errors`, the rest is kept.
pub fn facts(sdk: &Provisioned) -> LibcFacts {
    let mut f = LibcFacts::default();
    match crate::symbols::libc_symbols(sdk) {
        Ok(s) => f.symbols = s.defined,
        Err(e) => f.errors.push(format!("symbols: {e:#}")),
    }
    match crate::stubs::census(sdk) {
        Ok(c) => f.stubs = c,
        Err(e) => f.errors.push(format!("stubs: {e:#}")),
    }
    match macros(sdk) {
        Ok((m, missing)) => {
            f.macros = m;
            if !missing.is_empty() {
                f.errors.push(format!(
                    "macros: headers not in this SDK: {}",
                    missing.join(", ")
                ));
            }
        }
        Err(e) => f.errors.push(format!("macros: {e:#}")),
    }
    f
}

/// The macros after including each header this SDK has (`-dM -E`), and the headers it lacks.
pub fn macros(sdk: &Provisioned) -> Result<(BTreeMap<String, String>, Vec<String>)> {
    let c = sdk
        .compiler
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("{} is not ready", sdk.spec.id))?;
    let dir = tempfile::tempdir()?;
    let has = |h: &str| -> Result<bool> {
        let src = dir.path().join("one.c");
        std::fs::write(&src, format!("#include <{h}>\n"))?;
        let mut cmd = c.command();
        cmd.args(["-E", "-o", "/dev/null"]).arg(&src);
        Ok(command_output(cmd, Duration::from_secs(120))?
            .status
            .success())
    };
    let mut present = Vec::new();
    let mut missing = Vec::new();
    for h in HEADERS {
        if has(h)? {
            present.push(*h);
        } else {
            missing.push(h.to_string());
        }
    }
    let src = dir.path().join("all.c");
    std::fs::write(
        &src,
        present
            .iter()
            .map(|h| format!("#include <{h}>\n"))
            .collect::<String>(),
    )?;
    let mut cmd = c.command();
    cmd.args(["-dM", "-E"]).arg(&src);
    let out = command_output(cmd, Duration::from_secs(120))?;
    if !out.status.success() {
        bail!(
            "-dM -E failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok((parse_macros(&String::from_utf8_lossy(&out.stdout)), missing))
}

/// `#define NAME VALUE` lines (function-like macros keep their parameter list in the name).
pub fn parse_macros(text: &str) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("#define ") else {
            continue;
        };
        // A function-like macro's name runs to its closing parenthesis.
        let name_end = match (rest.find('('), rest.find(' ')) {
            (Some(p), Some(s)) if p < s => rest.find(')').map_or(rest.len(), |i| i + 1),
            (Some(_), None) => rest.find(')').map_or(rest.len(), |i| i + 1),
            (_, Some(s)) => s,
            (None, None) => rest.len(),
        };
        let (name, value) = rest.split_at(name_end);
        m.insert(name.to_string(), value.trim().to_string());
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macro_lines_parse_object_and_function_like() {
        let m = parse_macros("#define S_IFIFO (0x1000)\n#define __wasi__ 1\n#define EMPTY\n#define F(a, b) ((a)+(b))\nnot a define\n");
        assert_eq!(m["S_IFIFO"], "(0x1000)");
        assert_eq!(m["__wasi__"], "1");
        assert_eq!(m["EMPTY"], "");
        assert_eq!(m["F(a, b)"], "((a)+(b))");
        assert_eq!(m.len(), 4);
    }
}
