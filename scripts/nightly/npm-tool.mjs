// Loads a pinned npm package from a directory of its own inside the wasiprobe cache, installing
// it there with `npm install --prefix` the first time: the nightly's JS tools are neither
// dependencies of the repo nor global installs, and a second run needs no network.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

export function cacheDir() {
  return process.env.WASIPROBE_CACHE || join(homedir(), ".cache", "wasiprobe");
}

// The package's directory, installed at exactly `version`.
//
// Several processes may ask at once (the test binaries run in parallel on a fresh cache), and
// npm writes package.json before the rest of the package: so each installs into a directory of
// its own, marks it complete, and renames it into place; the first rename wins and the others
// use the winner's. A directory without the mark is never used.
export function install(name, version) {
  const parent = join(cacheDir(), "nightly-npm");
  const prefix = join(parent, `${name}-${version}`);
  const dir = join(prefix, "node_modules", name);
  const complete = join(prefix, ".complete");
  if (existsSync(complete) && readFileSync(complete, "utf8") === version) {
    return dir;
  }
  mkdirSync(parent, { recursive: true });
  const staging = join(parent, `.${name}-${version}.${process.pid}.${Date.now()}`);
  try {
    execFileSync(
      "npm",
      ["install", "--prefix", staging, "--no-audit", "--no-fund", "--no-save", `${name}@${version}`],
      { stdio: ["ignore", "inherit", "inherit"] },
    );
    const manifest = join(staging, "node_modules", name, "package.json");
    const got = JSON.parse(readFileSync(manifest, "utf8")).version;
    if (got !== version) {
      throw new Error(`npm installed ${name} ${got}, not the pinned ${version}`);
    }
    writeFileSync(join(staging, ".complete"), version);
    if (existsSync(prefix) && !existsSync(complete)) {
      // Left by an older, unmarked install or one that was killed: not trusted.
      rmSync(prefix, { recursive: true, force: true });
    }
    try {
      renameSync(staging, prefix);
    } catch (e) {
      if (!existsSync(complete)) throw e;
    }
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  return dir;
}
