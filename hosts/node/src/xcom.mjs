// XCom to a JSON file: one file per task instance, `{dag_id, run_id,
// task_id, try_number, xcom}` where `xcom` holds the values the task pushed
// and, when it succeeded, its `return_value` (as Airflow stores it).
//
// The file is `--xcom-file FILE`, else
// `$XDG_DATA_HOME/aci-node-host/xcom/<dag_id or _>/<run_id>/<task_id>.json`
// (`~/.local/share` when XDG_DATA_HOME is unset). It is written to a
// temporary name and renamed, so a reader never sees half a file.

import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";

/** The default XCom file of a task instance. */
export function defaultXcomFile(context) {
  const base = process.env.XDG_DATA_HOME || join(homedir(), ".local", "share");
  const safe = (s) => s.replace(/[/\\]/g, "_") || "_";
  return join(base, "aci-node-host", "xcom", safe(context.dagId), safe(context.runId), `${safe(context.taskId)}.json`);
}

/** Writes the XCom of a finished run (`report` is the `--json` object, already masked). */
export function writeXcom(explicitPath, context, report) {
  const path = explicitPath ?? defaultXcomFile(context);
  const xcom = { ...report.xcom };
  if (report.state === "success") xcom.return_value = report.return_value;
  const doc = { dag_id: context.dagId, run_id: context.runId, task_id: context.taskId, try_number: context.tryNumber, xcom };
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(doc, null, 2)}\n`);
  renameSync(tmp, path);
  return path;
}
