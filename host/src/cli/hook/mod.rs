//! `aci-host hook METHOD [FLAGS]`: call one of the hook's methods.
//!
//! The subcommands are not written here: they are derived from the hook
//! interface the loaded component exports ([`crate::runner::HookInterface`]),
//! so a method added to the WIT and the plugin appears here unchanged.
//!
//! - One subcommand per function, named as in the WIT (`get-logs`).
//! - A parameter becomes a flag of its name (`tail` → `--tail`); a `record`
//!   parameter becomes one flag per field (`target: group-ref` →
//!   `--conn-id --resource-group --name`).
//! - `bool` is a switch (`--wait`; false when absent); an `option<T>` flag may
//!   be left out (`--tail N`); every other flag is required (`error:
//!   --name is required`, exit 125).
//! - Strings are taken as written; every other type is written in its JSON
//!   form (`--tail 10`, a list as `'["a","b"]'`) and checked by clap.
//! - **Documents:** a top-level `string` parameter whose name does not end
//!   in `id` carries a JSON document, and its flag names the file that holds
//!   it (`create-or-update --container-group FILE.json`); the file must be
//!   JSON. Strings inside records, `option<string>`s and `*-id`s are plain.
//! - `--conn-id` defaults to `azure_default` (Airflow's default Azure
//!   connection); `--conn`, `--connections`, `--allow-host` and `--grant` work
//!   as for `run`. The call may read the connections of its `--conn-id` flags
//!   and reach what the plugin's plan declares for them (`-v` shows it).
//! - Output: the answer as JSON on stdout (pretty on a terminal), secrets
//!   masked: `true`, `null` for a method that returns nothing, a tuple as an
//!   array (`test-connection` → `[true, "…"]`), a JSON document parsed. An
//!   error prints `error: …` on stderr and exits with its class's status (125
//!   for all but a workload's own failure).
//! - Global options (`-v`, `--plugin`, …) may come before or after the method.

mod flags;
pub(super) mod globals;

use std::io::IsTerminal;
use std::sync::Arc;

use crate::runner::{classify_error, Runner, TaskEnv};

use super::args::{ConnArgs, HookArgs};
use super::inputs::{allow_rules, pinned_grant, resolver};
use super::signals::spawn_signal_handler;
use super::status::TaskSink;
use super::Ui;

use flags::ParseError;

/// Calls the method and prints its JSON result on stdout (pretty on a terminal).
pub async fn hook_command(runner: &Arc<Runner>, args: HookArgs, ui: &Ui) -> i32 {
    let Some(hook) = runner.hook_interface() else {
        return ui.fail("this plugin does not export a hook interface");
    };
    let call = match flags::parse(hook, &args.args) {
        Ok(c) => c,
        Err(ParseError::Clap(e)) => {
            let _ = e.print();
            return e.exit_code();
        }
        Err(ParseError::Usage(e)) => return ui.fail(&e),
    };
    let env = match hook_env(&call.conn, ui) {
        Ok(env) => env,
        Err(e) => return ui.fail(&e),
    };
    let masker = env.masker.clone();
    match runner.hook(&call.method, call.args, env).await {
        Ok(Ok(v)) => {
            let text = if std::io::stdout().is_terminal() {
                serde_json::to_string_pretty(&v)
            } else {
                serde_json::to_string(&v)
            };
            ui.console.out_line(&masker.mask(&text.unwrap_or_default()));
            0
        }
        Ok(Err(e)) => {
            let c = classify_error(&e);
            ui.console
                .line(&format!("error: {}", masker.mask(&c.message)));
            c.exit_status
        }
        Err(trap) => ui.fail(&masker.mask(&format!("plugin trapped: {trap:#}"))),
    }
}

/// What a hook call gets: the connections and grants of `conn`, log lines
/// on the console, and Ctrl-C as cancellation.
pub(super) fn hook_env(conn: &ConnArgs, ui: &Ui) -> Result<TaskEnv, String> {
    let connections = Arc::new(resolver(conn)?);
    let mut env = TaskEnv::new(connections);
    env.allow_hosts.extend(allow_rules(conn)?);
    env.pinned_grant = pinned_grant(conn)?;
    env.log = Arc::new(TaskSink {
        index: 0,
        board: None,
        console: ui.console.clone(),
        prefix: false,
        verbosity: ui.verbosity,
    });
    spawn_signal_handler(
        env.cancel.clone(),
        ui.console.clone(),
        None,
        "cancelling the hook call (press Ctrl-C again to exit at once)",
        Box::new(|| {}),
    );
    Ok(env)
}

#[cfg(test)]
mod tests;
