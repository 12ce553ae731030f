// `orchestrator:task/runtime@0.1.0` for one plugin instance, as aci-host
// serves it (host/src/runtime/): connections only when granted, log lines
// masked to stderr, XCom values as JSON with aci-host's bounds, cancellation
// shared with the main thread, files only when granted.
//
// The guest calls these synchronously from the worker thread. Failures are
// thrown as `host-error` variants (`{tag, val}`), which the generated
// bindings turn into the guest's `Err`.

import { readFileSync, statSync, writeSync } from "node:fs";
import { connectionSecrets, lookup, toWit } from "./connections.mjs";

/** aci-host's `RuntimeLimits` defaults. */
export const LIMITS = {
  maxXcomBytes: 48 * 1024 * 1024,
  maxXcomTotalBytes: 64 * 1024 * 1024,
  maxXcomKeys: 1024,
  maxLogLine: 64 * 1024,
  maxFileBytes: 1024 * 1024,
};

/** Longest single `wait-cancelled` (aci-host caps it at one day). */
const MAX_WAIT_MS = 86_400_000;

/** Log levels written without `--verbose`. */
const QUIET_LEVELS = new Set(["info", "warning", "error"]);

/** `HH:MM:SS` of now, local time (aci-host's stderr format). */
function clock() {
  return new Date().toTimeString().slice(0, 8);
}

/**
 * The cancellation flag shared by the main thread (which sets it on SIGINT /
 * SIGTERM) and the guest's worker (which reads and waits on it).
 */
export class CancelFlag {
  /** Wraps a SharedArrayBuffer of one Int32 (a fresh one when none is given). */
  constructor(buffer = new SharedArrayBuffer(4)) {
    this.buffer = buffer;
    this.cell = new Int32Array(buffer);
  }

  /** Asks the task to stop and wakes any `wait-cancelled`. */
  cancel() {
    Atomics.store(this.cell, 0, 1);
    Atomics.notify(this.cell, 0);
  }

  /** True once cancelled. */
  get cancelled() {
    return Atomics.load(this.cell, 0) === 1;
  }

  /** Blocks up to `millis`; true as soon as the task is cancelled. */
  wait(millis) {
    const ms = Math.min(Number(millis), MAX_WAIT_MS);
    if (!this.cancelled) Atomics.wait(this.cell, 0, 0, ms);
    return this.cancelled;
  }
}

/** Throws a WIT `host-error`. */
function hostError(tag, val) {
  throw { tag, val };
}

/**
 * One instance's runtime state. Grants nothing until `applyGrant`: while the
 * operator declares and plans, every connection and file is denied.
 */
export class TaskRuntime {
  /**
   * @param {object} o
   * @param {Record<string,string>} o.connEnv the `AIRFLOW_CONN_*` variables
   * @param {import('./mask.mjs').Masker} o.masker learns every resolved secret
   * @param {CancelFlag} o.cancel the shared cancellation flag
   * @param {boolean} o.verbose also write debug and trace lines
   */
  constructor({ connEnv, masker, cancel, verbose = false }) {
    this.connEnv = connEnv;
    this.masker = masker;
    this.cancel = cancel;
    this.verbose = verbose;
    this.connections = new Set();
    this.files = new Set();
    this.budgets = new Set();
    this.xcom = {};
    this.xcomSizes = {};
  }

  /** Grants the connections, files and budget keys of a call (origins go to the HTTP policy). */
  applyGrant({ connections, files, budgets = [] }) {
    this.connections = new Set(connections);
    this.files = new Set(files);
    this.budgets = new Set(budgets.map((b) => b.key));
  }

  /** Writes one masked log line to stderr (`HH:MM:SS message`), truncated at the line bound. */
  emit(level, message) {
    if (!this.verbose && !QUIET_LEVELS.has(level)) return;
    let text = this.masker.mask(message);
    if (Buffer.byteLength(text) > LIMITS.maxLogLine) {
      text = `${Buffer.from(text).subarray(0, LIMITS.maxLogLine).toString("utf8").replace(/\uFFFD$/, "")} …[truncated]`;
    }
    for (const line of text.split("\n")) writeSync(2, `${clock()} ${line}\n`);
  }

  /** The import object for `orchestrator:task/runtime`. */
  imports() {
    return {
      getConnection: (connId) => this.getConnection(connId),
      log: (level, message) => this.emit(level, message),
      xcomPush: (key, value) => this.xcomPush(key, value),
      cancelled: () => this.cancel.cancelled,
      waitCancelled: (millis) => this.cancel.wait(millis),
      readGrantedFile: (path) => this.readGrantedFile(path),
      acquireBudget: (key, urgent) => this.acquireBudget(key, urgent),
      pauseBudget: (key, millis) => this.pauseBudget(key, millis),
    };
  }

  /**
   * A token of a declared budget. This host runs one task per process and
   * keeps no shared bucket, so a declared key is always granted at once (the
   * plugin then polls at its fastest schedule); any other key is `denied`.
   */
  acquireBudget(key, _urgent) {
    if (!this.budgets.has(key)) hostError("denied", `budget \`${key}\` is not one the task's plan declared`);
    return true;
  }

  /**
   * The remote service throttled a request on `key`: this task waits out the
   * pause (at most 300 s, as aci-host), or until it is cancelled.
   */
  pauseBudget(key, millis) {
    if (!this.budgets.has(key)) hostError("denied", `budget \`${key}\` is not one the task's plan declared`);
    this.cancel.wait(Math.min(Number(millis), 300_000));
  }

  /** A granted connection (its secrets masked from now on); any other id is `denied`. */
  getConnection(connId) {
    if (!this.connections.has(connId)) {
      const granted = this.connections.size ? [...this.connections].join(", ") : "none";
      hostError("denied", `connection \`${connId}\` is not one the task's operator declared for this call (granted: ${granted})`);
    }
    const found = lookup(this.connEnv, connId);
    if (found.error) hostError(found.error.tag, found.error.val);
    this.masker.addAll(connectionSecrets(found.conn));
    return toWit(found.conn);
  }

  /** Stores a JSON value under `key`, within aci-host's bounds. */
  xcomPush(key, value) {
    if (Buffer.byteLength(value) > LIMITS.maxXcomBytes) {
      hostError("invalid", `XCom \`${key}\` is over the ${LIMITS.maxXcomBytes} byte limit`);
    }
    let parsed;
    try {
      parsed = JSON.parse(value);
    } catch (e) {
      hostError("invalid", `XCom \`${key}\` is not JSON: ${e.message}`);
    }
    if (!(key in this.xcom) && Object.keys(this.xcom).length >= LIMITS.maxXcomKeys) {
      hostError("invalid", `more than ${LIMITS.maxXcomKeys} XCom keys`);
    }
    // A value pushed again under the same key counts once, at its new size.
    const size = Buffer.byteLength(value);
    const total = Object.values(this.xcomSizes).reduce((a, b) => a + b, 0) - (this.xcomSizes[key] ?? 0) + size;
    if (total > LIMITS.maxXcomTotalBytes) {
      hostError("invalid", `XCom \`${key}\` would bring this task's XCom values to ${total} bytes, over the ${LIMITS.maxXcomTotalBytes} byte limit per task`);
    }
    this.xcom[key] = parsed;
    this.xcomSizes[key] = size;
  }

  /** A granted file's bytes; any other path is `denied`. */
  readGrantedFile(path) {
    if (!this.files.has(path)) hostError("denied", `\`${path}\` is not a file the host granted to this task`);
    let size;
    try {
      size = statSync(path).size;
    } catch (e) {
      hostError("not-found", `\`${path}\`: ${e.code ?? e.message}`);
    }
    if (size > LIMITS.maxFileBytes) hostError("invalid", `\`${path}\` is larger than ${LIMITS.maxFileBytes} bytes`);
    try {
      return new Uint8Array(readFileSync(path));
    } catch (e) {
      return hostError("not-found", `\`${path}\`: ${e.code ?? e.message}`);
    }
  }
}
