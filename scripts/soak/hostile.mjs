// node scripts/soak/hostile.mjs DIR [ROUNDS]: writes a wasi-testsuite-format suite of hostile
// guests into DIR (ROUNDS copies of each, default 20) for scripts/soak/run. Each guest breaks
// one limit: a 400 MiB guest asleep in poll_oneoff for an hour, a loop, a grow towards 4 GiB,
// six 250 MiB memories, forty tables of 1M entries, a stdout flood, 100k opens without a
// close, and a create through ../ out of its preopen. Written in WAT, compiled with wabt's JS
// build (installed into the cache by npm-tool.mjs).
import { mkdirSync, writeFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { install } from "../nightly/npm-tool.mjs";

const [out, roundsArg] = process.argv.slice(2);
if (!out) {
  console.error("usage: hostile.mjs DIR [ROUNDS]");
  process.exit(2);
}
const rounds = Number(roundsArg ?? 20);
const wabt = await createRequire(import.meta.url)(install("wabt", "1.0.39"))();
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
writeFileSync(`${out}/manifest.json`, JSON.stringify({ name: "soak" }));
const P = `(import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open" (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))`;
const g = {
  sleep400: `(module ${P} (memory (export "memory") 6400)
    (func (export "_start")
      (memory.fill (i32.const 256) (i32.const 7) (i32.const 419000000))
      (i64.store (i32.const 0) (i64.const 1)) (i32.store (i32.const 16) (i32.const 1))
      (i64.store (i32.const 24) (i64.const 3600000000000))
      (drop (call $poll (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128)))))`,
  loop: `(module ${P} (memory (export "memory") 1) (func (export "_start") (loop $l (br $l))))`,
  grow4g: `(module ${P} (memory (export "memory") 1)
    (func (export "_start") (loop $l (br_if $l (i32.ne (memory.grow (i32.const 1024)) (i32.const -1))))))`,
  multimem: `(module ${P} (memory (export "memory") 4000) (memory 4000) (memory 4000) (memory 4000) (memory 4000) (memory 4000)
    (func (export "_start") (memory.fill 5 (i32.const 0) (i32.const 1) (i32.const 262000000))))`,
  tables: `(module ${P} (memory (export "memory") 1) ${Array.from({ length: 40 }, () => "(table 1000000 funcref)").join(" ")}
    (func (export "_start")))`,
  flood: `(module ${P} (memory (export "memory") 2)
    (func (export "_start")
      (i32.store (i32.const 0) (i32.const 1024)) (i32.store (i32.const 4) (i32.const 65536))
      (loop $l (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 16))) (br $l))))`,
  fds: `(module ${P} (memory (export "memory") 1) (data (i32.const 64) ".")
    (func (export "_start") (local $i i32)
      (loop $l
        (drop (call $path_open (i32.const 3) (i32.const 0) (i32.const 64) (i32.const 1)
          (i32.const 2) (i64.const 0) (i64.const 0) (i32.const 0) (i32.const 32)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $l (i32.lt_u (local.get $i) (i32.const 100000))))))`,
  escape: `(module ${P} (memory (export "memory") 1) (data (i32.const 64) "../../../../../../tmp/wasiprobe-soak-escaped")
    (func (export "_start")
      (drop (call $path_open (i32.const 3) (i32.const 0) (i32.const 64) (i32.const 44)
          (i32.const 1) (i64.const 64) (i64.const 0) (i32.const 0) (i32.const 32)))))`,
};
const bins = {};
for (const [k, src] of Object.entries(g)) {
  const m = wabt.parseWat(k, src, { multi_memory: true, reference_types: true, bulk_memory: true });
  bins[k] = Buffer.from(m.toBinary({}).buffer);
  m.destroy();
}
for (let i = 0; i < rounds; i++) {
  for (const k of Object.keys(g)) {
    const n = `r${String(i).padStart(2, "0")}_${k}`;
    writeFileSync(`${out}/${n}.wasm`, bins[k]);
    const spec = { exit_code: 0 };
    if (k === "fds" || k === "escape") {
      spec.dirs = [`${n}.dir`];
      mkdirSync(`${out}/${n}.dir`);
      writeFileSync(`${out}/${n}.dir/keep.txt`, "keep\n");
    }
    writeFileSync(`${out}/${n}.json`, JSON.stringify(spec));
  }
}
console.log(`${Object.keys(g).length * rounds} hostile guests in ${out}`);
