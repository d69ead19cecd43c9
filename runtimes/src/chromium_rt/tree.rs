//! A host directory as the page's in-memory tree, and back. The shim's memory filesystem has
//! directories and regular files only (no symlinks, no times, no permissions): a symlink, a
//! FIFO or a name that is not UTF-8 cannot be handed to it, and is listed instead. After the
//! run the host directory is made to hold exactly what the page's tree holds, so the checks
//! that read the host tree read the runtime's truth.

use anyhow::{Context as _, Result};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

/// The longest file name a Linux filesystem takes.
const NAME_MAX: usize = 255;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Entry {
    /// Relative to the tree's root, `/`-separated; a directory comes before what it holds.
    pub path: String,
    /// "dir", "file" (or, coming back, "other").
    pub kind: String,
    /// A file's bytes, going to the page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    /// Coming back: the file holds what it held when it went.
    #[serde(default, skip_serializing)]
    pub unchanged: bool,
    /// Coming back: a changed file's size and its runs of bytes that are not zero, (offset,
    /// base64); the rest is zeros (a hole on the host).
    #[serde(default, skip_serializing)]
    pub size: u64,
    #[serde(default, skip_serializing)]
    pub chunks: Vec<(u64, String)>,
}

impl Entry {
    fn new(path: String, kind: &str, data: Option<String>) -> Entry {
        Entry {
            path,
            kind: kind.into(),
            data,
            unchanged: false,
            size: 0,
            chunks: vec![],
        }
    }
}

/// The tree under `dir` (without the subtree `skip`), and what it cannot hold: one line each.
pub fn read(dir: &Path, skip: Option<&Path>) -> Result<(Vec<Entry>, Vec<String>)> {
    let (mut out, mut left) = (Vec::new(), Vec::new());
    walk(dir, "", skip, &mut out, &mut left)?;
    Ok((out, left))
}

fn walk(
    dir: &Path,
    prefix: &str,
    skip: Option<&Path>,
    out: &mut Vec<Entry>,
    left: &mut Vec<String>,
) -> Result<()> {
    let mut names: Vec<_> = fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .collect::<std::io::Result<_>>()?;
    names.sort_by_key(|e| e.file_name());
    for e in names {
        let p = e.path();
        if Some(p.as_path()) == skip {
            continue;
        }
        let Some(name) = e.file_name().to_str().map(str::to_string) else {
            left.push(format!("{}: the name is not UTF-8", p.display()));
            continue;
        };
        let path = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        let ft = fs::symlink_metadata(&p)?.file_type();
        if ft.is_dir() {
            out.push(Entry::new(path.clone(), "dir", None));
            walk(&p, &path, skip, out, left)?;
        } else if ft.is_file() {
            out.push(Entry::new(
                path,
                "file",
                Some(B64.encode(fs::read(&p)?)),
            ));
        } else if ft.is_symlink() {
            left.push(format!(
                "{path}: a symlink (-> {}); the shim's filesystem has none",
                fs::read_link(&p).unwrap_or_default().display()
            ));
        } else {
            left.push(format!("{path}: neither a file nor a directory"));
        }
    }
    Ok(())
}

/// Makes `dir` (without the subtree `skip`) hold exactly `entries`: what the page does not have
/// is removed, a changed file is rewritten (sparse where the page's is zeros), an unchanged file
/// is left alone (its host times stay).
pub fn write_back(dir: &Path, entries: &[Entry], skip: Option<&Path>) -> Result<()> {
    let want: BTreeMap<&str, &Entry> = entries.iter().map(|e| (e.path.as_str(), e)).collect();
    prune(dir, "", &want, skip)?;
    for e in entries {
        if e.path.split('/').any(|c| c.is_empty() || c == "." || c == "..") {
            anyhow::bail!("the page returned a path outside its tree: {:?}", e.path);
        }
        let p = dir.join(&e.path);
        // The shim takes names of any length; the host's tree cannot hold a longer one than
        // NAME_MAX, so the checks see it missing there, as it would be on any host.
        if e.path.split('/').any(|c| c.len() > NAME_MAX) {
            tracing::debug!("not written back, a name longer than {NAME_MAX} bytes: {}", e.path);
            continue;
        }
        match e.kind.as_str() {
            "dir" => fs::create_dir_all(&p)?,
            "file" if e.unchanged && p.is_file() => {}
            "file" => {
                use std::os::unix::fs::FileExt as _;
                tracing::debug!("written back: {} ({} bytes)", e.path, e.size);
                let f = fs::File::create(&p).with_context(|| format!("writing {}", p.display()))?;
                f.set_len(e.size)?;
                for (at, b64) in &e.chunks {
                    f.write_all_at(&B64.decode(b64)?, *at)?;
                }
            }
            _ => {}
        }
    }
    Ok(())
}

fn prune(dir: &Path, prefix: &str, want: &BTreeMap<&str, &Entry>, skip: Option<&Path>) -> Result<()> {
    for e in fs::read_dir(dir)? {
        let e = e?;
        let p = e.path();
        if Some(p.as_path()) == skip {
            continue;
        }
        let name = e.file_name().to_string_lossy().into_owned();
        let path = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        let ft = fs::symlink_metadata(&p)?.file_type();
        let kind = if ft.is_dir() {
            "dir"
        } else if ft.is_file() {
            "file"
        } else {
            "other"
        };
        match want.get(path.as_str()) {
            Some(w) if w.kind == kind && kind == "dir" => prune(&p, &path, want, skip)?,
            Some(w) if w.kind == kind => {}
            _ if ft.is_dir() => fs::remove_dir_all(&p)?,
            _ => fs::remove_file(&p)?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tree_goes_and_comes_back_and_symlinks_are_listed() {
        let d = tempfile::tempdir().unwrap();
        fs::create_dir_all(d.path().join("a/b")).unwrap();
        fs::write(d.path().join("a/b/f"), b"x").unwrap();
        fs::write(d.path().join("keep"), b"k").unwrap();
        std::os::unix::fs::symlink("keep", d.path().join("ln")).unwrap();
        let (mut entries, left) = read(d.path(), None).unwrap();
        assert_eq!(left.len(), 1, "{left:?}");
        assert!(left[0].starts_with("ln: a symlink"), "{left:?}");
        let paths: Vec<&str> = entries.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["a", "a/b", "a/b/f", "keep"]);
        // The page removed a/b/f, wrote new, and the symlink it never had is gone afterwards.
        entries.retain(|e| e.path != "a/b/f");
        for e in &mut entries {
            e.unchanged = e.kind == "file";
        }
        let mut new = Entry::new("new".into(), "file", None);
        new.size = 5 << 20;
        new.chunks = vec![(1, B64.encode(b"n")), ((5 << 20) - 1, B64.encode(b"z"))];
        entries.push(new);
        write_back(d.path(), &entries, None).unwrap();
        assert!(!d.path().join("a/b/f").exists());
        assert!(fs::symlink_metadata(d.path().join("ln")).is_err());
        let new = fs::read(d.path().join("new")).unwrap();
        assert_eq!((new.len(), new[0], new[1], new[(5 << 20) - 1]), (5 << 20, 0, b'n', b'z'));
        assert_eq!(fs::read(d.path().join("keep")).unwrap(), b"k");
    }

    #[test]
    fn a_path_leaving_the_tree_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let bad = [Entry::new("../x".into(), "file", None)];
        assert!(write_back(d.path(), &bad, None).is_err());
    }
}
