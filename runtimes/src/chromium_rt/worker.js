// Runs one WASI Preview 1 module with @bjorn3/browser_wasi_shim in a dedicated worker of the
// page the harness serves (see chromium_rt/mod.rs), and posts back how it ended: stdout,
// stderr, the exit status or trap, host-call counts and the in-memory tree of every preopen.
//
// The harness's contract on top of the shim, each a few lines below:
//   - two corrections of the shim, so that the rows measure the browser and not two bugs that
//     end a run early (the version string names them): argv sizes in UTF-8 bytes (the shim's
//     args_sizes_get sums JavaScript string lengths, UTF-16 units, so a non-ASCII argument
//     overflows the guest's buffer), and a clock subscription's TIMER_ABSTIME flag read at its
//     offset, 40 (the shim reads it at 36, so an absolute sleep lasts as long as the absolute
//     time itself: hours);
//   - output streamed to the harness while the guest runs (through the page's main thread), so
//     a guest killed at the time limit leaves what it printed;
//   - limits: stdout/stderr caps, open files (EMFILE) and the memory limit, checked at every
//     host call and at the end (the page has no hook on memory.grow);
//   - liars (`--inject`), for the negative controls: random_get:zeros,
//     clock_time_get:step-back, path_open:dotdot-escape.
import {
  WASI, WASIProcExit, Fd, File, Directory, OpenFile, OpenDirectory, PreopenDirectory, wasi as defs,
} from './shim/index.js';

const EMFILE = 33;

class Stop { constructor(termination) { this.termination = termination; } }

function fromB64(s) {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function toB64(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

// entries: [{path, kind, data}] with every directory before what it holds. `originals` gets
// each file's bytes by path, so that what comes back unchanged need not be sent.
function buildTree(entries, originals) {
  const root = new Map();
  const dirs = new Map([['', root]]);
  for (const e of entries) {
    const cut = e.path.lastIndexOf('/');
    const parent = dirs.get(cut < 0 ? '' : e.path.slice(0, cut));
    const name = e.path.slice(cut + 1);
    if (e.kind === 'dir') {
      const m = new Map();
      dirs.set(e.path, m);
      parent.set(name, m);
    } else {
      const bytes = fromB64(e.data);
      originals.set(e.path, bytes);
      parent.set(name, new File(bytes));
    }
  }
  // Directory's constructor links its subdirectories to it, so they are made leaves first.
  const make = (m) => new Map([...m].map(([n, v]) => [n, v instanceof Map ? new Directory(make(v)) : v]));
  return make(root);
}

function same(a, b) {
  if (a === undefined || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const BLOCK = 1 << 16;
const CHUNK = 1 << 26;

// A file as its size and the runs of blocks that are not all zero: a guest that writes past
// 4 GiB leaves a file the page cannot spell out whole.
function sparse(data) {
  const chunks = [];
  let start = -1;
  // Four bytes at a time where the file's buffer allows it.
  const words = data.byteOffset % 4 === 0 ? new Uint32Array(data.buffer, data.byteOffset, Math.floor(data.length / 4)) : null;
  const zero = (at) => {
    const end = Math.min(at + BLOCK, data.length);
    let i = at;
    if (words !== null) {
      // Plain division: a file past 2 GiB has offsets a 32-bit shift would wrap.
      const wend = Math.floor(end / 4);
      for (let w = at / 4; w < wend; w++) if (words[w] !== 0) return false;
      i = wend * 4;
    }
    for (; i < end; i++) if (data[i] !== 0) return false;
    return true;
  };
  for (let at = 0; at <= data.length; at += BLOCK) {
    const z = at === data.length || zero(at);
    // A run is cut at CHUNK so that its base64 stays a string V8 can make.
    if (!z && start >= 0 && at - start >= CHUNK) {
      chunks.push([start, toB64(data.subarray(start, at))]);
      start = at;
    }
    if (!z && start < 0) start = at;
    if (z && start >= 0) {
      chunks.push([start, toB64(data.subarray(start, Math.min(at, data.length)))]);
      start = -1;
    }
  }
  if (start >= 0) chunks.push([start, toB64(data.subarray(start))]);
  return chunks;
}

function readTree(dir, prefix, out, skip, originals) {
  for (const [name, node] of dir.contents) {
    if (node === skip) continue;
    const path = prefix ? `${prefix}/${name}` : name;
    if (node instanceof Directory) {
      out.push({ path, kind: 'dir' });
      readTree(node, path, out, skip, originals);
    } else if (node instanceof File) {
      if (same(originals.get(path), node.data)) out.push({ path, kind: 'file', unchanged: true });
      else out.push({ path, kind: 'file', size: node.data.length, chunks: sparse(node.data) });
    } else {
      out.push({ path, kind: 'other' });
    }
  }
  return out;
}

// Everything goes to the harness through the page's main thread, which is free while the guest
// keeps this worker busy: a message costs microseconds (no request inside a measured sleep),
// and the page sends them on in order.
function send(path, body) {
  if (body instanceof Uint8Array) self.postMessage({ path, body }, [body.buffer]);
  else self.postMessage({ path, body });
}

const FLUSH_BYTES = 1 << 20;
const FLUSH_MS = 250;

class Sink extends Fd {
  constructor(cap, stream, path) {
    super();
    this.cap = cap; this.stream = stream; this.path = path;
    this.pending = []; this.pendingLen = 0; this.len = 0; this.over = false; this.last = performance.now();
  }
  fd_fdstat_get() {
    const st = new defs.Fdstat(defs.FILETYPE_CHARACTER_DEVICE, 0);
    st.fs_rights_base = BigInt(defs.RIGHTS_FD_WRITE);
    return { ret: 0, fdstat: st };
  }
  fd_filestat_get() { return { ret: 0, filestat: new defs.Filestat(0n, defs.FILETYPE_CHARACTER_DEVICE, 0n) }; }
  fd_write(data) {
    if (this.firstWrite === undefined && data.length > 0) this.firstWrite = performance.now();
    const room = this.cap - this.len;
    const keep = data.length > room ? data.slice(0, room) : data.slice();
    this.pending.push(keep);
    this.pendingLen += keep.length;
    this.len += keep.length;
    if (data.length > room) {
      this.over = true;
      throw new Stop({ kind: 'output-limit', stream: this.stream });
    }
    if (this.pendingLen >= FLUSH_BYTES) this.flush();
    return { ret: 0, nwritten: data.length };
  }
  // Called at host calls: what is pending goes out once it is FLUSH_MS old.
  tick(force) {
    if (this.pendingLen && (force || performance.now() - this.last >= FLUSH_MS)) this.flush();
  }
  flush() {
    const out = new Uint8Array(this.pendingLen);
    let at = 0;
    for (const c of this.pending) { out.set(c, at); at += c.length; }
    this.pending = []; this.pendingLen = 0; this.last = performance.now();
    send(this.path, out);
  }
}

// Whether `path` climbs above the directory it is resolved in.
function escapes(path) {
  let depth = 0;
  for (const c of path.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') { if (depth === 0) return true; depth--; } else depth++;
  }
  return false;
}

async function main() {
  const spec = await (await fetch('/spec.json')).json();
  send('/started', '');
  const t0 = performance.now();
  // Milliseconds since t0 (the page has its inputs) of what a user of the guest waits for.
  const phases = {};
  const stdout = new Sink(spec.limits.stdout_bytes, 'stdout', '/out/1');
  const stderr = new Sink(spec.limits.stderr_bytes, 'stderr', '/out/2');
  const tick = (force) => { stdout.tick(force); stderr.tick(force); };
  const originals = spec.preopens.map(() => new Map());
  const preopens = spec.preopens.map((p, i) => new PreopenDirectory(p.guest, buildTree(p.entries, originals[i])));
  const parentOriginals = new Map();
  const fds = [new OpenFile(new File(fromB64(spec.stdin))), stdout, stderr, ...preopens];
  const inject = new Set(spec.inject);
  // The dotdot-escape liar's view: the first preopen's host parent directory, which holds the
  // preopen itself under its host name.
  let parent = null;
  if (inject.has('path_open:dotdot-escape') && spec.parent) {
    const siblings = buildTree(spec.parent.entries, parentOriginals);
    siblings.set(spec.parent.name, preopens[0].dir);
    parent = new Directory(siblings);
  }
  const wasi = new WASI(spec.args, spec.env.map(([k, v]) => `${k}=${v}`), fds);
  const real = wasi.wasiImport;
  const enc = new TextEncoder();
  let memory = null;
  const checkMemory = () => {
    if (memory !== null && memory.buffer.byteLength > spec.limits.memory_bytes) {
      throw new Stop({ kind: 'oom', requested_bytes: memory.buffer.byteLength });
    }
  };
  const counts = {};
  const wrapped = {};
  for (const [name, f] of Object.entries(real)) {
    counts[name] = 0;
    wrapped[name] = (...a) => { counts[name]++; checkMemory(); tick(false); return f(...a); };
  }
  const over = (name, f) => { wrapped[name] = (...a) => { counts[name]++; checkMemory(); tick(false); return f(...a); }; };
  over('args_sizes_get', (argc, size) => {
    const v = new DataView(memory.buffer);
    v.setUint32(argc, spec.args.length, true);
    v.setUint32(size, spec.args.reduce((n, a) => n + enc.encode(a).length + 1, 0), true);
    return 0;
  });
  over('poll_oneoff', (inPtr, outPtr, n, nevents) => {
    // A guest about to wait has its output seen first.
    tick(true);
    const v = new DataView(memory.buffer);
    const abstime = n === 1 && v.getUint8(inPtr + 8) === defs.EVENTTYPE_CLOCK && (v.getUint16(inPtr + 40, true) & 1) === 1;
    if (!abstime) return real.poll_oneoff(inPtr, outPtr, n, nevents);
    // The shim's own wait, with the flag it misses: the same clocks, the same busy wait.
    const clock = v.getUint32(inPtr + 16, true);
    let now;
    if (clock === defs.CLOCKID_MONOTONIC) now = () => BigInt(Math.round(performance.now() * 1e6));
    else if (clock === defs.CLOCKID_REALTIME) now = () => BigInt(new Date().getTime()) * 1000000n;
    else return defs.ERRNO_INVAL;
    const end = v.getBigUint64(inPtr + 24, true);
    while (end > now()) { /* the shim's busy wait */ }
    new defs.Event(v.getBigUint64(inPtr, true), defs.ERRNO_SUCCESS, defs.EVENTTYPE_CLOCK).write_bytes(v, outPtr);
    return defs.ERRNO_SUCCESS;
  });
  let openFiles = 0;
  const guestPath = (ptr, len) => new TextDecoder().decode(new Uint8Array(memory.buffer, ptr, len));
  over('path_open', (dirfd, dirflags, ptr, len, oflags, rb, ri, fdflags, fdOut) => {
    let errno;
    const path = guestPath(ptr, len);
    if (parent !== null && wasi.fds[dirfd] === preopens[0] && escapes(path)) {
      const { ret, fd_obj } = new OpenDirectory(parent).path_open(dirflags, `${spec.parent.name}/${path}`, oflags, rb, ri, fdflags);
      errno = ret;
      if (ret === 0) {
        wasi.fds.push(fd_obj);
        new DataView(memory.buffer).setUint32(fdOut, wasi.fds.length - 1, true);
      }
    } else {
      errno = real.path_open(dirfd, dirflags, ptr, len, oflags, rb, ri, fdflags, fdOut);
    }
    if (errno !== 0) return errno;
    if (openFiles >= spec.limits.open_files) {
      real.fd_close(new DataView(memory.buffer).getUint32(fdOut, true));
      return EMFILE;
    }
    openFiles++;
    return 0;
  });
  over('fd_close', (fd) => {
    const errno = real.fd_close(fd);
    if (errno === 0 && fd > 2 && openFiles > 0) openFiles--;
    return errno;
  });
  if (inject.has('random_get:zeros')) {
    over('random_get', (buf, len) => { new Uint8Array(memory.buffer, buf, len).fill(0); return 0; });
  }
  if (inject.has('clock_time_get:step-back')) {
    let reads = 0;
    let previous = 0n;
    over('clock_time_get', (id, precision, out) => {
      const errno = real.clock_time_get(id, precision, out);
      if (errno !== 0 || id !== defs.CLOCKID_MONOTONIC) return errno;
      const v = new DataView(memory.buffer);
      reads++;
      if (reads === 1000) v.setBigUint64(out, previous - 1_000_000n, true);
      previous = v.getBigUint64(out, true);
      return 0;
    });
  }

  let termination;
  try {
    phases.fetch_start_ms = performance.now() - t0;
    const bytes = await (await fetch('/module.wasm')).arrayBuffer();
    phases.fetched_ms = performance.now() - t0;
    const module = await WebAssembly.compile(bytes);
    phases.compiled_ms = performance.now() - t0;
    const missing = WebAssembly.Module.imports(module)
      .filter((i) => i.module !== 'wasi_snapshot_preview1' || typeof wrapped[i.name] !== 'function')
      .map((i) => `${i.module}::${i.name}`);
    if (missing.length) throw new Stop({ kind: 'load-error', message: `unknown import: ${missing.join(', ')}` });
    let instance;
    try {
      instance = await WebAssembly.instantiate(module, { wasi_snapshot_preview1: wrapped });
    } catch (e) {
      if (e instanceof WebAssembly.RuntimeError) throw e;
      throw new Stop({ kind: 'load-error', message: String(e && e.message || e) });
    }
    memory = instance.exports.memory instanceof WebAssembly.Memory ? instance.exports.memory : null;
    if (memory === null || typeof instance.exports._start !== 'function') {
      throw new Stop({ kind: 'load-error', message: 'the module exports no memory or no _start' });
    }
    phases.instantiated_ms = performance.now() - t0;
    checkMemory();
    const code = wasi.start(instance);
    checkMemory();
    termination = { kind: 'exited', code: code | 0 };
  } catch (e) {
    if (e instanceof Stop) termination = e.termination;
    else if (e instanceof WASIProcExit) termination = { kind: 'exited', code: e.code | 0 };
    else if (e instanceof WebAssembly.RuntimeError) termination = { kind: 'trap', message: `wasm trap: ${e.message}` };
    // The shim throws plain strings for what it does not implement (sockets, proc_raise), and
    // the engine a RangeError for a too deep recursion or an allocation it refuses: the guest
    // ended abnormally either way.
    else termination = { kind: 'trap', message: `the page threw: ${e && e.stack || e}` };
  }
  const duration_ms = performance.now() - t0;
  if (stdout.firstWrite !== undefined) phases.first_stdout_ms = stdout.firstWrite - t0;
  if (memory !== null) phases.memory_bytes = memory.buffer.byteLength;
  // What the module's fetch cost on the wire (Resource Timing; 0 where the browser hides it).
  for (const r of performance.getEntriesByType('resource')) {
    if (r.name.endsWith('/module.wasm')) {
      phases.module_transfer_bytes = r.transferSize;
      phases.module_decoded_bytes = r.decodedBodySize;
    }
  }
  tick(true);
  // The guest's time ends here; reading its tree back is the harness's.
  send('/ended', JSON.stringify({ duration_ms }));
  const result = {
    termination,
    duration_ms,
    cross_origin_isolated: self.crossOriginIsolated,
    stdout_over: stdout.over,
    stderr_over: stderr.over,
    host_calls: Object.fromEntries(Object.entries(counts).filter(([, n]) => n > 0)),
    phases,
    trees: preopens.map((p, i) => readTree(p.dir, '', [], null, originals[i])),
    parent: parent === null ? null : readTree(parent, '', [], preopens[0].dir, parentOriginals),
  };
  send('/result', JSON.stringify(result));
}

main().catch((e) => send('/result', JSON.stringify({ page_error: String(e && e.stack || e) })));
