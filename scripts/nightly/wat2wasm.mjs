// node scripts/nightly/wat2wasm.mjs SRC DST: copies a fixture suite tree with every NAME.wat
// compiled to NAME.wasm and every NAME.alias (naming OTHER for OTHER.wat beside it) made
// NAME.wasm, as harness/tests/testsuite.rs does, so that a local nightly can run `wasiprobe
// testsuite` on the fixture corpus when the real corpus is not at hand. Uses wabt's JS build.
import { copyFileSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createRequire } from "node:module";
import { install } from "./npm-tool.mjs";

const [src, dst] = process.argv.slice(2);
if (!src || !dst) {
  console.error("usage: wat2wasm.mjs SRC DST");
  process.exit(2);
}
const wabt = await createRequire(import.meta.url)(install("wabt", "1.0.39"))();

function compile(path) {
  const m = wabt.parseWat(path, readFileSync(path, "utf8"));
  try {
    return m.toBinary({}).buffer;
  } finally {
    m.destroy();
  }
}

function copy(from, to) {
  mkdirSync(to, { recursive: true });
  for (const e of readdirSync(from, { withFileTypes: true })) {
    const path = join(from, e.name);
    if (e.isDirectory()) copy(path, join(to, e.name));
    else if (e.name.endsWith(".wat")) writeFileSync(join(to, e.name.replace(/\.wat$/, ".wasm")), compile(path));
    else if (e.name.endsWith(".alias")) {
      const other = join(from, `${readFileSync(path, "utf8").trim()}.wat`);
      writeFileSync(join(to, e.name.replace(/\.alias$/, ".wasm")), compile(other));
    } else copyFileSync(path, join(to, e.name));
  }
}
copy(src, dst);
