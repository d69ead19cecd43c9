//! Progress of long work (builds, cells). On a terminal: an indicatif bar per stage with done /
//! total, what is running, elapsed time and an estimate of what is left; log lines are printed
//! above the bar rather than through it ([`LogWriter`]). Elsewhere (CI logs, pipes): a plain
//! line at most every [`PLAIN_EVERY`], so a log shows the run moving without a line per cell.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How often a non-terminal run says how far it is.
pub const PLAIN_EVERY: Duration = Duration::from_secs(15);

/// The bar being drawn, if any: the log writer prints above it.
static ACTIVE: Mutex<Option<ProgressBar>> = Mutex::new(None);

pub struct Progress {
    stage: &'static str,
    total: u64,
    bar: Option<ProgressBar>,
    plain: Mutex<(u64, Instant)>,
    started: Instant,
}

impl Progress {
    /// A stage of `total` units; a bar when stderr is a terminal (and `WASIPROBE_PROGRESS` is
    /// not `plain`), plain lines otherwise.
    pub fn new(stage: &'static str, total: usize) -> Self {
        let tty = std::io::stderr().is_terminal()
            && std::env::var("WASIPROBE_PROGRESS").as_deref() != Ok("plain");
        let bar = tty.then(|| {
            let b = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
            b.set_style(
                ProgressStyle::with_template(
                    "{prefix:>6} [{bar:30}] {pos}/{len} {elapsed_precise} (about {eta} left) {wide_msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            b.set_prefix(stage);
            b.enable_steady_tick(Duration::from_millis(200));
            *ACTIVE.lock().unwrap() = Some(b.clone());
            b
        });
        Progress {
            stage,
            total: total as u64,
            bar,
            plain: Mutex::new((0, Instant::now())),
            started: Instant::now(),
        }
    }

    /// What is running now (the cell or build started last).
    pub fn running(&self, what: &str) {
        if let Some(b) = &self.bar {
            b.set_message(what.to_string());
        }
    }

    /// `n` more units done.
    pub fn done(&self, n: usize) {
        if let Some(b) = &self.bar {
            b.inc(n as u64);
            return;
        }
        let mut g = self.plain.lock().unwrap();
        g.0 += n as u64;
        if g.1.elapsed() >= PLAIN_EVERY && g.0 < self.total {
            g.1 = Instant::now();
            tracing::info!("{}", self.line(g.0));
        }
    }

    /// The plain progress line: "cells 120/400, 1m 10s elapsed, about 2m 43s left".
    fn line(&self, done: u64) -> String {
        let elapsed = self.started.elapsed();
        let left = if done == 0 {
            String::from("?")
        } else {
            let per = elapsed.as_secs_f64() / done as f64;
            let s = (per * (self.total - done) as f64).round() as u64;
            humantime::format_duration(Duration::from_secs(s)).to_string()
        };
        format!(
            "{} {done}/{}, {} elapsed, about {left} left",
            self.stage,
            self.total,
            humantime::format_duration(Duration::from_secs(elapsed.as_secs()))
        )
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
            // One stage is drawn at a time (builds, then cells).
            *ACTIVE.lock().unwrap() = None;
        }
    }
}

/// tracing's writer: stderr, printed above the progress bar while one is drawn.
#[derive(Clone, Copy, Default)]
pub struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let bar = ACTIVE.lock().unwrap().clone();
        match bar {
            Some(b) => b.suspend(|| std::io::stderr().write_all(buf))?,
            None => std::io::stderr().write_all(buf)?,
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogWriter {
    type Writer = LogWriter;
    fn make_writer(&'a self) -> Self::Writer {
        LogWriter
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plain_line_says_done_total_elapsed_and_what_is_left() {
        let p = Progress {
            stage: "cells",
            total: 400,
            bar: None,
            plain: Mutex::new((0, Instant::now())),
            started: Instant::now() - Duration::from_secs(70),
        };
        let l = p.line(100);
        assert!(
            l.starts_with("cells 100/400, 1m 10s elapsed, about "),
            "{l}"
        );
        // 0.7 s a cell for 300 more cells: 3m 30s, give or take the second the test took.
        assert!(l.contains("about 3m 3"), "{l}");
        assert_eq!(p.line(0).rsplit(' ').nth(1), Some("?"));
    }
}
