//! One Chromium process, driven over the DevTools protocol with `headless_chrome` (sync):
//! started by us rather than by the crate, in its own process group and a fresh profile, so
//! that dropping it kills every process it started (renderers, GPU and network services,
//! zygotes) and removes the profile on every path out, a panic included. Its `TMPDIR` is a
//! directory inside that profile: Chromium makes an `org.chromium.Chromium.XXXXXX` directory in
//! the temp dir per start and, killed, never removes it (the soak left one per guest).

use anyhow::{anyhow, Context as _, Result};
use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

/// Without the networking flags Chromium keeps dialling its update, sync and QUIC endpoints;
/// a closed network refuses them, and a sandbox needs privileges a root container lacks.
pub const FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
];

const LOG_LINES: usize = 20;

pub struct Chromium {
    child: Child,
    cdp: Option<headless_chrome::Browser>,
    log: Arc<Mutex<VecDeque<String>>>,
    _profile: tempfile::TempDir,
}

impl Chromium {
    /// Starts `exe` and connects to it; `idle` is how long the connection may see no event (a
    /// guest's whole run, as the page sends none while it runs).
    pub fn launch(exe: &Path, startup: Duration, idle: Duration) -> Result<Chromium> {
        let profile = wasiprobe_util::scratch::dir("chromium", None)?;
        let tmp = profile.path().join("tmp");
        std::fs::create_dir(&tmp)?;
        let mut cmd = Command::new(exe);
        cmd.args(FLAGS)
            .env("TMPDIR", &tmp)
            .arg(format!("--user-data-dir={}", profile.path().join("profile").display()))
            .arg("--remote-debugging-port=0")
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .process_group(0);
        let mut child = cmd
            .spawn()
            .with_context(|| format!("starting {}", exe.display()))?;
        // Not PR_SET_PDEATHSIG: the browser outlives the thread that starts it. A SIGKILLed
        // harness leaves it to the sweep at the next start (its command line names its
        // profile, a scratch directory of a dead owner).
        wasiprobe_util::scratch::track(child.id());
        let stderr = child.stderr.take().expect("piped");
        let log = Arc::new(Mutex::new(VecDeque::new()));
        let (tx, rx) = mpsc::channel();
        let l = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(|l| l.ok()) {
                if let Some(url) = line.strip_prefix("DevTools listening on ") {
                    let _ = tx.send(url.trim().to_string());
                } else {
                    let mut l = l.lock().unwrap();
                    if l.len() == LOG_LINES {
                        l.pop_front();
                    }
                    l.push_back(line);
                }
            }
        });
        let mut me = Chromium {
            child,
            cdp: None,
            log,
            _profile: profile,
        };
        let url = rx.recv_timeout(startup).map_err(|_| {
            anyhow!(
                "{} printed no DevTools address within {startup:?}; its last words: {}",
                exe.display(),
                me.log_tail()
            )
        })?;
        let cdp = headless_chrome::Browser::connect_with_timeout(url, idle)
            .map_err(|e| anyhow!("connecting to the DevTools protocol: {e}"))?;
        cdp.set_default_timeout(Duration::from_secs(20));
        me.cdp = Some(cdp);
        Ok(me)
    }

    pub fn cdp(&self) -> &headless_chrome::Browser {
        self.cdp.as_ref().expect("connected")
    }

    /// A new tab, loading `url`.
    pub fn open(&self, url: &str) -> Result<Arc<headless_chrome::Tab>> {
        let tab = self
            .cdp()
            .new_tab()
            .map_err(|e| anyhow!("no tab: {e}"))?;
        tab.navigate_to(url)
            .map_err(|e| anyhow!("navigating: {e}"))?;
        Ok(tab)
    }

    /// The browser's last lines on stderr, for a message.
    pub fn log_tail(&self) -> String {
        self.log
            .lock()
            .unwrap()
            .iter()
            .cloned()
            .collect::<Vec<_>>()
            .join(" | ")
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        drop(self.cdp.take());
        // SAFETY: kill(2) with a negative pid signals the process group the browser leads.
        unsafe {
            libc::kill(-(self.child.id() as i32), libc::SIGKILL);
        }
        let _ = self.child.wait();
        wasiprobe_util::scratch::untrack(self.child.id());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chromium() -> Option<std::path::PathBuf> {
        let wanted = std::env::var("WASIPROBE_CHROMIUM").unwrap_or_else(|_| "chromium".into());
        crate::node_rt::which(&wanted)
    }

    fn temp_entries() -> std::collections::BTreeSet<std::ffi::OsString> {
        std::fs::read_dir(std::env::temp_dir())
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .filter(|n| n.to_string_lossy().starts_with("org.chromium."))
            .collect()
    }

    /// The browser's temp files live in its profile, and dropping it leaves nothing behind: not
    /// the profile, and no `org.chromium.*` directory in the harness's temp dir.
    #[test]
    fn a_dropped_browser_leaves_nothing_in_the_temp_dir() {
        let Some(exe) = chromium() else {
            panic!("chromium is not installed: scripts/test-deps installs it");
        };
        let before = temp_entries();
        let b = Chromium::launch(&exe, Duration::from_secs(30), Duration::from_secs(30)).unwrap();
        let environ = std::fs::read(format!("/proc/{}/environ", b.child.id())).unwrap();
        let tmpdir = environ
            .split(|&c| c == 0)
            .find_map(|kv| kv.strip_prefix(b"TMPDIR="))
            .map(|v| std::path::PathBuf::from(String::from_utf8_lossy(v).into_owned()))
            .expect("the browser has a TMPDIR of its own");
        assert!(tmpdir.starts_with(b._profile.path()), "{tmpdir:?}");
        let profile = b._profile.path().to_path_buf();
        drop(b);
        assert!(!profile.exists(), "{profile:?} outlived the browser");
        let after = temp_entries();
        let new: Vec<_> = after.difference(&before).collect();
        assert!(new.is_empty(), "left in the temp dir: {new:?}");
    }
}
