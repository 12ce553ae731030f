// Loading the component: jco transpiles it once into a cache directory named
// after its content (and jco's version), and the main thread compiles its
// core modules once; every worker instantiates from those compiled modules.
//
// The transpiled form is jco's `instantiation: "async"` mode: an
// `instantiate(getCoreModule, imports)` function to which the host hands every
// import (WASI from preview2-shim, the policed `wasi:http`, our
// `orchestrator:task/runtime`) as an object. That is `--map` done in code: it
// lets each call get a fresh instance with its own runtime, grant and
// environment, which module-level mappings could not.

import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

/** The repository root (this file is `hosts/node/src/plugin.mjs`). */
export const REPO_ROOT = resolve(here, "../../..");

/** Where `cargo build -p aci-host` leaves the component (host/build.rs). */
export const DEFAULT_PLUGIN = join(REPO_ROOT, "target/plugin/wasm32-wasip2/plugin/aci_plugin.wasm");

/** The name of the transpiled files (`plugin.js`, `plugin.core.wasm`, ...). */
const NAME = "plugin";

/** jco's version (pinned exactly in package.json), part of the cache key. */
function jcoVersion() {
  const pkg = JSON.parse(readFileSync(join(here, "..", "package.json"), "utf8"));
  return pkg.dependencies["@bytecodealliance/jco"];
}

/** The cache root: `--cache-dir`, else `$XDG_CACHE_HOME/aci-node-host`, else `~/.cache/aci-node-host`. */
export function cacheRoot(explicit) {
  if (explicit) return resolve(explicit);
  const base = process.env.XDG_CACHE_HOME || join(homedir(), ".cache");
  return join(base, "aci-node-host");
}

/**
 * Transpiles `wasmPath` unless its transpiled form is cached; returns the
 * directory that holds `plugin.js` and its core modules. Concurrent runs are
 * safe: each writes a private directory and renames it into place.
 */
export async function transpiled(wasmPath, cacheDir) {
  let bytes;
  try {
    bytes = readFileSync(wasmPath);
  } catch (e) {
    throw new Error(`cannot read the component ${wasmPath} (${e.code}); build it with \`cargo build -p aci-host\` or pass --plugin PATH`);
  }
  const version = jcoVersion();
  const digest = createHash("sha256").update(bytes).digest("hex").slice(0, 24);
  const dir = join(cacheDir, `${digest}-jco${version}`);
  if (existsSync(join(dir, `${NAME}.js`))) return dir;
  const { transpile } = await import("@bytecodealliance/jco");
  const { files } = await transpile(bytes, {
    name: NAME,
    instantiation: "async",
    noTypescript: true,
    quiet: true,
  });
  const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(dirname(join(tmp, name)), { recursive: true });
    writeFileSync(join(tmp, name), content);
  }
  try {
    renameSync(tmp, dir);
  } catch (e) {
    // Another run put the same files in place first.
    rmSync(tmp, { recursive: true, force: true });
    if (!existsSync(join(dir, `${NAME}.js`))) throw e;
  }
  return dir;
}

/**
 * The component ready to instantiate: `{jsUrl, modules}`, the transpiled JS
 * and its compiled core modules (a `WebAssembly.Module` can be sent to a worker).
 */
export async function loadPlugin(wasmPath, cacheDir) {
  const dir = await transpiled(wasmPath, cacheDir);
  const modules = {};
  const js = readFileSync(join(dir, `${NAME}.js`), "utf8");
  for (const [, name] of js.matchAll(/getCoreModule\('([^']+\.wasm)'\)/g)) {
    modules[name] = await WebAssembly.compile(readFileSync(join(dir, name)));
  }
  return { jsUrl: pathToFileURL(join(dir, `${NAME}.js`)).href, modules };
}
