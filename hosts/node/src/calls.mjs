// Running one call of the plugin in a worker thread, from the main thread.

import { Worker } from "node:worker_threads";

const WORKER = new URL("./worker.mjs", import.meta.url);

/**
 * Starts a call (`data.call` = `describe` | `validate` | `run` | `on-kill` |
 * `hook`) in a fresh worker with a fresh instance.
 *
 * Returns `{done, terminate, last}`: `done` resolves with the worker's result
 * (`{trap}` when it failed outside the guest's own answer, or was
 * terminated); `last` holds the latest grant and secrets it reported, which an
 * `on-kill` after an interruption reuses.
 */
export function startCall(plugin, data) {
  const worker = new Worker(WORKER, {
    workerData: { ...data, jsPath: plugin.jsUrl, modules: plugin.modules },
    // The guest's environment is built from `hostEnv`; the worker itself needs none.
    env: {},
  });
  const last = { grant: null, secrets: [] };
  let finished = false;
  const done = new Promise((resolve) => {
    const finish = (result) => {
      if (!finished) {
        finished = true;
        resolve(result);
      }
    };
    worker.on("message", (m) => {
      if (m.type === "grant") Object.assign(last, { grant: m.grant, secrets: m.secrets });
      else if (m.type === "done") finish(m.result);
    });
    worker.on("error", (e) => finish({ trap: String(e?.stack ?? e) }));
    worker.on("exit", (code) => finish({ trap: `the worker exited (${code}) without an answer` }));
  });
  return {
    done,
    last,
    /** Stops the guest wherever it is (also inside a blocking call). */
    terminate: () => worker.terminate(),
  };
}

/** Resolves with `value` after `ms`, unref'd so that it never keeps the process alive. */
export function delay(ms, value) {
  return new Promise((resolve) => setTimeout(resolve, ms, value).unref());
}
