//! The `aci-host` command line: a thin layer over [`crate::runner`].
//!
//! Exit statuses of `run` follow the contract: `0` success, the container's
//! exit code when it ran and failed, `124` timeout, `130` cancelled, `125`
//! for everything else (invalid task, missing connection, auth, ARM error,
//! denied request). With several tasks, the status is that of the first task
//! (in the order given) that did not succeed.
//!
//! Output: stdout carries only results (`--json` objects, `describe`,
//! `hook` and `xcom` answers); stderr carries task logs with timestamps,
//! diagnostics and, on a terminal, a live status line (see [`console`]).
//! `-q` keeps warnings, errors and the final result; `-v` / `-vv` add the
//! plugin's debug / trace lines and host diagnostics; `RUST_LOG` sets the host
//! diagnostics filter (`RUST_LOG=aci_host=debug`).

mod args;
pub mod console;
mod hook;
mod inputs;
pub mod limits;
mod prepare;
mod run;
mod signals;
pub mod status;
mod sweep;
mod validate;
mod xcom;

use std::sync::Arc;
use std::time::Duration;

use clap::Parser;

use crate::budget::Budgets;
use crate::engine::EngineOptions;
use crate::runner::{CallDeadlines, Runner, RunnerOptions, EXIT_OTHER};

pub use args::{Cli, Command, ConnArgs, HookArgs, RunArgs, SweepArgs, ValidateArgs, XcomArgs};
pub use inputs::resolver;

use console::Console;
use status::Verbosity;

/// What every command writes through: the console and the verbosity.
#[derive(Clone)]
pub(crate) struct Ui {
    console: Arc<Console>,
    verbosity: Verbosity,
}

impl Ui {
    /// Prints `error: {message}` and returns `125`.
    fn fail(&self, message: &str) -> i32 {
        self.console.clear_status();
        self.console.line(&format!("error: {message}"));
        EXIT_OTHER
    }
}

/// Entry point: parses arguments, runs, returns the exit status.
pub fn main() -> i32 {
    let raised = limits::raise_open_files();
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let cli = hook::globals::hoist(Cli::parse_from(&argv), &argv);
    let console = Arc::new(Console::stdio());
    init_tracing(&console, cli.verbose, cli.quiet);
    if let Some((before, after)) = raised {
        tracing::info!("raised the open-file limit from {before} to {after} (the hard limit)");
    }
    let ui = Ui {
        console,
        verbosity: Verbosity::from_flags(cli.quiet, cli.verbose),
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return ui.fail(&format!("could not start the async runtime: {e}")),
    };
    rt.block_on(run_cli(cli, ui))
}

/// Host diagnostics: `RUST_LOG` if set (`target=level` directives, e.g.
/// `info,aci_host=debug`), else by `-q` / `-v`.
fn init_tracing(console: &Arc<Console>, verbose: u8, quiet: bool) {
    use tracing_subscriber::filter::Targets;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let default = match (quiet, verbose) {
        (true, _) => "warn",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, _) => "debug,cranelift=info,wasmtime=info",
    };
    let parse = |s: &str| s.parse::<Targets>().ok();
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|s| parse(&s))
        .or_else(|| parse(default))
        .unwrap_or_default();
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(console.tracing_writer())
        .with_ansi(console.is_live() && std::env::var_os("NO_COLOR").is_none())
        .with_target(false);
    let _ = tracing_subscriber::registry()
        .with(layer)
        .with(filter)
        .try_init();
}

async fn run_cli(cli: Cli, ui: Ui) -> i32 {
    match cli.command {
        #[cfg(feature = "local")]
        Command::Emulator(args) => {
            return match aci_emulator::serve_cli(args).await {
                Ok(()) => 0,
                Err(e) => ui.fail(&format!("emulator: {e}")),
            }
        }
        Command::Xcom(args) => return xcom::xcom_command(&args, &ui),
        _ => {}
    }
    let mut engine = EngineOptions {
        cache_dir: if cli.no_cache {
            None
        } else {
            cli.cache_dir
                .clone()
                .or_else(crate::engine::default_cache_dir)
        },
        ..EngineOptions::default()
    };
    // The pool is sized from the work: `run` needs two instances per task
    // running at once, the other commands one or two at a time.
    engine.max_instances = match &cli.command {
        Command::Run(args) => crate::pool::instances_for(run::concurrency(args)),
        _ => crate::pool::instances_for(1),
    };
    let deadlines = CallDeadlines {
        describe: Duration::from_secs_f64(cli.validate_timeout),
        validate: Duration::from_secs_f64(cli.validate_timeout),
        hook: Duration::from_secs_f64(cli.hook_timeout),
    };
    let budgets = match Budgets::new(cli.budget_share, cli.budgets.clone()) {
        Ok(b) => Arc::new(b),
        Err(e) => return ui.fail(&e.to_string()),
    };
    let runner = match Runner::new(RunnerOptions {
        engine,
        plugin: cli.plugin.clone(),
        deadlines,
    }) {
        Ok(r) => Arc::new(r.with_budgets(budgets)),
        Err(e) => return ui.fail(&format!("loading the plugin: {e:#}")),
    };
    match cli.command {
        Command::Describe => match runner.describe().await {
            Ok(info) => {
                let schema: serde_json::Value = serde_json::from_str(&info.params_schema)
                    .unwrap_or(serde_json::Value::String(info.params_schema.clone()));
                let out = serde_json::json!({
                    "name": info.name, "version": info.version,
                    "template_fields": info.template_fields, "params_schema": schema,
                    "environment": info.environment, "secret_extras": info.secret_extras,
                });
                ui.console
                    .out_line(&serde_json::to_string_pretty(&out).unwrap_or_default());
                0
            }
            Err(e) => ui.fail(&format!("describe: {e:#}")),
        },
        Command::Validate(args) => validate::validate_command(&runner, args, &ui).await,
        Command::Run(args) => run::run_command(runner, args, &ui).await,
        Command::Hook(args) => hook::hook_command(&runner, args, &ui).await,
        Command::Sweep(args) => sweep::sweep_command(&runner, args, &ui).await,
        #[cfg(feature = "local")]
        Command::Emulator(_) => unreachable!("handled above"),
        Command::Xcom(_) => unreachable!("handled above"),
    }
}
