// Task files and hook calls as the runner reads them.
//
// A task file is JSON (aci-host's `.json` form): `task_id` (required),
// optional `dag_id`, `run_id`, `logical_date` (RFC 3339), `try_number`, and
// `params`, the operator's keyword arguments, already rendered: this host has
// no template engine, so a template field that still holds `{{` or `{%` is
// refused (render it first, e.g. with Airflow, or run the task with aci-host).

import { readFileSync } from "node:fs";

/** What starts a Jinja expression or statement. */
const TEMPLATE_MARKERS = /\{\{|\{%/;

/** The first template field (of the operator's) that still holds a template, if any. */
export function unrenderedField(params, templateFields) {
  return templateFields.find((field) => field in params && TEMPLATE_MARKERS.test(JSON.stringify(params[field])));
}

/** Airflow's run id for a manual run: `manual__<logical date>`. */
function defaultRunId(logicalDate) {
  return `manual__${logicalDate.replace(/Z$/, "+00:00")}`;
}

/**
 * Reads a task file: `{taskId, params, context}` (context = the WIT
 * `task-context`). Throws with a message naming the file on any problem.
 */
export function readTask(path) {
  let doc;
  try {
    doc = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    const why = e.code ? `cannot read it (${e.code})` : `not valid JSON (${e.message})`;
    throw new Error(`${path}: ${why}; this host reads JSON task files only`);
  }
  if (!doc || typeof doc !== "object" || Array.isArray(doc)) throw new Error(`${path}: a task file is a JSON object`);
  if (typeof doc.task_id !== "string" || !doc.task_id.trim()) throw new Error(`${path}: \`task_id\` is required`);
  const params = doc.params ?? {};
  if (!params || typeof params !== "object" || Array.isArray(params)) throw new Error(`${path}: \`params\` must be an object`);
  const logicalDate = doc.logical_date ?? new Date().toISOString();
  return {
    taskId: doc.task_id,
    params,
    context: {
      dagId: doc.dag_id ?? "",
      taskId: doc.task_id,
      runId: doc.run_id ?? defaultRunId(logicalDate),
      tryNumber: doc.try_number ?? 1,
      logicalDate,
    },
  };
}

/**
 * The values of `environment_variables` whose names `secured_variables` lists
 * (a list of names, or a string: any name that is a substring of it), which
 * are masked like connection secrets (as aci-host does).
 */
export function securedValues(params) {
  const env = params.environment_variables;
  if (!env || typeof env !== "object") return [];
  const secured = params.secured_variables;
  const isSecured = (name) => (Array.isArray(secured) ? secured.includes(name) : typeof secured === "string" && secured.includes(name));
  return Object.entries(env)
    .filter(([name, value]) => isSecured(name) && value !== null)
    .map(([, value]) => (typeof value === "string" ? value : JSON.stringify(value)));
}

/** The hook's methods: CLI name → JS export name and parameters, as in wit/aci.wit. */
export const HOOK_METHODS = {
  "create-or-update": { fn: "createOrUpdate", params: ["target", "containerGroup", "wait"] },
  "get-state": { fn: "getState", params: ["target"] },
  "get-logs": { fn: "getLogs", params: ["target", "tail"] },
  delete: { fn: "delete", params: ["target", "wait"] },
  exists: { fn: "exists", params: ["target"] },
  "test-connection": { fn: "testConnection", params: ["connId"] },
  "get-state-exitcode-details": { fn: "getStateExitcodeDetails", params: ["target"] },
  "get-messages": { fn: "getMessages", params: ["target"] },
  stop: { fn: "stop", params: ["target"] },
  start: { fn: "start", params: ["target"] },
  restart: { fn: "restart", params: ["target"] },
  list: { fn: "list", params: ["connId", "resourceGroup"] },
  sweep: { fn: "sweep", params: ["options"] },
};

/**
 * The arguments of a hook call from CLI flags (`--conn-id`, default
 * `azure_default`; `--resource-group`, `--name`, `--wait`, `--tail N`,
 * `--container-group FILE.json`; for `sweep`, as aci-host's `hook sweep`:
 * `--older-than-secs N`, `--dry-run`, `--machine M`, `--live-processes
 * '["pid:start", ...]'`): `{fn, args: [{name, value}]}`.
 */
export function hookCall(method, flags) {
  const spec = HOOK_METHODS[method];
  if (!spec) throw new Error(`unknown hook method \`${method}\` (one of ${Object.keys(HOOK_METHODS).join(", ")})`);
  const connId = flags["conn-id"] ?? "azure_default";
  const required = (name) => {
    if (flags[name] === undefined) throw new Error(`--${name} is required`);
    return flags[name];
  };
  const value = {
    target: () => ({ connId, resourceGroup: required("resource-group"), name: required("name") }),
    containerGroup: () => {
      const file = required("container-group");
      const text = readFileSync(file, "utf8");
      JSON.parse(text);
      return text;
    },
    wait: () => Boolean(flags.wait),
    tail: () => (flags.tail === undefined ? undefined : Number(flags.tail)),
    connId: () => connId,
    resourceGroup: () => flags["resource-group"],
    options: () => ({
      connId,
      resourceGroup: flags["resource-group"],
      olderThanSecs: flags["older-than-secs"] === undefined ? undefined : BigInt(flags["older-than-secs"]),
      dryRun: Boolean(flags["dry-run"]),
      machine: flags.machine,
      liveProcesses: flags["live-processes"] === undefined ? undefined : JSON.parse(flags["live-processes"]),
    }),
  };
  return { fn: spec.fn, args: spec.params.map((name) => ({ name, value: value[name]() })) };
}

/** A hook answer as JSON: a string holding a JSON object or array is parsed. */
export function hookAnswer(value) {
  if (typeof value === "string") {
    try {
      const doc = JSON.parse(value);
      if (doc && typeof doc === "object") return doc;
    } catch {
      // A plain string.
    }
  }
  return value === undefined ? null : value;
}
