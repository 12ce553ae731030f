// The worker thread that runs the guest. The component is synchronous (every
// wasi:http call and `wait-cancelled` blocks this thread), so it never runs on
// the main thread, which stays free to handle SIGINT/SIGTERM.
//
// `workerData` names the call (`describe`, `validate`, `run`, `on-kill`,
// `hook`) and carries what it needs; the worker posts `{type: "grant"}` once
// a call's grant is known and `{type: "done", result}` at the end.

import { parentPort, workerData } from "node:worker_threads";
import { connectionSecrets, declaredSecrets, lookup, redacted, toWit } from "./connections.mjs";
import { instantiate } from "./instance.mjs";
import { Masker } from "./mask.mjs";
import { grantJson, grantLines, originFromParts, originText, parseOrigin } from "./policy.mjs";
import { CancelFlag } from "./runtime.mjs";
import { unrenderedField } from "./task.mjs";

/** A guest's `Err` payload (jco wraps it in a ComponentError); traps are rethrown. */
function taskError(e) {
  if (e && typeof e === "object" && "payload" in e) return e.payload;
  throw e;
}

/** Calls an export: `{ok: value}` or `{err: task-error}`. */
function call(fn) {
  try {
    return { ok: fn() };
  } catch (e) {
    return { err: taskError(e) };
  }
}

/** The declared variables that are set, as the guest's environment. */
function guestEnvironment(info, hostEnv) {
  return info.environment.filter((name) => hostEnv[name] !== undefined).map((name) => [name, hostEnv[name]]);
}

/**
 * Resolves the declared connections, teaches the masker their secrets and asks
 * `plan`; returns `{grant}` or `{err}`. `strict` (a task): a missing connection
 * or a failing plan fails the call; otherwise (a hook call) they are skipped
 * and the call meets the error itself.
 */
function declare(operator, info, ids, params, { connEnv, masker, allowHosts, strict }) {
  const shown = [];
  for (const id of ids) {
    const found = lookup(connEnv, id);
    if (found.error) {
      if (!strict) continue;
      const how = found.error.tag === "not-found" ? "not found" : "is invalid";
      return { err: { tag: "connection", val: `connection \`${id}\` ${how}: ${found.error.val}` } };
    }
    masker.addAll(connectionSecrets(found.conn));
    masker.addAll(declaredSecrets(found.conn, info.secretExtras));
    shown.push(toWit(redacted(found.conn, info.secretExtras)));
  }
  let plan = call(() => operator.plan(params, shown));
  if (plan.err) {
    if (strict) return plan;
    plan = { ok: { origins: [], files: [], budgets: [] } };
  }
  let origins;
  try {
    origins = plan.ok.origins.map(originFromParts);
  } catch (e) {
    return { err: { tag: "internal", val: `the plugin's plan is invalid: ${e.message}` } };
  }
  const grant = grantJson({
    connections: ids,
    origins,
    allowHosts: allowHosts.map(parseOrigin),
    files: plan.ok.files,
    environment: info.environment,
    budgets: plan.ok.budgets ?? [],
  });
  return { grant };
}

/** Applies a grant (JSON form) to an instance: connections, files, origins (`-v` prints it). */
function applyGrant(instance, grant) {
  instance.runtime.emit("debug", "granted to this task:");
  for (const line of grantLines(grant)) instance.runtime.emit("debug", `  ${line}`);
  instance.runtime.applyGrant(grant);
  instance.policy.allowed = new Set([...grant.origins, ...grant.allow_hosts].map((o) => originText(parseOrigin(o))));
  parentPort.postMessage({ type: "grant", grant, secrets: instance.runtime.masker.secrets() });
}

/** Every string argument or record field named `conn-id` (`connId` in JS), at any depth. */
function connIdsInArgs(args) {
  const out = [];
  const walk = (key, v) => {
    if (typeof v === "string" && key === "connId" && !out.includes(v)) out.push(v);
    else if (Array.isArray(v)) v.forEach((x) => walk(null, x));
    else if (v && typeof v === "object") Object.entries(v).forEach(([k, x]) => walk(k, x));
  };
  args.forEach((a) => walk(a.name, a.value));
  return out;
}

/** `execute` (or `on-kill`): validate, declare, apply, call. */
function runTask(instance, info, data, masker, entry) {
  const op = instance.exports.taskOperator;
  const params = JSON.stringify(data.task.params);
  const unrendered = unrenderedField(data.task.params, info.templateFields);
  if (unrendered) {
    const val = `\`${unrendered}\` holds a template; this host runs rendered tasks only (render it first, or use aci-host)`;
    return { outcome: { err: { tag: "invalid-params", val } } };
  }
  const validated = call(() => op.validate(params));
  if (validated.err) return { outcome: validated };
  let grant = data.grant;
  if (!grant) {
    const ids = call(() => op.connectionIds(params));
    if (ids.err) return { outcome: ids };
    const declared = declare(op, info, ids.ok, params, { ...data, masker, strict: true });
    if (declared.err) return { outcome: declared };
    grant = declared.grant;
  }
  applyGrant(instance, grant);
  const outcome = call(() => op[entry](data.task.context, params));
  return { outcome, xcom: instance.runtime.xcom, requests: instance.stats };
}

/** A hook method with named arguments `[{name, value}]`. */
function runHook(instance, info, data, masker) {
  const op = instance.exports.taskOperator;
  const hook = instance.exports.containerInstanceHook;
  const fn = hook[data.fn];
  if (typeof fn !== "function") {
    return { outcome: { err: { tag: "invalid-params", val: `the plugin has no hook method \`${data.fn}\`` } } };
  }
  const ids = connIdsInArgs(data.args);
  const declared = declare(op, info, ids, undefined, { ...data, masker, strict: false });
  if (declared.err) return { outcome: declared };
  applyGrant(instance, declared.grant);
  const outcome = call(() => fn(...data.args.map((a) => a.value)));
  return { outcome, requests: instance.stats };
}

/** Runs the call `workerData` names and returns what the main thread reports. */
async function main(data) {
  const masker = new Masker();
  masker.addAll(data.secrets ?? []);
  const cancel = new CancelFlag(data.cancelBuffer);
  const base = { ...data, masker, cancel, guestEnv: [] };
  let instance = await instantiate(base);
  const info = instance.exports.taskOperator.describe();
  if (data.call === "describe") return { info };
  if (data.call === "validate") {
    return { outcome: call(() => instance.exports.taskOperator.validate(JSON.stringify(data.task.params))) };
  }
  const guestEnv = guestEnvironment(info, data.hostEnv);
  if (guestEnv.length) instance = await instantiate({ ...base, guestEnv });
  const entry = data.call === "on-kill" ? "onKill" : "execute";
  try {
    const result = data.call === "hook" ? runHook(instance, info, data, masker) : runTask(instance, info, data, masker, entry);
    return { ...result, secrets: masker.secrets() };
  } finally {
    instance.finishOutput();
  }
}

main(workerData).then(
  (result) => parentPort.postMessage({ type: "done", result }),
  (error) => parentPort.postMessage({ type: "done", result: { trap: String(error?.stack ?? error) } }),
);
