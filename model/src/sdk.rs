//! Toolchains: what `sdk-matrix.toml` declares (`SdkSpec`) and what provisioning found on
//! this machine (`Provisioned`).

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    WasiSdk,
    Zig,
    Debian,
    /// A wasi-libc package of Debian's archive (any suite), fetched with a private apt state and
    /// unpacked into the cache, compiled against with a Debian clang (`provision::deb_libc`).
    DebLibc,
    Path,
}

/// How close a stand-in's libc is to the official SDK it names (`libc_of`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Provenance {
    /// The official SDK whose libc this is, e.g. `wasi-sdk-24`.
    pub libc_of: String,
    /// True when the libc is built from exactly the commit that SDK ships.
    pub exact: bool,
    /// Otherwise: the commits between the two, each with what it touches.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub differs: Vec<LibcCommit>,
}

/// One wasi-libc commit by which a stand-in differs from the official SDK's libc.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LibcCommit {
    /// The wasi-libc pull request.
    pub pr: u32,
    /// What it changes ("build system: an LTO build option").
    pub touches: String,
}

/// One toolchain as declared. What was actually found is `provision::Provisioned`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SdkSpec {
    pub id: String,
    pub kind: Kind,
    pub version: Option<String>,
    pub cpython: Vec<String>,
    pub llvm: Option<String>,
    pub wasi_libc: Option<String>,
    pub url: Option<String>,
    pub sha256: Option<String>,
    pub packages: Vec<String>,
    pub cc: Option<PathBuf>,
    pub sysroot: Option<PathBuf>,
    pub target: String,
    pub cflags: Vec<String>,
    /// `deb-libc`: the Debian suite that carries `version` of `package`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suite: Option<String>,
    /// `deb-libc`: the binary package (default `wasi-libc`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
    /// `deb-libc`: the Debian compiler, `clang-N` (default `clang-19`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compiler: Option<String>,
    /// `deb-libc`: a snapshot of Debian's archive that still carries `version`, for a suite
    /// that has moved on (an apt source URI; used only when given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<String>,
    /// Which official SDK's libc this toolchain carries, and how exactly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<Provenance>,
}

impl SdkSpec {
    /// The `deb-libc` compiler's LLVM major version (`clang-19` → `19`).
    pub fn clang_major(&self) -> Option<&str> {
        self.compiler
            .as_deref()
            .unwrap_or(DEFAULT_DEB_COMPILER)
            .strip_prefix("clang-")
    }
}

/// The compiler of a `deb-libc` entry that names none: bookworm's newest clang with a wasm32
/// compiler runtime package.
pub const DEFAULT_DEB_COMPILER: &str = "clang-19";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Ready,
    Unavailable,
}

/// What was found on this machine, as opposed to what the matrix declares.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Identity {
    /// First line of `CC --version`.
    pub compiler: Option<String>,
    /// Where the toolchain was found, e.g. `$WASI_SDK_PATH`, `/opt/...`, `cache`, `apt`.
    pub found_via: Option<String>,
    /// sha256 (first 16 hex) over the libc headers (and, for zig, the libc sources it builds
    /// from): two toolchains with the same fingerprint carry the same wasi-libc.
    pub libc_fingerprint: Option<String>,
    /// Package version where a package manager knows it (Debian's `wasi-libc`, the zig wheel).
    pub package: Option<String>,
}

/// How to invoke the compiler: `program args... <flags> SRC -o OUT`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Compiler {
    pub program: PathBuf,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Provisioned {
    pub spec: SdkSpec,
    pub status: Status,
    pub reason: Option<String>,
    pub identity: Identity,
    #[serde(skip)]
    pub compiler: Option<Compiler>,
}

impl Compiler {
    /// The compiler with its toolchain arguments and environment, ready for the caller's own
    /// flags and files: every compile, link and query of a toolchain starts here, so that no
    /// caller forgets the target, the sysroot or zig's cache directories.
    pub fn command(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(&self.program);
        cmd.args(&self.args).envs(self.env.iter().cloned());
        cmd
    }
}

impl Provisioned {
    pub fn unavailable(spec: &SdkSpec, reason: String) -> Self {
        Provisioned {
            spec: spec.clone(),
            status: Status::Unavailable,
            reason: Some(reason),
            identity: Identity::default(),
            compiler: None,
        }
    }
    pub fn is_ready(&self) -> bool {
        self.status == Status::Ready
    }

    /// The command that would make an unavailable toolchain available: an official SDK cannot
    /// be fetched here, so it is given by path (or by URL and sha256 in the matrix); every
    /// other kind is provisioned by `sdk fetch`.
    pub fn remedy(&self) -> String {
        let id = &self.spec.id;
        match self.spec.kind {
            Kind::WasiSdk | Kind::Path => format!(
                "give its directory with `--sdk-path {id}=DIR`, or `url` and `sha256` in sdk-matrix.toml"
            ),
            _ => format!("`wasiprobe sdk fetch {id}`"),
        }
    }
}

/// One line on where a toolchain's libc comes from, so that no reader takes a stand-in for an
/// official SDK: a stand-in names the SDK whose libc it carries and how closely; an official
/// SDK names the stand-ins that carry its libc.
pub fn provenance_line(spec: &SdkSpec, all: &[SdkSpec]) -> Option<String> {
    if let Some(p) = &spec.provenance {
        let how = if p.exact {
            "exactly".to_string()
        } else {
            let prs: Vec<String> = p
                .differs
                .iter()
                .map(|c| format!("#{} ({})", c.pr, c.touches))
                .collect();
            format!("except {}", prs.join(", "))
        };
        return Some(format!(
            "stand-in: the libc of {} ({how}), built here with {}; not the official {} build",
            p.libc_of,
            spec.compiler.as_deref().unwrap_or(DEFAULT_DEB_COMPILER),
            p.libc_of
        ));
    }
    let ins: Vec<&str> = all
        .iter()
        .filter(|s| s.provenance.as_ref().is_some_and(|p| p.libc_of == spec.id))
        .map(|s| s.id.as_str())
        .collect();
    (!ins.is_empty()).then(|| {
        format!(
            "its libc is measured here through the stand-in {}",
            ins.join(", ")
        )
    })
}
