//! Scratch space and child processes that cannot outlive the harness.
//!
//! Every scratch directory is named `wasiprobe-KIND-PID.RANDOM` after the process that made
//! it, and every child process group the harness starts is tracked. On SIGINT/SIGTERM the
//! binary kills the tracked groups and removes its own directories ([`on_signal`]); children
//! run by [`crate`]'s users also get `PR_SET_PDEATHSIG`, so a SIGKILLed harness takes them with
//! it. What a SIGKILL still leaves (directories, a browser started off a short-lived thread) is
//! swept at the next start ([`sweep`]): a directory or process that names a scratch directory
//! whose owner is dead is removed or killed. The owner of a live pid is never touched, so two
//! harnesses side by side leave each other alone.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock};

const PREFIX: &str = "wasiprobe-";

/// The tempfile prefix for a scratch directory of this process: `wasiprobe-KIND-PID.`.
pub fn prefix(kind: &str) -> String {
    format!("{PREFIX}{kind}-{}.", std::process::id())
}

/// The pid a scratch directory's name was made with (see [`prefix`]).
pub fn owner_of(name: &str) -> Option<u32> {
    let rest = name.strip_prefix(PREFIX)?;
    let (head, _random) = rest.rsplit_once('.')?;
    head.rsplit_once('-')?.1.parse().ok()
}

fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// `true` once [`on_signal`] has begun. Scratch directories are made under a read guard and the
/// handler takes the write guard, so no directory appears between the handler's removal and the
/// process's exit: a worker that asks after that point waits for the exit instead.
static STOPPING: RwLock<bool> = RwLock::new(false);

fn wait_for_exit() -> ! {
    loop {
        std::thread::park();
    }
}

/// A new scratch directory `wasiprobe-KIND-PID.RANDOM` in the temp dir (or in `parent`), which
/// [`on_signal`] removes and [`sweep`] can attribute. Every scratch directory is made here.
pub fn dir(kind: &str, parent: Option<&Path>) -> std::io::Result<tempfile::TempDir> {
    let stopping = STOPPING.read().unwrap_or_else(|e| e.into_inner());
    if *stopping {
        drop(stopping);
        wait_for_exit();
    }
    let name = prefix(kind);
    let mut b = tempfile::Builder::new();
    b.prefix(&name);
    match parent {
        Some(p) => b.tempdir_in(p),
        None => b.tempdir(),
    }
}

static GROUPS: Mutex<BTreeSet<i32>> = Mutex::new(BTreeSet::new());

/// A child process group to kill if the harness is stopped by a signal. A group started after
/// the handler ran is killed at once (its children also have `PR_SET_PDEATHSIG`).
pub fn track(pgid: u32) {
    let stopping = STOPPING.read().unwrap_or_else(|e| e.into_inner());
    if *stopping {
        // SAFETY: kill(2) on a process group this process just created.
        unsafe {
            libc::kill(-(pgid as i32), libc::SIGKILL);
        }
        drop(stopping);
        wait_for_exit();
    }
    GROUPS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(pgid as i32);
}

pub fn untrack(pgid: u32) {
    GROUPS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&(pgid as i32));
}

/// For `Command::pre_exec`: the child gets SIGKILL when the thread that started it ends,
/// which for a child waited on by that thread is when the harness dies.
pub fn die_with_parent() -> std::io::Result<()> {
    // SAFETY: prctl(PR_SET_PDEATHSIG) is async-signal-safe and only affects the child.
    if unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// What the harness does when SIGINT or SIGTERM stops it: every tracked child group is killed
/// and every scratch directory of this process removed. Returns with the gate closed: no new
/// scratch directory or child group appears before the caller exits.
pub fn on_signal() {
    *STOPPING.write().unwrap_or_else(|e| e.into_inner()) = true;
    let groups: Vec<i32> = GROUPS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .copied()
        .collect();
    for g in groups {
        // SAFETY: kill(2) on a process group this process created.
        unsafe {
            libc::kill(-g, libc::SIGKILL);
        }
    }
    let me = std::process::id();
    // A child killed a moment ago may still be closing files in its directory: a removal that
    // raced it is tried again, for at most half a second.
    for _ in 0..10 {
        let mine: Vec<PathBuf> = scratch_dirs()
            .into_iter()
            .filter(|d| d.1 == me)
            .map(|d| d.0)
            .collect();
        if mine.is_empty() {
            break;
        }
        for d in mine {
            let _ = std::fs::remove_dir_all(&d);
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

fn scratch_dirs() -> Vec<(PathBuf, u32)> {
    let Ok(rd) = std::fs::read_dir(std::env::temp_dir()) else {
        return Vec::new();
    };
    rd.flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            owner_of(&name).map(|pid| (e.path(), pid))
        })
        .collect()
}

/// What [`sweep`] removed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Swept {
    pub dirs: usize,
    pub processes: usize,
}

/// Removes what harnesses that died without cleaning up left behind: processes whose command
/// line names a scratch directory of a dead owner are killed, then those directories removed.
pub fn sweep() -> Swept {
    let mut swept = Swept::default();
    let tmp = std::env::temp_dir();
    let marker = format!("{}/{PREFIX}", tmp.display());
    if let Ok(rd) = std::fs::read_dir("/proc") {
        for e in rd.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
                continue;
            };
            let Ok(cmdline) = std::fs::read(e.path().join("cmdline")) else {
                continue;
            };
            let text = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            let stale = text.match_indices(&marker).any(|(at, _)| {
                let name: String = text[at + tmp.display().to_string().len() + 1..]
                    .chars()
                    .take_while(|c| !matches!(c, '/' | ' '))
                    .collect();
                owner_of(&name).is_some_and(|o| !alive(o))
            });
            if stale && pid as u32 != std::process::id() {
                // SAFETY: kill(2) of a process left by a dead harness (its command line names
                // that harness's scratch directory).
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                }
                swept.processes += 1;
            }
        }
    }
    for (dir, owner) in scratch_dirs() {
        if !alive(owner) && std::fs::remove_dir_all(&dir).is_ok() {
            swept.dirs += 1;
        }
    }
    swept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_owner_is_read_back_from_the_name_tempfile_makes() {
        let d = tempfile::Builder::new()
            .prefix(&prefix("case"))
            .tempdir()
            .unwrap();
        let name = d.path().file_name().unwrap().to_string_lossy().into_owned();
        assert_eq!(owner_of(&name), Some(std::process::id()));
        assert_eq!(owner_of("wasiprobe-case-abc.x"), None);
        assert_eq!(owner_of("other-case-12.x"), None);
        assert_eq!(owner_of("wasiprobe-case-12"), None);
    }

    #[test]
    fn a_dead_owners_directory_is_swept_and_a_live_ones_is_kept() {
        // A pid that is not running: past the kernel's pid_max default range.
        let dead = tempfile::Builder::new()
            .prefix("wasiprobe-case-4194305.")
            .tempdir()
            .unwrap()
            .keep();
        let live = tempfile::Builder::new()
            .prefix(&prefix("case"))
            .tempdir()
            .unwrap();
        let s = sweep();
        assert!(!dead.exists(), "the dead owner's directory is left");
        assert!(s.dirs >= 1);
        assert!(live.path().exists(), "a live owner's directory was removed");
    }
}
