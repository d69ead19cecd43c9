//! The WAMR worker alone (`NAME worker wamr SPEC.json`), for this crate's tests, which have no
//! `wasiprobe` binary to host it.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    std::process::exit(wasiprobe_runtimes::wamr_rt::worker_main(&args));
}
