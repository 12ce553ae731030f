// The result of a run, as aci-host reports it (host/src/runner/report.rs and
// exit.rs; contract.md): the `--json` object `{task_id, state, exit_code,
// return_value, xcom, error}` and the process exit status.

/** Exit status when `container_timeout` expired. */
export const EXIT_TIMED_OUT = 124;
/** Exit status for every failure other than a container's own exit code. */
export const EXIT_OTHER = 125;
/** Exit status when the task was cancelled. */
export const EXIT_CANCELLED = 130;

/** The exit status of a workload that ran and failed: its code when 1–255, else 125. */
function workloadStatus(exitCode) {
  return Number.isInteger(exitCode) && exitCode >= 1 && exitCode <= 255 ? exitCode : EXIT_OTHER;
}

/**
 * Maps a WIT `task-error` (`{tag, val}`) to `{message, exitStatus, exitCode}`,
 * worded as aci-host words it.
 */
export function classifyError(error) {
  const { tag, val } = error;
  switch (tag) {
    case "invalid-params":
      return { message: val, exitStatus: EXIT_OTHER, exitCode: null };
    case "connection":
      return { message: `connection error: ${val}`, exitStatus: EXIT_OTHER, exitCode: null };
    case "denied":
      return { message: `request denied by the host policy: ${val}`, exitStatus: EXIT_OTHER, exitCode: null };
    case "remote": {
      const message = val.status === 0 ? `${val.code}: ${val.message}` : `(${val.code}) ${val.message} [HTTP ${val.status}]`;
      return { message, exitStatus: EXIT_OTHER, exitCode: null };
    }
    case "failed":
      return { message: val.message, exitStatus: workloadStatus(val.exitCode), exitCode: val.exitCode ?? null };
    case "timed-out":
      return { message: `timed out: ${val}`, exitStatus: EXIT_TIMED_OUT, exitCode: null };
    case "cancelled":
      return { message: `cancelled: ${val}`, exitStatus: EXIT_CANCELLED, exitCode: null };
    default:
      return { message: `plugin error: ${val}`, exitStatus: EXIT_OTHER, exitCode: null };
  }
}

/** The `--json` object of a task that failed with `message`. */
export function failedReport(taskId, message, exitStatus, xcom = {}, exitCode = null) {
  return {
    json: { task_id: taskId, state: "failed", exit_code: exitCode, return_value: null, xcom, error: message },
    exitStatus,
  };
}

/**
 * The report of an `execute` answer: `{json, exitStatus}`, every value
 * masked by `masker`. `outcome` is `{ok: task-outcome}` or `{err: task-error}`.
 */
export function reportOf(taskId, outcome, xcom, masker) {
  const maskedXcom = masker.maskJson(xcom);
  if (outcome.err) {
    const c = classifyError(outcome.err);
    return failedReport(taskId, masker.mask(c.message), c.exitStatus, maskedXcom, c.exitCode);
  }
  let returnValue;
  try {
    returnValue = JSON.parse(outcome.ok.returnValue);
  } catch {
    returnValue = outcome.ok.returnValue;
  }
  return {
    json: {
      task_id: taskId,
      state: "success",
      exit_code: outcome.ok.exitCode ?? null,
      return_value: masker.maskJson(returnValue),
      xcom: maskedXcom,
      error: null,
    },
    exitStatus: 0,
  };
}
