//! Compiling probes with a toolchain into a content-addressed cache.
//!
//! The key covers the probe source, every header beside it, the flags, and the toolchain's
//! measured identity, so an unchanged tree rebuilds nothing and any change rebuilds exactly what
//! it affects. A compile error is a result for that cell, not a failure of the run. Each module
//! is stored with its sha256 (`NAME.wasm.sha256`) and verified on every load.

use crate::provision::{hex, Provisioned};
use anyhow::{Context, Result};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use wasiprobe_util::{atomic_write, command_output};

/// Flags every probe is built with. `-g0` keeps modules small; the probes print what they see,
/// so debug info buys nothing.
pub const CFLAGS: &[&str] = &["-O2", "-g0", "-Wall"];
const COMPILE_TIMEOUT: Duration = Duration::from_secs(600);

#[derive(Debug, Clone, Default)]
pub struct Probe {
    pub name: String,
    pub source: PathBuf,
    /// Libc functions the probe cannot be linked without (`/* requires: a b c */` in its
    /// source): with a libc that lacks one, its cells are `skip`, naming them, not `error`.
    pub requires: Vec<String>,
    /// Compiler flags of this probe alone (`/* flags: ... */` in its source): the emulation
    /// macros and libraries a probe of an emulated interface needs. `-l` flags go after the
    /// source. Part of the cache key through the source.
    pub flags: Vec<String>,
}

/// The words of a `/* NAME: a b c */` line of a probe's source (empty when it has none).
pub fn directive(source: &str, name: &str) -> Vec<String> {
    let prefix = format!("/* {name}:");
    source
        .lines()
        .find_map(|l| l.trim().strip_prefix(prefix.as_str()))
        .map(|rest| {
            rest.trim_end_matches("*/")
                .split_whitespace()
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

/// A probe's own flags split as a compiler invocation wants them: the `-D…`-style flags go before
/// the source, the `-l…` libraries after it.
pub fn split_flags(flags: &[String]) -> (Vec<&String>, Vec<&String>) {
    flags.iter().partition(|f| !f.starts_with("-l"))
}

impl Probe {
    pub fn new(name: String, source: PathBuf) -> Probe {
        let text = std::fs::read_to_string(&source).unwrap_or_default();
        Probe {
            name,
            requires: directive(&text, "requires"),
            flags: directive(&text, "flags"),
            source,
        }
    }

    /// The required functions `defined` (a libc's defined symbols) lacks.
    pub fn missing<'a>(&'a self, defined: &std::collections::BTreeSet<String>) -> Vec<&'a str> {
        self.requires
            .iter()
            .filter(|r| !defined.contains(*r))
            .map(String::as_str)
            .collect()
    }
}

/// The C probes: every `probes/c/*.c`.
pub fn discover(probes_dir: &Path) -> Result<Vec<Probe>> {
    let dir = probes_dir.join("c");
    let mut v = Vec::new();
    for e in std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))? {
        let p = e?.path();
        if p.extension().is_some_and(|x| x == "c") {
            v.push(Probe::new(
                p.file_stem().unwrap().to_string_lossy().into_owned(),
                p,
            ));
        }
    }
    v.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(v)
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Built {
    Ok { wasm: PathBuf, cached: bool },
    CompileError { command: String, stderr: String },
}

#[derive(Default, Debug, Serialize)]
pub struct Stats {
    pub compiled: AtomicUsize,
    pub cached: AtomicUsize,
    pub failed: AtomicUsize,
    pub rebuilt_corrupt: AtomicUsize,
}

pub struct Cache {
    pub dir: PathBuf,
    pub stats: Stats,
}

impl Cache {
    pub fn new(dir: PathBuf) -> Self {
        Cache {
            dir,
            stats: Stats::default(),
        }
    }

    fn key(&self, sdk: &Provisioned, probe: &Probe, generated: Option<&Path>) -> Result<String> {
        let c = sdk.compiler.as_ref().context("toolchain not ready")?;
        let mut h = Sha256::new();
        h.update(b"wasiprobe-build-1\0");
        h.update(format!("{:?}\0{:?}\0", c.program, c.args));
        h.update(format!("{:?}\0", sdk.identity));
        h.update(format!("{CFLAGS:?}\0"));
        h.update(std::fs::read(&probe.source)?);
        let dir = probe.source.parent().unwrap();
        let mut headers: Vec<PathBuf> = std::fs::read_dir(dir)?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "h"))
            .collect();
        headers.sort();
        for hd in headers {
            h.update(hd.file_name().unwrap().to_string_lossy().as_bytes());
            h.update(std::fs::read(&hd)?);
        }
        if let Some(g) = generated {
            h.update(b"generated\0");
            h.update(wasiprobe_util::hash_tree(g)?);
        }
        Ok(hex(&h.finalize())[..20].to_string())
    }

    pub fn build(&self, sdk: &Provisioned, probe: &Probe) -> Result<Built> {
        self.build_with(sdk, probe, None)
    }

    /// [`Cache::build`] with a directory of headers generated for this SDK (the stub probe's
    /// `wp_stubs.h`) on the include path; their content is part of the key.
    pub fn build_with(
        &self,
        sdk: &Provisioned,
        probe: &Probe,
        generated: Option<&Path>,
    ) -> Result<Built> {
        let c = sdk.compiler.as_ref().context("toolchain not ready")?;
        let key = self.key(sdk, probe, generated)?;
        let out = self
            .dir
            .join(&sdk.spec.id)
            .join(format!("{}-{key}.wasm", probe.name));
        let digest_file = digest_path(&out);
        if out.exists() || digest_file.exists() {
            match verify(&out, &digest_file) {
                Ok(()) => {
                    self.stats.cached.fetch_add(1, Ordering::Relaxed);
                    return Ok(Built::Ok {
                        wasm: out,
                        cached: true,
                    });
                }
                Err(why) => {
                    tracing::warn!("{}: {why}; rebuilding", out.display());
                    self.stats.rebuilt_corrupt.fetch_add(1, Ordering::Relaxed);
                    remove_entry(&out);
                    remove_entry(&digest_file);
                }
            }
        }
        std::fs::create_dir_all(out.parent().unwrap())?;
        let tmp = tempfile::Builder::new()
            .suffix(".wasm")
            .tempfile_in(out.parent().unwrap())?
            .into_temp_path();
        let (defines, libs) = split_flags(&probe.flags);
        let mut cmd = c.command();
        cmd.args(CFLAGS)
            .args(defines)
            .arg("-I")
            .arg(probe.source.parent().unwrap())
            .args(generated.iter().flat_map(|g| [Path::new("-I"), g]))
            .arg(&probe.source)
            .args(libs)
            .arg("-o")
            .arg(&tmp);
        let shown = format!("{cmd:?}");
        let output = command_output(cmd, COMPILE_TIMEOUT)?;
        let bytes = std::fs::read(&tmp).unwrap_or_default();
        if !output.status.success() || !valid_wasm(&bytes) {
            self.stats.failed.fetch_add(1, Ordering::Relaxed);
            let mut stderr = String::from_utf8_lossy(&output.stderr).into_owned();
            if output.status.success() {
                stderr.push_str("\n(the compiler succeeded but wrote no valid wasm module)");
            }
            return Ok(Built::CompileError {
                command: shown,
                stderr,
            });
        }
        // Module first, digest second: a crash between the two leaves a module without a
        // digest, which the next load rebuilds rather than trusts.
        atomic_write(&out, &bytes)?;
        atomic_write(&digest_file, hex(&Sha256::digest(&bytes)).as_bytes())?;
        self.stats.compiled.fetch_add(1, Ordering::Relaxed);
        Ok(Built::Ok {
            wasm: out,
            cached: false,
        })
    }
}

/// Removes a cache entry that failed verification, whatever it has become: the build cache is
/// wasiprobe's own, and an entry replaced by a directory would otherwise block the rebuild
/// (the rename into place fails) and turn into a build error charged to the SDK.
fn remove_entry(path: &Path) {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => {
            let _ = std::fs::remove_dir_all(path);
        }
        Ok(_) => {
            let _ = std::fs::remove_file(path);
        }
        Err(_) => {}
    }
}

/// Where a cached module's sha256 is kept: beside it, so that removing one removes both.
pub fn digest_path(wasm: &Path) -> PathBuf {
    let mut p = wasm.as_os_str().to_owned();
    p.push(".sha256");
    PathBuf::from(p)
}

/// A cached module is used only when it is a regular file, still has the digest it was written
/// with, and validates. A valid module with one byte changed inside a string would otherwise be
/// run, and its wrong verdict charged to the SDK.
fn verify(wasm: &Path, digest_file: &Path) -> std::result::Result<(), String> {
    let bytes = std::fs::read(wasm).map_err(|e| format!("unreadable ({e})"))?;
    let want = std::fs::read_to_string(digest_file)
        .map_err(|e| format!("its sha256 file is missing or unreadable ({e})"))?;
    let got = hex(&Sha256::digest(&bytes));
    if want.trim() != got {
        return Err(format!(
            "sha256 mismatch (recorded {}, found {got})",
            want.trim()
        ));
    }
    if !valid_wasm(&bytes) {
        return Err("not a valid module".into());
    }
    Ok(())
}

/// Full validation, not just the magic number: a truncated module in the cache must be rebuilt,
/// not handed to a runtime.
pub fn valid_wasm(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\0asm") && wasmparser::Validator::new().validate_all(bytes).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directives_are_read_by_name() {
        let src = "/* p */\n/* requires: times clock */\n/* flags: -D_X -lx */\nint main;\n";
        assert_eq!(directive(src, "requires"), ["times", "clock"]);
        assert_eq!(directive(src, "flags"), ["-D_X", "-lx"]);
        // A directive the source does not have is empty, not another line's words.
        assert!(directive(src, "emulation").is_empty());
    }
}
