//! The `wasiprobe` binary: argument handling only. The flags are in `cli.rs`, each subcommand
//! in a file of `cmd/`, and the work in the library crates.

mod cli;
mod cmd;

use clap::Parser;

fn main() {
    // The crash-isolated runtime worker (`worker RUNTIME SPEC.json`, started by the runtime's
    // parent side): before logging and argument parsing, so nothing but the guest writes to
    // its stdout and stderr.
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().is_some_and(|a| a == "worker") {
        std::process::exit(cmd::worker::worker(&args));
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("WASIPROBE_LOG")
                // wasmtime-wasi warns on every Preview 1 socket call; the p1_calls probe makes
                // them on purpose, and its verdicts already say what came back.
                .unwrap_or_else(|_| "info,wasmtime_wasi=error".into()),
        )
        .with_writer(wasiprobe::progress::LogWriter)
        .with_target(false)
        .without_time()
        .init();
    // What a SIGKILLed harness left (scratch directories, a browser) is removed first; SIGINT
    // and SIGTERM kill this run's children and remove its scratch space before it exits.
    let swept = wasiprobe_util::scratch::sweep();
    if swept != Default::default() {
        tracing::info!(
            "removed what a killed wasiprobe left: {} scratch directories, {} processes",
            swept.dirs,
            swept.processes
        );
    }
    if let Err(e) = ctrlc::set_handler(|| {
        wasiprobe_util::scratch::on_signal();
        eprintln!("wasiprobe: stopped by a signal; children killed, scratch space removed");
        std::process::exit(wasiprobe::exit::SIGNALLED);
    }) {
        tracing::warn!("no signal handler: {e}");
    }
    let cli = cli::Cli::parse();
    let code = match cmd::dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            // Usage mistakes, a malformed matrix and a broken environment all end here: the
            // message names the cause; the status separates them from findings (0/1).
            eprintln!("wasiprobe: error: {e:#}");
            wasiprobe::exit::USAGE
        }
    };
    std::process::exit(code);
}
