//! CPython's source for the headers: `apt-get source` through the private apt state, checked against the pinned sha256 of the upstream tarball.

use super::*;

pub fn src_dir(spec: &HeaderSpec, cache: &Path) -> PathBuf {
    cache.join("cpython-src").join(&spec.version)
}

/// What a source tree must hold to configure and compile against.
pub(super) const TREE_FILES: &[&str] = &[
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

pub(super) fn run_tool(mut cmd: Command, timeout: Duration) -> Result<(bool, String)> {
    let shown = format!("{cmd:?}");
    cmd.env("DEBIAN_FRONTEND", "noninteractive");
    let out = command_output(cmd, timeout).with_context(|| format!("running {shown}"))?;
    let text = wasiprobe_util::streams_text(&out.stdout, &out.stderr);
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
    fetch_source(&spec.source(), &dest)
        .map_err(|e| format!("fetching CPython {} source: {e:#}", spec.version))
}

/// Fetches a CPython source package through the private apt state and unpacks its upstream
/// tarball into `dest`, atomically (a tree exists under its final name only when complete).
pub fn fetch_source(spec: &SourceSpec, dest: &Path) -> Result<PathBuf> {
    let cache = dest.parent().unwrap().parent().unwrap();
    let suite = crate::apt::Suite::open(cache, &spec.suite, true, None)?;
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
    if tarball.is_none() {
        // The whole package may be gone while its upstream tarball is still served.
        for v in suite.versions(&spec.debian_source)? {
            match suite.source_file(&spec.debian_source, &v, &spec.orig, &tmp.path().join(&v)) {
                Ok(f) => {
                    tarball = Some(f);
                    break;
                }
                Err(e) => errors.push(format!("{v} ({} alone): {e:#}", spec.orig)),
            }
        }
    }
    let orig = tarball.with_context(|| {
        format!(
            "apt-get source {} ({}) failed for every version: {}",
            spec.debian_source,
            spec.suite,
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
    tar.arg("-xf").arg(&orig).arg("-C").arg(&unpack);
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
        if check_tree(dest).is_err() {
            return Err(e).with_context(|| format!("moving the tree to {}", dest.display()));
        }
    }
    Ok(dest.to_owned())
}

pub fn tail(s: &str, n: usize) -> String {
    let s = s.trim();
    let mut start = s.len().saturating_sub(n);
    while !s.is_char_boundary(start) {
        start += 1;
    }
    s[start..].to_string()
}
