//! Debian's archive through apt's own client, kept private to wasiprobe's cache.
//!
//! Each suite (bookworm-backports, trixie, sid, …) gets a directory of its own under
//! `CACHE/apt/`: a one-suite sources list, apt's lists and its package cache, passed to apt with
//! `Dir::Etc::sourcelist`, `Dir::Etc::sourceparts`, `Dir::State::Lists` and `Dir::Cache`. The
//! system's apt configuration is never written and nothing is installed: binary packages are
//! fetched with `apt-get download` and unpacked with `dpkg-deb -x`, source packages with
//! `apt-get source --download-only`. This needs no root, and packages of other suites (which
//! would conflict with the system's, e.g. bookworm's own `wasi-libc`) stay out of the system.
//!
//! The archive's address and signing key are the system's own (the `deb` entries of its
//! Debian sources), so wasiprobe names no host of its own; `WASIPROBE_DEBIAN_ARCHIVE=URI`
//! points it at a mirror instead.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;
use wasiprobe_util::{command_output, streams_text};

const APT_TIMEOUT: Duration = Duration::from_secs(1800);
const DEFAULT_KEYRING: &str = "/usr/share/keyrings/debian-archive-keyring.gpg";

/// apt locks its lists and cache directories: two apt commands on one suite at once (parallel
/// provisioning) would make the second fail instead of waiting.
static APT: Mutex<()> = Mutex::new(());

/// Waits for [`APT`]. The lock guards no data, so a holder's panic leaves nothing to distrust.
fn apt_lock() -> MutexGuard<'static, ()> {
    APT.lock().unwrap_or_else(|e| e.into_inner())
}

/// Where Debian's archive is: (URI, keyring) of the system's `deb` entries for its own release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Archive {
    pub uri: String,
    pub signed_by: String,
}

/// The archive the system's Debian sources use (deb822 `*.sources` or one-line `*.list`),
/// skipping security-only entries; or `$WASIPROBE_DEBIAN_ARCHIVE`.
pub fn system_archive() -> Result<Archive> {
    if let Ok(uri) = std::env::var("WASIPROBE_DEBIAN_ARCHIVE") {
        return Ok(Archive {
            uri,
            signed_by: DEFAULT_KEYRING.into(),
        });
    }
    let mut texts = Vec::new();
    for f in ["/etc/apt/sources.list"] {
        if let Ok(t) = std::fs::read_to_string(f) {
            texts.push(t);
        }
    }
    if let Ok(rd) = std::fs::read_dir("/etc/apt/sources.list.d") {
        let mut files: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
        files.sort();
        for f in files {
            if let Ok(t) = std::fs::read_to_string(&f) {
                texts.push(t);
            }
        }
    }
    texts
        .iter()
        .find_map(|t| archive_in(t))
        .context("no Debian `deb` entry in /etc/apt/sources.list{,.d} to take the archive's address from (set WASIPROBE_DEBIAN_ARCHIVE=URI)")
}

/// The first non-security `deb` entry of a sources file, in deb822 or one-line form.
pub fn archive_in(text: &str) -> Option<Archive> {
    // deb822: stanzas separated by blank lines.
    for stanza in text.split("\n\n") {
        let field = |name: &str| {
            stanza.lines().find_map(|l| {
                let (k, v) = l.split_once(':')?;
                (k.trim().eq_ignore_ascii_case(name)).then(|| v.trim().to_string())
            })
        };
        let (Some(types), Some(uris), Some(suites)) =
            (field("Types"), field("URIs"), field("Suites"))
        else {
            continue;
        };
        if !types.split_whitespace().any(|t| t == "deb")
            || suites.split_whitespace().all(|s| s.ends_with("-security"))
        {
            continue;
        }
        if let Some(uri) = uris.split_whitespace().next() {
            return Some(Archive {
                uri: uri.to_string(),
                signed_by: field("Signed-By").unwrap_or_else(|| DEFAULT_KEYRING.into()),
            });
        }
    }
    // One-line: `deb [options] URI SUITE COMPONENTS`.
    for line in text.lines() {
        let line = line.trim();
        let Some(rest) = line.strip_prefix("deb ") else {
            continue;
        };
        let mut rest = rest.trim();
        let mut signed_by = DEFAULT_KEYRING.to_string();
        if let Some(opts) = rest.strip_prefix('[') {
            let (o, after) = opts.split_once(']')?;
            for kv in o.split_whitespace() {
                if let Some(v) = kv.strip_prefix("signed-by=") {
                    signed_by = v.to_string();
                }
            }
            rest = after.trim();
        }
        let mut parts = rest.split_whitespace();
        let (Some(uri), Some(suite)) = (parts.next(), parts.next()) else {
            continue;
        };
        if suite.ends_with("-security") {
            continue;
        }
        return Some(Archive {
            uri: uri.to_string(),
            signed_by,
        });
    }
    None
}

/// One suite of the archive, with its private apt state.
#[derive(Debug, Clone)]
pub struct Suite {
    pub name: String,
    dir: PathBuf,
    /// Whether `deb-src` entries are included (source packages; larger indexes).
    sources: bool,
}

impl Suite {
    /// The private apt state for `suite` under `cache/apt/`, with the system's archive plus,
    /// when given, `extra` (e.g. a snapshot of the archive that still has an old version).
    pub fn open(cache: &Path, suite: &str, sources: bool, extra: Option<&str>) -> Result<Suite> {
        if suite.is_empty() || !suite.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            bail!("'{suite}' is not a Debian suite name");
        }
        let archive = system_archive()?;
        let dir = cache.join("apt").join(if sources {
            format!("{suite}-src")
        } else {
            suite.to_string()
        });
        for d in ["lists/partial", "cache/archives/partial"] {
            std::fs::create_dir_all(dir.join(d))
                .with_context(|| format!("creating {}", dir.join(d).display()))?;
        }
        let list = sources_list(&archive, suite, sources, extra);
        let path = dir.join("sources.list");
        if std::fs::read_to_string(&path).ok().as_deref() != Some(list.as_str()) {
            wasiprobe_util::atomic_write(&path, list.as_bytes())?;
            // Lists made from another sources list would answer for the wrong entries.
            let _ = std::fs::remove_file(dir.join("updated"));
        }
        Ok(Suite {
            name: suite.to_string(),
            dir,
            sources,
        })
    }

    fn apt(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        let d = &self.dir;
        for (k, v) in [
            ("Dir::Etc::sourcelist", d.join("sources.list")),
            ("Dir::Etc::sourceparts", PathBuf::from("-")),
            ("Dir::State::Lists", d.join("lists")),
            ("Dir::Cache", d.join("cache")),
        ] {
            cmd.arg("-o").arg(format!("{k}={}", v.display()));
        }
        // Only the package (and source) indexes: no translations, AppStream or
        // command-not-found data, which the system's apt.conf.d may switch on.
        for t in [
            "DEP-11",
            "DEP-11-icons",
            "DEP-11-icons-small",
            "DEP-11-icons-hidpi",
            "CNF",
        ] {
            cmd.arg("-o").arg(format!(
                "Acquire::IndexTargets::deb::{t}::DefaultEnabled=false"
            ));
        }
        cmd.args(["-o", "Acquire::Languages=none", "-q"]);
        if wasiprobe_util::is_root() {
            // apt drops to `_apt` for downloads, which cannot write into a root-owned cache.
            cmd.args(["-o", "APT::Sandbox::User=root"]);
        }
        cmd.env("DEBIAN_FRONTEND", "noninteractive");
        cmd
    }

    /// `apt-get ARGS PKG=VERSION` in `into`, made first, for a caller that holds [`apt_lock`].
    fn apt_get_in(&self, into: &Path, args: &[&str], pkg: &str, version: &str) -> Result<String> {
        std::fs::create_dir_all(into)?;
        let wanted = format!("{pkg}={version}");
        let mut cmd = self.apt("apt-get");
        cmd.args(args).arg(&wanted).current_dir(into);
        self.run(cmd, &format!("apt-get {} {wanted}", args.join(" ")))
    }

    fn run(&self, mut cmd: Command, what: &str) -> Result<String> {
        let out = command_output(
            {
                cmd.stdin(std::process::Stdio::null());
                cmd
            },
            APT_TIMEOUT,
        )
        .with_context(|| format!("running {what}"))?;
        let text = streams_text(&out.stdout, &out.stderr);
        if !out.status.success() {
            bail!("{what} failed: {}", tail(&text, 1200));
        }
        Ok(text)
    }

    /// `apt-get update` for this suite only.
    pub fn update(&self) -> Result<()> {
        let _one = apt_lock();
        let mut cmd = self.apt("apt-get");
        cmd.arg("update");
        self.run(cmd, &format!("apt-get update ({})", self.name))?;
        wasiprobe_util::atomic_write(&self.dir.join("updated"), b"")?;
        Ok(())
    }

    fn updated(&self) -> bool {
        self.dir.join("updated").exists()
    }

    /// Whether this suite's lists were ever fetched.
    pub fn updated_lists(&self) -> bool {
        self.updated()
    }

    /// The versions of `pkg` this suite's index lists (binary, or source with `sources`).
    pub fn versions(&self, pkg: &str) -> Result<Vec<String>> {
        let _one = apt_lock();
        let mut cmd = self.apt("apt-cache");
        cmd.args(["madison", pkg]);
        let text = self.run(cmd, "apt-cache madison")?;
        let want = if self.sources { "Sources" } else { "Packages" };
        Ok(text
            .lines()
            .filter(|l| l.trim_end().ends_with(want))
            .filter_map(|l| l.split('|').nth(1).map(|v| v.trim().to_string()))
            .collect())
    }

    /// Whether the suite lists `pkg` at `version`, updating the lists first when they were
    /// never fetched or do not list it (a newer index may).
    pub fn has(&self, pkg: &str, version: &str) -> Result<bool> {
        let fresh = !self.updated();
        if fresh {
            self.update()?;
        }
        if self.versions(pkg)?.iter().any(|v| v == version) {
            return Ok(true);
        }
        if fresh {
            return Ok(false);
        }
        self.update()?;
        Ok(self.versions(pkg)?.iter().any(|v| v == version))
    }

    /// Downloads `pkg=version` into `into` (`apt-get download`), returning the .deb's path.
    /// A file the index lists but the archive does not serve says so.
    pub fn download(&self, pkg: &str, version: &str, into: &Path) -> Result<PathBuf> {
        if !self.has(pkg, version)? {
            let listed = self.versions(pkg).unwrap_or_default();
            bail!(
                "{} no longer lists {pkg} {version} (it lists: {})",
                self.name,
                if listed.is_empty() {
                    "none".into()
                } else {
                    listed.join(", ")
                }
            );
        }
        let _one = apt_lock();
        self.apt_get_in(into, &["download"], pkg, version)
            .map_err(served_or_not)?;
        let found = std::fs::read_dir(into)?
            .flatten()
            .map(|e| e.path())
            .find(|p| {
                p.extension().is_some_and(|x| x == "deb")
                    && p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with(&format!("{pkg}_")))
            });
        found.with_context(|| format!("apt-get download {pkg}={version} wrote no .deb"))
    }

    /// Downloads the source package `pkg=version` into `into` (`apt-get source
    /// --download-only`, no unpacking, no build dependencies), returning the files it fetched.
    pub fn source(&self, pkg: &str, version: &str, into: &Path) -> Result<Vec<PathBuf>> {
        if !self.sources {
            bail!("suite {} was opened without deb-src entries", self.name);
        }
        if !self.has(pkg, version)? {
            bail!(
                "{} no longer lists the source package {pkg} {version} (it lists: {})",
                self.name,
                self.versions(pkg).unwrap_or_default().join(", ")
            );
        }
        let _one = apt_lock();
        self.apt_get_in(into, &["source", "--download-only"], pkg, version)
            .map_err(served_or_not)?;
        Ok(std::fs::read_dir(into)?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_file())
            .collect())
    }
}

impl Suite {
    /// Downloads one file of the source package `pkg=version` (its upstream tarball), when the
    /// whole package cannot be had: sid's index sometimes lists packages whose Debian files are
    /// not served. The URI and hash are apt's own (`apt-get source --print-uris`), the download
    /// is apt's own client (`apt-helper download-file`), which verifies the hash.
    pub fn source_file(
        &self,
        pkg: &str,
        version: &str,
        file: &str,
        into: &Path,
    ) -> Result<PathBuf> {
        if !self.sources {
            bail!("suite {} was opened without deb-src entries", self.name);
        }
        let _one = apt_lock();
        let listing = self.apt_get_in(into, &["source", "--print-uris"], pkg, version)?;
        let (uri, hash) = listing
            .lines()
            .find_map(|l| {
                let mut w = l.split_whitespace();
                let uri = w.next()?.trim_matches('\'');
                (w.next()? == file).then_some(())?;
                let hash = w.nth(1)?;
                Some((uri.to_string(), hash.to_string()))
            })
            .with_context(|| {
                format!("apt-get source --print-uris {pkg}={version} lists no {file}")
            })?;
        let dest = into.join(file);
        let mut cmd = Command::new("/usr/lib/apt/apt-helper");
        if wasiprobe_util::is_root() {
            cmd.args(["-o", "APT::Sandbox::User=root"]);
        }
        cmd.arg("download-file").arg(&uri).arg(&dest).arg(&hash);
        self.run(cmd, &format!("apt-helper download-file {uri}"))
            .map_err(served_or_not)?;
        Ok(dest)
    }
}

/// Turns apt's "404 Not Found" into the honest statement: the index lists the file, the
/// archive does not serve it.
fn served_or_not(e: anyhow::Error) -> anyhow::Error {
    let text = format!("{e:#}");
    if text.contains("404") {
        anyhow::anyhow!(
            "the suite's index lists it, but the archive did not serve the file (404 Not Found): {}",
            tail(&text, 600)
        )
    } else {
        e
    }
}

fn sources_list(archive: &Archive, suite: &str, sources: bool, extra: Option<&str>) -> String {
    let mut out =
        String::from("# written by wasiprobe for its private apt state; not the system's\n");
    let mut uris = vec![(archive.uri.clone(), String::new())];
    if let Some(x) = extra {
        // A snapshot of the archive is frozen: its Release files are past their Valid-Until.
        uris.push((x.to_string(), " check-valid-until=no".into()));
    }
    for (uri, opt) in &uris {
        let types: &[&str] = if sources { &["deb-src"] } else { &["deb"] };
        for t in types {
            out += &format!(
                "{t} [signed-by={}{opt}] {uri} {suite} main\n",
                archive.signed_by
            );
        }
    }
    out
}

/// Unpacks a .deb's files into `dest` (created; replaced atomically when complete).
pub fn extract_deb(deb: &Path, dest: &Path) -> Result<()> {
    let parent = dest.parent().context("a destination has a parent")?;
    std::fs::create_dir_all(parent)?;
    let tmp = tempfile::Builder::new()
        .prefix(".extract-")
        .tempdir_in(parent)?;
    let mut cmd = Command::new("dpkg-deb");
    cmd.arg("-x").arg(deb).arg(tmp.path());
    let out = command_output(cmd, APT_TIMEOUT).context("running dpkg-deb")?;
    if !out.status.success() {
        bail!(
            "dpkg-deb -x {} failed: {}",
            deb.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let _ = std::fs::remove_dir_all(dest);
    std::fs::rename(tmp.keep(), dest)?;
    Ok(())
}

fn tail(s: &str, n: usize) -> String {
    let s = s.trim();
    let start = s.len().saturating_sub(n);
    let start = (start..s.len())
        .find(|i| s.is_char_boundary(*i))
        .unwrap_or(s.len());
    s[start..].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_archive_comes_from_the_systems_own_entries() {
        let deb822 = "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\nComponents: main\nSigned-By: /k.gpg\n\nTypes: deb\nURIs: http://sec.example/debian-security\nSuites: bookworm-security\n";
        assert_eq!(
            archive_in(deb822),
            Some(Archive {
                uri: "http://mirror.example/debian".into(),
                signed_by: "/k.gpg".into()
            })
        );
        let only_security = "Types: deb\nURIs: http://sec.example/x\nSuites: bookworm-security\n";
        assert_eq!(archive_in(only_security), None);
        let one_line = "# comment\ndeb http://sec.example/x bookworm-security main\ndeb [arch=amd64 signed-by=/s.gpg] http://m.example/debian bookworm main\n";
        assert_eq!(
            archive_in(one_line),
            Some(Archive {
                uri: "http://m.example/debian".into(),
                signed_by: "/s.gpg".into()
            })
        );
        assert_eq!(
            archive_in("deb-src http://m.example/debian bookworm main\n"),
            None
        );
    }

    #[test]
    fn a_private_sources_list_names_one_suite_and_the_systems_key() {
        let a = Archive {
            uri: "http://m.example/debian".into(),
            signed_by: "/k.gpg".into(),
        };
        let l = sources_list(&a, "sid", false, None);
        assert!(
            l.contains("deb [signed-by=/k.gpg] http://m.example/debian sid main\n"),
            "{l}"
        );
        assert!(!l.contains("deb-src"));
        let l = sources_list(
            &a,
            "trixie",
            true,
            Some("http://snap.example/archive/debian/20250101T000000Z"),
        );
        assert!(
            l.contains("deb-src [signed-by=/k.gpg] http://m.example/debian trixie main"),
            "{l}"
        );
        assert!(
            l.contains("check-valid-until=no] http://snap.example/"),
            "{l}"
        );
        assert!(Suite::open(Path::new("/nonexistent"), "../etc", false, None).is_err());
    }
}
