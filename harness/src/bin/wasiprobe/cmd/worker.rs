//! `wasiprobe worker RUNTIME …`: hosts a crash-isolated runtime in its own process.

pub fn worker(args: &[String]) -> i32 {
    wasiprobe_runtimes::registry::worker(args)
}
