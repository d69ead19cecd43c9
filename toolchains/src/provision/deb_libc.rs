//! `kind = "deb-libc"`: a wasi-libc package from any suite of Debian's archive, compiled
//! against with a Debian clang, presented as a WASI-SDK-shaped directory.
//!
//! Debian packages wasi-libc snapshots that are exactly (or nearly) the libcs of official WASI
//! SDK releases (bookworm-backports: the libc of SDK 23/24, trixie: SDK 25, sid: SDK 33). The
//! package is architecture-independent and has no dependencies, so it is fetched with a
//! private apt state (`crate::apt`, no root), checked against the `.deb`'s sha256 pinned in the
//! matrix, and unpacked into the cache — never installed, since it would conflict with the
//! system's own `wasi-libc`. The compiler (clang-N, lld-N, its wasm32 compiler runtime and the
//! LLVM binutils) comes from the system's own release and is installed with apt as root.
//!
//! The directory `CACHE/wasi-sdk-shaped/ID/` has what build systems expect of a WASI SDK
//! (`bin/clang`, `bin/clang++`, `bin/clang-cpp`, `bin/wasm-ld`, `bin/llvm-ar`, `bin/ranlib`,
//! `bin/llvm-nm`, …, `share/wasi-sysroot`, `share/cmake/wasi-sdk.cmake`, `VERSION`), so that
//! CPython's `Tools/wasm` scripts and CMake use it unchanged through `WASI_SDK_PATH`. Its
//! `bin/clang` is a wrapper that adds the sysroot, a resource directory in which the compiler
//! runtime is found for both the `wasm32-wasi` and `wasm32-wasip1` triples (Debian ships it
//! only under `lib/wasi/`), and `--target=wasm32-wasi` when no target is given, as the official
//! SDK's clang defaults to it. `VERSION` and `WASIPROBE-STAND-IN` say what it really is: never
//! the official build, which `locate_wasi_sdk` refuses to take it for.

use super::{fingerprint, ready, Compiler, Identity, Options, Provisioned};
use crate::matrix::SdkSpec;
use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// The file in a WASI-SDK-shaped directory that marks it as wasiprobe's stand-in.
pub const STAND_IN_MARKER: &str = "WASIPROBE-STAND-IN";

fn package(spec: &SdkSpec) -> &str {
    spec.package.as_deref().unwrap_or("wasi-libc")
}

fn major(spec: &SdkSpec) -> &str {
    spec.clang_major().unwrap_or("19")
}

/// The Debian packages the compiler side needs.
pub fn compiler_packages(spec: &SdkSpec) -> Vec<String> {
    let n = major(spec);
    vec![
        format!("clang-{n}"),
        format!("lld-{n}"),
        format!("libclang-rt-{n}-dev-wasm32"),
        format!("llvm-{n}"),
    ]
}

/// Where the unpacked package lives: keyed by the pinned sha256, so another pin is another
/// directory and a directory is never reused for different bytes.
fn libc_dir(spec: &SdkSpec, opts: &Options) -> PathBuf {
    let sha = spec.sha256.as_deref().unwrap_or("unpinned");
    opts.cache
        .join("deb-libc")
        .join(format!("{}-{}", package(spec), &sha[..sha.len().min(16)]))
}

/// The WASI-SDK-shaped directory of a `deb-libc` entry.
pub fn sdk_dir(spec: &SdkSpec, opts: &Options) -> PathBuf {
    opts.cache.join("wasi-sdk-shaped").join(&spec.id)
}

/// Written last into `libc_dir`: the sha256 of the .deb it was unpacked from.
const COMPLETE: &str = ".deb-sha256";

fn sysroot(spec: &SdkSpec, opts: &Options) -> PathBuf {
    libc_dir(spec, opts).join("usr")
}

/// The compiler-side files, or the packages whose files are missing.
struct Tools {
    clang: PathBuf,
    clangxx: PathBuf,
    clang_cpp: PathBuf,
    llvm_bin: PathBuf,
    resource: PathBuf,
    builtins: PathBuf,
}

fn tools(spec: &SdkSpec) -> Result<Tools, String> {
    let n = major(spec);
    let llvm = PathBuf::from(format!("/usr/lib/llvm-{n}"));
    let resource = std::fs::read_dir(llvm.join("lib/clang"))
        .ok()
        .and_then(|rd| rd.flatten().map(|e| e.path()).find(|p| p.is_dir()));
    let builtins = resource
        .as_ref()
        .map(|r| r.join("lib/wasi/libclang_rt.builtins-wasm32.a"));
    let need: Vec<(String, Option<PathBuf>)> = vec![
        (
            format!("clang-{n}"),
            Some(PathBuf::from(format!("/usr/bin/clang-{n}"))),
        ),
        (format!("lld-{n}"), Some(llvm.join("bin/wasm-ld"))),
        (format!("libclang-rt-{n}-dev-wasm32"), builtins.clone()),
        (format!("llvm-{n}"), Some(llvm.join("bin/llvm-ar"))),
    ];
    let missing: Vec<String> = need
        .iter()
        .filter(|(_, p)| !p.as_ref().is_some_and(|p| p.exists()))
        .map(|(pkg, _)| pkg.clone())
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "Debian packages not installed: {}; as root: `apt-get install -y {}` (`wasiprobe sdk fetch {}` and the main job do it when run as root)",
            missing.join(", "),
            compiler_packages(spec).join(" "),
            spec.id
        ));
    }
    Ok(Tools {
        clang: PathBuf::from(format!("/usr/bin/clang-{n}")),
        clangxx: PathBuf::from(format!("/usr/bin/clang++-{n}")),
        clang_cpp: PathBuf::from(format!("/usr/bin/clang-cpp-{n}")),
        llvm_bin: llvm.join("bin"),
        resource: resource.expect("checked above"),
        builtins: builtins.expect("checked above"),
    })
}

pub(super) fn locate(spec: &SdkSpec, opts: &Options) -> Result<Provisioned, String> {
    let dir = libc_dir(spec, opts);
    let version = spec.version.as_deref().unwrap_or("?");
    let suite = spec.suite.as_deref().unwrap_or("?");
    let pinned = spec.sha256.as_deref().unwrap_or("");
    match std::fs::read_to_string(dir.join(COMPLETE)) {
        Ok(s) if s.trim() == pinned => {}
        _ => {
            return Err(format!(
                "{} {version} (Debian {suite}) is not in the cache; `wasiprobe sdk fetch {}` fetches it with a private apt state (no root needed)",
                package(spec),
                spec.id
            ))
        }
    }
    let root = sysroot(spec, opts);
    let triple_dir = |t: &str| root.join("include").join(t);
    if !triple_dir("wasm32-wasi").is_dir() || !root.join("lib/wasm32-wasi/libc.a").is_file() {
        return Err(format!(
            "{} holds no wasm32-wasi sysroot (include/wasm32-wasi, lib/wasm32-wasi/libc.a)",
            root.display()
        ));
    }
    let t = tools(spec)?;
    let sdk = sdk_dir(spec, opts);
    assemble(spec, &t, &root, &sdk).map_err(|e| format!("assembling {}: {e:#}", sdk.display()))?;
    let mut args = vec![format!("--target={}", spec.target)];
    args.extend(spec.cflags.iter().cloned());
    let identity = Identity {
        found_via: Some(format!("cache (apt: Debian {suite})")),
        libc_fingerprint: fingerprint(&[triple_dir("wasm32-wasi")]),
        package: Some(format!("{} {version} (Debian {suite})", package(spec))),
        ..Default::default()
    };
    ready(
        spec,
        Compiler {
            program: sdk.join("bin/clang"),
            args,
            env: vec![],
        },
        identity,
    )
}

pub(super) fn fetch(spec: &SdkSpec, opts: &Options) -> Result<()> {
    let mut errors = Vec::new();
    if tools(spec).is_err() {
        if wasiprobe_util::is_root() {
            if let Err(e) = super::apt_install_system(&compiler_packages(spec)) {
                errors.push(format!("{e:#}"));
            }
        } else {
            errors.push(format!(
                "not root: the compiler needs `apt-get install -y {}`",
                compiler_packages(spec).join(" ")
            ));
        }
    }
    if let Err(e) = fetch_libc(spec, opts) {
        errors.push(format!("{e:#}"));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        bail!("{}", errors.join("; "))
    }
}

fn fetch_libc(spec: &SdkSpec, opts: &Options) -> Result<()> {
    let dir = libc_dir(spec, opts);
    let pinned = spec.sha256.as_deref().context("no `sha256` pinned")?;
    if std::fs::read_to_string(dir.join(COMPLETE)).is_ok_and(|s| s.trim() == pinned) {
        return Ok(());
    }
    let suite_name = spec.suite.as_deref().context("no `suite`")?;
    let version = spec.version.as_deref().context("no `version`")?;
    let pkg = package(spec);
    let suite = crate::apt::Suite::open(&opts.cache, suite_name, false, spec.snapshot.as_deref())?;
    std::fs::create_dir_all(opts.cache.join("downloads"))?;
    let tmp = tempfile::Builder::new()
        .prefix(".deb-")
        .tempdir_in(opts.cache.join("downloads"))?;
    let deb = suite
        .download(pkg, version, tmp.path())
        .with_context(|| format!("{pkg} {version} from Debian {suite_name}"))?;
    let got = super::hex(&Sha256::digest(std::fs::read(&deb)?));
    if got != pinned {
        bail!(
            "{} has sha256 {got}, the matrix pins {pinned} (a rebuilt package under the same version?)",
            deb.file_name().unwrap_or_default().to_string_lossy()
        );
    }
    crate::apt::extract_deb(&deb, &dir)?;
    wasiprobe_util::atomic_write(&dir.join(COMPLETE), pinned.as_bytes())?;
    Ok(())
}

/// What the directory's `VERSION` says: the official release whose libc it carries, marked
/// as not being that release, then what it is made of.
fn version_text(spec: &SdkSpec, compiler: &str) -> String {
    let of = spec.provenance.as_ref().map(|p| p.libc_of.as_str());
    let release = of
        .and_then(|o| o.rsplit('-').next())
        .filter(|n| n.chars().all(|c| c.is_ascii_digit()))
        .map(|n| format!("{n}.0"))
        .unwrap_or_else(|| "0.0".into());
    let mut s = format!("{release}+wasiprobe.deb-libc\n");
    s += &format!(
        "wasi-libc: {} (Debian {} {} from {})\n",
        spec.wasi_libc.as_deref().unwrap_or("?"),
        package(spec),
        spec.version.as_deref().unwrap_or("?"),
        spec.suite.as_deref().unwrap_or("?")
    );
    s += &format!("llvm: {compiler}\n");
    s += &format!(
        "note: assembled by wasiprobe as `{}`; NOT an official wasi-sdk release. ",
        spec.id
    );
    match &spec.provenance {
        Some(p) if p.exact => s += &format!("Its libc is exactly that of {}.\n", p.libc_of),
        Some(p) => {
            let d: Vec<String> = p
                .differs
                .iter()
                .map(|c| format!("#{} ({})", c.pr, c.touches))
                .collect();
            s += &format!(
                "Its libc is that of {} except for {}.\n",
                p.libc_of,
                d.join(", ")
            );
        }
        None => s += "It names no official SDK whose libc it carries.\n",
    }
    s
}

fn wrapper(real: &Path, sysroot: &Path, resource: &Path, target: &str) -> String {
    format!(
        "#!/bin/sh\n\
         # wasiprobe: {real} with this directory's sysroot and compiler runtime, defaulting to\n\
         # {target} as an official WASI SDK's clang does.\n\
         case \" $* \" in\n  *\" --target=\"*|*\" -target \"*|*\" --target \"*) t= ;;\n  *) t=--target={target} ;;\n\
         esac\n\
         exec {real} $t --sysroot={sysroot} -resource-dir={resource} \"$@\"\n",
        real = real.display(),
        sysroot = sysroot.display(),
        resource = resource.display(),
    )
}

/// Writes `file` only when its content differs, so an unchanged directory is not touched and
/// two processes assembling it at once write the same bytes.
fn put(file: &Path, content: &str, exec: bool) -> Result<()> {
    if std::fs::read_to_string(file).ok().as_deref() != Some(content) {
        wasiprobe_util::atomic_write(file, content.as_bytes())?;
    }
    if exec {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o755))?;
    }
    Ok(())
}

fn link(target: &Path, at: &Path) -> Result<()> {
    if std::fs::read_link(at).ok().as_deref() == Some(target) {
        return Ok(());
    }
    let tmp = at.with_extension("link-tmp");
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(target, &tmp)
        .with_context(|| format!("linking {} → {}", at.display(), target.display()))?;
    std::fs::rename(&tmp, at)?;
    Ok(())
}

fn assemble(spec: &SdkSpec, t: &Tools, libc_root: &Path, sdk: &Path) -> Result<()> {
    let bin = sdk.join("bin");
    let n = major(spec);
    let resource = sdk
        .join("lib/clang")
        .join(t.resource.file_name().unwrap_or_default());
    for d in [
        bin.clone(),
        sdk.join("share/cmake/Platform"),
        resource.join("lib/wasi"),
        resource.join("lib/wasm32-unknown-wasi"),
        resource.join("lib/wasm32-unknown-wasip1"),
    ] {
        std::fs::create_dir_all(&d)?;
    }
    let sysroot = sdk.join("share/wasi-sysroot");
    link(libc_root, &sysroot)?;
    link(&t.resource.join("include"), &resource.join("include"))?;
    link(
        &t.builtins,
        &resource.join("lib/wasi/libclang_rt.builtins-wasm32.a"),
    )?;
    for triple in ["wasm32-unknown-wasi", "wasm32-unknown-wasip1"] {
        link(
            &t.builtins,
            &resource
                .join("lib")
                .join(triple)
                .join("libclang_rt.builtins.a"),
        )?;
    }
    for (name, real) in [
        ("clang", &t.clang),
        ("clang++", &t.clangxx),
        ("clang-cpp", &t.clang_cpp),
    ] {
        if real.exists() {
            put(
                &bin.join(name),
                &wrapper(real, &sysroot, &resource, &spec.target),
                true,
            )?;
        }
    }
    for (names, tool) in [
        (&["wasm-ld"][..], "wasm-ld"),
        (&["llvm-ar", "ar"][..], "llvm-ar"),
        (&["llvm-ranlib", "ranlib"][..], "llvm-ranlib"),
        (&["llvm-nm", "nm"][..], "llvm-nm"),
        (&["llvm-strip", "strip"][..], "llvm-strip"),
        (&["llvm-objdump", "objdump"][..], "llvm-objdump"),
        (&["llvm-objcopy", "objcopy"][..], "llvm-objcopy"),
        (&["llvm-dwarfdump"][..], "llvm-dwarfdump"),
        (&["llvm-size", "size"][..], "llvm-size"),
        (&["llvm-strings", "strings"][..], "llvm-strings"),
    ] {
        let real = t.llvm_bin.join(tool);
        if real.exists() {
            for name in names {
                link(&real, &bin.join(name))?;
            }
        }
    }
    let compiler = super::compiler_version(&Compiler {
        program: t.clang.clone(),
        args: vec![],
        env: vec![],
    })
    .unwrap_or_else(|| format!("clang-{n}"));
    put(&sdk.join("VERSION"), &version_text(spec, &compiler), false)?;
    put(
        &sdk.join(STAND_IN_MARKER),
        &format!(
            "{}\n",
            serde_json::json!({
                "id": spec.id,
                "package": package(spec),
                "version": spec.version,
                "suite": spec.suite,
                "sha256": spec.sha256,
                "provenance": spec.provenance,
            })
        ),
        false,
    )?;
    put(
        &sdk.join("share/cmake/wasi-sdk.cmake"),
        &cmake_toolchain(sdk, &spec.target),
        false,
    )?;
    put(
        &sdk.join("share/cmake/Platform/WASI.cmake"),
        "set(WASI 1)\n",
        false,
    )?;
    Ok(())
}

fn cmake_toolchain(sdk: &Path, target: &str) -> String {
    let d = sdk.display();
    format!(
        "# CMake toolchain file of a wasiprobe WASI-SDK-shaped directory (see VERSION).\n\
         cmake_minimum_required(VERSION 3.5)\n\
         set(CMAKE_SYSTEM_NAME WASI)\n\
         set(CMAKE_SYSTEM_VERSION 1)\n\
         set(CMAKE_SYSTEM_PROCESSOR wasm32)\n\
         set(triple {target})\n\
         list(APPEND CMAKE_MODULE_PATH {d}/share/cmake)\n\
         set(CMAKE_C_COMPILER {d}/bin/clang)\n\
         set(CMAKE_CXX_COMPILER {d}/bin/clang++)\n\
         set(CMAKE_ASM_COMPILER {d}/bin/clang)\n\
         set(CMAKE_AR {d}/bin/llvm-ar CACHE STRING \"\")\n\
         set(CMAKE_RANLIB {d}/bin/llvm-ranlib CACHE STRING \"\")\n\
         set(CMAKE_C_COMPILER_TARGET ${{triple}})\n\
         set(CMAKE_CXX_COMPILER_TARGET ${{triple}})\n\
         set(CMAKE_ASM_COMPILER_TARGET ${{triple}})\n\
         set(CMAKE_SYSROOT {d}/share/wasi-sysroot)\n\
         set(CMAKE_EXECUTABLE_SUFFIX \".wasm\")\n\
         set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)\n\
         set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)\n\
         set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)\n\
         set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matrix::{LibcCommit, Provenance};

    fn spec(provenance: Option<Provenance>) -> SdkSpec {
        let m = crate::matrix::Matrix::parse(
            "schema = 1\n[[sdk]]\nid = \"d\"\nkind = \"deb-libc\"\nsuite = \"sid\"\nversion = \"0.0~git1-2\"\nsha256 = \"0000000000000000000000000000000000000000000000000000000000000000\"\nwasi_libc = \"161b3195\"\n",
            Path::new("m.toml"),
        )
        .unwrap();
        let mut s = m.sdks[0].clone();
        s.provenance = provenance;
        s
    }

    #[test]
    fn version_never_claims_the_official_release() {
        let exact = version_text(
            &spec(Some(Provenance {
                libc_of: "wasi-sdk-33".into(),
                exact: true,
                differs: vec![],
            })),
            "clang 19",
        );
        assert!(exact.starts_with("33.0+wasiprobe.deb-libc\n"), "{exact}");
        assert!(
            exact.contains("NOT an official wasi-sdk release"),
            "{exact}"
        );
        assert!(exact.contains("exactly that of wasi-sdk-33"), "{exact}");
        let close = version_text(
            &spec(Some(Provenance {
                libc_of: "wasi-sdk-24".into(),
                exact: false,
                differs: vec![LibcCommit {
                    pr: 505,
                    touches: "build system".into(),
                }],
            })),
            "clang 19",
        );
        assert!(close.contains("except for #505 (build system)"), "{close}");
        assert!(version_text(&spec(None), "c").starts_with("0.0+wasiprobe"));
    }

    #[test]
    fn the_clang_wrapper_adds_a_target_only_when_none_is_given() {
        let w = wrapper(
            Path::new("/usr/bin/clang-19"),
            Path::new("/s"),
            Path::new("/r"),
            "wasm32-wasi",
        );
        let dir = tempfile::tempdir().unwrap();
        // A stand-in "compiler" that prints its arguments.
        let echo = dir.path().join("echo-args");
        std::fs::write(&echo, "#!/bin/sh\necho \"$@\"\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&echo, std::fs::Permissions::from_mode(0o755)).unwrap();
        let w = w.replace("/usr/bin/clang-19", &echo.display().to_string());
        let script = dir.path().join("clang");
        std::fs::write(&script, w).unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let run = |args: &[&str]| {
            let o = std::process::Command::new(&script)
                .args(args)
                .output()
                .unwrap();
            String::from_utf8(o.stdout).unwrap().trim().to_string()
        };
        assert_eq!(
            run(&["-c", "a.c"]),
            "--target=wasm32-wasi --sysroot=/s -resource-dir=/r -c a.c"
        );
        assert_eq!(
            run(&["--target=wasm32-wasip1", "a.c"]),
            "--sysroot=/s -resource-dir=/r --target=wasm32-wasip1 a.c"
        );
        assert_eq!(
            run(&["-target", "wasm32-wasip1", "a.c"]),
            "--sysroot=/s -resource-dir=/r -target wasm32-wasip1 a.c"
        );
    }

    #[test]
    fn a_missing_cache_entry_names_the_fetch_command() {
        let dir = tempfile::tempdir().unwrap();
        let o = Options::from_env(dir.path().to_owned());
        let e = locate(&spec(None), &o).unwrap_err();
        assert!(e.contains("sdk fetch d"), "{e}");
        assert!(e.contains("no root"), "{e}");
    }
}
