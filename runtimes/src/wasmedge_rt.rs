//! WasmEdge through `wasmedge-sdk` 0.17 (feature `wasmedge`).
//!
//! NOT COMPILED where this was written: `wasmedge-sdk` resolves in the lockfile, but its
//! `wasmedge-sys` links the native libwasmedge, which none of the package registries reachable
//! there provides. This module is written against the 0.17.1 sources (`Vm`, `Store`,
//! `wasi::WasiModule`, `ConfigBuilder`) and has never been built or run; expect to fix it on the
//! first build where libwasmedge is installed, and run `tests/limits.rs` there before trusting it.
//!
//! WasmEdge's WASI writes to the process's own fds 1 and 2, so a guest runs in a worker process
//! (`wasiprobe worker wasmedge ...`, see [`worker_main`]) whose stdout/stderr are the capped pipes
//! of `process::run_child`; the worker writes the adapter status file (`adapter.rs`), so a trap
//! and a load error are told apart from an exit status exactly as for the other subprocess
//! runtimes. Limits: wall time and output by `run_child`; memory by `max_memory_pages`, which
//! makes a grow past the limit fail (-1) rather than trap, so it is not claimed as enforced
//! (no `oom` verdict); open files: no hook, not enforced.

use crate::adapter;
use crate::process::run_child;
use crate::{Capabilities, HostEnv, Outcome, RunSpec, Runtime, Termination, Unavailable};
use anyhow::{Context as _, Result};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

pub const ENTRY: crate::registry::Entry = crate::registry::Entry::new("wasmedge", |env| {
    Ok(Box::new(WasmEdgeRuntime::new(env)?))
})
.with_worker(worker);

/// `wasiprobe worker wasmedge --module M --spec S --status F`.
fn worker(args: &[String]) -> i32 {
    let flag = |f: &str| {
        args.iter()
            .position(|a| a == f)
            .and_then(|i| args.get(i + 1))
            .map(PathBuf::from)
    };
    match (flag("--module"), flag("--spec"), flag("--status")) {
        (Some(m), Some(s), Some(st)) => worker_main(&m, &s, &st).unwrap_or_else(|e| {
            eprintln!("wasiprobe worker wasmedge: {e:#}");
            2
        }),
        _ => {
            eprintln!("wasiprobe worker wasmedge: needs --module, --spec and --status");
            2
        }
    }
}

const GRACE: Duration = Duration::from_millis(500);

pub struct WasmEdgeRuntime {
    worker: PathBuf,
}

impl WasmEdgeRuntime {
    pub fn new(env: &HostEnv) -> Result<Self> {
        let worker = env.worker_exe.clone().ok_or_else(|| {
            Unavailable("WasmEdge runs in a worker process and no `wasiprobe` executable to host it was found".into())
        })?;
        Ok(WasmEdgeRuntime { worker })
    }
}

impl Runtime for WasmEdgeRuntime {
    fn name(&self) -> &str {
        "wasmedge"
    }
    fn version(&self) -> String {
        format!(
            "wasmedge-sdk 0.17 (libwasmedge {}; worker process)",
            wasmedge_sdk::utils::CoreVersion::version_string()
        )
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            enforced_limits: ["wall", "stdout_bytes", "stderr_bytes"]
                .map(String::from)
                .to_vec(),
            ..Capabilities::preview1("kill", "worker-process")
        }
    }
    fn run(&self, module: &Path, spec: &RunSpec) -> Result<Outcome> {
        let dir = wasiprobe_util::scratch::dir("wasmedge", None)?;
        let spec_file = dir.path().join("spec.json");
        std::fs::write(&spec_file, serde_json::to_vec(spec)?)?;
        let status = dir.path().join("status.json");
        let mut cmd = Command::new(&self.worker);
        cmd.args(["worker", "wasmedge", "--module"])
            .arg(module)
            .arg("--spec")
            .arg(&spec_file)
            .arg("--status")
            .arg(&status);
        let run = run_child(cmd, &spec.stdin, &spec.limits, GRACE)?;
        Ok(adapter::outcome(run, &status, true))
    }
}

/// The worker's side: runs `module` in this process (stdio are the harness's pipes), writes the
/// status file and returns the process exit status.
pub fn worker_main(module: &Path, spec: &Path, status: &Path) -> Result<i32> {
    use wasmedge_sdk::config::{CommonConfigOptions, ConfigBuilder, RuntimeConfigOptions};
    use wasmedge_sdk::error::{CoreCommonError, CoreError, WasmEdgeError};
    use wasmedge_sdk::vm::SyncInst;
    use wasmedge_sdk::{params, Module, Store, Vm};

    let spec: RunSpec =
        serde_json::from_slice(&std::fs::read(spec)?).context("reading the spec")?;
    let pages = (spec.limits.memory_bytes / 65536).min(65536) as u32;
    let config = ConfigBuilder::new(CommonConfigOptions::default())
        .with_runtime_config(RuntimeConfigOptions::default().max_memory_pages(pages))
        .build()
        .map_err(|e| anyhow::anyhow!("wasmedge config: {e}"))?;
    let args: Vec<&str> = spec.args.iter().map(String::as_str).collect();
    let envs: Vec<String> = spec.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let preopens: Vec<String> = spec
        .preopens
        .iter()
        .map(|p| format!("{}:{}", p.guest, p.host.display()))
        .collect();
    let mut wasi = wasmedge_sdk::wasi::WasiModule::create(
        Some(args),
        Some(envs.iter().map(String::as_str).collect()),
        Some(preopens.iter().map(String::as_str).collect()),
    )
    .map_err(|e| anyhow::anyhow!("wasmedge WASI module: {e}"))?;

    let write = |t: Termination| -> Result<()> {
        std::fs::write(
            status,
            serde_json::to_vec(&serde_json::json!({ "termination": t }))?,
        )?;
        Ok(())
    };
    let bytes = std::fs::read(module)?;
    let loaded = Module::from_bytes(Some(&config), &bytes);
    let termination = {
        let mut instances: HashMap<String, &mut dyn SyncInst> = HashMap::new();
        instances.insert(wasi.name().to_string(), wasi.as_mut());
        let store = Store::new(Some(&config), instances)
            .map_err(|e| anyhow::anyhow!("wasmedge store: {e}"))?;
        let mut vm = Vm::new(store);
        match loaded.and_then(|m| vm.register_module(None, m).map(|_| ())) {
            Err(e) => Termination::LoadError {
                message: e.to_string(),
            },
            Ok(()) => match vm.run_func(None, "_start", params!()) {
                Ok(_) => Termination::Exited { code: 0 },
                // proc_exit ends `_start` with "terminated"; the code is read from the WASI module
                // below, once the store has let go of it.
                Err(e)
                    if matches!(
                        *e,
                        WasmEdgeError::Core(CoreError::Common(CoreCommonError::Terminated))
                    ) =>
                {
                    Termination::Exited { code: i32::MIN }
                }
                Err(e) => Termination::Trap {
                    message: e.to_string(),
                },
            },
        }
    };
    let termination = match termination {
        Termination::Exited { code: i32::MIN } => Termination::Exited {
            code: wasi.exit_code() as i32,
        },
        t => t,
    };
    let code = match &termination {
        Termination::Exited { code } => code & 0xff,
        Termination::Trap { .. } => 134,
        _ => 1,
    };
    write(termination)?;
    Ok(code)
}
