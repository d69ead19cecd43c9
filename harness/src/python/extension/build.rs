//! Steps 2 and 3: compile the extension against the configured headers and link it with the SDK's own link line, the Python API left undefined and everything else from the libc.

use super::*;

pub(super) fn ext_dir(root: &Path) -> PathBuf {
    root.join("probes/python/ext")
}

/// A symbol of the Python C API (what the interpreter provides when the module is built in).
pub fn is_python_api(s: &str) -> bool {
    s.starts_with("Py") || s.starts_with("_Py")
}

/// Symbols the linker synthesizes.
pub(super) fn is_linker_symbol(s: &str) -> bool {
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
    Ok(crate::symbols::linking_symbols(obj)?
        .into_iter()
        .filter(|(flags, _)| flags.contains(wasmparser::SymbolFlags::UNDEFINED))
        .map(|(_, name)| name)
        .collect())
}

/// The wasm-ld command line of a toolchain's `-v` output: program and arguments.
pub(super) fn wasm_ld_line(verbose: &str) -> Option<Vec<String>> {
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

pub(super) fn compile(
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
    tool_step(cmd, obj, Instant::now())
}

/// Runs `cmd` as a step begun at `start`, which succeeds when the tool exits 0 having written
/// `made`.
fn tool_step(cmd: Command, made: &Path, start: Instant) -> Result<Step> {
    let shown = format!("{cmd:?}");
    let (ok, text) = run_tool(cmd, TOOL_TIMEOUT)?;
    Ok(Step {
        ok: ok && made.is_file(),
        command: shown,
        message: tail(&text, 4000),
        duration_ms: start.elapsed().as_secs_f64() * 1000.0,
        cached: false,
    })
}

/// Links `objs` into a command with the toolchain's own wasm-ld line, where only the symbols
/// listed in `allow` may stay undefined.
pub(super) fn link(
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
    tool_step(cmd, out, start)
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
