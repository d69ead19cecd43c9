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

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Entry {
    /// Relative to the tree's root, `/`-separated; a directory comes before what it holds.
    pub path: String,
    /// "dir", "file" (or, coming back, "other").
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
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
            out.push(Entry {
                path: path.clone(),
                kind: "dir".into(),
                data: None,
            });
            walk(&p, &path, skip, out, left)?;
        } else if ft.is_file() {
            out.push(Entry {
                path,
                kind: "file".into(),
                data: Some(B64.encode(fs::read(&p)?)),
            });
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
/// is removed, a file whose bytes differ is rewritten, an unchanged file is left alone (its
/// host times stay).
pub fn write_back(dir: &Path, entries: &[Entry], skip: Option<&Path>) -> Result<()> {
    let want: BTreeMap<&str, &Entry> = entries.iter().map(|e| (e.path.as_str(), e)).collect();
    prune(dir, "", &want, skip)?;
    for e in entries {
        if e.path.split('/').any(|c| c.is_empty() || c == "." || c == "..") {
            anyhow::bail!("the page returned a path outside its tree: {:?}", e.path);
        }
        let p = dir.join(&e.path);
        match e.kind.as_str() {
            "dir" => fs::create_dir_all(&p)?,
            "file" => {
                let bytes = B64.decode(e.data.as_deref().unwrap_or(""))?;
                if fs::read(&p).ok().as_deref() != Some(&bytes[..]) {
                    fs::write(&p, &bytes).with_context(|| format!("writing {}", p.display()))?;
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
        entries.push(Entry {
            path: "new".into(),
            kind: "file".into(),
            data: Some(B64.encode(b"n")),
        });
        write_back(d.path(), &entries, None).unwrap();
        assert!(!d.path().join("a/b/f").exists());
        assert!(fs::symlink_metadata(d.path().join("ln")).is_err());
        assert_eq!(fs::read(d.path().join("new")).unwrap(), b"n");
        assert_eq!(fs::read(d.path().join("keep")).unwrap(), b"k");
    }

    #[test]
    fn a_path_leaving_the_tree_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let bad = [Entry {
            path: "../x".into(),
            kind: "file".into(),
            data: Some(String::new()),
        }];
        assert!(write_back(d.path(), &bad, None).is_err());
    }
}
