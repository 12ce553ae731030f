// One instance of the transpiled component, with everything it imports:
// preview2-shim's WASI (with an empty environment, no preopened directory, and
// the guest's stdout and stderr as masked log lines, src/output.mjs), `wasi:http` behind the outbound policy, and our
// `orchestrator:task/runtime`.
//
// Each instance has its own runtime state and grant, as in aci-host: `execute`
// and a later `on-kill` run in different instances.

import * as shim from "@bytecodealliance/preview2-shim";
import { policedHttp } from "./http.mjs";
import { lineOutput } from "./output.mjs";
import { LIMITS, TaskRuntime } from "./runtime.mjs";

/** `terminalStdout` → `terminal-stdout`. */
const kebab = (name) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** The shim's WASI interfaces keyed as the transpiled component asks for them (`wasi:io/poll`). */
function shimImports() {
  const imports = {};
  for (const ns of ["cli", "clocks", "io", "random"]) {
    for (const [iface, impl] of Object.entries(shim[ns])) imports[`wasi:${ns}/${kebab(iface)}`] = impl;
  }
  return imports;
}

/**
 * Instantiates the component.
 *
 * @param {object} o
 * @param {string} o.jsPath the transpiled component's JS (`instantiation: async` mode)
 * @param {Record<string, WebAssembly.Module>} o.modules its core modules, by file name
 * @param {Record<string,string>} o.connEnv the `AIRFLOW_CONN_*` variables
 * @param {Array<[string,string]>} o.guestEnv the environment the guest sees
 * @param {import('./mask.mjs').Masker} o.masker shared by the runtime and the reports
 * @param {import('./runtime.mjs').CancelFlag} o.cancel the cancellation flag
 * @param {boolean} o.verbose also log debug lines
 * @returns {Promise<{exports: object, runtime: TaskRuntime, policy: {allowed: Set<string>}, stats: object, finishOutput: Function}>}
 */
export async function instantiate({ jsPath, modules, connEnv, guestEnv, masker, cancel, verbose }) {
  const runtime = new TaskRuntime({ connEnv, masker, cancel, verbose });
  const policy = { allowed: new Set() };
  const stats = { allowed: 0, denied: 0 };
  const http = policedHttp(shim.http, { policy, stats, log: (level, message) => runtime.emit(level, message) });
  // The guest's stdout and stderr become masked log lines (our stdout carries the result).
  const ready = () => shim.clocks.monotonicClock.subscribeDuration(0n);
  const output = (level, prefix) =>
    lineOutput(shim.io.streams.OutputStream, ready, (line) => runtime.emit(level, `${prefix}${line}`), LIMITS.maxLogLine);
  const stdout = output("info", "[stdout] ");
  const stderr = output("warning", "[stderr] ");
  const imports = {
    ...shimImports(),
    // The guest sees only what the host passes (the operator's declared
    // variables that are set), never this process's environment or arguments.
    "wasi:cli/environment": {
      getEnvironment: () => guestEnv,
      getArguments: () => [],
      initialCwd: () => undefined,
    },
    "wasi:cli/stdout": { getStdout: () => stdout },
    "wasi:cli/stderr": { getStderr: () => stderr },
    // No filesystem (a guest that imports it sees no preopened directory) and
    // no wasi:sockets (a guest that imports them does not instantiate).
    "wasi:filesystem/types": shim.filesystem.types,
    "wasi:filesystem/preopens": { getDirectories: () => [] },
    "wasi:http/outgoing-handler": http.outgoingHandler,
    "wasi:http/types": http.types,
    "orchestrator:task/runtime": runtime.imports(),
  };
  const { instantiate: instantiateComponent } = await import(jsPath);
  const exports = await instantiateComponent((name) => modules[name], imports);
  /** Writes the guest's unfinished last output lines. */
  const finishOutput = () => [stdout, stderr].forEach((s) => s.finish());
  return { exports, runtime, policy, stats, finishOutput };
}
