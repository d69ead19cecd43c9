//! Step 1: CPython's own cross configure with an SDK's compiler, cached per SDK identity and header version (`pyconfig.h` is what configure measured of that libc).

use super::*;

pub(super) fn cc_string(c: &crate::provision::Compiler) -> String {
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

pub(super) const RECORD: &str = "wasiprobe-configure.json";

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
