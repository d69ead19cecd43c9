//! A `[[runtime]] kind = "adapter-module"`: a wasi-testsuite adapter *module*, used unchanged.
//!
//! The reference runner (wasi-testsuite `test-runner/wasi_test_runner/runtime_adapter.py`)
//! imports the adapter (`adapters/wasmtime.py`, `adapters/wasm-micro-runtime.py`, ...) and asks
//! it for `get_name()`, `get_version()`, `get_wasi_versions()`, `get_wasi_worlds()` and, per
//! test, `compute_argv(test_path, (args, env, root), proposals, wasi_world, wasi_version)`; then
//! it runs that argv. Here a small Python shim (`adapter_shim.py`, Python 3.8+, so the 3.11 of
//! this machine will do where the reference runner needs 3.12) does the importing, once per
//! runtime, and answers over a pipe; wasiprobe runs each argv itself, with its own wall-time and
//! output limits, in its own scratch directory.
//!
//! What the runtime's process gets in its environment, besides ours: `WASIPROBE_RUNTIME` and
//! the upstream convention of a variable named after the runtime executable (`WASMTIME`,
//! `IWASM`, `WAZERO`: how upstream adapters find their binary) set to the entry's `runtime`;
//! with `pypi`, the package's install directory on `PYTHONPATH` (a Python runtime like pywasm
//! is a package, not an executable).

use crate::adapter::real_python;
use crate::cli_rt::{locate_runtime, pypi_dir, CliKind, CliSpec};
use crate::process::run_child;
use crate::{Capabilities, HostEnv, Outcome, RunSpec, Runtime, Termination, Unavailable};
use anyhow::{anyhow, bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

const SHIM: &str = include_str!("adapter_shim.py");

/// What the adapter says about itself.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Meta {
    pub name: String,
    pub version: String,
    pub wasi_versions: Vec<String>,
    pub wasi_worlds: Vec<String>,
    /// `get_timeout_seconds()`, where the adapter has one.
    pub timeout_s: Option<f64>,
    /// Which generation of `compute_argv` it has: "root" (current), "dirs", "dirs-no-world",
    /// "flat-dirs".
    pub style: String,
}

/// One test's part of `compute_argv`'s arguments.
#[derive(Debug, Clone, Serialize)]
pub struct ArgvRequest {
    pub test_path: PathBuf,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    /// The directory the guest sees as `/`.
    pub root: Option<PathBuf>,
    /// Named preopens `(host, guest)`, for the older `dirs` format.
    pub dirs: Vec<(PathBuf, String)>,
    pub proposals: Vec<String>,
    pub wasi_world: String,
    pub wasi_version: String,
}

struct Shim {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Drop for Shim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub struct AdapterModuleRuntime {
    spec: CliSpec,
    adapter: PathBuf,
    python: PathBuf,
    child_env: Vec<(String, OsString)>,
    meta: Meta,
    shim: Mutex<Option<Shim>>,
}

/// The upstream adapters' variable for the runtime binary: the executable's name in capitals.
fn runtime_var(exe: &Path) -> Option<String> {
    let stem = exe.file_stem()?.to_str()?;
    let v: String = stem
        .chars()
        .map(|c| match c {
            'a'..='z' => c.to_ascii_uppercase(),
            'A'..='Z' | '0'..='9' => c,
            _ => '_',
        })
        .collect();
    (v.chars().next().is_some_and(|c| c.is_ascii_alphabetic())).then_some(v)
}

impl AdapterModuleRuntime {
    /// Starts the shim and asks the adapter about itself; [`Unavailable`] with the reason when
    /// the adapter, its runtime or Python is missing, or the adapter refuses.
    pub fn new(spec: CliSpec, env: &HostEnv) -> Result<Self> {
        let CliKind::AdapterModule(a) = &spec.kind else {
            bail!("runtime '{}' is not an adapter module", spec.name);
        };
        let adapter = if Path::new(a).is_absolute() {
            PathBuf::from(a)
        } else {
            spec.root.join(a)
        };
        if !adapter.is_file() {
            return Err(Unavailable(format!(
                "the adapter module {} does not exist",
                adapter.display()
            ))
            .into());
        }
        let runtime = locate_runtime(&spec, &env.cache).map_err(Unavailable)?;
        let mut child_env: Vec<(String, OsString)> = Vec::new();
        if let Some(rt) = &runtime {
            child_env.push(("WASIPROBE_RUNTIME".into(), rt.into()));
            if let Some(var) = runtime_var(rt) {
                child_env.push((var, rt.into()));
            }
        }
        if let Some(pkg) = &spec.pypi {
            let mut pp = OsString::from(pypi_dir(&env.cache, pkg));
            if let Some(old) = std::env::var_os("PYTHONPATH") {
                pp.push(":");
                pp.push(old);
            }
            child_env.push(("PYTHONPATH".into(), pp));
        }
        let python = real_python();
        let mut rt = AdapterModuleRuntime {
            spec,
            adapter,
            python,
            child_env,
            meta: Meta {
                name: String::new(),
                version: String::new(),
                wasi_versions: vec![],
                wasi_worlds: vec![],
                timeout_s: None,
                style: String::new(),
            },
            shim: Mutex::new(None),
        };
        let (shim, meta) = rt.start_shim().map_err(|e| Unavailable(format!("{e:#}")))?;
        rt.meta = meta;
        *rt.shim.lock().unwrap() = Some(shim);
        Ok(rt)
    }

    fn start_shim(&self) -> Result<(Shim, Meta)> {
        let mut child = Command::new(&self.python)
            .arg("-c")
            .arg(SHIM)
            .arg(&self.adapter)
            .envs(self.child_env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("starting {} for the adapter shim", self.python.display()))?;
        let stdin = child.stdin.take().expect("piped");
        let stdout = BufReader::new(child.stdout.take().expect("piped"));
        let mut shim = Shim {
            child,
            stdin,
            stdout,
        };
        let meta: Meta = serde_json::from_value(read_reply(&mut shim, &self.adapter)?)
            .context("the adapter shim's description of the adapter")?;
        Ok((shim, meta))
    }

    pub fn meta(&self) -> &Meta {
        &self.meta
    }

    /// The environment the adapter's argv runs with (on top of ours).
    pub fn child_env(&self) -> &[(String, OsString)] {
        &self.child_env
    }

    /// `compute_argv` for one test. A shim that died is started again once.
    pub fn compute_argv(&self, req: &ArgvRequest) -> Result<Vec<String>> {
        let line = serde_json::to_string(req)? + "\n";
        let mut guard = self.shim.lock().unwrap();
        for attempt in 0..2 {
            if guard.is_none() {
                *guard = Some(self.start_shim()?.0);
            }
            let shim = guard.as_mut().expect("started above");
            let sent = shim
                .stdin
                .write_all(line.as_bytes())
                .and_then(|_| shim.stdin.flush());
            let reply = match sent {
                Ok(()) => read_reply(shim, &self.adapter),
                Err(e) => Err(anyhow!("writing to the adapter shim: {e}")),
            };
            match reply {
                Ok(v) => return serde_json::from_value(v).context("compute_argv's argv"),
                Err(e) if e.is::<Refusal>() || attempt == 1 => return Err(e),
                Err(_) => *guard = None,
            }
        }
        unreachable!("the loop returns on its second attempt")
    }
}

/// The adapter (not the shim) said no: not worth a restart.
#[derive(Debug)]
struct Refusal(String);

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refusal {}

fn read_reply(shim: &mut Shim, adapter: &Path) -> Result<serde_json::Value> {
    let mut line = String::new();
    let n = shim
        .stdout
        .read_line(&mut line)
        .context("reading from the adapter shim")?;
    if n == 0 {
        bail!(
            "the adapter shim for {} exited without answering (its stderr is above)",
            adapter.display()
        );
    }
    let mut v: serde_json::Value = serde_json::from_str(&line)
        .with_context(|| format!("the adapter shim answered {line:?}"))?;
    if let Some(ok) = v.get_mut("ok") {
        return Ok(ok.take());
    }
    let msg = v["error"].as_str().unwrap_or("no message").to_string();
    Err(Refusal(format!("adapter {}: {msg}", adapter.display())).into())
}

impl Runtime for AdapterModuleRuntime {
    fn name(&self) -> &str {
        &self.spec.name
    }
    /// The adapter's own words: `get_name()` and `get_version()`.
    fn version(&self) -> String {
        format!("{} {}", self.meta.name, self.meta.version)
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            enforced_limits: self.spec.enforced_limits.clone().unwrap_or_else(|| {
                crate::cli_rt::CHILD_LIMITS
                    .iter()
                    .map(|s| s.to_string())
                    .collect()
            }),
            ..Capabilities::preview1("kill", "subprocess")
        }
    }
    fn run(&self, module: &Path, spec: &RunSpec) -> Result<Outcome> {
        let (root, dirs): (Vec<_>, Vec<_>) = spec.preopens.iter().partition(|p| p.guest == "/");
        let req = ArgvRequest {
            test_path: module.to_owned(),
            args: spec.args.iter().skip(1).cloned().collect(),
            env: spec.env.clone(),
            root: root.first().map(|p| p.host.clone()),
            dirs: dirs
                .iter()
                .map(|p| (p.host.clone(), p.guest.clone()))
                .collect(),
            proposals: vec![],
            wasi_world: "wasi:cli/command".into(),
            wasi_version: "wasm32-wasip1".into(),
        };
        let argv = match self.compute_argv(&req) {
            Ok(a) => a,
            Err(e) if e.is::<Refusal>() => {
                return Ok(Outcome::load_error(format!("{e:#}"), Duration::ZERO))
            }
            Err(e) => return Err(e),
        };
        let mut cmd = Command::new(&argv[0]);
        cmd.args(&argv[1..])
            .envs(self.child_env.iter().map(|(k, v)| (k, v)));
        let run = run_child(cmd, &spec.stdin, &spec.limits, Duration::from_secs(2))?;
        // The contract has no status channel: the exit status is the guest's.
        let termination = run
            .harness_termination()
            .unwrap_or(Termination::Exited { code: run.code() });
        Ok(run.into_outcome(termination))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(dir: &Path, adapter: &str) -> CliSpec {
        CliSpec {
            name: "m".into(),
            kind: CliKind::AdapterModule(adapter.into()),
            runtime: None,
            pypi: None,
            enforced_limits: None,
            host_call_counting: None,
            root: dir.to_owned(),
        }
    }

    fn env(dir: &Path) -> HostEnv {
        HostEnv {
            cache: dir.to_owned(),
            worker_exe: None,
        }
    }

    #[test]
    fn every_generation_of_compute_argv_is_called_with_its_own_arguments() {
        let d = tempfile::tempdir().unwrap();
        let current = "def get_name(): return 'cur'\n\
            def get_version(): return '1.2'\n\
            def get_wasi_versions(): return ['wasm32-wasip1']\n\
            def get_wasi_worlds(): return ['wasi:cli/command']\n\
            def compute_argv(test_path, args_env_root, proposals, wasi_world, wasi_version):\n\
            \x20   args, env, root = args_env_root\n\
            \x20   print('noise on stdout must not break the protocol')\n\
            \x20   return ['rt', '--root', str(root), wasi_world, wasi_version, test_path] + \
                   [f'{k}={v}' for k, v in env.items()] + args\n";
        let old = "def get_name(): return 'old'\n\
            def get_version(): return '0.1'\n\
            def get_wasi_versions(): return ['wasm32-wasip1']\n\
            def compute_argv(test_path, args, env, dirs, wasi_version):\n\
            \x20   return ['rt'] + [f'{h}::{g}' for h, g in dirs] + [test_path] + args\n";
        std::fs::write(d.path().join("cur.py"), current).unwrap();
        std::fs::write(d.path().join("old.py"), old).unwrap();
        let req = ArgvRequest {
            test_path: "/s/t.wasm".into(),
            args: vec!["a b".into()],
            env: vec![("K".into(), "v".into())],
            root: Some("/scratch/root".into()),
            dirs: vec![],
            proposals: vec![],
            wasi_world: "wasi:cli/command".into(),
            wasi_version: "wasm32-wasip1".into(),
        };
        let cur = AdapterModuleRuntime::new(spec(d.path(), "cur.py"), &env(d.path())).unwrap();
        assert_eq!(cur.version(), "cur 1.2");
        assert_eq!(cur.meta().style, "root");
        assert_eq!(
            cur.compute_argv(&req).unwrap(),
            [
                "rt",
                "--root",
                "/scratch/root",
                "wasi:cli/command",
                "wasm32-wasip1",
                "/s/t.wasm",
                "K=v",
                "a b"
            ]
        );
        let old = AdapterModuleRuntime::new(spec(d.path(), "old.py"), &env(d.path())).unwrap();
        assert_eq!(old.meta().wasi_worlds, ["wasi:cli/command"]);
        assert_eq!(
            old.compute_argv(&req).unwrap(),
            ["rt", "/scratch/root::/", "/s/t.wasm", "a b"]
        );
    }

    #[test]
    fn a_file_that_is_not_an_adapter_module_is_unavailable_with_the_reason() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(
            d.path().join("exe.py"),
            "import sys, argparse\np = argparse.ArgumentParser()\n\
             p.add_argument('--version', action='store_true')\n\
             if p.parse_args().version:\n    print('rt 1'); sys.exit(0)\n",
        )
        .unwrap();
        std::fs::write(d.path().join("half.py"), "def get_name(): return 'x'\n").unwrap();
        for (file, says) in [
            ("exe.py", "executable adapter"),
            ("half.py", "compute_argv"),
            ("none.py", "does not exist"),
        ] {
            let e = AdapterModuleRuntime::new(spec(d.path(), file), &env(d.path()))
                .err()
                .unwrap();
            assert!(e.is::<Unavailable>(), "{file}: {e:#}");
            assert!(e.to_string().contains(says), "{file}: {e:#}");
        }
    }
}
