//! WAMR 2.4 (its fast interpreter, built from the C sources `wamrx-sys` vendors) with WAMR's own
//! libc-wasi, run in a worker process so that a crash of the native runtime ends one cell, not
//! the run.
//!
//! The parent ([`WamrRuntime`]) writes the spec to a file and starts `WORKER_EXE worker wamr
//! SPEC.json` through [`process::run_child`]: the guest's stdin, stdout and stderr are the
//! worker's own (WAMR's WASI writes to host descriptors), so the wall limit (kill) and the
//! output caps are the child runner's. The worker ([`worker_main`]) writes the termination as
//! JSON to a result file the spec names; a worker that dies without one is a `crash`.
//!
//! Limits: wall time and output by the parent; memory by WAMR's maximum page count, with a
//! grow past it (and an initial memory past it) reported as `oom` from the worker; open files
//! by the worker's `RLIMIT_NOFILE`, set after the preopens are open, so the kernel's EMFILE
//! reaches the guest through WAMR's errno mapping.

use crate::process;
use crate::{Capabilities, HostEnv, Outcome, RunSpec, Runtime, Termination, Unavailable};
use anyhow::{Context as _, Result};
use serde::{Deserialize, Serialize};
use std::ffi::{CStr, CString};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::time::Duration;
use wamrx_sys as w;

pub const WAMR_VERSION: &str = "2.4.3";

/// Added to the wall limit for the worker's own start-up (exec, module load), measured at a
/// few milliseconds; the guest cannot use it for much.
/// Guests run in `wasiprobe worker wamr`, so a WAMR crash is a `crash` cell, not the harness's.
pub const ENTRY: crate::registry::Entry =
    crate::registry::Entry::new("wamr", |env| Ok(Box::new(WamrRuntime::new(env)?)))
        .with_worker(worker_main);

const WORKER_GRACE: Duration = Duration::from_millis(250);
/// WAMR's interpreter stack (operand stack and frames) unless the spec asks for another.
const DEFAULT_STACK: u32 = 1 << 20;
const PAGE: u64 = 65536;

/// The injection only a worker honours: the worker process really dies by SIGSEGV (an invalid
/// memory access) after instantiating the module, to prove that a native crash is contained.
pub const SEGFAULT: (&str, &str) = ("worker", "segfault");

/// What the parent hands the worker (stdin travels on the pipe, not in here).
#[derive(Debug, Serialize, Deserialize)]
pub struct WorkerSpec {
    pub module: PathBuf,
    pub result: PathBuf,
    pub spec: RunSpec,
}

#[derive(Debug, Serialize, Deserialize)]
struct WorkerResult {
    termination: Termination,
}

pub struct WamrRuntime {
    worker_exe: PathBuf,
}

impl WamrRuntime {
    pub fn new(env: &HostEnv) -> std::result::Result<Self, Unavailable> {
        match &env.worker_exe {
            Some(exe) => Ok(WamrRuntime {
                worker_exe: exe.clone(),
            }),
            None => Err(Unavailable(
                "WAMR has no worker executable: it runs each guest as `<current exe> worker wamr \
                 SPEC.json`, which only the `wasiprobe` binary answers, and the running executable \
                 is not named `wasiprobe`; run it through `wasiprobe`, or set \
                 RunOptions.worker_exe (HostEnv.worker_exe) to a `wasiprobe` binary's path"
                    .into(),
            )),
        }
    }
}

impl Runtime for WamrRuntime {
    fn name(&self) -> &str {
        "wamr"
    }
    fn version(&self) -> String {
        format!("{WAMR_VERSION} (fast interpreter, libc-wasi, worker process)")
    }
    fn capabilities(&self) -> Capabilities {
        // WAMR's libc-wasi functions are registered inside the C library; none can be
        // wrapped from here, so there are neither liars nor call counts.
        Capabilities::preview1("kill", "worker-process")
    }
    fn run(&self, module: &Path, spec: &RunSpec) -> Result<Outcome> {
        // WAMR's grow hook sees the default memory only; tables not at all.
        if let Some(o) = crate::host::memory::over_declared(module, spec)? {
            return Ok(o);
        }
        if let Some(inj) = spec
            .inject
            .iter()
            .find(|i| (i.func.as_str(), i.mode.as_str()) != SEGFAULT)
        {
            anyhow::bail!(
                "wamr cannot inject {inj}: the liars are written against wasmtime-wasi \
                 (capabilities say fault_injection: false)"
            );
        }
        let dir = wasiprobe_util::scratch::dir("wamr", None)?;
        let spec_path = dir.path().join("spec.json");
        let result = dir.path().join("result.json");
        let module = std::path::absolute(module)?;
        let mut ws = WorkerSpec {
            module,
            result: result.clone(),
            spec: spec.clone(),
        };
        ws.spec.stdin.clear();
        std::fs::write(&spec_path, serde_json::to_vec(&ws)?)?;
        let mut cmd = Command::new(&self.worker_exe);
        cmd.args(["worker", "wamr"]).arg(&spec_path).env_clear();
        let child = process::run_child(cmd, &spec.stdin, &spec.limits, WORKER_GRACE)?;
        let termination = match child.harness_termination() {
            Some(t) => t,
            None => match std::fs::read(&result)
                .map_err(anyhow::Error::from)
                .and_then(|b| Ok(serde_json::from_slice::<WorkerResult>(&b)?))
            {
                Ok(r) => r.termination,
                Err(e) => Termination::Crash {
                    message: format!(
                        "the WAMR worker exited with {} and left no result ({e:#}); stderr: {}",
                        child.status.map_or("no status".into(), |s| s.to_string()),
                        String::from_utf8_lossy(
                            &child.stderr[child.stderr.len().saturating_sub(500)..]
                        )
                    ),
                },
            },
        };
        Ok(child.into_outcome(termination))
    }
}

/// The result file, opened before the guest runs (it may use up every descriptor the open-file
/// limit leaves), so the memory callback can write to it and leave at once.
static RESULT_FD: AtomicI32 = AtomicI32::new(-1);
static MEMORY_LIMIT: AtomicU64 = AtomicU64::new(u64::MAX);

fn write_result(t: &Termination) {
    let fd = RESULT_FD.load(Ordering::SeqCst);
    let Ok(bytes) = serde_json::to_vec(&WorkerResult {
        termination: t.clone(),
    }) else {
        return;
    };
    // SAFETY: `fd` is the result file opened by `worker_main` and never closed.
    unsafe {
        libc::ftruncate(fd, 0);
        libc::pwrite(fd, bytes.as_ptr().cast(), bytes.len(), 0);
    }
}

/// The worker: `worker wamr SPEC.json` (argv after the executable's name). Runs the guest in
/// this process and returns the exit status for the worker process; the guest's own status is
/// in the result file.
pub fn worker_main(args: &[String]) -> i32 {
    let [w, rt, spec_path] = args else {
        eprintln!("usage: worker wamr SPEC.json");
        return 2;
    };
    if w != "worker" || rt != "wamr" {
        eprintln!("usage: worker wamr SPEC.json (got {w} {rt})");
        return 2;
    }
    let ws: WorkerSpec = match std::fs::read(spec_path)
        .map_err(anyhow::Error::from)
        .and_then(|b| Ok(serde_json::from_slice(&b)?))
    {
        Ok(s) => s,
        Err(e) => {
            eprintln!("wamr worker: reading {spec_path}: {e:#}");
            return 2;
        }
    };
    let file = match std::fs::File::create(&ws.result) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("wamr worker: creating {}: {e}", ws.result.display());
            return 2;
        }
    };
    RESULT_FD.store(std::os::fd::IntoRawFd::into_raw_fd(file), Ordering::SeqCst);
    let t = run_guest(&ws).unwrap_or_else(|e| Termination::LoadError {
        message: format!("{e:#}"),
    });
    write_result(&t);
    0
}

fn cstrings<'a>(items: impl IntoIterator<Item = &'a str>) -> Result<Vec<CString>> {
    items
        .into_iter()
        .map(|s| CString::new(s).with_context(|| format!("{s:?} contains a NUL byte")))
        .collect()
}

fn c_error(buf: &[libc::c_char]) -> String {
    // SAFETY: WAMR writes a NUL-terminated message into the buffer (zeroed beforehand).
    unsafe { CStr::from_ptr(buf.as_ptr()) }
        .to_string_lossy()
        .into_owned()
}

/// Called by WAMR when `memory.grow` fails. Past the limit it is the guest's `oom`, as in the
/// embedded runtimes (which trap there); the worker reports it and leaves at once.
unsafe extern "C" fn on_grow_failure(
    inc_pages: u32,
    current_bytes: u64,
    _memory_index: u32,
    _reason: w::enlarge_memory_error_reason_t,
    _inst: w::wasm_module_inst_t,
    _env: w::wasm_exec_env_t,
    _user: *mut libc::c_void,
) {
    let requested = current_bytes + inc_pages as u64 * PAGE;
    if requested > MEMORY_LIMIT.load(Ordering::SeqCst) {
        write_result(&Termination::Oom {
            requested_bytes: requested,
        });
        // SAFETY: leaving the process without unwinding through WAMR's C frames.
        unsafe { libc::_exit(0) };
    }
}

fn load_error(message: String) -> Result<Termination> {
    Ok(Termination::LoadError { message })
}

fn run_guest(ws: &WorkerSpec) -> Result<Termination> {
    let spec = &ws.spec;
    let mut bytes =
        std::fs::read(&ws.module).with_context(|| format!("reading {}", ws.module.display()))?;
    let argv = cstrings(spec.args.iter().map(String::as_str))?;
    let env_pairs: Vec<String> = spec.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let envs = cstrings(env_pairs.iter().map(String::as_str))?;
    let maps: Vec<String> = spec
        .preopens
        .iter()
        .map(|p| format!("{}::{}", p.guest, p.host.display()))
        .collect();
    let maps = cstrings(maps.iter().map(String::as_str))?;
    let mut argv_p: Vec<*mut libc::c_char> = argv.iter().map(|s| s.as_ptr().cast_mut()).collect();
    let envs_p: Vec<*const libc::c_char> = envs.iter().map(|s| s.as_ptr()).collect();
    let maps_p: Vec<*const libc::c_char> = maps.iter().map(|s| s.as_ptr()).collect();
    MEMORY_LIMIT.store(spec.limits.memory_bytes, Ordering::SeqCst);
    let max_pages = (spec.limits.memory_bytes / PAGE).clamp(1, 65536) as u32;
    let stack = spec
        .wasm_stack_bytes
        .map_or(DEFAULT_STACK, |s| s.min(u32::MAX as usize) as u32);
    let mut err = [0 as libc::c_char; 512];

    // SAFETY: the WAMR C API, used as its iwasm front end does; every pointer handed to it
    // (module bytes, argv/env/dir strings) outlives the instance, which lives until the
    // process exits.
    unsafe {
        let mut init: w::RuntimeInitArgs = std::mem::zeroed();
        init.mem_alloc_type = w::Alloc_With_System_Allocator;
        if !w::wasm_runtime_full_init(&mut init) {
            anyhow::bail!("WAMR failed to initialise");
        }
        // WAMR logs to stdout, which is the guest's: only what precedes an abort may pass.
        w::wasm_runtime_set_log_level(w::WASM_LOG_LEVEL_FATAL);
        w::wasm_runtime_set_enlarge_mem_error_callback(Some(on_grow_failure), std::ptr::null_mut());
        let module = w::wasm_runtime_load(
            bytes.as_mut_ptr(),
            bytes.len() as u32,
            err.as_mut_ptr(),
            err.len() as u32,
        );
        if module.is_null() {
            return load_error(c_error(&err));
        }
        // WAMR instantiates a module whose imports it cannot provide and traps only when one
        // is called; the other runtimes refuse to link it, and so does this adapter.
        for i in 0..w::wasm_runtime_get_import_count(module) {
            let mut imp: w::wasm_import_t = std::mem::zeroed();
            w::wasm_runtime_get_import_type(module, i, &mut imp);
            if imp.kind == w::WASM_IMPORT_EXPORT_KIND_FUNC && !imp.linked {
                let m = CStr::from_ptr(imp.module_name).to_string_lossy();
                let n = CStr::from_ptr(imp.name).to_string_lossy();
                return load_error(format!("unknown import: {m}::{n} is not provided by WAMR"));
            }
        }
        w::wasm_runtime_set_wasi_args_ex(
            module,
            std::ptr::null_mut(),
            0,
            maps_p.as_ptr().cast_mut(),
            maps_p.len() as u32,
            envs_p.as_ptr().cast_mut(),
            envs_p.len() as u32,
            argv_p.as_mut_ptr(),
            argv_p.len() as i32,
            0,
            1,
            2,
        );
        let mut args: *mut w::InstantiationArgs2 = std::ptr::null_mut();
        if !w::wasm_runtime_instantiation_args_create(&mut args) {
            anyhow::bail!("WAMR could not allocate instantiation arguments");
        }
        w::wasm_runtime_instantiation_args_set_default_stack_size(args, stack);
        // wasi-libc brings its own malloc inside linear memory; no WAMR-managed app heap.
        w::wasm_runtime_instantiation_args_set_host_managed_heap_size(args, 0);
        w::wasm_runtime_instantiation_args_set_max_memory_pages(args, max_pages);
        let inst =
            w::wasm_runtime_instantiate_ex2(module, args, err.as_mut_ptr(), err.len() as u32);
        w::wasm_runtime_instantiation_args_destroy(args);
        if inst.is_null() {
            return load_error(c_error(&err));
        }
        // WAMR raises the maximum to the initial size instead of refusing it. (For a module
        // without memory.grow it also folds the memory into one page of the whole size.)
        let mem = w::wasm_runtime_get_default_memory(inst);
        if !mem.is_null() {
            let initial =
                w::wasm_memory_get_cur_page_count(mem) * w::wasm_memory_get_bytes_per_page(mem);
            if initial > spec.limits.memory_bytes {
                return Ok(Termination::Oom {
                    requested_bytes: initial,
                });
            }
        }
        limit_open_files(spec.limits.open_files)?;
        if spec
            .inject
            .iter()
            .any(|i| (i.func.as_str(), i.mode.as_str()) == SEGFAULT)
        {
            segfault();
        }
        let start = w::wasm_runtime_lookup_wasi_start_function(inst);
        if start.is_null() {
            return load_error("the module exports no _start function".into());
        }
        let exec_env = w::wasm_runtime_create_exec_env(inst, stack);
        if exec_env.is_null() {
            anyhow::bail!("WAMR could not create an execution environment");
        }
        let ok = w::wasm_runtime_call_wasm(exec_env, start, 0, std::ptr::null_mut());
        let exception = w::wasm_runtime_get_exception(inst);
        let exception = (!exception.is_null())
            .then(|| CStr::from_ptr(exception).to_string_lossy().into_owned());
        Ok(match (ok, exception) {
            (true, _) => Termination::Exited {
                code: w::wasm_runtime_get_wasi_exit_code(inst) as i32,
            },
            // proc_exit unwinds as an exception and leaves the status with the instance.
            (false, Some(e)) if e.contains("wasi proc exit") => Termination::Exited {
                code: w::wasm_runtime_get_wasi_exit_code(inst) as i32,
            },
            (false, e) => Termination::Trap {
                message: e.unwrap_or_else(|| "WAMR reported a failure without an exception".into()),
            },
        })
    }
}

/// The kernel hands out the lowest free descriptor and refuses any at or above
/// `RLIMIT_NOFILE`, so the limit is put just past the `open_files`-th free descriptor: the
/// worker's own (stdio, the result file, preopens, anything inherited) do not count, and the
/// guest's next open after `open_files` gets EMFILE. Not exact: WAMR's path resolution briefly
/// opens each intermediate directory of a path, so near the limit a path through directories
/// fails one descriptor earlier than a plain name.
fn limit_open_files(open_files: u32) -> Result<()> {
    // SAFETY: fcntl(F_GETFD) only queries a descriptor; setrlimit on our own process.
    unsafe {
        let mut free = 0u32;
        let mut soft = 0u64;
        while free < open_files {
            if libc::fcntl(soft as i32, libc::F_GETFD) == -1 {
                free += 1;
            }
            soft += 1;
        }
        let mut lim: libc::rlimit = std::mem::zeroed();
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
        lim.rlim_cur = soft.min(lim.rlim_max);
        if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
            anyhow::bail!(
                "setting RLIMIT_NOFILE to {soft}: {}",
                std::io::Error::last_os_error()
            );
        }
    }
    Ok(())
}

/// A real invalid memory access, not a simulated crash: the default action of SIGSEGV ends
/// the worker, exactly as a fault inside WAMR's C code would.
fn segfault() -> ! {
    // SAFETY: deliberately unsound; this is the crash-isolation negative control.
    unsafe {
        libc::signal(libc::SIGSEGV, libc::SIG_DFL);
        std::ptr::write_volatile(std::ptr::without_provenance_mut::<u64>(16), 0);
        libc::abort()
    }
}
