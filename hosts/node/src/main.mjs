#!/usr/bin/env node
// aci-node-host: runs the aci-wasm operator component in Node.js (jco), with
// the runtime and outbound policy of aci-host. See ../README.md.
//
//   node hosts/node/src/main.mjs run TASK.json [--json] [--xcom-file FILE]
//   node hosts/node/src/main.mjs validate TASK.json
//   node hosts/node/src/main.mjs describe
//   node hosts/node/src/main.mjs hook METHOD [--conn-id ID] --resource-group RG --name NAME [--wait] [--tail N] [--container-group FILE]
//
// Common options: --plugin PATH, --allow-host ORIGIN (repeatable),
// --cache-dir DIR, -v/--verbose. Exit statuses are the contract's: 0, the
// container's exit code, 124 (timeout), 130 (cancelled), 125 (anything else).

import { writeSync } from "node:fs";
import { parseArgs } from "node:util";
import { delay, startCall } from "./calls.mjs";
import { Masker } from "./mask.mjs";
import { DEFAULT_PLUGIN, cacheRoot, loadPlugin } from "./plugin.mjs";
import { parseOrigin } from "./policy.mjs";
import { classifyError, EXIT_CANCELLED, EXIT_OTHER, failedReport, reportOf } from "./report.mjs";
import { CancelFlag } from "./runtime.mjs";
import { hookAnswer, hookCall, readTask, securedValues } from "./task.mjs";
import { writeXcom } from "./xcom.mjs";

const OPTIONS = {
  json: { type: "boolean" },
  verbose: { type: "boolean", short: "v" },
  plugin: { type: "string" },
  "cache-dir": { type: "string" },
  "allow-host": { type: "string", multiple: true },
  "xcom-file": { type: "string" },
  "cancel-grace": { type: "string" },
  "conn-id": { type: "string" },
  "resource-group": { type: "string" },
  name: { type: "string" },
  wait: { type: "boolean" },
  tail: { type: "string" },
  "container-group": { type: "string" },
  "older-than-secs": { type: "string" },
  "dry-run": { type: "boolean" },
  machine: { type: "string" },
  "live-processes": { type: "string" },
};

/** Seconds `on-kill` may take after an interrupted `execute` (aci-host's default). */
const ON_KILL_TIMEOUT_MS = 60_000;

/** A line on stderr. */
const say = (line) => writeSync(2, `${line}\n`);
/** A line on stdout. */
const out = (line) => writeSync(1, `${line}\n`);

/** `AIRFLOW_CONN_*` variables of this process. */
function connectionEnv() {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith("AIRFLOW_CONN_")));
}

/** What every call's worker needs besides the call itself. */
function baseData(flags, cancel) {
  for (const host of flags["allow-host"] ?? []) parseOrigin(host);
  return {
    connEnv: connectionEnv(),
    hostEnv: { ...process.env },
    allowHosts: flags["allow-host"] ?? [],
    cancelBuffer: cancel.buffer,
    verbose: Boolean(flags.verbose),
  };
}

/**
 * SIGINT/SIGTERM: the first cancels (the plugin cleans up; after `graceMs`
 * `onGraceOver` interrupts it), a second exits at once with 130.
 */
function onSignals(cancel, graceMs, onGraceOver) {
  let count = 0;
  const handler = () => {
    count += 1;
    if (count > 1) {
      say("exiting at once");
      process.exit(EXIT_CANCELLED);
    }
    say("cancelling: deleting container groups (press Ctrl-C again to exit at once)");
    cancel.cancel();
    delay(graceMs).then(onGraceOver);
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
}

/** Runs `on-kill` in a fresh worker with the interrupted call's grant; logs a failure. */
async function runOnKill(plugin, data, last) {
  // A fresh, uncancelled flag: on-kill must not see the cancellation it cleans up after.
  const fresh = new CancelFlag().buffer;
  const call = startCall(plugin, { ...data, call: "on-kill", grant: last.grant, secrets: last.secrets, cancelBuffer: fresh });
  const result = await Promise.race([call.done, delay(ON_KILL_TIMEOUT_MS, { timeout: true })]);
  const masker = new Masker();
  masker.addAll(last.secrets);
  if (result.timeout) {
    await call.terminate();
    say("on-kill did not finish in time");
  } else if (result.trap) {
    say(masker.mask(`on-kill trapped: ${result.trap}`));
  } else if (result.outcome?.err) {
    say(masker.mask(`on-kill failed: ${classifyError(result.outcome.err).message}`));
  }
}

/** `run TASK.json`: validate, declare, execute; cancellation and on-kill; the result. */
async function commandRun(plugin, file, flags) {
  const started = Date.now();
  let task;
  try {
    task = readTask(file);
  } catch (e) {
    return finish(failedReport(file, e.message, EXIT_OTHER), flags, started);
  }
  const cancel = new CancelFlag();
  const data = { ...baseData(flags, cancel), task, secrets: securedValues(task.params) };
  const call = startCall(plugin, { ...data, call: "run" });
  let interrupted = false;
  const graceMs = Number(flags["cancel-grace"] ?? 30) * 1000;
  onSignals(cancel, graceMs, () => {
    interrupted = true;
    call.terminate();
  });
  const result = await call.done;
  const masker = new Masker();
  masker.addAll([...data.secrets, ...(result.secrets ?? []), ...call.last.secrets]);
  let report;
  if (interrupted || result.trap) {
    const why = interrupted
      ? "plugin did not stop within the grace period; interrupted, running on-kill"
      : masker.mask(`plugin trapped: ${result.trap}`);
    say(why);
    if (call.last.grant) await runOnKill(plugin, data, call.last);
    report = interrupted
      ? failedReport(task.taskId, "cancelled: interrupted after the grace period; on-kill ran", EXIT_CANCELLED)
      : failedReport(task.taskId, why, EXIT_OTHER);
  } else {
    report = reportOf(task.taskId, result.outcome, result.xcom ?? {}, masker);
  }
  writeXcom(flags["xcom-file"], task.context, report.json);
  finish(report, flags, started);
}

/** Prints a run's result (`--json` on stdout, a summary on stderr) and exits with its status. */
function finish(report, flags, started) {
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const { task_id: taskId, error } = report.json;
  if (report.exitStatus === 0) say(`${taskId} succeeded in ${seconds}s`);
  else say(`error: ${taskId} failed after ${seconds}s (exit status ${report.exitStatus}): ${error}`);
  if (flags.json) out(JSON.stringify(report.json));
  process.exit(report.exitStatus);
}

/** `describe`, `validate TASK.json`, `hook METHOD ...`: one call, its answer on stdout. */
async function commandOnce(plugin, command, positionals, flags) {
  const cancel = new CancelFlag();
  const data = baseData(flags, cancel);
  if (command === "describe") {
    const result = await startCall(plugin, { ...data, call: "describe" }).done;
    if (result.trap) throw new Error(`plugin trapped: ${result.trap}`);
    const info = result.info;
    out(JSON.stringify({
      name: info.name,
      version: info.version,
      template_fields: info.templateFields,
      params_schema: JSON.parse(info.paramsSchema),
      environment: info.environment,
      secret_extras: info.secretExtras,
    }));
    return 0;
  }
  const call = command === "validate"
    ? { call: "validate", task: readTask(positionals[0] ?? usage()) }
    : { call: "hook", ...hookCall(positionals[0] ?? usage(), flags) };
  const running = startCall(plugin, { ...data, ...call });
  onSignals(cancel, 0, () => running.terminate());
  const result = await running.done;
  const masker = new Masker();
  masker.addAll(result.secrets ?? running.last.secrets);
  if (result.trap) throw new Error(masker.mask(`plugin trapped: ${result.trap}`));
  if (result.outcome.err) {
    const c = classifyError(result.outcome.err);
    say(`error: ${masker.mask(c.message)}`);
    return c.exitStatus;
  }
  if (command === "validate") say(`${positionals[0]}: valid`);
  else out(masker.mask(JSON.stringify(hookAnswer(result.outcome.ok))));
  return 0;
}

/** Prints the usage and exits 125. */
function usage() {
  say("usage: main.mjs run TASK.json [--json] [--xcom-file FILE] [--cancel-grace S]");
  say("       main.mjs validate TASK.json | describe");
  say("       main.mjs hook METHOD [--conn-id ID] --resource-group RG --name NAME [--wait] [--tail N] [--container-group FILE]");
  say("       main.mjs hook sweep [--conn-id ID] [--resource-group RG] [--older-than-secs N] [--dry-run] [--machine M] [--live-processes JSON]");
  say("options: --plugin PATH, --allow-host ORIGIN, --cache-dir DIR, -v");
  process.exit(EXIT_OTHER);
}

async function main() {
  const { values: flags, positionals } = parseArgs({ options: OPTIONS, allowPositionals: true });
  const [command, ...rest] = positionals;
  if (!["run", "validate", "describe", "hook"].includes(command)) usage();
  const plugin = await loadPlugin(flags.plugin ?? DEFAULT_PLUGIN, cacheRoot(flags["cache-dir"]));
  if (command === "run") return commandRun(plugin, rest[0] ?? usage(), flags);
  process.exit(await commandOnce(plugin, command, rest, flags));
}

main().catch((e) => {
  say(`error: ${e.message ?? e}`);
  process.exit(EXIT_OTHER);
});
