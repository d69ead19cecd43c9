//! What one guest run is given and how it ended: the nouns every runtime and every check share.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

/// A host directory made visible to the guest under `guest` (the `HOST::GUEST` of CLI runtimes).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Preopen {
    pub host: PathBuf,
    pub guest: String,
}

/// Resource limits for one guest run. Every field is enforced by the embedded runtimes.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Limits {
    /// Wall-clock budget, including time the guest spends blocked in host calls.
    pub wall: Duration,
    /// Linear memory (all memories together) in bytes.
    pub memory_bytes: u64,
    /// Bytes the guest may write to stdout before it is stopped.
    pub stdout_bytes: usize,
    /// Bytes the guest may write to stderr before it is stopped.
    pub stderr_bytes: usize,
    /// File descriptors the guest may hold open at once beyond stdio and preopens.
    pub open_files: u32,
    /// Time to compile the module, on the runtimes that compile in this process before the
    /// guest starts (wasmtime, wasmi, wasmer; an in-memory or on-disk cache hit costs ~0).
    /// Their compilers cannot be interrupted, so it is checked when compiling ends: a module
    /// that took longer is a load error and is not run. Runtimes in a child process (node,
    /// WAMR, CLI runtimes, the browser) count compilation in `wall` instead.
    #[serde(default = "default_compile")]
    pub compile: Duration,
}

fn default_compile() -> Duration {
    Limits::default().compile
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            wall: Duration::from_secs(20),
            memory_bytes: 512 << 20,
            stdout_bytes: 8 << 20,
            stderr_bytes: 1 << 20,
            open_files: 256,
            compile: Duration::from_secs(120),
        }
    }
}

/// Everything a guest run receives besides the module itself.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RunSpec {
    /// argv, including argv[0].
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub preopens: Vec<Preopen>,
    pub stdin: Vec<u8>,
    pub limits: Limits,
    /// Fault injection: Preview 1 functions replaced by liars for this run.
    pub inject: Vec<Injection>,
    /// Native stack for Wasm execution (wasmtime's `max_wasm_stack`), when the guest needs more
    /// than the runtime's default: CPython's own scripts give python.wasm 32 MiB. A runtime
    /// that cannot set it ignores it and says so in its version string.
    #[serde(default)]
    pub wasm_stack_bytes: Option<usize>,
}

/// How the guest ended.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Termination {
    /// `proc_exit` or a return from `_start` (code 0).
    Exited {
        code: i32,
    },
    /// A Wasm trap other than the limit traps below.
    Trap {
        message: String,
    },
    Timeout,
    /// The guest tried to grow memory past the limit.
    Oom {
        requested_bytes: u64,
    },
    OutputLimit {
        stream: String,
    },
    /// The runtime itself died (native runtimes in a worker process).
    Crash {
        message: String,
    },
    /// The module could not be loaded or instantiated (missing import, invalid binary).
    LoadError {
        message: String,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Outcome {
    pub termination: Termination,
    #[serde(skip)]
    pub stdout: Vec<u8>,
    #[serde(skip)]
    pub stderr: Vec<u8>,
    pub duration: Duration,
    /// Host calls the guest made, by Preview 1 function name (only functions called at least
    /// once; empty for runtimes that cannot count).
    pub host_calls: BTreeMap<String, u64>,
}

/// What a runtime can do, so the harness can skip a cell honestly instead of failing it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct Capabilities {
    /// A host directory can be preopened under a guest name of our choosing (`HOST::GUEST`).
    pub preopen_mapping: bool,
    pub stdin: bool,
    /// Liars can replace Preview 1 functions ([`RunSpec::inject`]).
    pub fault_injection: bool,
    /// With `fault_injection`, the liars it has (`function:mode`) when it has only some; empty
    /// means every liar of `wasiprobe liars`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub liars: Vec<String>,
    /// Host calls are counted per function ([`Outcome::host_calls`]).
    #[serde(default)]
    pub host_call_counting: bool,
    /// Pre-opened sockets can be handed to the guest (`sock_accept` on a listener).
    #[serde(default)]
    pub sockets: bool,
    /// How a guest that runs too long is stopped: "epoch", "fuel", "kill" (of a child process).
    #[serde(default)]
    pub interruption: String,
    /// Where the guest runs: "in-process", "worker-process" (crash-isolated), "subprocess".
    #[serde(default)]
    pub isolation: String,
    /// Which fields of [`Limits`] it enforces.
    pub enforced_limits: Vec<String>,
    /// It follows a symlink inside a preopen to wherever the link points: not a sandbox
    /// (node:wasi, whose documentation says so). The harness never hands such a runtime a tree
    /// with a link leading out of it, and judges a guest-made one as an escape.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub follows_links_out: bool,
}

/// The names of every field of [`Limits`], as `Capabilities::enforced_limits` lists them.
pub const ALL_LIMITS: [&str; 5] = [
    "wall",
    "memory_bytes",
    "stdout_bytes",
    "stderr_bytes",
    "open_files",
];

/// `enforced_limits` for a runtime that enforces every limit.
pub fn all_limits() -> Vec<String> {
    ALL_LIMITS.map(String::from).to_vec()
}

impl Outcome {
    /// A module that could not be loaded, linked or instantiated: nothing ran.
    pub fn load_error(message: String, duration: Duration) -> Outcome {
        Outcome {
            termination: Termination::LoadError { message },
            stdout: vec![],
            stderr: vec![],
            duration,
            host_calls: Default::default(),
        }
    }
}

impl Capabilities {
    /// What every runtime so far has, stopped by `interruption` and run with `isolation`: it
    /// maps preopens, feeds stdin and enforces every limit, and hands no sockets; liars and
    /// call counting are each runtime's own to claim.
    pub fn preview1(interruption: &str, isolation: &str) -> Capabilities {
        Capabilities {
            preopen_mapping: true,
            stdin: true,
            fault_injection: false,
            liars: Vec::new(),
            host_call_counting: false,
            sockets: false,
            interruption: interruption.into(),
            isolation: isolation.into(),
            enforced_limits: all_limits(),
            follows_links_out: false,
        }
    }

    pub fn enforces(&self, limit: &str) -> bool {
        self.enforced_limits.iter().any(|l| l == limit)
    }
}

/// What a runtime needs from the machine to be built: where the tool keeps its cache
/// (installed CLI runtimes, scripts), and the executable that hosts crash-isolated workers.
#[derive(Debug, Clone, Default)]
pub struct HostEnv {
    pub cache: PathBuf,
    /// An executable that runs `worker RUNTIME` (the `wasiprobe` binary itself).
    pub worker_exe: Option<PathBuf>,
}

/// A runtime that cannot be used on this machine, with the reason (the report says so in its
/// row instead of failing every cell).
#[derive(Debug, Clone)]
pub struct Unavailable(pub String);

impl std::fmt::Display for Unavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Unavailable {}

/// One liar, written `FUNCTION:MODE` on the command line (e.g. `fd_write:drop-tail`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Injection {
    pub func: String,
    pub mode: String,
}

impl FromStr for Injection {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (func, mode) = s
            .split_once(':')
            .ok_or_else(|| format!("injection '{s}' is not FUNCTION:MODE"))?;
        // Which liars exist is the runtimes' business (`inject::parse` checks the name).
        Ok(Injection {
            func: func.into(),
            mode: mode.into(),
        })
    }
}

impl Injection {
    /// A fault of the worker process that hosts a runtime (`worker:*`), not of a function.
    pub fn is_worker_fault(&self) -> bool {
        self.func == "worker"
    }
}

impl fmt::Display for Injection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.func, self.mode)
    }
}
