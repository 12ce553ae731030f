//! `aci-host validate`: render and check tasks without any network call;
//! with `--explain`, also show what each task is granted.

use std::path::Path;
use std::sync::Arc;

use crate::connections::ConnectionResolver;
use crate::grant::Grant;
use crate::policy::AllowRule;
use crate::runner::{classify_error, Runner, TaskEnv, EXIT_CANCELLED, EXIT_OTHER};
use crate::runtime::CancelToken;
use crate::xcom_store::XcomStore;

use super::args::ValidateArgs;
use super::inputs::{allow_rules, expand_tasks, open_xcom, pinned_grant, resolver};
use super::prepare::{prepare, Overrides};
use super::signals::spawn_signal_handler;
use super::Ui;

/// What every task of one `validate` shares.
struct Inputs {
    connections: Arc<ConnectionResolver>,
    xcom: Arc<XcomStore>,
    allow: Vec<AllowRule>,
    pinned: Option<Grant>,
    overrides: Overrides,
    /// Set by the first Ctrl-C.
    cancel: CancelToken,
}

/// Validates every task; `0` when all are valid (and within `--grant`),
/// `130` when cancelled (SIGINT/SIGTERM), else `125`.
pub async fn validate_command(runner: &Arc<Runner>, args: ValidateArgs, ui: &Ui) -> i32 {
    let inputs = (|| {
        Ok::<_, String>((
            Inputs {
                connections: Arc::new(resolver(&args.conn)?),
                xcom: open_xcom(args.state_dir.as_deref())?,
                allow: allow_rules(&args.conn)?,
                pinned: pinned_grant(&args.conn)?,
                overrides: Overrides {
                    templates: args.templates.limits(),
                    ..Overrides::default()
                },
                cancel: CancelToken::new(),
            },
            expand_tasks(&args.tasks)?,
        ))
    })();
    let (inputs, files) = match inputs {
        Ok(i) => i,
        Err(e) => return ui.fail(&e),
    };
    // The first Ctrl-C stops the validation (exit 130), a second exits at once.
    let first = "cancelling the validation (press Ctrl-C again to exit at once)";
    let cancel = inputs.cancel.clone();
    spawn_signal_handler(
        cancel.clone(),
        ui.console.clone(),
        None,
        first,
        Box::new(|| {}),
    );
    let mut status = 0;
    for path in files {
        if cancel.is_cancelled() {
            return EXIT_CANCELLED;
        }
        tracing::info!("validating {}", path.display());
        let verdict = check(runner, &inputs, &path, &args).await;
        if cancel.is_cancelled() {
            ui.console.line(&format!("{}: cancelled", path.display()));
            return EXIT_CANCELLED;
        }
        match verdict {
            Ok(grant) => {
                ui.console.line(&format!("{}: valid", path.display()));
                if let (Some(grant), true) = (grant, args.explain) {
                    print_grant(ui, &path, &grant, args.json);
                }
            }
            Err(msg) => {
                ui.console
                    .line(&format!("{}: invalid: {msg}", path.display()));
                status = EXIT_OTHER;
            }
        }
    }
    status
}

/// Renders and validates one task; with `--explain` or `--grant`, also plans
/// its grant (no network) and checks it against the pinned one.
async fn check(
    runner: &Runner,
    inputs: &Inputs,
    path: &Path,
    args: &ValidateArgs,
) -> Result<Option<Grant>, String> {
    let p = prepare(
        runner,
        path,
        &inputs.connections,
        &inputs.xcom,
        &inputs.overrides,
    )
    .await
    .map_err(|e| e.message)?;
    let mask = |m: String| p.masker.mask(&m);
    if !args.explain && inputs.pinned.is_none() {
        return match runner
            .validate_cancellable(&p.spec.params, &inputs.cancel)
            .await
        {
            Ok(Ok(())) => Ok(None),
            Ok(Err(e)) => Err(mask(classify_error(&e).message)),
            Err(trap) => Err(mask(format!("plugin trapped: {trap:#}"))),
        };
    }
    let mut env = TaskEnv::new(inputs.connections.clone());
    env.masker = p.masker.clone();
    env.allow_hosts = inputs.allow.clone();
    env.pinned_grant = inputs.pinned.clone();
    env.cancel = inputs.cancel.clone();
    match runner.explain(&p.spec, &env).await {
        Ok(Ok(grant)) => Ok(Some(grant)),
        Ok(Err(e)) => Err(mask(classify_error(&e).message)),
        Err(trap) => Err(mask(format!("plugin trapped: {trap:#}"))),
    }
}

/// The grant on stdout: one JSON object per line, or the text form.
fn print_grant(ui: &Ui, path: &Path, grant: &Grant, json: bool) {
    if json {
        ui.console.out_line(&grant.to_json().to_string());
        return;
    }
    ui.console.out_line(&format!("{}: granted", path.display()));
    for line in grant.lines() {
        ui.console.out_line(&format!("  {line}"));
    }
}
