//! The browser as a runtime: Debian's `chromium`, driven over the DevTools protocol, running the
//! guest with `@bjorn3/browser_wasi_shim` (WASI Preview 1 in JavaScript, from npm) in a
//! dedicated worker of a page the harness serves on loopback. Two rows: `chromium`, a page as
//! any site gets it, and `chromium-isolated`, the same page served cross-origin isolated
//! (COOP `same-origin` + COEP `require-corp`), where browsers no longer coarsen
//! `performance.now()` as much: the clock checks see two different clocks.
//!
//! One browser per run, as Node gets one process per run: a fresh profile, its own process
//! group, killed on every way out (end, timeout, error, panic). The page gets argv, environ,
//! stdin, the limits and each preopen's tree (files and directories in memory, built from the
//! case's host directory: see `tree.rs`), and posts back stdout, stderr, how the guest ended,
//! the host-call counts and the tree after the run, which is written back into the host
//! directory, so the filesystem checks compare the guest's report with what the shim's tree
//! really holds, as they do with the host tree for the other runtimes.
//!
//! What the shim is, read from its source (`src/wasi.ts`, `src/fs_mem.ts`, `src/fd.ts` of
//! bjorn3/browser_wasi_shim, and the 0.4.2 package's `dist/`), and what this runtime does
//! about it:
//! - `args_sizes_get` sums `arg.length + 1`, JavaScript string lengths (UTF-16 units), while
//!   `args_get` writes UTF-8: a non-ASCII argument overflows the guest's buffer. The page
//!   answers `args_sizes_get` in UTF-8 bytes itself (`environ_sizes_get` is right in 0.4.2);
//!   the version string says so.
//! - `poll_oneoff` takes exactly one clock subscription and busy-waits on `performance.now()`
//!   (or `Date`) until it passes; more subscriptions or an fd subscription are `ENOTSUP`.
//! - `clock_res_get` claims 5 µs (monotonic) and 1 ms (realtime); the CPU-time clocks read 0.
//! - the memory filesystem has no symlinks (`path_symlink` is `ENOTSUP`), no times (every
//!   filestat time is 0) and no permissions; `..` is resolved lexically and refused above a
//!   preopen (`ENOTCAPABLE`). The fixture's symlinks cannot be handed to it, and are gone from
//!   the host directory after the run, as they are from the guest's view.
//! - sockets and `proc_raise` throw: the guest ends as a `trap` with the shim's words.
//!
//! The DevTools side (`headless_chrome` 1.0: `Browser::connect_with_timeout` to a browser we
//! start, `wait_for_initial_tab`, `Tab::navigate_to`, `Browser::get_version`) only navigates
//! and identifies; the page's data goes over the loopback server, as the protocol's messages
//! are not meant for tens of megabytes.
//!
//! Limits: wall time from the moment the page has its inputs (browser start-up is not the
//! guest's), then the browser is killed; memory checked by the page at every host call and at
//! the end (the page has no hook on `memory.grow`: between two host calls a guest can grow to
//! the wasm32 maximum), and a module whose declared memories and tables pass the limit is not
//! started; stdout/stderr caps and open files (EMFILE) by the page's wrappers.

mod browser;
mod serve;
pub mod tree;

use crate::host::{CappedBuf, Stops};
use crate::{Capabilities, HostEnv, Outcome, RunSpec, Runtime, Termination, Unavailable};
use anyhow::{anyhow, bail, Context as _, Result};
use base64::Engine as _;
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha512};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

pub use browser::FLAGS;

/// The npm package and the pinned version and integrity (`npm pack --json`'s `integrity`).
pub const SHIM_PACKAGE: &str = "@bjorn3/browser_wasi_shim";
pub const SHIM_VERSION: &str = "0.4.2";
pub const SHIM_INTEGRITY: &str =
    "sha512-/iHkCVUG3VbcbmEHn5iIUpIrh7a7WPiwZ3sHy4HZKZzBdSadwdddYDZAII2zBvQYV0Lfi8naZngPCN7WPHI/hA==";

const INDEX: &str = include_str!("index.html");
const MAIN: &str = include_str!("main.js");
const WORKER: &str = include_str!("worker.js");

/// The liars the page has (`--inject`); others are `skip` on these rows (`plan::cannot_run`).
pub const LIARS: &[&str] = &[
    "random_get:zeros",
    "clock_time_get:step-back",
    "path_open:dotdot-escape",
];

/// Browser start-up and page load, which are not the guest's time.
const STARTUP: Duration = Duration::from_secs(30);

/// Reading the trees back after the guest ended (a 5 GiB sparse file takes seconds).
const READ_BACK: Duration = Duration::from_secs(120);

pub const ENTRY: crate::registry::Entry = crate::registry::Entry::new("chromium", |env| {
    Ok(Box::new(ChromiumRuntime::new(env, false)?))
});

pub struct ChromiumRuntime {
    isolated: bool,
    exe: PathBuf,
    /// `dist/` of the shim package: file name → bytes.
    shim: BTreeMap<String, Vec<u8>>,
    identity: String,
}

/// What the identity page reported.
#[derive(Debug, Deserialize)]
struct Identity {
    cross_origin_isolated: bool,
    performance_now_tick_ns: u64,
}

impl ChromiumRuntime {
    /// Finds `chromium` (`$WASIPROBE_CHROMIUM` or on PATH), fetches the shim into the cache
    /// and loads the page once to learn what it is. [`Unavailable`] when either is missing, or
    /// when the isolated row's page is not cross-origin isolated after all.
    pub fn new(env: &HostEnv, isolated: bool) -> Result<Self> {
        let wanted = std::env::var("WASIPROBE_CHROMIUM").unwrap_or_else(|_| "chromium".into());
        let exe = crate::node_rt::which(&wanted).ok_or_else(|| {
            Unavailable(format!(
                "`{wanted}` was not found on PATH (Debian: apt-get install chromium; \
                 WASIPROBE_CHROMIUM names another)"
            ))
        })?;
        let dist = ensure_shim(&env.cache)?;
        let mut shim = BTreeMap::new();
        for e in std::fs::read_dir(&dist)? {
            let p = e?.path();
            if p.extension().is_some_and(|x| x == "js") {
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                shim.insert(name, std::fs::read(&p)?);
            }
        }
        let mut rt = ChromiumRuntime {
            isolated,
            exe,
            shim,
            identity: String::new(),
        };
        rt.identity = rt
            .identify()
            .map_err(|e| Unavailable(format!("the page could not be loaded: {e:#}")))?;
        Ok(rt)
    }

    fn routes(&self) -> serve::Routes {
        let mut r = serve::Routes::new();
        let page = "text/html; charset=utf-8";
        let js = "text/javascript; charset=utf-8";
        r.insert("/".into(), (page, INDEX.as_bytes().to_vec()));
        r.insert("/main.js".into(), (js, MAIN.as_bytes().to_vec()));
        r.insert("/worker.js".into(), (js, WORKER.as_bytes().to_vec()));
        for (name, bytes) in &self.shim {
            r.insert(format!("/shim/{name}"), (js, bytes.clone()));
        }
        r
    }

    fn identify(&self) -> Result<String> {
        let server = serve::Server::start(self.routes(), self.isolated, 1 << 20)?;
        let b = browser::Chromium::launch(&self.exe, STARTUP, STARTUP)?;
        let product = b
            .cdp()
            .get_version()
            .map(|v| v.product)
            .map_err(|e| anyhow!("Browser.getVersion: {e}"))?;
        let _tab = b.open(&format!("http://127.0.0.1:{}/?identity", server.port))?;
        let (_, body) = wait_for(&server, "/identity", Instant::now() + STARTUP)?
            .ok_or_else(|| anyhow!("the page said nothing in {STARTUP:?}: {}", b.log_tail()))?;
        let id: Identity = serde_json::from_slice(&body)?;
        if id.cross_origin_isolated != self.isolated {
            bail!(
                "the page served {} COOP/COEP reports crossOriginIsolated = {}",
                if self.isolated { "with" } else { "without" },
                id.cross_origin_isolated
            );
        }
        Ok(format!(
            "{product} headless over the DevTools protocol, {SHIM_PACKAGE} {SHIM_VERSION} in a \
             dedicated worker (args_sizes_get answered in UTF-8 bytes by the page); \
             crossOriginIsolated={}, performance.now() tick {} ns; one browser per run; wasm \
             stack: V8's default",
            id.cross_origin_isolated, id.performance_now_tick_ns
        ))
    }
}

/// The next POST to `path` before `deadline` (others are dropped, a page error is an error);
/// None at the deadline.
fn wait_for(server: &serve::Server, path: &str, deadline: Instant) -> Result<Option<serve::Post>> {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match server.posts.recv_timeout(left) {
            Ok((p, body)) if p == path => return Ok(Some((p, body))),
            Ok((p, body)) if p == "/result" => {
                let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                bail!("the page failed: {}", v["page_error"].as_str().unwrap_or("?"))
            }
            Ok(_) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => return Ok(None),
            Err(e) => bail!("the page's server stopped: {e}"),
        }
    }
}

/// The package's `dist/` in `CACHE/npm/browser_wasi_shim-VERSION/`, fetched with `npm pack`
/// when missing and checked against the pinned integrity before it is unpacked.
pub fn ensure_shim(cache: &Path) -> Result<PathBuf> {
    let root = cache.join("npm").join(format!("browser_wasi_shim-{SHIM_VERSION}"));
    let dist = root.join("package").join("dist");
    if dist.join("index.js").is_file() {
        return Ok(dist);
    }
    let npm = crate::node_rt::which("npm").ok_or_else(|| {
        Unavailable(format!(
            "{SHIM_PACKAGE} {SHIM_VERSION} is not in the cache and `npm` is not on PATH to fetch \
             it (Debian: apt-get install npm)"
        ))
    })?;
    std::fs::create_dir_all(cache.join("npm"))?;
    let tmp = tempfile::Builder::new()
        .prefix("browser_wasi_shim-")
        .tempdir_in(cache.join("npm"))?;
    let mut cmd = Command::new(npm);
    cmd.arg("pack")
        .arg(format!("{SHIM_PACKAGE}@{SHIM_VERSION}"))
        .arg("--pack-destination")
        .arg(tmp.path())
        .arg("--silent")
        .current_dir(tmp.path());
    let limits = crate::Limits {
        wall: Duration::from_secs(180),
        ..Default::default()
    };
    let out = crate::process::run_child(cmd, b"", &limits, Duration::ZERO)?;
    let tgz = std::fs::read_dir(tmp.path())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "tgz"));
    let Some(tgz) = tgz.filter(|_| out.status.is_some_and(|s| s.success())) else {
        return Err(Unavailable(format!(
            "npm pack {SHIM_PACKAGE}@{SHIM_VERSION} failed: {}",
            String::from_utf8_lossy(&out.stderr[out.stderr.len().saturating_sub(2000)..]).trim()
        ))
        .into());
    };
    let bytes = std::fs::read(&tgz)?;
    let got = format!(
        "sha512-{}",
        base64::engine::general_purpose::STANDARD.encode(Sha512::digest(&bytes))
    );
    if got != SHIM_INTEGRITY {
        return Err(Unavailable(format!(
            "npm pack {SHIM_PACKAGE}@{SHIM_VERSION} gave a package of integrity {got}, not the \
             pinned {SHIM_INTEGRITY}"
        ))
        .into());
    }
    let unpack = tmp.path().join("unpacked");
    std::fs::create_dir(&unpack)?;
    let tar = Command::new("tar")
        .arg("xzf")
        .arg(&tgz)
        .arg("-C")
        .arg(&unpack)
        .status()
        .context("running tar")?;
    if !tar.success() || !unpack.join("package/dist/index.js").is_file() {
        bail!("unpacking {} failed", tgz.display());
    }
    // Another run may have won the race; either copy is the pinned package.
    if std::fs::rename(&unpack, &root).is_err() && !dist.join("index.js").is_file() {
        bail!("could not move the package to {}", root.display());
    }
    Ok(dist)
}

/// What the worker posts at the end.
#[derive(Debug, Deserialize)]
struct PageResult {
    termination: Termination,
    duration_ms: f64,
    cross_origin_isolated: bool,
    stdout_over: bool,
    stderr_over: bool,
    host_calls: BTreeMap<String, u64>,
    #[serde(default)]
    phases: BTreeMap<String, f64>,
    trees: Vec<Vec<tree::Entry>>,
    parent: Option<Vec<tree::Entry>>,
}

impl Runtime for ChromiumRuntime {
    fn name(&self) -> &str {
        if self.isolated {
            "chromium-isolated"
        } else {
            "chromium"
        }
    }
    fn version(&self) -> String {
        self.identity.clone()
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            preopen_mapping: true,
            stdin: true,
            fault_injection: true,
            liars: LIARS.iter().map(|s| s.to_string()).collect(),
            host_call_counting: true,
            sockets: false,
            interruption: "kill".into(),
            isolation: "subprocess".into(),
            enforced_limits: crate::all_limits(),
            // The guest's tree is in the page's memory: a link cannot lead to the host.
            follows_links_out: false,
        }
    }
    fn run(&self, module: &Path, spec: &RunSpec) -> Result<Outcome> {
        Ok(self.run_phases(module, spec)?.0)
    }
    fn run_phases(
        &self,
        module: &Path,
        spec: &RunSpec,
    ) -> Result<(Outcome, BTreeMap<String, f64>)> {
        if let Some(o) = crate::host::memory::over_declared(module, spec)? {
            return Ok((o, BTreeMap::new()));
        }
        let inject: Vec<String> = spec.inject.iter().map(|i| i.to_string()).collect();
        if let Some(i) = inject.iter().find(|i| !LIARS.contains(&i.as_str())) {
            bail!("the page has no liar {i} (it has {})", LIARS.join(", "));
        }
        let b64 = base64::engine::general_purpose::STANDARD;
        let mut preopens = Vec::new();
        for p in &spec.preopens {
            let (entries, left) = tree::read(&p.host, None)?;
            if !left.is_empty() {
                tracing::debug!("{}: not in the page's tree: {}", p.guest, left.join("; "));
            }
            preopens.push(json!({ "guest": p.guest, "entries": entries }));
        }
        // The dotdot-escape liar's `..`: the first preopen's host parent, without the preopen.
        let escape = inject.iter().any(|i| i == "path_open:dotdot-escape");
        let parent = match spec.preopens.first() {
            Some(p) if escape => {
                let dir = p.host.parent().context("a preopen without a parent")?;
                let (entries, _) = tree::read(dir, Some(&p.host))?;
                let name = p.host.file_name().unwrap_or_default().to_string_lossy();
                Some((dir.to_owned(), json!({ "name": name, "entries": entries })))
            }
            _ => None,
        };
        let page_spec = json!({
            "args": spec.args,
            "env": spec.env,
            "stdin": b64.encode(&spec.stdin),
            "limits": spec.limits,
            "inject": inject,
            "preopens": preopens,
            "parent": parent.as_ref().map(|(_, v)| v),
        });
        let mut routes = self.routes();
        routes.insert(
            "/spec.json".into(),
            ("application/json", serde_json::to_vec(&page_spec)?),
        );
        routes.insert(
            "/module.wasm".into(),
            ("application/wasm", std::fs::read(module)?),
        );
        // The trees come back as base64 in JSON.
        let max_body = 1 << 30;
        let server = serve::Server::start(routes, self.isolated, max_body)?;
        let wall = spec.limits.wall;
        let b = browser::Chromium::launch(&self.exe, STARTUP, wall + STARTUP + READ_BACK)?;
        let tab = b.open(&format!("http://127.0.0.1:{}/", server.port))?;
        if wait_for(&server, "/started", Instant::now() + STARTUP)?.is_none() {
            bail!(
                "the page did not start the guest within {STARTUP:?}: {}",
                b.log_tail()
            );
        }
        let started = Instant::now();
        let (out, err) = (
            CappedBuf::new(spec.limits.stdout_bytes),
            CappedBuf::new(spec.limits.stderr_bytes),
        );
        // Output arrives while the guest runs, so a guest stopped at the limit leaves it.
        let (mut stdout_fit, mut stderr_fit) = (true, true);
        let body = loop {
            let left = (started + wall).saturating_duration_since(Instant::now());
            match server.posts.recv_timeout(left) {
                Ok((p, bytes)) if p == "/out/1" => stdout_fit &= out.push(&bytes),
                Ok((p, bytes)) if p == "/out/2" => stderr_fit &= err.push(&bytes),
                Ok((p, bytes)) if p == "/ended" => break Some(bytes),
                Ok((p, bytes)) if p == "/result" => break Some(bytes),
                Ok(_) => {}
                Err(_) => break None,
            }
        };
        let Some(ended) = body else {
            let _ = tab.close_target();
            drop(b);
            let o = Outcome {
                termination: Termination::Timeout,
                stdout: out.take(),
                stderr: err.take(),
                duration: started.elapsed(),
                host_calls: Default::default(),
            };
            return Ok((o, BTreeMap::new()));
        };
        let body = match serde_json::from_slice::<Value>(&ended) {
            Ok(v) if v.get("duration_ms").is_some() => {
                wait_for(&server, "/result", Instant::now() + READ_BACK)?
                    .ok_or_else(|| anyhow!("the page sent no tree within {READ_BACK:?}"))?
                    .1
            }
            _ => ended,
        };
        drop(b);
        let r: PageResult = serde_json::from_slice(&body).map_err(|e| {
            let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            match v["page_error"].as_str() {
                Some(why) => anyhow!("the page failed: {why}"),
                None => anyhow!("the page's result: {e}"),
            }
        })?;
        if r.cross_origin_isolated != self.isolated {
            bail!(
                "the guest's worker reports crossOriginIsolated = {}",
                r.cross_origin_isolated
            );
        }
        for (p, entries) in spec.preopens.iter().zip(&r.trees) {
            tree::write_back(&p.host, entries, None)?;
        }
        if let (Some((dir, _)), Some(entries), Some(p)) =
            (&parent, &r.parent, spec.preopens.first())
        {
            tree::write_back(dir, entries, Some(&p.host))?;
        }
        let stops = Stops {
            stdout_over: r.stdout_over || !stdout_fit,
            stderr_over: r.stderr_over || !stderr_fit,
            denied_bytes: match r.termination {
                Termination::Oom { requested_bytes } => Some(requested_bytes),
                _ => None,
            },
            timed_out: false,
        };
        let o = Outcome {
            termination: stops.termination().unwrap_or(r.termination),
            stdout: out.take(),
            stderr: err.take(),
            duration: Duration::from_secs_f64(r.duration_ms.max(0.0) / 1000.0),
            host_calls: r.host_calls,
        };
        Ok((o, r.phases))
    }
}
