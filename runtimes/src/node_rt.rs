//! Node's `node:wasi` (Preview 1), one fresh `node` process per run.
//!
//! A fresh process per run, because Node 20's `node:wasi` leaks a file descriptor per preopen per
//! instance: a long-lived worker would run out of descriptors. The runner
//! (`runtimes/node/run-wasi.mjs`, embedded here and written into the cache under its content
//! hash) speaks the wasi-testsuite adapter contract plus our extensions (see `adapter.rs`):
//! host-call counting, a memory limit, an open-file limit, and a status file that tells a trap
//! and a load error apart from an exit status.
//!
//! Limits: wall time and output by `process::run_child` (kill of the process group); open files
//! by the runner's `path_open`/`fd_close` accounting (as the embedded runtime does it); memory by
//! the runner, checked after instantiation, at every host call and at the end — node:wasi has no
//! hook on `memory.grow`, so between two host calls a guest can grow up to the wasm32 maximum
//! (4 GiB) before it is stopped as `Oom`.

use crate::adapter;
use crate::process::run_child;
use crate::{Capabilities, HostEnv, Outcome, RunSpec, Runtime, Unavailable};
use anyhow::{Context as _, Result};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const RUNNER: &str = include_str!("../node/run-wasi.mjs");

/// `version: 'preview1'` and `returnOnExit` as used by the runner; older majors are refused.
const MIN_MAJOR: u32 = 20;

/// Node's own start-up (≈ 0.1 s here) is not the guest's time.
const GRACE: Duration = Duration::from_millis(500);

pub const ENTRY: crate::registry::Entry =
    crate::registry::Entry::new("node", |env| Ok(Box::new(NodeRuntime::new(env)?)));

pub struct NodeRuntime {
    node: PathBuf,
    node_version: String,
    runner: PathBuf,
}

/// `name` as the shell would find it on `PATH`.
pub fn which(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    if name.contains('/') {
        return Some(PathBuf::from(name)).filter(|p| p.is_file());
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(name))
        .find(|p| {
            p.metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

impl NodeRuntime {
    /// Finds `node` (`$WASIPROBE_NODE` or `node` on `PATH`), checks its version and writes the
    /// runner into the cache. [`Unavailable`] when node is missing or too old.
    pub fn new(env: &HostEnv) -> Result<Self> {
        let wanted = std::env::var("WASIPROBE_NODE").unwrap_or_else(|_| "node".into());
        let node = which(&wanted).ok_or_else(|| {
            Unavailable(format!(
                "`{wanted}` was not found on PATH (Node {MIN_MAJOR} or newer is needed; \
                 set WASIPROBE_NODE to use another)"
            ))
        })?;
        let out = crate::process::run_child(
            {
                let mut c = Command::new(&node);
                c.arg("--version");
                c
            },
            b"",
            &crate::Limits {
                wall: Duration::from_secs(30),
                ..Default::default()
            },
            Duration::ZERO,
        )?;
        let node_version = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let ok = out.status.is_some_and(|s| s.success());
        let major: Option<u32> = node_version
            .strip_prefix('v')
            .and_then(|v| v.split('.').next())
            .and_then(|m| m.parse().ok());
        match major {
            Some(m) if ok && m >= MIN_MAJOR => {}
            _ => {
                return Err(Unavailable(format!(
                    "{} --version said {node_version:?}: Node {MIN_MAJOR} or newer is needed \
                     (node:wasi with version 'preview1')",
                    node.display()
                ))
                .into())
            }
        }
        let runner = install_runner(&env.cache)?;
        Ok(NodeRuntime {
            node,
            node_version,
            runner,
        })
    }
}

/// Writes the runner to `CACHE/node/run-wasi-HASH.mjs` (once per content; atomically, so
/// parallel runs never read half a file).
fn install_runner(cache: &Path) -> Result<PathBuf> {
    let hash: String = Sha256::digest(RUNNER.as_bytes())
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect();
    let dir = cache.join("node");
    let path = dir.join(format!("run-wasi-{hash}.mjs"));
    if path.exists() {
        return Ok(path);
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let tmp = tempfile::NamedTempFile::new_in(&dir)?;
    std::fs::write(tmp.path(), RUNNER)?;
    tmp.persist(&path)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

impl Runtime for NodeRuntime {
    fn name(&self) -> &str {
        "node"
    }
    fn version(&self) -> String {
        format!(
            "node {} (node:wasi preview1, one process per run; wasm stack: V8's default)",
            self.node_version
        )
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            host_call_counting: true,
            // node:wasi resolves paths on the host with Node's fs: its documentation says the
            // module "does not provide the comprehensive file system security properties
            // provided by some WASI runtimes".
            follows_links_out: true,
            ..Capabilities::preview1("kill", "subprocess")
        }
    }
    fn run(&self, module: &Path, spec: &RunSpec) -> Result<Outcome> {
        // node:wasi sees one memory at a time and no table at all.
        if let Some(o) = crate::host::memory::over_declared(module, spec)? {
            return Ok(o);
        }
        let dir = wasiprobe_util::scratch::dir("node", None)?;
        let status = dir.path().join("status.json");
        let mut cmd = Command::new(&self.node);
        // Node 20 crashes (SIGSEGV) in node:wasi calls without it.
        cmd.arg("--no-turbo-fast-api-calls")
            .arg(&self.runner)
            .args(adapter::contract_args(module, spec))
            .env_clear()
            .envs(adapter::extension_env(spec, &status));
        let run = run_child(cmd, &spec.stdin, &spec.limits, GRACE)?;
        Ok(adapter::outcome(run, &status, true))
    }
}
