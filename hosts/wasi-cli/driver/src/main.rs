//! `aci-cli`: the command-line driver of `aci-cli.wasm`, the plugin composed
//! with the `wasi:cli` adapter so that a stock WASI 0.2 runtime runs it:
//!
//! ```text
//! wasmtime run -S http --dir . --env AIRFLOW_CONN_AZURE_DEFAULT aci-cli.wasm run task.json
//! ```
//!
//! Commands (`help` prints them): `describe`; `validate TASK`; `run TASK`
//! (the result as one JSON object on stdout, `aci-host run --json`'s shape,
//! and `aci-host`'s exit statuses); `on-kill TASK` (releases what an
//! interrupted run created); `hook METHOD [flags]` (JSON on stdout). `TASK`
//! is a JSON task file (`-` reads it from stdin); its `params` are used as
//! written: this route renders no template.
//!
//! Each call is granted first, as `aci-host` grants it ([`grant`]): the
//! task's `connection-ids`, or the hook call's `--conn-id`, are the only
//! connections the adapter resolves (from `AIRFLOW_CONN_<ID>`), the operator's
//! `plan` sees them redacted and names the budgets the call may draw on. The
//! adapter masks the connections' secrets and the task's `secured_variables`
//! in every log line and in this program's output.

mod bindings;
mod date;
mod grant;
mod hook;
mod report;
mod task;

use std::io::Write;

use bindings::aci::cli::session;
use bindings::orchestrator::task::task_operator as operator;
use bindings::orchestrator::task::types::OperatorInfo;

use report::{Report, EXIT_OTHER};

/// Exit status of a command line this program does not understand.
const EXIT_USAGE: i32 = 2;

/// What `help` prints.
const USAGE: &str = "\
usage: aci-cli COMMAND [ARGS]

commands:
  describe                 the operator's name, version, template fields and parameter schema (JSON)
  validate TASK            check a task without any network call (exit 125 when invalid)
  run TASK                 validate and execute a task; the result as one JSON object on stdout
  on-kill TASK             release what an interrupted run of the task created
  hook METHOD [FLAGS]      call a hook method; its answer as JSON on stdout
                           (`hook help` lists the methods and flags)

TASK is a JSON file: {\"task_id\": \"hello\", \"params\": {...}} (also dag_id, run_id,
logical_date, try_number); `-` reads it from stdin. Params are used as written (no
templates). Connections come from AIRFLOW_CONN_<ID> variables (pass them with
`wasmtime run --env AIRFLOW_CONN_AZURE_DEFAULT`), files only from `--dir` preopens.
Exit statuses of run: 0 success, the container's exit code, 124 timed out, 125 any other failure.";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let status = dispatch(&args);
    exit(status)
}

/// Runs one command; its exit status.
fn dispatch(args: &[String]) -> i32 {
    let operand = args.get(1).map(String::as_str);
    match (args.first().map(String::as_str), operand) {
        (Some("describe"), None) => describe(),
        (Some("validate"), Some(path)) if args.len() == 2 => validate(path),
        (Some("run"), Some(path)) if args.len() == 2 => run(path),
        (Some("on-kill"), Some(path)) if args.len() == 2 => on_kill(path),
        (Some("hook"), _) => hook::command(&args[1..]),
        (None | Some("help" | "--help" | "-h"), _) => {
            println!("{USAGE}");
            if args.is_empty() {
                EXIT_USAGE
            } else {
                0
            }
        }
        _ => {
            eprintln!(
                "error: unexpected arguments `{}`\n\n{USAGE}",
                args.join(" ")
            );
            EXIT_USAGE
        }
    }
}

/// Ends the program with `status` (all of 0–255 reach the runtime through
/// `wasi:cli/exit.exit-with-code`).
fn exit(status: i32) -> ! {
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    #[cfg(target_arch = "wasm32")]
    wasi::cli::exit::exit_with_code(u8::try_from(status).unwrap_or(125));
    std::process::exit(status)
}

/// Prints `message` (masked) as an error on stderr and returns [`EXIT_OTHER`].
fn fail(message: &str) -> i32 {
    eprintln!("error: {}", session::mask(message));
    EXIT_OTHER
}

/// `describe`: the operator's description as `aci-host describe` prints it.
fn describe() -> i32 {
    let info = operator::describe();
    let schema = serde_json::from_str(&info.params_schema)
        .unwrap_or(serde_json::Value::String(info.params_schema.clone()));
    let out = serde_json::json!({
        "name": info.name, "version": info.version,
        "template_fields": info.template_fields, "params_schema": schema,
        "environment": info.environment, "secret_extras": info.secret_extras,
    });
    println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
    0
}

/// `validate TASK`: `TASK: valid` on stderr, or why not (exit 125).
fn validate(path: &str) -> i32 {
    let task = match task::load(path) {
        Ok(t) => t,
        Err(e) => return fail(&e),
    };
    warn_templates(&operator::describe(), &task);
    match operator::validate(&task.params) {
        Ok(()) => {
            eprintln!("{path}: valid");
            0
        }
        Err(e) => {
            eprintln!("{path}: invalid: {}", report::classify(&e).message);
            EXIT_OTHER
        }
    }
}

/// `run TASK`: validate, declare the task's connections, execute; the report
/// on stdout.
fn run(path: &str) -> i32 {
    let task = match task::load(path) {
        Ok(t) => t,
        Err(e) => return fail(&e),
    };
    let info = operator::describe();
    warn_templates(&info, &task);
    session::add_secrets(&task.secured_values());
    let result = operator::validate(&task.params)
        .and_then(|()| grant::task(&info, &task.params))
        .and_then(|()| operator::execute(&task.context, &task.params));
    let report = Report::new(&task.context.task_id, result);
    if let Some(error) = &report.error {
        eprintln!("error: {error}");
    }
    println!("{}", report.to_json());
    report.exit_status
}

/// `on-kill TASK`: the operator's cleanup for a run that was interrupted.
fn on_kill(path: &str) -> i32 {
    let task = match task::load(path) {
        Ok(t) => t,
        Err(e) => return fail(&e),
    };
    let info = operator::describe();
    session::add_secrets(&task.secured_values());
    match grant::task(&info, &task.params)
        .and_then(|()| operator::on_kill(&task.context, &task.params))
    {
        Ok(()) => 0,
        Err(e) => fail(&report::classify(&e).message),
    }
}

/// Warns about template fields that hold Jinja syntax: nothing renders it here.
fn warn_templates(info: &OperatorInfo, task: &task::Task) {
    for field in task.templated_fields(&info.template_fields) {
        eprintln!(
            "WARNING params.{field} holds template syntax ({{{{ … }}}}), which this route does not render; render it first (aci-host does)"
        );
    }
}
