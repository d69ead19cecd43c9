//! python.wasm built here: a `[[python_source]]` (a CPython source package of Debian's archive)
//! × a toolchain of the matrix, by the branch's own WASI build script, so the Python cells run
//! on the libc of a pinned SDK rather than on whatever a wheel was built with.
//!
//! What the branches ship (read in their sources): 3.13's `Tools/wasm/wasi.py` has the steps
//! `configure-build-python`, `make-build-python` (a native build Python in
//! `cross-build/build`), `configure-host` and `make-host` (the WASI host in
//! `cross-build/wasm32-wasip1`, `CONFIG_SITE=Tools/wasm/config.site-wasm32-wasi`), finds the SDK
//! through `WASI_SDK_PATH` (`bin/clang`, `bin/clang-cpp`, `bin/clang++`, `bin/llvm-ar`,
//! `bin/ranlib`, `share/wasi-sysroot`), and runs the result with a `wasmtime` from `PATH` under
//! its host runner `--wasm max-wasm-stack=8388608 --dir CHECKOUT::/ --env
//! PYTHONPATH=/cross-build/wasm32-wasip1/build/lib.wasi-wasm32-3.13`. 3.14 moved the script to
//! `Tools/wasm/wasi/` and main to `Platforms/WASI/` (which also names the SDK in
//! `config.toml` and a 32 MiB stack in `wasmtime.toml`): the script is looked up in that order
//! and the stack is read from the branch's own files, never assumed.
//!
//! The build Python depends on the source alone, so it is built once per source and shared by
//! every toolchain's host build (a `cross-build/build` link). A host build is cached under a
//! key of (source sha256, toolchain identity, the extension sources compiled in, this module's
//! recipe version); a failed build is cached too — it is evidence (a libc that breaks the
//! build), and rebuilding it every run would cost minutes for the same answer. Everything is
//! built under a temporary name and renamed when complete.
//!
//! `probes/python/ext/wpext.c` is compiled in through `Modules/Setup.local` (`*static*`): WASI
//! has no `dlopen`, so this is how an extension reaches python.wasm, and `py-ext` on these
//! binaries imports it and calls it.

use super::{Launch, PyProvisioned};
use crate::matrix::{Matrix, PythonSpec};
use crate::provision::{hex, Options, Provisioned};
use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use wasiprobe_model::python::{BuildStep, SourceBuild, SourceSpec};
use wasiprobe_model::Preopen;
use wasiprobe_util::{atomic_write, command_output};

/// Bumped when the recipe changes what a build produces.
const RECIPE: &str = "wasiprobe-cpython-wasi-2";
/// The slowest step (the native build Python) takes ≈ 3 min on two cores; a hung one must end.
const STEP_TIMEOUT: Duration = Duration::from_secs(3600);
const RECORD: &str = "wasiprobe-build.json";
/// The WASI host triple the scripts default to.
pub const HOST_TRIPLE: &str = "wasm32-wasip1";
/// Extension modules compiled into every source build (`Modules/Setup.local`).
pub const SETUP_LOCAL: &[&str] = &["wpext"];

/// The branch's WASI build script, newest layout first.
const SCRIPTS: &[&str] = &[
    "Platforms/WASI/__main__.py",
    "Tools/wasm/wasi/__main__.py",
    "Tools/wasm/wasi.py",
];

fn base_dir(src: &SourceSpec, cache: &Path) -> PathBuf {
    cache
        .join("cpython-wasi")
        .join(format!("{}-{}", src.version, &src.sha256[..16]))
}

/// The CPython source tree of `src` (shared with the C-extension probe's headers).
pub fn source_dir(src: &SourceSpec, cache: &Path) -> PathBuf {
    cache.join("cpython-src").join(&src.version)
}

pub fn script_of(tree: &Path) -> Option<&'static str> {
    SCRIPTS.iter().copied().find(|s| tree.join(s).is_file())
}

/// The Wasm stack the branch's own host runner gives python.wasm (`max-wasm-stack=N` in its
/// script, or `max-wasm-stack = N` in `Platforms/WASI/wasmtime.toml`).
pub fn branch_stack(tree: &Path) -> Option<usize> {
    let files = [
        "Platforms/WASI/wasmtime.toml",
        "Tools/wasm/wasi/__main__.py",
        "Tools/wasm/wasi.py",
    ];
    files.iter().find_map(|f| {
        let text = std::fs::read_to_string(tree.join(f)).ok()?;
        let at = text.find("max-wasm-stack")?;
        let digits: String = text[at + "max-wasm-stack".len()..]
            .trim_start_matches(['=', ' ', '"'])
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        digits.parse().ok()
    })
}

/// The sources of the extension modules compiled in, by name.
fn setup_sources(root: &Path) -> Result<Vec<(String, Vec<u8>)>> {
    SETUP_LOCAL
        .iter()
        .map(|m| {
            let p = root.join("probes/python/ext").join(format!("{m}.c"));
            Ok((
                m.to_string(),
                std::fs::read(&p).with_context(|| format!("reading {}", p.display()))?,
            ))
        })
        .collect()
}

fn host_key(src: &SourceSpec, sdk: &Provisioned, setup: &[(String, Vec<u8>)]) -> String {
    let mut h = Sha256::new();
    h.update(format!("{RECIPE}\0{}\0{:?}\0", src.sha256, sdk.identity));
    if let Some(c) = &sdk.compiler {
        h.update(format!("{:?}\0{:?}\0", c.program, c.args));
    }
    for (name, text) in setup {
        h.update(name.as_bytes());
        h.update(b"\0");
        h.update(text);
    }
    hex(&h.finalize())[..16].to_string()
}

/// Where the build of `spec` lives once made.
fn host_dir(src: &SourceSpec, sdk: &Provisioned, key: &str, cache: &Path) -> PathBuf {
    base_dir(src, cache).join(format!("{}-{key}", sdk.spec.id))
}

/// The guest's view of a finished build: the checkout as `/`, the stdlib and the build's
/// sysconfig data on `PYTHONPATH` (as the branch's host runner sets it).
pub fn launch_of(tree: &Path, version: &str, stack: usize) -> Result<(PathBuf, Launch), String> {
    let mm: String = version.split('.').take(2).collect::<Vec<_>>().join(".");
    let cross = tree.join("cross-build").join(HOST_TRIPLE);
    let wasm = cross.join("python.wasm");
    let lib = format!("build/lib.wasi-wasm32-{mm}");
    if !wasm.is_file() || !cross.join(&lib).is_dir() || !tree.join("Lib/os.py").is_file() {
        return Err(format!(
            "{} is not a finished WASI build (python.wasm, {lib}, Lib/os.py)",
            tree.display()
        ));
    }
    let launch = Launch {
        argv: vec!["python.wasm".into()],
        env: vec![(
            "PYTHONPATH".into(),
            format!("/cross-build/{HOST_TRIPLE}/{lib}"),
        )],
        preopens: vec![Preopen {
            host: tree.to_owned(),
            guest: "/".into(),
        }],
        wasm_stack_bytes: Some(stack),
    };
    Ok((wasm, launch))
}

fn record(dir: &Path) -> Option<SourceBuild> {
    serde_json::from_str(&std::fs::read_to_string(dir.join(RECORD)).ok()?).ok()
}

/// The binary of a finished build as the Python cells see it: ready, or broken naming the step
/// that failed with its last lines.
fn provisioned(spec: &PythonSpec, dir: &Path, b: SourceBuild) -> PyProvisioned {
    if !b.ok {
        let failed = b.steps.iter().find(|s| !s.ok);
        let mut p = PyProvisioned::new(
            spec,
            "broken",
            Some(match failed {
                Some(s) => format!(
                    "the {} build of CPython {} failed at step {}: {}",
                    b.toolchain,
                    b.source,
                    s.name,
                    last_lines(&s.tail, 12)
                ),
                None => "the build failed before its first step".into(),
            }),
        );
        p.build = Some(b);
        return p;
    }
    match launch_of(&dir.join("tree"), &spec.version, b.wasm_stack_bytes) {
        Ok((wasm, launch)) => {
            let mut p = super::inspect(spec, &wasm, None, launch);
            // The branch's own stack, not the one the wheels are run with.
            p.launch.wasm_stack_bytes = Some(b.wasm_stack_bytes);
            p.build = Some(b);
            p
        }
        Err(e) => PyProvisioned::new(spec, "broken", Some(e)),
    }
}

fn last_lines(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// What a `source` entry needs before it can be built, or why it cannot.
pub struct Inputs<'a> {
    pub source: &'a SourceSpec,
    pub toolchain: Provisioned,
    pub sdk_path: PathBuf,
}

pub fn inputs<'a>(
    matrix: &'a Matrix,
    source: &str,
    toolchain: &str,
    opts: &Options,
    fetch: bool,
) -> Result<Inputs<'a>, String> {
    let src = matrix
        .python_sources
        .iter()
        .find(|s| s.version == source)
        .ok_or_else(|| format!("no [[python_source]] has version {source}"))?;
    let spec = matrix
        .get(toolchain)
        .ok_or_else(|| format!("no [[sdk]] is named {toolchain}"))?;
    let tc = if fetch {
        crate::provision::fetch(spec, opts)
    } else {
        crate::provision::locate(spec, opts)
    };
    if !tc.is_ready() {
        return Err(format!(
            "toolchain {toolchain} is {:?}: {}",
            tc.status,
            tc.reason.as_deref().unwrap_or("?")
        ));
    }
    let sdk_path = crate::provision::sdk_path(&tc, opts).ok_or_else(|| {
        format!("toolchain {toolchain} has no WASI-SDK-shaped directory, which the branch's build script needs (WASI_SDK_PATH)")
    })?;
    Ok(Inputs {
        source: src,
        toolchain: tc,
        sdk_path,
    })
}

/// Finds a finished (or failed) build in the cache without building.
pub fn locate(root: &Path, spec: &PythonSpec, inp: &Inputs, opts: &Options) -> PyProvisioned {
    let setup = match setup_sources(root) {
        Ok(s) => s,
        Err(e) => return PyProvisioned::new(spec, "unavailable", Some(format!("{e:#}"))),
    };
    let key = host_key(inp.source, &inp.toolchain, &setup);
    let dir = host_dir(inp.source, &inp.toolchain, &key, &opts.cache);
    match record(&dir) {
        Some(mut b) => {
            b.cached = true;
            provisioned(spec, &dir, b)
        }
        None => PyProvisioned::new(
            spec,
            "unavailable",
            Some(format!(
                "CPython {} is not built with {} yet ({}); a run builds it (≈ 5 min cold on two cores)",
                inp.source.version,
                inp.toolchain.spec.id,
                dir.display()
            )),
        ),
    }
}

/// Builds (or finds) python.wasm for `spec`.
pub fn build(
    project_root: &Path,
    matrix: &Matrix,
    spec: &PythonSpec,
    inp: &Inputs,
    opts: &Options,
) -> PyProvisioned {
    // Two cells of one run wanting one build must not build it twice.
    static ONE: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = ONE.lock().unwrap_or_else(|e| e.into_inner());
    let found = locate(project_root, spec, inp, opts);
    if found.status != "unavailable" {
        return found;
    }
    match build_host(project_root, matrix, spec, inp, opts) {
        Ok((dir, b)) => provisioned(spec, &dir, b),
        Err(e) => PyProvisioned::new(spec, "unavailable", Some(format!("{e:#}"))),
    }
}

fn run_step(name: &str, mut cmd: Command, shown: String) -> Result<BuildStep> {
    cmd.stdin(std::process::Stdio::null());
    let start = Instant::now();
    let out = command_output(cmd, STEP_TIMEOUT).with_context(|| format!("running {shown}"))?;
    let text = wasiprobe_util::streams_text(&out.stdout, &out.stderr);
    Ok(BuildStep {
        name: name.into(),
        ok: out.status.success(),
        command: shown,
        tail: super::extension::tail(&text, 4000),
        duration_ms: start.elapsed().as_secs_f64() * 1000.0,
    })
}

fn script_step(
    python: &str,
    tree: &Path,
    script: &str,
    step: &str,
    env: &[(String, String)],
) -> Result<BuildStep> {
    let mut cmd = Command::new(python);
    cmd.arg(script)
        .arg(step)
        .current_dir(tree)
        .envs(env.iter().cloned());
    let shown = format!(
        "{} {python} {script} {step}",
        env.iter()
            .filter(|(k, _)| k == "WASI_SDK_PATH")
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    run_step(step, cmd, shown.trim().to_string())
}

fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    let mut cp = Command::new("cp");
    cp.arg("-a").arg(from).arg(to);
    let out = command_output(cp, STEP_TIMEOUT)?;
    if !out.status.success() {
        bail!(
            "cp -a {} {}: {}",
            from.display(),
            to.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// The native build Python of `src`, built once and shared: `(its cross-build/build dir,
/// its steps)`.
fn build_python(
    src: &SourceSpec,
    tree: &Path,
    opts: &Options,
) -> Result<(PathBuf, Vec<BuildStep>)> {
    let cache = &opts.cache;
    let base = base_dir(src, cache);
    let done = base.join("build-python");
    let build_dir = done.join("tree/cross-build/build");
    if let Ok(text) = std::fs::read_to_string(done.join(RECORD)) {
        let steps: Vec<BuildStep> = serde_json::from_str(&text)?;
        if steps.iter().all(|s| s.ok) {
            return Ok((build_dir, steps));
        }
    }
    std::fs::create_dir_all(&base)?;
    let _ = std::fs::remove_dir_all(&done);
    let tmp = tempfile::Builder::new()
        .prefix(".build-python-")
        .tempdir_in(&base)?;
    let work = tmp.path().join("tree");
    copy_tree(tree, &work)?;
    let script = script_of(&work).context("no WASI build script")?;
    let mut steps = Vec::new();
    for step in ["configure-build-python", "make-build-python"] {
        let s = script_step(&opts.python, &work, script, step, &[])?;
        let ok = s.ok;
        steps.push(s);
        if !ok {
            bail!(
                "the native build Python of CPython {} failed at {step}: {}",
                src.version,
                last_lines(&steps.last().unwrap().tail, 12)
            );
        }
    }
    atomic_write(
        &tmp.path().join(RECORD),
        &serde_json::to_vec_pretty(&steps)?,
    )?;
    let kept = tmp.keep();
    // The build Python finds its stdlib relative to itself, so the rename keeps it working.
    std::fs::rename(&kept, &done)
        .with_context(|| format!("moving the build Python to {}", done.display()))?;
    Ok((build_dir, steps))
}

/// The executable the branch's script runs as `wasmtime`, in a directory of its own for PATH.
fn runner_dir(matrix: &Matrix, src: &SourceSpec, base: &Path, opts: &Options) -> Result<PathBuf> {
    let name = src
        .build_runtime
        .as_deref()
        .context("field `build_runtime` is needed: the build script runs python.wasm --version through a `wasmtime` on PATH")?;
    let rt = matrix
        .runtime(name)
        .with_context(|| format!("no [[runtime]] is named {name}"))?;
    crate::runtime_fetch::fetch_runtime(rt, opts)?;
    let exe = wasiprobe_runtimes::cli_rt::locate_runtime(rt, &opts.cache)
        .map_err(anyhow::Error::msg)?
        .with_context(|| format!("runtime {name} names no executable"))?;
    let dir = base.join("runner");
    std::fs::create_dir_all(&dir)?;
    let link = dir.join("wasmtime");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(&exe, &link)?;
    Ok(dir)
}

fn build_host(
    root: &Path,
    matrix: &Matrix,
    spec: &PythonSpec,
    inp: &Inputs,
    opts: &Options,
) -> Result<(PathBuf, SourceBuild)> {
    let src = inp.source;
    let source_tree = source_dir(src, &opts.cache);
    if super::extension::check_tree(&source_tree).is_err() {
        tracing::info!(
            "fetching CPython {} source ({} from {})",
            src.version,
            src.debian_source,
            src.suite
        );
        super::extension::fetch_source(src, &source_tree)
            .with_context(|| format!("fetching CPython {} source", src.version))?;
    }
    let script = script_of(&source_tree).with_context(|| {
        format!(
            "CPython {} ships none of {}: its WASI build predates the script",
            src.version,
            SCRIPTS.join(", ")
        )
    })?;
    let stack = branch_stack(&source_tree).with_context(|| {
        format!(
            "CPython {}'s WASI scripts name no max-wasm-stack",
            src.version
        )
    })?;
    let setup = setup_sources(root)?;
    let key = host_key(src, &inp.toolchain, &setup);
    let dir = host_dir(src, &inp.toolchain, &key, &opts.cache);
    let base = base_dir(src, &opts.cache);
    let start = Instant::now();
    tracing::info!(
        "building CPython {} for WASI with {} (≈ 5 min cold on two cores)",
        src.version,
        inp.toolchain.spec.id
    );
    let (build_python, mut steps) = build_python(src, &source_tree, opts)?;
    for s in &mut steps {
        s.name = format!("build-python: {}", s.name);
    }
    let runner = runner_dir(matrix, src, &base, opts)?;
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".{}-", inp.toolchain.spec.id))
        .tempdir_in(&base)?;
    let tree = tmp.path().join("tree");
    copy_tree(&source_tree, &tree)?;
    std::fs::create_dir_all(tree.join("cross-build"))?;
    std::os::unix::fs::symlink(&build_python, tree.join("cross-build/build"))?;
    let mut setup_local =
        String::from("# written by wasiprobe: extension modules built in\n*static*\n");
    for (name, text) in &setup {
        std::fs::write(tree.join("Modules").join(format!("{name}.c")), text)?;
        setup_local += &format!("{name} {name}.c\n");
    }
    // makesetup reads Setup.local from the build directory; the copy in the source tree is the
    // landmark by which python.wasm, run with the tree as `/`, finds its stdlib.
    let host_build = tree.join("cross-build").join(HOST_TRIPLE).join("Modules");
    std::fs::create_dir_all(&host_build)?;
    std::fs::write(host_build.join("Setup.local"), &setup_local)?;
    std::fs::write(tree.join("Modules/Setup.local"), setup_local)?;
    let path = format!(
        "{}:{}",
        runner.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let env = vec![
        (
            "WASI_SDK_PATH".to_string(),
            inp.sdk_path.display().to_string(),
        ),
        ("PATH".to_string(), path),
    ];
    for step in ["configure-host", "make-host"] {
        let s = script_step(&opts.python, &tree, script, step, &env)?;
        let ok = s.ok;
        steps.push(s);
        if !ok {
            break;
        }
    }
    let ok = steps.iter().all(|s| s.ok) && launch_of(&tree, &spec.version, stack).is_ok();
    let b = SourceBuild {
        source: src.version.clone(),
        source_sha256: src.sha256.clone(),
        toolchain: inp.toolchain.spec.id.clone(),
        toolchain_identity: format!("{:?}", inp.toolchain.identity),
        script: script.into(),
        wasm_stack_bytes: stack,
        key,
        steps,
        ok,
        duration_ms: start.elapsed().as_secs_f64() * 1000.0,
        cached: false,
        setup_local: SETUP_LOCAL.iter().map(|s| s.to_string()).collect(),
    };
    atomic_write(&tmp.path().join(RECORD), &serde_json::to_vec_pretty(&b)?)?;
    let kept = tmp.keep();
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::rename(&kept, &dir)
        .with_context(|| format!("moving the build to {}", dir.display()))?;
    tracing::info!(
        "CPython {} with {}: {} in {:.0} s",
        src.version,
        inp.toolchain.spec.id,
        if b.ok { "built" } else { "build failed" },
        b.duration_ms / 1000.0
    );
    Ok((dir, b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_branch_script_and_stack_are_read_from_the_tree_newest_layout_first() {
        let t = tempfile::tempdir().unwrap();
        assert_eq!(script_of(t.path()), None);
        assert_eq!(branch_stack(t.path()), None);
        let put = |rel: &str, text: &str| {
            let p = t.path().join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        };
        put(
            "Tools/wasm/wasi.py",
            "x = ('--wasm max-wasm-stack=8388608 '\n",
        );
        assert_eq!(script_of(t.path()), Some("Tools/wasm/wasi.py"));
        assert_eq!(branch_stack(t.path()), Some(8388608));
        put("Platforms/WASI/__main__.py", "");
        put(
            "Platforms/WASI/wasmtime.toml",
            "[wasm]\nmax-wasm-stack = 33554432\n",
        );
        assert_eq!(script_of(t.path()), Some("Platforms/WASI/__main__.py"));
        assert_eq!(branch_stack(t.path()), Some(33554432));
    }
}
