// Runs one WASI Preview 1 module on Node's `node:wasi`, speaking the wasi-testsuite adapter
// contract:
//
//   run-wasi.mjs --version
//   run-wasi.mjs --test-file F [--arg A]... [--env K=V]... [--dir HOST[::GUEST]]...
//
// The exit status is the guest's. Extensions (environment variables, so that a caller that does
// not know them loses nothing, and the guest never sees them: it gets only the `--env` entries):
//
//   WASIPROBE_ARGV0=NAME        argv[0] of the guest (default: the test file as given)
//   WASIPROBE_STATUS=FILE       write {"termination": ..., "host_calls": {...}} to FILE: how the
//                               guest ended (exited / trap / oom / load-error) and how often it
//                               called each Preview 1 function
//   WASIPROBE_MAX_MEMORY=BYTES  linear-memory limit
//   WASIPROBE_MAX_OPEN_FILES=N  files the guest may hold open beyond stdio and preopens (EMFILE)
//
// A trap exits with status 134 (as the wasmtime CLI does), a load error with 1, an exceeded
// memory limit with 137; only the status file tells them apart from a guest that exits with the
// same code, and the guest cannot write it.
//
// Memory granularity, honestly: node:wasi has no hook on `memory.grow`, so the limit is checked
// after instantiation, at every host call and when the guest ends. Between two host calls a guest
// can grow (and touch) memory up to the wasm32 maximum of 4 GiB before it is stopped.

import { WASI } from 'node:wasi';
import fs from 'node:fs';
// The global `process`, never `import ... from 'node:process'`: importing that module reads every
// property of `process`, and its `stdout`/`stdin` getters open fds 0 and 1 as libuv pipes, which
// makes them non-blocking, and then the guest's large writes fail with EAGAIN.

const TRAP_STATUS = 134;
const LOAD_ERROR_STATUS = 1;
const OOM_STATUS = 137;
const EMFILE = 33;

function usage(msg) {
  process.stderr.write(`run-wasi.mjs: ${msg}\n`);
  process.exit(2);
}

const argv = process.argv.slice(2);
if (argv.includes('--version')) {
  process.stdout.write(`node:wasi ${process.version}\n`);
  process.exit(0);
}

let testFile = null;
const args = [];
const env = {};
const preopens = {};
for (let i = 0; i < argv.length; i++) {
  const flag = argv[i];
  const value = argv[++i];
  if (value === undefined) usage(`${flag} needs a value`);
  switch (flag) {
    case '--test-file': testFile = value; break;
    case '--arg': args.push(value); break;
    case '--env': {
      const eq = value.indexOf('=');
      if (eq < 0) usage(`--env ${value} is not K=V`);
      env[value.slice(0, eq)] = value.slice(eq + 1);
      break;
    }
    case '--dir': {
      const sep = value.indexOf('::');
      const [host, guest] = sep < 0 ? [value, value] : [value.slice(0, sep), value.slice(sep + 2)];
      preopens[guest] = host;
      break;
    }
    default: usage(`unknown flag ${flag}`);
  }
}
if (testFile === null) usage('--test-file is required');

const statusFile = process.env.WASIPROBE_STATUS || null;
const maxMemory = process.env.WASIPROBE_MAX_MEMORY ? Number(process.env.WASIPROBE_MAX_MEMORY) : Infinity;
const maxOpenFiles = process.env.WASIPROBE_MAX_OPEN_FILES ? Number(process.env.WASIPROBE_MAX_OPEN_FILES) : Infinity;
const argv0 = process.env.WASIPROBE_ARGV0 ?? testFile;

const counts = {};
function finish(termination, status) {
  if (statusFile) {
    const host_calls = {};
    for (const [k, v] of Object.entries(counts)) if (v > 0) host_calls[k] = v;
    fs.writeFileSync(statusFile, JSON.stringify({ termination, host_calls }));
  }
  process.exit(status);
}

// Thrown from a host call to stop the guest; node:wasi's start() rethrows anything but its own
// proc_exit signal.
class OverMemory { constructor(bytes) { this.bytes = bytes; } }

let bytes;
let module;
try {
  bytes = fs.readFileSync(testFile);
  module = new WebAssembly.Module(bytes);
} catch (e) {
  process.stderr.write(`run-wasi.mjs: ${e}\n`);
  finish({ kind: 'load-error', message: String(e && e.message || e) }, LOAD_ERROR_STATUS);
}

const wasi = new WASI({ version: 'preview1', args: [argv0, ...args], env, preopens, returnOnExit: true });
const real = wasi.wasiImport;

// Every import the module asks for must exist, named as the module names it (V8's own link
// error names only the import's index).
const missing = WebAssembly.Module.imports(module)
  .filter((i) => i.module !== 'wasi_snapshot_preview1' || (i.kind === 'function' && typeof real[i.name] !== 'function'))
  .map((i) => `${i.module}::${i.name}`);
if (missing.length) {
  const message = `unknown import: ${missing.join(', ')}`;
  process.stderr.write(`run-wasi.mjs: ${message}\n`);
  finish({ kind: 'load-error', message }, LOAD_ERROR_STATUS);
}

let memory = null;
function checkMemory() {
  const n = memory.buffer.byteLength;
  if (n > maxMemory) throw new OverMemory(n);
}

let openFiles = 0;
const wrapped = {};
for (const [name, f] of Object.entries(real)) {
  counts[name] = 0;
  wrapped[name] = (...a) => {
    counts[name]++;
    if (memory !== null) checkMemory();
    return f(...a);
  };
}
// Open-file accounting as the embedded runtime does it: an open past the limit is undone and
// reported as EMFILE, as a POSIX kernel would.
wrapped.path_open = (dirfd, dirflags, path, pathLen, oflags, rb, ri, fdflags, fdOut) => {
  counts.path_open++;
  if (memory !== null) checkMemory();
  const errno = real.path_open(dirfd, dirflags, path, pathLen, oflags, rb, ri, fdflags, fdOut);
  if (errno !== 0) return errno;
  if (openFiles >= maxOpenFiles) {
    real.fd_close(new DataView(memory.buffer).getUint32(fdOut, true));
    return EMFILE;
  }
  openFiles++;
  return 0;
};
wrapped.fd_close = (fd) => {
  counts.fd_close++;
  if (memory !== null) checkMemory();
  const errno = real.fd_close(fd);
  // Preopens and stdio are not counted on open, so closing them must not underflow.
  if (errno === 0 && fd > 2 && openFiles > 0) openFiles--;
  return errno;
};

let instance;
try {
  instance = new WebAssembly.Instance(module, { wasi_snapshot_preview1: wrapped });
} catch (e) {
  if (e instanceof WebAssembly.RuntimeError) {
    // A trap in a start function or an out-of-bounds data segment.
    process.stderr.write(`run-wasi.mjs: ${e}\n`);
    finish({ kind: 'trap', message: String(e.message) }, TRAP_STATUS);
  }
  process.stderr.write(`run-wasi.mjs: ${e}\n`);
  finish({ kind: 'load-error', message: String(e && e.message || e) }, LOAD_ERROR_STATUS);
}
memory = instance.exports.memory instanceof WebAssembly.Memory ? instance.exports.memory : null;

function overMemory(n) {
  process.stderr.write(`run-wasi.mjs: linear memory of ${n} bytes is over the limit of ${maxMemory}\n`);
  finish({ kind: 'oom', requested_bytes: n }, OOM_STATUS);
}

let code;
try {
  if (memory !== null) checkMemory();
  code = wasi.start(instance);
} catch (e) {
  if (e instanceof OverMemory) overMemory(e.bytes);
  if (e instanceof WebAssembly.RuntimeError) {
    process.stderr.write(`run-wasi.mjs: wasm trap: ${e.message}\n`);
    finish({ kind: 'trap', message: `${e.message}\n${e.stack || ''}` }, TRAP_STATUS);
  }
  // start() refuses a module without `_start` or an exported memory: the module cannot run.
  if (e && e.code === 'ERR_INVALID_ARG_TYPE') {
    process.stderr.write(`run-wasi.mjs: ${e.message}\n`);
    finish({ kind: 'load-error', message: String(e.message) }, LOAD_ERROR_STATUS);
  }
  // Anything else (a RangeError from a too deep recursion, an internal error) ended the guest
  // abnormally: a trap with Node's words for it.
  process.stderr.write(`run-wasi.mjs: ${e && e.stack || e}\n`);
  finish({ kind: 'trap', message: String(e && e.stack || e) }, TRAP_STATUS);
}
if (memory !== null && memory.buffer.byteLength > maxMemory) overMemory(memory.buffer.byteLength);
// Preview 1 exit codes are u32; the embedded runtime reports them as i32, and so do we.
finish({ kind: 'exited', code: code | 0 }, code & 0xff);
