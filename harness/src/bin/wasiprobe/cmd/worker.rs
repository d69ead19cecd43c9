//! `wasiprobe worker RUNTIME …`: hosts a crash-isolated native runtime in its own process.

use wasiprobe::exit;

pub fn worker(args: &[String]) -> i32 {
    #[cfg(feature = "wamr")]
    if args.get(1).is_some_and(|r| r == "wamr") {
        return wasiprobe_runtimes::wamr_rt::worker_main(args);
    }
    #[cfg(feature = "wasmedge")]
    if args.get(1).is_some_and(|r| r == "wasmedge") {
        let flag = |f: &str| {
            args.iter()
                .position(|a| a == f)
                .and_then(|i| args.get(i + 1))
                .map(PathBuf::from)
        };
        return match (flag("--module"), flag("--spec"), flag("--status")) {
            (Some(m), Some(s), Some(st)) => {
                wasiprobe_runtimes::wasmedge_rt::worker_main(&m, &s, &st).unwrap_or_else(|e| {
                    eprintln!("wasiprobe worker wasmedge: {e:#}");
                    exit::USAGE
                })
            }
            _ => {
                eprintln!("wasiprobe worker wasmedge: needs --module, --spec and --status");
                exit::USAGE
            }
        };
    }
    eprintln!(
        "wasiprobe worker: no worker for '{}' in this build (wamr, with the `wamr` feature)",
        args.get(1).map_or("", String::as_str)
    );
    exit::USAGE
}
