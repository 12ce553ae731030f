//! `aci-host hook METHOD`: call one of the hook's methods.

use std::io::IsTerminal;
use std::sync::Arc;

use crate::runner::{classify_error, GroupRef, HookCall, Runner, TaskEnv};

use super::args::HookArgs;
use super::inputs::{allow_rules, resolver};
use super::signals::spawn_signal_handler;
use super::status::TaskSink;
use super::Ui;

/// The hook methods `aci-host hook` knows.
pub const METHODS: &str =
    "exists, get-state, get-logs, delete, create-or-update, test-connection, get-state-exitcode-details, get-messages, stop, start, restart, list";

/// Builds the call for `args.method`.
fn hook_call(args: &HookArgs) -> Result<HookCall, String> {
    let target = || -> Result<GroupRef, String> {
        Ok(GroupRef {
            conn_id: args.conn_id.clone(),
            resource_group: args
                .resource_group
                .clone()
                .ok_or("--resource-group is required")?,
            name: args.name.clone().ok_or("--name is required")?,
        })
    };
    Ok(match args.method.as_str() {
        "exists" => HookCall::Exists(target()?),
        "get-state" => HookCall::GetState(target()?),
        "get-logs" => HookCall::GetLogs(target()?, args.tail),
        "delete" => HookCall::Delete(target()?, args.wait),
        "create-or-update" => {
            let file = args
                .container_group
                .as_ref()
                .ok_or("--container-group FILE.json is required")?;
            let body =
                std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
            serde_json::from_str::<serde_json::Value>(&body)
                .map_err(|e| format!("{}: not JSON: {e}", file.display()))?;
            HookCall::CreateOrUpdate(target()?, body, args.wait)
        }
        "test-connection" => HookCall::TestConnection(args.conn_id.clone()),
        "get-state-exitcode-details" => HookCall::GetStateExitcodeDetails(target()?),
        "get-messages" => HookCall::GetMessages(target()?),
        "stop" => HookCall::Stop(target()?),
        "start" => HookCall::Start(target()?),
        "restart" => HookCall::Restart(target()?),
        "list" => HookCall::List(args.conn_id.clone(), args.resource_group.clone()),
        other => return Err(format!("unknown hook method `{other}`; one of: {METHODS}")),
    })
}

/// Calls the method and prints its JSON result on stdout (pretty on a terminal).
pub async fn hook_command(runner: &Arc<Runner>, args: HookArgs, ui: &Ui) -> i32 {
    let prepared = (|| {
        Ok::<_, String>((
            Arc::new(resolver(&args.conn)?),
            allow_rules(&args.conn)?,
            hook_call(&args)?,
        ))
    })();
    let (connections, allow, call) = match prepared {
        Ok(p) => p,
        Err(e) => return ui.fail(&e),
    };
    let mut env = TaskEnv::new(connections);
    env.allow_hosts.extend(allow);
    env.log = Arc::new(TaskSink {
        index: 0,
        board: None,
        console: ui.console.clone(),
        prefix: false,
        verbosity: ui.verbosity,
    });
    let masker = env.masker.clone();
    spawn_signal_handler(
        env.cancel.clone(),
        ui.console.clone(),
        None,
        Box::new(|| {}),
    );
    match runner.hook(call, env).await {
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
            let (_, msg, status, _, _) = classify_error(&e);
            ui.console.line(&format!("error: {}", masker.mask(&msg)));
            status
        }
        Err(trap) => ui.fail(&masker.mask(&format!("plugin trapped: {trap:#}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn parse(args: &[&str]) -> HookArgs {
        match super::super::Cli::parse_from([&["aci-host", "hook"], args].concat()).command {
            super::super::Command::Hook(h) => h,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn methods_need_their_arguments() {
        let err = hook_call(&parse(&["exists", "--name", "g"])).unwrap_err();
        assert_eq!(err, "--resource-group is required");
        assert!(matches!(
            hook_call(&parse(&["exists", "--name", "g", "--resource-group", "rg"])).unwrap(),
            HookCall::Exists(_)
        ));
        assert!(
            matches!(hook_call(&parse(&["list"])).unwrap(), HookCall::List(c, None) if c == "azure_default")
        );
        let err = hook_call(&parse(&["explode"])).unwrap_err();
        assert!(
            err.contains("unknown hook method `explode`") && err.contains("get-logs"),
            "{err}"
        );
        let err = hook_call(&parse(&[
            "create-or-update",
            "--name",
            "g",
            "--resource-group",
            "rg",
        ]))
        .unwrap_err();
        assert!(err.contains("--container-group"), "{err}");
    }
}
