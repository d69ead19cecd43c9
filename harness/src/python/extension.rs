//! The C-extension build probe (`py-ext`, check `c_extension_build`): can each SDK build a
//! CPython extension module? WASI has no `dlopen`, so an extension is built into python.wasm
//! statically; what can fail is compiling against the CPython headers and linking against the
//! SDK's libc. Per ready SDK:
//!
//! 1. **configure**: CPython's own cross build (`Tools/wasm/config.site-wasm32-wasi`,
//!    `--host=wasm32-unknown-wasi`) with that SDK's compiler as `CC`. `pyconfig.h` is what
//!    configure measures of the libc, so headers "for" an SDK exist only after configuring with
//!    it. Cached per SDK identity (compiler, libc fingerprint) and header version.
//! 2. **compile** `probes/python/ext/wpext.c` (module init, argument parsing, value building,
//!    and the libc calls real extensions make) with `-I Include -I <configure dir>`.
//! 3. **link** a command that calls `PyInit_wpext` (what CPython's inittab does): the Python API
//!    stays undefined (`--allow-undefined-file` listing exactly those symbols) and every other
//!    symbol must come from the SDK's libc. The link line is the toolchain's own (from `-v`),
//!    minus any blanket `--allow-undefined` (zig 0.10 passes one, which would turn a missing
//!    libc function into a silent import).
//!
//! Every run also links a negative control, `wpext_fork.c`, which needs `fork` (no WASI libc
//! has it): if that links, the link step cannot see a missing symbol and the cell is `error`.
//!
//! The headers come from CPython's source as Debian ships it (`[[python_headers]]` in the
//! matrix: an `apt-get source` package and the pinned sha256 of its upstream tarball; Debian's
//! patches are not applied). The CPython-for-WASI binary of the matrix is 3.12.0, whose headers
//! cannot be obtained here, so the probe is keyed to the header version, not to that binary.

pub use wasiprobe_model::python::{ExtBuild, ExtReport, HeaderSpec, LibcNeed, SdkExt, Step};

use crate::plan::RunOptions;
use crate::provision::{hex, Provisioned};
use crate::report::{Cell, Verdict};
use anyhow::{bail, Context, Result};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use wasiprobe_util::{atomic_write, command_output};

pub use wasiprobe_model::python::{EXT_CONTROL as CONTROL, EXT_PROBE as PROBE};
pub const CHECK: &str = "c_extension_build";
/// The extension module every SDK builds.
pub const MODULE: &str = "wpext";
pub const CONTROL_SYMBOL: &str = "fork";
/// Configure of CPython runs ~30-40 s per SDK on two cores; a hung one must not hang the run.
const CONFIGURE_TIMEOUT: Duration = Duration::from_secs(1200);
const TOOL_TIMEOUT: Duration = Duration::from_secs(900);

// ------------------------------------------------------------------------------ headers

pub fn src_dir(spec: &HeaderSpec, cache: &Path) -> PathBuf {
    cache.join("cpython-src").join(&spec.version)
}

/// What a source tree must hold to configure and compile against.
const TREE_FILES: &[&str] = &[
    "Include/Python.h",
    "configure",
    "config.guess",
    "Tools/wasm/config.site-wasm32-wasi",
];

pub fn check_tree(src: &Path) -> Result<(), String> {
    let missing: Vec<&str> = TREE_FILES
        .iter()
        .copied()
        .filter(|f| !src.join(f).is_file())
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the CPython source tree {} is incomplete: no {}",
            src.display(),
            missing.join(", ")
        ))
    }
}

pub fn locate_headers(spec: &HeaderSpec, cache: &Path) -> Result<PathBuf, String> {
    let dir = src_dir(spec, cache);
    if !dir.exists() {
        return Err(format!(
            "CPython {} source is not in {}; a run (or `wasiprobe sdk fetch`) fetches it (apt-get source {}, private apt state, no root)",
            spec.version,
            dir.display(),
            spec.debian_source
        ));
    }
    check_tree(&dir)?;
    Ok(dir)
}

fn run_tool(mut cmd: Command, timeout: Duration) -> Result<(bool, String)> {
    let shown = format!("{cmd:?}");
    cmd.env("DEBIAN_FRONTEND", "noninteractive");
    let out = command_output(cmd, timeout).with_context(|| format!("running {shown}"))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok((out.status.success(), text))
}

/// Fetches the CPython source with `apt-get source --download-only` through a private apt
/// state in the cache (`crate::apt`: no root, the system's apt configuration untouched) and
/// unpacks its upstream tarball, atomically.
pub fn fetch_headers(spec: &HeaderSpec, cache: &Path) -> Result<PathBuf, String> {
    // Two fetches in one process (parallel tests) must not race for one tree.
    static FETCH: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = FETCH.lock().unwrap_or_else(|e| e.into_inner());
    if let Ok(d) = locate_headers(spec, cache) {
        return Ok(d);
    }
    let dest = src_dir(spec, cache);
    if dest.exists() {
        // A tree that fails `check_tree` was not made by us (we rename only complete trees).
        return Err(check_tree(&dest).unwrap_err());
    }
    fetch_source(spec, cache, &dest)
        .map_err(|e| format!("fetching CPython {} source: {e:#}", spec.version))
}

fn fetch_source(spec: &HeaderSpec, cache: &Path, dest: &Path) -> Result<PathBuf> {
    let suite = crate::apt::Suite::open(
        cache,
        spec.suite.as_deref().unwrap_or("bookworm"),
        true,
        None,
    )?;
    let parent = dest.parent().unwrap();
    std::fs::create_dir_all(parent)?;
    let tmp = tempfile::Builder::new()
        .prefix(".fetch-")
        .tempdir_in(parent)?;
    let mut errors = Vec::new();
    let mut tarball = None;
    // Every version of a source package shares the upstream tarball; a version whose other
    // files are gone from the archive (a superseded security update) fails, the next may not.
    if !suite.updated_lists() {
        suite.update()?;
    }
    for v in suite.versions(&spec.debian_source)? {
        let dir = tmp.path().join(&v);
        match suite.source(&spec.debian_source, &v, &dir) {
            Ok(_) if dir.join(&spec.orig).is_file() => {
                tarball = Some(dir.join(&spec.orig));
                break;
            }
            Ok(files) => errors.push(format!(
                "{v}: fetched {} files but no {}",
                files.len(),
                spec.orig
            )),
            Err(e) => errors.push(format!("{v}: {e:#}")),
        }
    }
    let orig = tarball.with_context(|| {
        format!(
            "apt-get source {} failed for every version: {}",
            spec.debian_source,
            errors.join("; ")
        )
    })?;
    let got = hex(&Sha256::digest(std::fs::read(&orig)?));
    if !got.eq_ignore_ascii_case(&spec.sha256) {
        bail!(
            "{} has sha256 {got}, the matrix pins {}",
            spec.orig,
            spec.sha256
        );
    }
    let unpack = tmp.path().join("unpack");
    std::fs::create_dir_all(&unpack)?;
    let mut tar = Command::new("tar");
    tar.arg("-xzf").arg(&orig).arg("-C").arg(&unpack);
    let (ok, text) = run_tool(tar, TOOL_TIMEOUT)?;
    if !ok {
        bail!("unpacking {}: {}", spec.orig, tail(&text, 500));
    }
    let top: Vec<PathBuf> = std::fs::read_dir(&unpack)?
        .flatten()
        .map(|e| e.path())
        .collect();
    let [tree] = top.as_slice() else {
        bail!("{} does not unpack into one directory", spec.orig);
    };
    check_tree(tree).map_err(anyhow::Error::msg)?;
    if let Err(e) = std::fs::rename(tree, dest) {
        // Another process may have finished first; its tree is as good as ours.
        if locate_headers(spec, dest.parent().unwrap().parent().unwrap()).is_err() {
            return Err(e).with_context(|| format!("moving the tree to {}", dest.display()));
        }
    }
    Ok(dest.to_owned())
}

fn tail(s: &str, n: usize) -> String {
    let s = s.trim();
    let mut start = s.len().saturating_sub(n);
    while !s.is_char_boundary(start) {
        start += 1;
    }
    s[start..].to_string()
}

// ---------------------------------------------------------------------------- configure

fn cc_string(c: &crate::provision::Compiler) -> String {
    std::iter::once(c.program.display().to_string())
        .chain(c.args.iter().cloned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The configure directory of `sdk`: keyed by everything configure's result depends on.
pub fn configure_dir(
    spec: &HeaderSpec,
    src: &Path,
    sdk: &Provisioned,
    cache: &Path,
) -> Result<PathBuf> {
    let c = sdk.compiler.as_ref().context("toolchain not ready")?;
    let mut h = Sha256::new();
    h.update(b"wasiprobe-cpython-configure-1\0");
    h.update(format!(
        "{:?}\0{:?}\0{:?}\0",
        c.program, c.args, sdk.identity
    ));
    h.update(format!("{}\0{}\0", spec.version, spec.build_python));
    h.update(std::fs::read(
        src.join("Tools/wasm/config.site-wasm32-wasi"),
    )?);
    Ok(cache
        .join("cpython-build")
        .join(&spec.version)
        .join(format!("{}-{}", sdk.spec.id, &hex(&h.finalize())[..16])))
}

const RECORD: &str = "wasiprobe-configure.json";

/// Configures CPython for WASI with `sdk`'s compiler; a failure is a result (cached too, keyed
/// like a success, so an SDK that cannot configure is not retried every run).
pub fn configure(
    spec: &HeaderSpec,
    src: &Path,
    sdk: &Provisioned,
    cache: &Path,
) -> Result<(PathBuf, Step)> {
    let dir = configure_dir(spec, src, sdk, cache)?;
    if let Ok(text) = std::fs::read_to_string(dir.join(RECORD)) {
        if let Ok(mut step) = serde_json::from_str::<Step>(&text) {
            if !step.ok || dir.join("pyconfig.h").is_file() {
                step.cached = true;
                return Ok((dir, step));
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    let c = sdk.compiler.as_ref().context("toolchain not ready")?;
    std::fs::create_dir_all(dir.parent().unwrap())?;
    // Configure in a temporary directory renamed when complete, so a killed run or a
    // concurrent one never leaves a half-configured directory under the final name.
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".{}-", sdk.spec.id))
        .tempdir_in(dir.parent().unwrap())?;
    let guess = {
        let (ok, text) = run_tool(Command::new(src.join("config.guess")), TOOL_TIMEOUT)?;
        if !ok {
            bail!("{}/config.guess failed: {text}", src.display());
        }
        text.trim().to_string()
    };
    let mut cmd = Command::new(src.join("configure"));
    cmd.arg("--host=wasm32-unknown-wasi")
        .arg(format!("--build={guess}"))
        .arg(format!("--with-build-python={}", spec.build_python))
        .env(
            "CONFIG_SITE",
            src.join("Tools/wasm/config.site-wasm32-wasi"),
        )
        .env("CC", cc_string(c))
        .envs(c.env.iter().cloned())
        .current_dir(tmp.path());
    let shown = format!(
        "CONFIG_SITE=Tools/wasm/config.site-wasm32-wasi CC='{}' configure --host=wasm32-unknown-wasi --build={guess} --with-build-python={}",
        cc_string(c),
        spec.build_python
    );
    let start = Instant::now();
    let (ok, text) = run_tool(cmd, CONFIGURE_TIMEOUT)?;
    let ok = ok && tmp.path().join("pyconfig.h").is_file();
    let message = if ok {
        "pyconfig.h written".to_string()
    } else {
        let log = std::fs::read_to_string(tmp.path().join("config.log")).unwrap_or_default();
        format!(
            "{}\n--- config.log tail ---\n{}",
            tail(&text, 1500),
            tail(&log, 1500)
        )
    };
    let step = Step {
        ok,
        command: shown,
        message,
        duration_ms: start.elapsed().as_secs_f64() * 1000.0,
        cached: false,
    };
    atomic_write(&tmp.path().join(RECORD), &serde_json::to_vec_pretty(&step)?)?;
    let tmp = tmp.keep();
    if std::fs::rename(&tmp, &dir).is_err() {
        // Someone else configured it meanwhile: theirs stands.
        let _ = std::fs::remove_dir_all(&tmp);
    }
    Ok((dir, step))
}

// ---------------------------------------------------------------------- compile and link

fn ext_dir(root: &Path) -> PathBuf {
    root.join("probes/python/ext")
}

/// A symbol of the Python C API (what the interpreter provides when the module is built in).
pub fn is_python_api(s: &str) -> bool {
    s.starts_with("Py") || s.starts_with("_Py")
}

/// Symbols the linker synthesizes.
fn is_linker_symbol(s: &str) -> bool {
    matches!(
        s,
        "__stack_pointer"
            | "__indirect_function_table"
            | "__memory_base"
            | "__table_base"
            | "__heap_base"
            | "__data_end"
    )
}

/// Undefined symbols of a wasm object file (its `linking` symbol table; an undefined function
/// without an explicit name is named by its import).
pub fn undefined_symbols(obj: &[u8]) -> Result<BTreeSet<String>> {
    use wasmparser::{KnownCustom, Linking, Parser, Payload, SymbolFlags, SymbolInfo, TypeRef};
    let mut func_imports = Vec::new();
    let mut global_imports = Vec::new();
    let mut out = BTreeSet::new();
    for payload in Parser::new(0).parse_all(obj) {
        match payload? {
            Payload::ImportSection(r) => {
                for imp in r.into_imports() {
                    let imp = imp?;
                    match imp.ty {
                        TypeRef::Func(_) => func_imports.push(imp.name.to_string()),
                        TypeRef::Global(_) => global_imports.push(imp.name.to_string()),
                        _ => {}
                    }
                }
            }
            Payload::CustomSection(c) => {
                let KnownCustom::Linking(reader) = c.as_known() else {
                    continue;
                };
                for sub in reader {
                    let Linking::SymbolTable(symbols) = sub? else {
                        continue;
                    };
                    for s in symbols {
                        let (flags, name) = match s? {
                            SymbolInfo::Func { flags, name, index } => (
                                flags,
                                name.map(String::from)
                                    .or_else(|| func_imports.get(index as usize).cloned()),
                            ),
                            SymbolInfo::Global { flags, name, index } => (
                                flags,
                                name.map(String::from)
                                    .or_else(|| global_imports.get(index as usize).cloned()),
                            ),
                            SymbolInfo::Data { flags, name, .. } => (flags, Some(name.to_string())),
                            SymbolInfo::Event { flags, name, .. }
                            | SymbolInfo::Table { flags, name, .. } => {
                                (flags, name.map(String::from))
                            }
                            SymbolInfo::Section { .. } => continue,
                        };
                        if flags.contains(SymbolFlags::UNDEFINED) {
                            if let Some(n) = name {
                                out.insert(n);
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

/// The wasm-ld command line of a toolchain's `-v` output: program and arguments.
fn wasm_ld_line(verbose: &str) -> Option<Vec<String>> {
    // `wasm-ld` or `wasm-ld-16`, possibly with a directory; not `wasm-ld-16:` (an error line).
    let is_ld = |t: &str| {
        let name = t.trim_matches('"').rsplit('/').next().unwrap_or("");
        name == "wasm-ld"
            || name
                .strip_prefix("wasm-ld-")
                .is_some_and(|v| !v.is_empty() && v.chars().all(|c| c.is_ascii_digit()))
    };
    let line = verbose
        .lines()
        .rev()
        .find(|l| l.split_whitespace().next().is_some_and(is_ld))?;
    Some(
        line.split_whitespace()
            .map(|t| t.trim_matches('"').to_string())
            .collect(),
    )
}

fn compile(
    c: &crate::provision::Compiler,
    include: &[&Path],
    defines: &[String],
    src: &Path,
    obj: &Path,
) -> Result<Step> {
    let mut cmd = c.command();
    cmd.args(crate::build::CFLAGS);
    for i in include {
        cmd.arg("-I").arg(i);
    }
    cmd.args(defines).arg("-c").arg(src).arg("-o").arg(obj);
    let shown = format!("{cmd:?}");
    let start = Instant::now();
    let (ok, text) = run_tool(cmd, TOOL_TIMEOUT)?;
    Ok(Step {
        ok: ok && obj.is_file(),
        command: shown,
        message: tail(&text, 4000),
        duration_ms: start.elapsed().as_secs_f64() * 1000.0,
        cached: false,
    })
}

/// Links `objs` into a command with the toolchain's own wasm-ld line, where only the symbols
/// listed in `allow` may stay undefined.
fn link(
    c: &crate::provision::Compiler,
    objs: &[PathBuf],
    allow: &Path,
    out: &Path,
    work: &Path,
) -> Result<Step> {
    let start = Instant::now();
    // The toolchain's own line, with its libc, crt1 and compiler runtime. This first link is
    // expected to fail (the Python API is undefined); only its printed command is used.
    let mut probe = c.command();
    probe
        .arg("-v")
        .args(objs)
        .arg("-o")
        .arg(out)
        .current_dir(work);
    let (_, verbose) = run_tool(probe, TOOL_TIMEOUT)?;
    let Some(tokens) = wasm_ld_line(&verbose) else {
        return Ok(Step {
            ok: false,
            command: format!("{} -v", cc_string(c)),
            message: format!(
                "the toolchain's -v output names no wasm-ld command: {}",
                tail(&verbose, 1500)
            ),
            duration_ms: start.elapsed().as_secs_f64() * 1000.0,
            cached: false,
        });
    };
    let _ = std::fs::remove_file(out);
    // zig prints its built-in linker as a bare `wasm-ld`, run as `zig wasm-ld`.
    let mut cmd = if tokens[0] == "wasm-ld" && c.args.first().is_some_and(|a| a == "cc") {
        let mut k = Command::new(&c.program);
        k.arg("wasm-ld");
        k
    } else {
        Command::new(&tokens[0])
    };
    cmd.args(tokens[1..].iter().filter(|t| *t != "--allow-undefined"))
        .arg(format!("--allow-undefined-file={}", allow.display()))
        .envs(c.env.iter().cloned())
        .current_dir(work);
    let shown = format!("{cmd:?}");
    let (ok, text) = run_tool(cmd, TOOL_TIMEOUT)?;
    Ok(Step {
        ok: ok && out.is_file(),
        command: shown,
        message: tail(&text, 4000),
        duration_ms: start.elapsed().as_secs_f64() * 1000.0,
        cached: false,
    })
}

/// The libc symbols of one SDK, read once per call of `execute`.
pub struct LibcView {
    pub defined: BTreeSet<String>,
    pub runtime: BTreeSet<String>,
}

impl LibcView {
    pub fn of(sdk: &Provisioned) -> Result<Self> {
        let s = crate::symbols::libc_symbols(sdk)?;
        Ok(LibcView {
            defined: s.defined,
            runtime: s.runtime,
        })
    }
    fn provider(&self, sym: &str) -> &'static str {
        if self.defined.contains(sym) {
            "libc"
        } else if self.runtime.contains(sym) {
            "compiler-rt"
        } else {
            "missing"
        }
    }
}

/// Compiles `probes/python/ext/MODULE.c` and the entry stub against `src` + `configured`, and
/// links them with `sdk`'s libc.
pub fn build_extension(
    root: &Path,
    sdk: &Provisioned,
    src: &Path,
    configured: &Path,
    module: &str,
    libc: &LibcView,
) -> Result<ExtBuild> {
    let c = sdk.compiler.as_ref().context("toolchain not ready")?;
    let work = tempfile::tempdir()?;
    let include = [src.join("Include"), configured.to_owned()];
    let include: Vec<&Path> = include.iter().map(|p| p.as_path()).collect();
    let mut b = ExtBuild {
        module: module.into(),
        ..Default::default()
    };
    let ext_obj = work.path().join(format!("{module}.o"));
    let main_obj = work.path().join("main.o");
    let step = compile(
        c,
        &include,
        &[],
        &ext_dir(root).join(format!("{module}.c")),
        &ext_obj,
    )?;
    if !step.ok {
        b.compile = Some(step);
        return Ok(b);
    }
    let entry = [format!("-DPyInit_wpext_entry=PyInit_{module}")];
    let main = compile(
        c,
        &include,
        &entry,
        &ext_dir(root).join("main.c"),
        &main_obj,
    )?;
    b.compile = Some(if main.ok {
        step
    } else {
        Step {
            message: format!("the entry stub main.c: {}", main.message),
            ..main
        }
    });
    if !b.compile.as_ref().unwrap().ok {
        return Ok(b);
    }
    let undefined = undefined_symbols(&std::fs::read(&ext_obj)?)
        .with_context(|| format!("reading the symbols of {}", ext_obj.display()))?;
    let mut api = BTreeSet::new();
    for s in undefined {
        if is_python_api(&s) {
            api.insert(s);
        } else if !is_linker_symbol(&s) {
            b.libc.push(LibcNeed {
                provider: libc.provider(&s).into(),
                symbol: s,
            });
        }
    }
    b.python_api = api.iter().cloned().collect();
    // The stub's own needs (`PyInit_MODULE`, defined by the extension) may stay undefined too;
    // they are not the extension's, so not reported.
    api.extend(
        undefined_symbols(&std::fs::read(&main_obj)?)?
            .into_iter()
            .filter(|s| is_python_api(s)),
    );
    let allow = work.path().join("python-api.syms");
    std::fs::write(
        &allow,
        api.into_iter().collect::<Vec<_>>().join("\n") + "\n",
    )?;
    let wasm = work.path().join(format!("{module}.wasm"));
    let mut step = link(c, &[main_obj, ext_obj], &allow, &wasm, work.path())?;
    if step.ok {
        let bytes = std::fs::read(&wasm)?;
        let rep = wasiprobe_coverage::analyze(&bytes)
            .map_err(|e| anyhow::anyhow!("the linked module is not valid: {e}"))?;
        b.imports = rep
            .non_wasi
            .iter()
            .map(|i| format!("{}::{}", i.module, i.name))
            .collect();
        let stray: Vec<&str> = rep
            .non_wasi
            .iter()
            .map(|i| i.name.as_str())
            .filter(|n| !is_python_api(n))
            .collect();
        if !stray.is_empty() {
            step.ok = false;
            step.message = format!(
                "linked, but not from libc: {} stayed imports",
                stray.join(", ")
            );
        }
    }
    b.link = Some(step);
    Ok(b)
}

/// The whole probe for one SDK: configure, the extension, the control.
pub fn probe_sdk(
    root: &Path,
    spec: &HeaderSpec,
    src: &Path,
    sdk: &Provisioned,
    cache: &Path,
) -> SdkExt {
    let mut r = SdkExt {
        sdk: sdk.spec.id.clone(),
        verdict: Verdict::Error,
        reason: String::new(),
        configure: None,
        extension: None,
        control: None,
    };
    if !sdk.is_ready() {
        r.verdict = Verdict::Unavailable;
        r.reason = format!(
            "sdk {}: {}",
            sdk.spec.id,
            sdk.reason.as_deref().unwrap_or("?")
        );
        return r;
    }
    if let Err(e) = probe_steps(root, spec, src, sdk, cache, &mut r) {
        r.verdict = Verdict::Error;
        r.reason = format!("{e:#}");
    }
    r
}

fn probe_steps(
    root: &Path,
    spec: &HeaderSpec,
    src: &Path,
    sdk: &Provisioned,
    cache: &Path,
    r: &mut SdkExt,
) -> Result<()> {
    let (dir, step) = configure(spec, src, sdk, cache)?;
    let ok = step.ok;
    r.configure = Some(step);
    if !ok {
        r.verdict = Verdict::Fail;
        r.reason = format!(
            "CPython {} configure failed with this SDK's compiler",
            spec.version
        );
        return Ok(());
    }
    let libc = LibcView::of(sdk)?;
    let ext = build_extension(root, sdk, src, &dir, MODULE, &libc)?;
    let control = build_extension(root, sdk, src, &dir, CONTROL, &libc)?;
    match ext.failure() {
        Some(why) => {
            r.verdict = Verdict::Fail;
            r.reason = why;
        }
        None if control.linked() => {
            r.verdict = Verdict::Error;
            r.reason = format!("the negative control {CONTROL} linked although it needs `{CONTROL_SYMBOL}`: the link step does not catch a missing libc symbol");
        }
        None => {
            let missing: Vec<&str> = ext
                .libc
                .iter()
                .filter(|n| n.provider == "missing")
                .map(|n| n.symbol.as_str())
                .collect();
            r.verdict = Verdict::Pass;
            r.reason = format!(
                    "configured, compiled and linked ({} Python API symbols left to the interpreter, {} libc symbols resolved{})",
                    ext.python_api.len(),
                    ext.libc.len(),
                    if missing.is_empty() {
                        String::new()
                    } else {
                        format!("; not in the libc archives but resolved by the link: {}", missing.join(", "))
                    }
                );
        }
    }
    r.extension = Some(ext);
    r.control = Some(control);
    Ok(())
}

pub fn note(spec: Option<&HeaderSpec>) -> String {
    format!(
        "the probe is keyed to the header version ({}), not to a [[python]] binary: the CPython-for-WASI binary of the matrix (3.12.0) ships no headers and none of its version can be obtained here",
        spec.map_or("none declared", |s| s.version.as_str())
    )
}

/// Runs the probe for every selected SDK (unready ones give `unavailable` cells), when the
/// selection asks for it.
pub fn execute(
    project: &crate::plan::Project,
    sdks: &[Provisioned],
    runtime: &str,
    opts: &RunOptions,
    pool: &rayon::ThreadPool,
) -> (Vec<Cell>, Option<ExtReport>) {
    let wanted = opts.checks.is_empty()
        && (opts.probes.is_empty() || opts.probes.iter().any(|p| p == PROBE));
    // A sharded run owns (sdk, runtime, py-ext) as it owns a C probe run; `merge` joins the
    // per-SDK results.
    let owned: Vec<Provisioned> = sdks
        .iter()
        .filter(|s| {
            opts.partition
                .is_none_or(|p| p.owns(&s.spec.id, runtime, PROBE))
        })
        .cloned()
        .collect();
    let sdks = &owned[..];
    // A project without the extension sources has no such probe, as one without
    // `probes/c/X.c` has no X cells.
    let has_sources = [MODULE, CONTROL, "main"]
        .iter()
        .all(|m| ext_dir(&project.root).join(format!("{m}.c")).is_file());
    if !wanted || sdks.is_empty() || !has_sources {
        return (vec![], None);
    }
    let spec = project.matrix.python_headers.first();
    let cache = &opts.provision.cache;
    let headers = match spec {
        None => Err("the matrix declares no [[python_headers]]".to_string()),
        Some(s) if opts.fetch => fetch_headers(s, cache),
        Some(s) => locate_headers(s, cache),
    };
    let mut report = ExtReport {
        headers: match (&headers, spec) {
            (Ok(d), Some(s)) => format!(
                "CPython {} from Debian source package {} (upstream tarball {}, sha256 pinned; Debian patches not applied) in {}",
                s.version,
                s.debian_source,
                s.orig,
                d.display()
            ),
            (Err(e), _) => e.clone(),
            _ => unreachable!(),
        },
        headers_ready: headers.is_ok(),
        note: note(spec),
        sdks: BTreeMap::new(),
    };
    let results: Vec<SdkExt> = match (&headers, spec) {
        (Ok(src), Some(spec)) => {
            use rayon::prelude::*;
            pool.install(|| {
                sdks.par_iter()
                    .map(|s| probe_sdk(&project.root, spec, src, s, cache))
                    .collect()
            })
        }
        (Err(e), _) => sdks
            .iter()
            .map(|s| SdkExt {
                sdk: s.spec.id.clone(),
                verdict: Verdict::Unavailable,
                reason: format!("no CPython headers: {e}"),
                configure: None,
                extension: None,
                control: None,
            })
            .collect(),
        _ => unreachable!(),
    };
    let mut cells = Vec::new();
    for r in results {
        tracing::info!("{PROBE} {}: {} ({})", r.sdk, r.verdict.as_str(), r.reason);
        cells.push(cell(&r, runtime));
        report.sdks.insert(r.sdk.clone(), r);
    }
    (cells, Some(report))
}

pub fn cell(r: &SdkExt, runtime: &str) -> Cell {
    let ms = [
        r.configure.as_ref().filter(|s| !s.cached),
        r.extension.as_ref().and_then(|e| e.compile.as_ref()),
        r.extension.as_ref().and_then(|e| e.link.as_ref()),
    ]
    .into_iter()
    .flatten()
    .map(|s| s.duration_ms)
    .sum();
    Cell {
        sdk: r.sdk.clone(),
        runtime: runtime.into(),
        probe: PROBE.into(),
        check: CHECK.into(),
        area: "python".into(),
        verdict: r.verdict,
        evidence: json!({
            "reason": r.reason,
            "note": "a build-only cell: configure, compile and link with this SDK; no runtime is involved",
            "configure": r.configure,
            "python_api": r.extension.as_ref().map(|e| &e.python_api),
            "libc": r.extension.as_ref().map(|e| &e.libc),
            "control": r.control.as_ref().map(|c| json!({
                "module": c.module, "linked": c.linked(), "failure": c.failure(),
            })),
        }),
        duration_ms: ms,
    }
}

/// `wasiprobe python ext [--sdk ID]...`: the probe for the named SDKs (default: all), as a
/// Markdown table or JSON. Exit 0 when every ready SDK passes, 1 otherwise.
pub fn cli(
    project: &crate::plan::Project,
    popts: crate::provision::Options,
    ids: &[String],
    json_out: bool,
) -> Result<i32> {
    let opts = RunOptions {
        sdks: ids.to_vec(),
        probes: vec![PROBE.into()],
        jobs: 2,
        ..RunOptions::new(popts)
    };
    let specs = crate::plan::select_sdks(project, &opts)?;
    let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build()?;
    let sdks = pool.install(|| crate::plan::provision_all(&specs, &opts));
    let (cells, report) = execute(project, &sdks, "build", &opts, &pool);
    let Some(report) = report else {
        bail!("no SDK selected");
    };
    if json_out {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", wasiprobe_reports::render::ext_md(Some(&report)));
    }
    Ok(
        if cells
            .iter()
            .all(|c| matches!(c.verdict, Verdict::Pass | Verdict::Unavailable))
        {
            crate::exit::OK
        } else {
            crate::exit::FAILURES
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wasm_ld_line_of_zig_and_clang() {
        let zig = "info\nwasm-ld --error-limit=0 --allow-undefined -o x.wasm a.o libc.a\nwasm-ld: error: x\nwasm-ld-16: error: y";
        assert_eq!(wasm_ld_line(zig).unwrap()[0], "wasm-ld");
        let clang = " \"/usr/bin/wasm-ld-16\" -m wasm32 -L/usr/lib -lc -o \"x.wasm\"\n";
        let t = wasm_ld_line(clang).unwrap();
        assert_eq!(t[0], "/usr/bin/wasm-ld-16");
        assert_eq!(t.last().unwrap(), "x.wasm");
        assert!(wasm_ld_line("clang version 16").is_none());
    }

    #[test]
    fn python_api_is_split_from_libc() {
        assert!(is_python_api("PyModule_Create2"));
        assert!(is_python_api("_Py_BuildValue_SizeT"));
        assert!(!is_python_api("snprintf"));
        assert!(is_linker_symbol("__stack_pointer"));
    }
}
