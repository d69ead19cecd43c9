//! The host-side tree the `fs` probe runs against. `probes/c/fs.c` relies on every name and
//! value here; the checks compare what the guest reports with these values and with the tree
//! as the host finds it after the run.
//!
//! ```text
//! ROOT/scratch/fixtures/   known.bin (4 KiB, fixed times), empty, tree/a/b/c.txt,
//!                          link-to-known -> known.bin, dangling -> nope, loop1 <-> loop2
//! ROOT/scratch/escape/     up -> ../../outside, file -> ../../outside/secret.txt,
//!                          abs -> ROOT/outside (absolute host path)
//! ROOT/outside/            the sentinel: secret.txt, dir/inner.txt (never preopened)
//! ```

use anyhow::{bail, Result};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs::{self, FileTimes};
use std::os::unix::fs::symlink;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub const NAME: &str = "fs";
pub const OUTSIDE: &str = "outside";

pub const KNOWN_BYTES: usize = 4096;
pub const KNOWN_SEED: u32 = 7;
/// (seconds, nanoseconds) since the Unix epoch.
pub const KNOWN_MTIME: (i64, i64) = (1_600_000_000, 123_456_789);
pub const KNOWN_ATIME: (i64, i64) = (1_500_000_000, 500_000_000);
pub const DEEP: &[u8] = b"deep\n";
pub const SECRET: &[u8] = b"wasiprobe sentinel: must never change\n";
pub const INNER: &[u8] = b"inner\n";
const SENTINEL_TIME: (i64, i64) = (1_400_000_000, 0);

pub fn known_bytes() -> Vec<u8> {
    crate::stdio::lcg_bytes(KNOWN_SEED, KNOWN_BYTES)
}

pub fn create(name: &str, root: &Path) -> Result<()> {
    match name {
        NAME => Ok(fs_fixture(root)?),
        _ => bail!("unknown fixture '{name}'"),
    }
}

fn time((s, ns): (i64, i64)) -> SystemTime {
    UNIX_EPOCH + Duration::new(s as u64, ns as u32)
}

fn file_with_times(
    path: &Path,
    bytes: &[u8],
    mtime: (i64, i64),
    atime: (i64, i64),
) -> std::io::Result<()> {
    fs::write(path, bytes)?;
    fs::File::options().write(true).open(path)?.set_times(
        FileTimes::new()
            .set_modified(time(mtime))
            .set_accessed(time(atime)),
    )
}

fn fs_fixture(root: &Path) -> std::io::Result<()> {
    let fx = root.join(crate::protocol::SCRATCH_DIR).join("fixtures");
    fs::create_dir_all(fx.join("tree/a/b"))?;
    fs::write(fx.join("tree/a/b/c.txt"), DEEP)?;
    file_with_times(
        &fx.join("known.bin"),
        &known_bytes(),
        KNOWN_MTIME,
        KNOWN_ATIME,
    )?;
    fs::write(fx.join("empty"), b"")?;
    symlink("known.bin", fx.join("link-to-known"))?;
    symlink("nope", fx.join("dangling"))?;
    symlink("loop2", fx.join("loop1"))?;
    symlink("loop1", fx.join("loop2"))?;

    let outside = root.join(OUTSIDE);
    fs::create_dir_all(outside.join("dir"))?;
    file_with_times(
        &outside.join("secret.txt"),
        SECRET,
        SENTINEL_TIME,
        SENTINEL_TIME,
    )?;
    file_with_times(
        &outside.join("dir/inner.txt"),
        INNER,
        SENTINEL_TIME,
        SENTINEL_TIME,
    )?;

    let esc = root.join(crate::protocol::SCRATCH_DIR).join("escape");
    fs::create_dir_all(&esc)?;
    symlink("../../outside", esc.join("up"))?;
    symlink("../../outside/secret.txt", esc.join("file"))?;
    symlink(&outside, esc.join("abs"))?;
    Ok(())
}

/// Everything observable about a tree without following symlinks: per entry its kind, and for
/// files the size, content hash and mtime (directory mtimes are left out: creating the fixture
/// sets them, and any change inside shows up as an entry anyway).
pub fn manifest(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
    let Ok(rd) = fs::read_dir(dir) else {
        out.insert(
            dir.strip_prefix(base).unwrap_or(dir).display().to_string(),
            "unreadable".into(),
        );
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        let rel = p.strip_prefix(base).unwrap_or(&p).display().to_string();
        let Ok(md) = fs::symlink_metadata(&p) else {
            continue;
        };
        let desc = if md.file_type().is_symlink() {
            format!(
                "symlink -> {}",
                fs::read_link(&p).unwrap_or_default().display()
            )
        } else if md.is_dir() {
            walk(base, &p, out);
            "dir".into()
        } else {
            let bytes = fs::read(&p).unwrap_or_default();
            let mtime = md
                .modified()
                .ok()
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos());
            format!(
                "file {} bytes sha256 {:x} mtime {mtime}",
                md.len(),
                Sha256::digest(&bytes)
            )
        };
        out.insert(rel, desc);
    }
}

/// The sentinel tree as the fixture makes it: the reference the escape check compares with.
pub fn pristine_sentinel() -> Result<BTreeMap<String, String>> {
    let dir = tempfile::tempdir()?;
    fs::create_dir(dir.path().join(crate::protocol::SCRATCH_DIR))?;
    fs_fixture(dir.path())?;
    Ok(manifest(&dir.path().join(OUTSIDE)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixture_is_laid_out_and_the_sentinel_is_reproducible() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("scratch")).unwrap();
        create(NAME, dir.path()).unwrap();
        let known = dir.path().join("scratch/fixtures/known.bin");
        assert_eq!(fs::read(&known).unwrap(), known_bytes());
        let m = fs::metadata(&known).unwrap().modified().unwrap();
        assert_eq!(m, time(KNOWN_MTIME));
        assert_eq!(
            manifest(&dir.path().join(OUTSIDE)),
            pristine_sentinel().unwrap()
        );
        // Negative control: one changed byte in the sentinel is visible in the manifest.
        fs::write(dir.path().join("outside/dir/inner.txt"), b"inneR\n").unwrap();
        assert_ne!(
            manifest(&dir.path().join(OUTSIDE)),
            pristine_sentinel().unwrap()
        );
        assert!(create("nope", dir.path()).is_err());
    }
}
