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

mod build;
mod configure;
mod source;

pub use build::*;
pub use configure::*;
pub use source::*;

pub use wasiprobe_model::python::{
    ExtBuild, ExtReport, HeaderSpec, LibcNeed, SdkExt, SourceSpec, Step,
};

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

// ---------------------------------------------------------------------------- configure

// ---------------------------------------------------------------------- compile and link

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
    let evidence = json!({
        "reason": r.reason,
        "note": "a build-only cell: configure, compile and link with this SDK; no runtime is involved",
        "configure": r.configure,
        "python_api": r.extension.as_ref().map(|e| &e.python_api),
        "libc": r.extension.as_ref().map(|e| &e.libc),
        "control": r.control.as_ref().map(|c| json!({
            "module": c.module, "linked": c.linked(), "failure": c.failure(),
        })),
    });
    super::python_cell(&r.sdk, runtime, PROBE, CHECK, r.verdict, evidence, ms)
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
    Ok(crate::exit::failures_if(cells.iter().any(|c| {
        !matches!(c.verdict, Verdict::Pass | Verdict::Unavailable)
    })))
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
