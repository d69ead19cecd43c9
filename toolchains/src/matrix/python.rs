//! `[[python]]` and `[[python_source]]`: the CPython binaries a run uses, and the sources
//! `source`-built ones are made from. Validated after `[[sdk]]` and `[[runtime]]`, which they
//! refer to.

use super::{check_id, hex64, MatrixError};
use serde::Deserialize;
use std::collections::HashSet;
use std::path::PathBuf;
use toml::Spanned;
use wasiprobe_model::cli::CliSpec;
use wasiprobe_model::python::{PythonSource, PythonSpec, SourceSpec};
use wasiprobe_model::sdk::SdkSpec;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPython {
    id: Spanned<String>,
    version: String,
    #[serde(default)]
    sdk: Option<String>,
    #[serde(default)]
    pypi: Option<String>,
    #[serde(default)]
    wasm: Option<String>,
    #[serde(default)]
    sha256: Option<Spanned<String>>,
    #[serde(default)]
    path: Option<PathBuf>,
    /// With `toolchain`: built from the `[[python_source]]` of this version.
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    toolchain: Option<String>,
}

pub(super) fn sources(
    raw: &[Spanned<SourceSpec>],
    runtimes: &[CliSpec],
    err: &impl Fn(Option<usize>, String) -> MatrixError,
) -> Result<Vec<SourceSpec>, MatrixError> {
    let mut python_sources = Vec::new();
    for src in raw {
        let at = Some(src.span().start);
        let spec = src.get_ref().clone();
        let what = format!("python_source '{}'", spec.version);
        let Some(sha) = hex64(&spec.sha256) else {
            return Err(err(
                at,
                format!("{what}: field `sha256` must be 64 hex digits"),
            ));
        };
        if python_sources
            .iter()
            .any(|s: &SourceSpec| s.version == spec.version)
        {
            return Err(err(
                at,
                format!("{what}: field `version` is declared twice"),
            ));
        }
        if let Some(rt) = &spec.build_runtime {
            if !runtimes.iter().any(|r: &CliSpec| &r.name == rt) {
                return Err(err(
                    at,
                    format!("{what}: field `build_runtime`: no [[runtime]] is named '{rt}'"),
                ));
            }
        }
        python_sources.push(SourceSpec {
            sha256: sha,
            ..spec
        });
    }
    Ok(python_sources)
}

pub(super) fn pythons(
    raw: Vec<RawPython>,
    python_source: &[Spanned<SourceSpec>],
    sdks: &[SdkSpec],
    seen: &mut HashSet<String>,
    err: &impl Fn(Option<usize>, String) -> MatrixError,
) -> Result<Vec<PythonSpec>, MatrixError> {
    let mut pythons = Vec::new();
    for p in raw {
        let at = Some(p.id.span().start);
        let id = p.id.get_ref().clone();
        check_id(&id).map_err(|m| err(at, m))?;
        if !seen.insert(id.clone()) {
            return Err(err(at, format!("field `id`: '{id}' is declared twice")));
        }
        let sha256 = match p.sha256 {
            Some(h) => Some(hex64(h.get_ref()).ok_or_else(|| {
                err(
                    Some(h.span().start),
                    format!("python '{id}': field `sha256` must be 64 hex digits"),
                )
            })?),
            None => None,
        };
        let built = match (p.source, p.toolchain) {
            (Some(source), Some(toolchain)) => {
                if p.pypi.is_some() || p.wasm.is_some() || p.path.is_some() || sha256.is_some() {
                    return Err(err(at, format!("python '{id}': `source`/`toolchain` exclude `pypi`, `wasm`, `sha256` and `path`")));
                }
                if !python_source.iter().any(|s| s.get_ref().version == source) {
                    return Err(err(at, format!("python '{id}': field `source`: no [[python_source]] has version '{source}'")));
                }
                if !sdks.iter().any(|s: &SdkSpec| s.id == toolchain) {
                    return Err(err(
                        at,
                        format!(
                            "python '{id}': field `toolchain`: no [[sdk]] has id '{toolchain}'"
                        ),
                    ));
                }
                Some(PythonSource::Build { source, toolchain })
            }
            (None, None) => None,
            _ => {
                return Err(err(
                    at,
                    format!("python '{id}': `source` and `toolchain` go together"),
                ))
            }
        };
        let source = match (p.pypi, p.wasm, p.path) {
            _ if built.is_some() => built.unwrap(),
            (Some(req), Some(wasm), None) => {
                if !req.contains("==") {
                    return Err(err(at, format!("python '{id}': field `pypi` must pin a version (NAME==VERSION), got '{req}'")));
                }
                if wasm.starts_with('/') || wasm.split('/').any(|c| c == "..") {
                    return Err(err(at, format!("python '{id}': field `wasm` must be a relative path inside the wheel, got '{wasm}'")));
                }
                PythonSource::Pypi {
                    requirement: req,
                    wasm,
                    sha256,
                }
            }
            (Some(_), None, None) => {
                return Err(err(at, format!("python '{id}': field `wasm` (the .wasm inside the wheel) is required with `pypi`")))
            }
            (None, None, Some(dir)) if sha256.is_none() => PythonSource::Path { dir },
            (None, None, Some(_)) => {
                return Err(err(at, format!("python '{id}': field `sha256` applies to `pypi` only")))
            }
            (None, None, None) => {
                return Err(err(at, format!("python '{id}': one of `pypi` (+ `wasm`) or `path` is required")))
            }
            _ => {
                return Err(err(at, format!("python '{id}': `pypi`/`wasm` and `path` exclude each other")))
            }
        };
        pythons.push(PythonSpec {
            id,
            version: p.version,
            sdk: p.sdk,
            source,
        });
    }
    Ok(pythons)
}
