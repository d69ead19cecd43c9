// Loads a pinned npm package from a directory of its own inside the wasiprobe cache, installing
// it there with `npm install --prefix` the first time: the nightly's JS tools are neither
// dependencies of the repo nor global installs, and a second run needs no network.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

export function cacheDir() {
  return process.env.WASIPROBE_CACHE || join(homedir(), ".cache", "wasiprobe");
}

// The package's directory, installed at exactly `version`.
export function install(name, version) {
  const prefix = join(cacheDir(), "nightly-npm", `${name}-${version}`);
  const dir = join(prefix, "node_modules", name);
  const manifest = join(dir, "package.json");
  const have = existsSync(manifest) && JSON.parse(readFileSync(manifest, "utf8")).version;
  if (have !== version) {
    execFileSync(
      "npm",
      ["install", "--prefix", prefix, "--no-audit", "--no-fund", "--no-save", `${name}@${version}`],
      { stdio: ["ignore", "inherit", "inherit"] },
    );
  }
  return dir;
}
