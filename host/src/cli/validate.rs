//! `aci-host validate`: render and check tasks without any network call.

use std::sync::Arc;

use crate::runner::{classify_error, Runner, EXIT_OTHER};

use super::args::ValidateArgs;
use super::inputs::{expand_tasks, open_xcom, resolver};
use super::prepare::{prepare, Overrides};
use super::Ui;

/// Validates every task; `0` when all are valid, else `125`.
pub async fn validate_command(runner: &Arc<Runner>, args: ValidateArgs, ui: &Ui) -> i32 {
    let inputs = (|| {
        Ok::<_, String>((
            Arc::new(resolver(&args.conn)?),
            open_xcom(args.state_dir.as_deref())?,
            expand_tasks(&args.tasks)?,
        ))
    })();
    let (connections, xcom, files) = match inputs {
        Ok(i) => i,
        Err(e) => return ui.fail(&e),
    };
    let mut status = 0;
    for path in files {
        let verdict = match prepare(runner, &path, &connections, &xcom, &Overrides::default()).await
        {
            Err(e) => Err(e.message),
            Ok(p) => match runner.validate(&p.spec.params).await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(p.masker.mask(&classify_error(&e).message)),
                Err(trap) => Err(p.masker.mask(&format!("plugin trapped: {trap:#}"))),
            },
        };
        match verdict {
            Ok(()) => ui.console.line(&format!("{}: valid", path.display())),
            Err(msg) => {
                ui.console
                    .line(&format!("{}: invalid: {msg}", path.display()));
                status = EXIT_OTHER;
            }
        }
    }
    status
}
