//! The `aci-host` command line: a thin layer over [`crate::runner`].
//!
//! Exit statuses of `run` follow the contract: `0` success, the container's
//! exit code when it ran and failed, `124` timeout, `130` cancelled, `125`
//! for everything else (invalid task, missing connection, auth, ARM error,
//! denied request).

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::bindings::LogLevel;
use crate::connections::ConnectionResolver;
use crate::emulator::{Emulator, EmulatorArgs, EmulatorConfig};
use crate::engine::EngineOptions;
use crate::local::LocalConnections;
use crate::mask::Masker;
use crate::policy::AllowRule;
use crate::runner::{classify_error, GroupRef, HookCall, Runner, RunnerOptions, TaskEnv, TaskReport, TaskSpec, EXIT_CANCELLED, EXIT_OTHER};
use crate::runtime_impl::{CancelToken, ConnectionProvider, LogSink};
use crate::task::TaskFile;
use crate::templates::{render_params, TemplateContext};
use crate::xcom_store::XcomStore;

/// `aci-host`: run Azure Container Instances tasks from a WebAssembly plugin.
#[derive(Parser, Debug)]
#[command(name = "aci-host", version, about, long_about = None)]
pub struct Cli {
    /// Use this component instead of the built-in ACI plugin.
    #[arg(long, global = true, value_name = "PATH")]
    pub plugin: Option<PathBuf>,
    /// Directory for precompiled components (default: ~/.cache/aci-host).
    #[arg(long, global = true, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Do not cache precompiled components.
    #[arg(long, global = true)]
    pub no_cache: bool,
    /// More host diagnostics on stderr (repeat for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only warnings and errors on stderr.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Render, validate and execute tasks (several run concurrently).
    Run(RunArgs),
    /// Check tasks without any network call.
    Validate(ValidateArgs),
    /// Print the operator's info (name, version, template fields, params schema) as JSON.
    Describe,
    /// Call one of the hook's methods.
    Hook(HookArgs),
    /// Run the local ARM emulator alone; its first stdout line is its base URL.
    Emulator(EmulatorArgs),
    /// Inspect the local XCom store.
    Xcom(XcomArgs),
}

/// Where connections come from.
#[derive(Args, Debug, Clone, Default)]
pub struct ConnArgs {
    /// An `airflow connections export` file (JSON or YAML); repeatable, later files win.
    #[arg(long = "connections", value_name = "FILE")]
    pub connection_files: Vec<PathBuf>,
    /// A connection as `ID=URI` or `ID={json}`; repeatable; wins over files and env.
    #[arg(long = "conn", value_name = "ID=URI")]
    pub conns: Vec<String>,
    /// Allow the plugin to reach this endpoint too (`host[:port]` or `http://host:port`).
    #[arg(long = "allow-host", value_name = "HOST")]
    pub allow_hosts: Vec<String>,
}

/// `run` options.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// Task files (TOML, JSON or YAML) or directories of them.
    #[arg(required = true, value_name = "TASK_FILE")]
    pub tasks: Vec<PathBuf>,
    /// Run against the built-in ARM emulator: no Azure account needed.
    #[arg(long)]
    pub local: bool,
    /// Print one JSON result object per task on stdout.
    #[arg(long)]
    pub json: bool,
    /// Connections.
    #[command(flatten)]
    pub conn: ConnArgs,
    /// Local XCom store (default: ~/.local/share/aci-host).
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Most tasks running at once.
    #[arg(long, default_value_t = 16)]
    pub max_parallel: usize,
    /// Run id (default: `manual__<logical date>`).
    #[arg(long)]
    pub run_id: Option<String>,
    /// Logical date, RFC 3339 or YYYY-MM-DD (default: today, 00:00 UTC).
    #[arg(long)]
    pub logical_date: Option<String>,
    /// Try number passed to the plugin (default: the task file's, else 1).
    #[arg(long)]
    pub try_number: Option<u32>,
    /// Seconds the plugin gets to clean up after a cancel before it is interrupted.
    #[arg(long, default_value_t = 30)]
    pub cancel_grace: u64,
    /// With --local: seconds the emulator spends provisioning a group.
    #[arg(long, default_value_t = 0.3)]
    pub local_provision_delay: f64,
}

/// `validate` options.
#[derive(Args, Debug)]
pub struct ValidateArgs {
    /// Task files to check.
    #[arg(required = true, value_name = "TASK_FILE")]
    pub tasks: Vec<PathBuf>,
    /// Connections (used only for templates such as `macros.connection(..)`).
    #[command(flatten)]
    pub conn: ConnArgs,
    /// Local XCom store used by `ti.xcom_pull` in templates.
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
}

/// `hook` options.
#[derive(Args, Debug)]
pub struct HookArgs {
    /// The method: exists, get-state, get-logs, delete, create-or-update, test-connection,
    /// get-state-exitcode-details, get-messages, stop, start, restart, list.
    #[arg(value_name = "METHOD")]
    pub method: String,
    /// The ACI connection id.
    #[arg(long, default_value = "azure_default")]
    pub conn_id: String,
    /// Resource group.
    #[arg(long)]
    pub resource_group: Option<String>,
    /// Container group name.
    #[arg(long)]
    pub name: Option<String>,
    /// Lines for get-logs.
    #[arg(long)]
    pub tail: Option<u32>,
    /// ARM JSON body for create-or-update.
    #[arg(long, value_name = "FILE.json")]
    pub container_group: Option<PathBuf>,
    /// Wait for create-or-update / delete to finish.
    #[arg(long)]
    pub wait: bool,
    /// Connections.
    #[command(flatten)]
    pub conn: ConnArgs,
}

/// `xcom` options.
#[derive(Args, Debug)]
pub struct XcomArgs {
    /// `list` or `get`.
    #[arg(value_name = "ACTION")]
    pub action: String,
    /// DAG id filter (`get`: required unless the task had none).
    #[arg(long)]
    pub dag_id: Option<String>,
    /// Run id filter.
    #[arg(long)]
    pub run_id: Option<String>,
    /// Task id (`get`).
    #[arg(long)]
    pub task_id: Option<String>,
    /// Key (`get`, default `return_value`).
    #[arg(long, default_value = "return_value")]
    pub key: String,
    /// Local XCom store.
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
}

/// Entry point: parses arguments, runs, returns the exit status.
pub fn main() -> i32 {
    let cli = Cli::parse();
    init_tracing(cli.verbose, cli.quiet);
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: could not start the async runtime: {e}");
            return EXIT_OTHER;
        }
    };
    rt.block_on(run_cli(cli))
}

fn init_tracing(verbose: u8, quiet: bool) {
    use tracing_subscriber::EnvFilter;
    let default = match (quiet, verbose) {
        (true, _) => "warn",
        (false, 0) => "warn,task=info",
        (false, 1) => "info",
        (false, _) => "debug,cranelift=info,wasmtime=info",
    };
    let filter = EnvFilter::try_from_env("RUST_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false).try_init();
}

async fn run_cli(cli: Cli) -> i32 {
    if let Command::Emulator(args) = cli.command {
        return match crate::emulator::serve_cli(args).await {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("error: emulator: {e}");
                EXIT_OTHER
            }
        };
    }
    if let Command::Xcom(args) = &cli.command {
        return xcom_command(args);
    }
    let engine = EngineOptions {
        cache_dir: if cli.no_cache { None } else { cli.cache_dir.clone().or_else(crate::engine::default_cache_dir) },
        ..EngineOptions::default()
    };
    let runner = match Runner::new(RunnerOptions { engine, plugin: cli.plugin.clone() }) {
        Ok(r) => Arc::new(r),
        Err(e) => {
            eprintln!("error: loading the plugin: {e:#}");
            return EXIT_OTHER;
        }
    };
    match cli.command {
        Command::Describe => match runner.describe().await {
            Ok(info) => {
                let schema: serde_json::Value = serde_json::from_str(&info.params_schema).unwrap_or(serde_json::Value::String(info.params_schema.clone()));
                let out = serde_json::json!({
                    "name": info.name, "version": info.version,
                    "template_fields": info.template_fields, "params_schema": schema,
                });
                println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
                0
            }
            Err(e) => {
                eprintln!("error: describe: {e:#}");
                EXIT_OTHER
            }
        },
        Command::Validate(args) => validate_command(&runner, args).await,
        Command::Run(args) => run_command(runner, args, cli.quiet).await,
        Command::Hook(args) => hook_command(&runner, args).await,
        Command::Emulator(_) | Command::Xcom(_) => unreachable!("handled above"),
    }
}

/// Builds the connection resolver from env, files and `--conn`.
pub fn resolver(args: &ConnArgs) -> Result<ConnectionResolver, String> {
    let mut r = ConnectionResolver::new().with_env(std::env::vars());
    for f in &args.connection_files {
        r = r.with_file(f).map_err(|e| e.to_string())?;
    }
    for c in &args.conns {
        r = r.with_cli(c).map_err(|e| e.to_string())?;
    }
    Ok(r)
}

fn allow_rules(args: &ConnArgs) -> Result<Vec<AllowRule>, String> {
    args.allow_hosts.iter().map(|h| AllowRule::parse(h).map_err(|e| e.to_string())).collect()
}

/// Expands directories into their task files (sorted), keeping order otherwise.
fn expand_tasks(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(p)
                .map_err(|e| format!("{}: {e}", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| matches!(f.extension().and_then(|x| x.to_str()), Some("toml" | "json" | "yaml" | "yml")))
                .collect();
            entries.sort();
            out.extend(entries);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

/// Today at 00:00 UTC: the default logical date, so that tasks run on the
/// same day share a run id (and `ti.xcom_pull` sees earlier tasks).
fn today_midnight() -> chrono::DateTime<chrono::Utc> {
    use chrono::TimeZone;
    let today = chrono::Utc::now().date_naive();
    chrono::Utc.from_utc_datetime(&today.and_hms_opt(0, 0, 0).unwrap_or_default())
}

fn parse_logical_date(s: Option<&str>) -> Result<Option<chrono::DateTime<chrono::Utc>>, String> {
    s.map(|s| crate::task::parse_logical_date(s).map_err(|e| format!("--logical-date: {e}"))).transpose()
}

/// A task file loaded and rendered, ready to run.
struct PreparedTask {
    spec: TaskSpec,
    masker: Masker,
}

async fn prepare(
    runner: &Runner,
    path: &Path,
    connections: &Arc<ConnectionResolver>,
    xcom: &Arc<XcomStore>,
    run_id: Option<&str>,
    logical_date: Option<chrono::DateTime<chrono::Utc>>,
    try_number: Option<u32>,
) -> Result<PreparedTask, (crate::runner::ErrorKind, String)> {
    use crate::runner::ErrorKind;
    let task = TaskFile::load(path).map_err(|e| (ErrorKind::InvalidParams, e.to_string()))?;
    let info = runner.describe().await.map_err(|e| (ErrorKind::Internal, format!("describe: {e:#}")))?;
    let dag_id = task.dag_id.clone().unwrap_or_default();
    // Command-line values win over the task file's, which win over defaults.
    let logical_date = logical_date.or(task.logical_date).unwrap_or_else(today_midnight);
    let try_number = try_number.or(task.try_number).unwrap_or(1);
    let run_id = run_id.map(str::to_string).or(task.run_id.clone()).unwrap_or_else(|| crate::task::default_run_id(logical_date));
    let masker = Masker::default();
    let ctx = TemplateContext {
        dag_id: dag_id.clone(),
        task_id: task.task_id.clone(),
        run_id: run_id.clone(),
        try_number,
        logical_date,
        params: serde_json::Value::Object(task.dag_params.clone()),
        variables: crate::templates::variables_from_env(std::env::vars()),
        connections: connections.clone(),
        xcom: xcom.clone(),
    };
    let mut params = task.params.clone();
    render_params(&mut params, &info.template_fields, &ctx, &masker).map_err(|e| (ErrorKind::InvalidParams, e.to_string()))?;
    for secret in crate::templates::secured_values(&params) {
        masker.add(&secret);
    }
    let spec = TaskSpec {
        context: crate::bindings::TaskContext { dag_id, task_id: task.task_id.clone(), run_id, try_number, logical_date: logical_date.to_rfc3339() },
        params,
    };
    Ok(PreparedTask { spec, masker })
}

async fn validate_command(runner: &Arc<Runner>, args: ValidateArgs) -> i32 {
    let connections = match resolver(&args.conn) {
        Ok(r) => Arc::new(r),
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_OTHER;
        }
    };
    let xcom = match open_xcom(args.state_dir.as_deref()) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_OTHER;
        }
    };
    let files = match expand_tasks(&args.tasks) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_OTHER;
        }
    };
    let mut status = 0;
    for path in files {
        let prepared = prepare(runner, &path, &connections, &xcom, None, None, None).await;
        let verdict = match prepared {
            Err((_, msg)) => Err(msg),
            Ok(p) => match runner.validate(&p.spec.params).await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(p.masker.mask(&classify_error(&e).1)),
                Err(trap) => Err(format!("plugin trapped: {trap:#}")),
            },
        };
        match verdict {
            Ok(()) => eprintln!("{}: valid", path.display()),
            Err(msg) => {
                eprintln!("{}: invalid: {msg}", path.display());
                status = EXIT_OTHER;
            }
        }
    }
    status
}

fn open_xcom(dir: Option<&Path>) -> Result<Arc<XcomStore>, String> {
    let dir = dir.map(Path::to_path_buf).unwrap_or_else(XcomStore::default_dir);
    XcomStore::open(&dir).map(Arc::new).map_err(|e| format!("opening the XCom store {}: {e}", dir.display()))
}

/// Prints task logs on stderr: `HH:MM:SS task | message`.
struct StderrSink {
    quiet: bool,
    prefix: bool,
}

impl LogSink for StderrSink {
    fn log(&self, task_id: &str, level: LogLevel, message: &str) {
        let tag = match level {
            LogLevel::Trace | LogLevel::Debug => return,
            LogLevel::Info if self.quiet => return,
            LogLevel::Info => "",
            LogLevel::Warning => "WARNING ",
            LogLevel::Error => "ERROR ",
        };
        let now = chrono::Utc::now().format("%H:%M:%S");
        let mut err = std::io::stderr().lock();
        let _ = if self.prefix {
            writeln!(err, "{now} {task_id} | {tag}{message}")
        } else {
            writeln!(err, "{now} {tag}{message}")
        };
    }
}

async fn run_command(runner: Arc<Runner>, args: RunArgs, quiet: bool) -> i32 {
    let files = match expand_tasks(&args.tasks) {
        Ok(f) if !f.is_empty() => f,
        Ok(_) => {
            eprintln!("error: no task files found");
            return EXIT_OTHER;
        }
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_OTHER;
        }
    };
    let connections = match resolver(&args.conn) {
        Ok(r) => Arc::new(r),
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_OTHER;
        }
    };
    let allow = match allow_rules(&args.conn) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_OTHER;
        }
    };
    let xcom = match open_xcom(args.state_dir.as_deref()) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_OTHER;
        }
    };
    let logical_date = match parse_logical_date(args.logical_date.as_deref()) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_OTHER;
        }
    };
    // Local mode: one in-process emulator for every task of this invocation.
    let emulator = if args.local {
        let config = EmulatorConfig { provision_delay: Duration::from_secs_f64(args.local_provision_delay.max(0.0)), ..EmulatorConfig::default() };
        match Emulator::start(config).await {
            Ok(e) => {
                tracing::info!("local mode: ARM emulator at {}", e.base_url());
                Some(e)
            }
            Err(e) => {
                eprintln!("error: starting the local emulator: {e}");
                return EXIT_OTHER;
            }
        }
    } else {
        None
    };
    let plugin_connections: Arc<dyn ConnectionProvider> = match &emulator {
        Some(e) => Arc::new(LocalConnections::new(e.base_url())),
        None => connections.clone(),
    };

    // Signals: the first SIGINT/SIGTERM cancels every task; a second SIGINT exits at once.
    let cancel = CancelToken::new();
    spawn_signal_handler(cancel.clone());

    let sink: Arc<dyn LogSink> = Arc::new(StderrSink { quiet, prefix: files.len() > 1 });
    let semaphore = Arc::new(tokio::sync::Semaphore::new(args.max_parallel.max(1)));
    let mut handles = Vec::new();
    for path in files.clone() {
        let runner = runner.clone();
        let connections = connections.clone();
        let plugin_connections = plugin_connections.clone();
        let xcom = xcom.clone();
        let sink = sink.clone();
        let cancel = cancel.clone();
        let allow = allow.clone();
        let semaphore = semaphore.clone();
        let run_id = args.run_id.clone();
        let try_number = args.try_number;
        let grace = Duration::from_secs(args.cancel_grace);
        handles.push(tokio::spawn(async move {
            let _permit = semaphore.acquire_owned().await;
            let started = std::time::Instant::now();
            let task_label = path.file_stem().and_then(|s| s.to_str()).unwrap_or("task").to_string();
            if cancel.is_cancelled() {
                return (TaskReport::cancelled_before_start(&task_label), started.elapsed());
            }
            let prepared = match prepare(&runner, &path, &connections, &xcom, run_id.as_deref(), logical_date, try_number).await {
                Ok(p) => p,
                Err((kind, msg)) => {
                    sink.log(&task_label, LogLevel::Error, &format!("{}: {msg}", path.display()));
                    return (TaskReport::not_started(&task_label, kind, msg), started.elapsed());
                }
            };
            let mut env = TaskEnv::new(plugin_connections);
            env.log = sink.clone();
            env.masker = prepared.masker.clone();
            env.cancel = cancel;
            env.allow_hosts.extend(allow);
            env.cancel_grace = grace;
            let ctx = prepared.spec.context.clone();
            let report = runner.run(prepared.spec, env).await;
            // XComs go to the local store so later tasks can `ti.xcom_pull` them.
            if report.state == crate::runner::TaskState::Success {
                if let Err(e) = xcom.push(&ctx.dag_id, &ctx.run_id, &ctx.task_id, "return_value", &report.return_value) {
                    sink.log(&ctx.task_id, LogLevel::Warning, &format!("could not store XCom return_value: {e}"));
                }
            }
            for (k, v) in &report.xcom {
                if let Err(e) = xcom.push(&ctx.dag_id, &ctx.run_id, &ctx.task_id, k, v) {
                    sink.log(&ctx.task_id, LogLevel::Warning, &format!("could not store XCom {k}: {e}"));
                }
            }
            (report, started.elapsed())
        }));
    }
    let mut reports = Vec::new();
    for h in handles {
        match h.await {
            Ok(r) => reports.push(r),
            Err(e) => reports.push((TaskReport::not_started("task", crate::runner::ErrorKind::Internal, format!("task panicked: {e}")), Duration::ZERO)),
        }
    }
    if let Some(e) = emulator {
        e.shutdown().await;
    }
    for (r, _) in &reports {
        if args.json {
            println!("{}", r.to_json());
        }
        if let Some(err) = &r.error {
            if files.len() == 1 {
                eprintln!("error: {err}");
            }
        }
    }
    if files.len() > 1 {
        print_summary(&reports);
    }
    reports.iter().map(|(r, _)| r.exit_status).find(|s| *s != 0).unwrap_or(0)
}

fn print_summary(reports: &[(TaskReport, Duration)]) {
    let mut err = std::io::stderr().lock();
    let width = reports.iter().map(|(r, _)| r.task_id.len()).max().unwrap_or(4).max(4);
    let _ = writeln!(err, "\n{:<width$}  {:<7}  {:>4}  {:>8}  error", "task", "state", "exit", "elapsed");
    for (r, d) in reports {
        let exit = r.exit_code.map(|c| c.to_string()).unwrap_or_else(|| "-".into());
        let error = r.error.as_deref().unwrap_or("");
        let error: String = error.chars().take(80).collect();
        let _ = writeln!(err, "{:<width$}  {:<7}  {:>4}  {:>7.1}s  {}", r.task_id, r.state.to_string(), exit, d.as_secs_f64(), error);
    }
    let ok = reports.iter().filter(|(r, _)| r.exit_status == 0).count();
    let _ = writeln!(err, "{ok}/{} succeeded", reports.len());
}

fn spawn_signal_handler(cancel: CancelToken) {
    tokio::spawn(async move {
        use tokio::signal::unix::{signal, SignalKind};
        let (Ok(mut int), Ok(mut term)) = (signal(SignalKind::interrupt()), signal(SignalKind::terminate())) else {
            return;
        };
        let mut count = 0u32;
        // Bounded: the second signal exits the process.
        loop {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            count += 1;
            if count == 1 {
                let _ = writeln!(std::io::stderr(), "cancelling: deleting container groups (press Ctrl-C again to exit at once)");
                cancel.cancel();
            } else {
                let _ = writeln!(std::io::stderr(), "exiting at once");
                std::process::exit(EXIT_CANCELLED);
            }
        }
    });
}

async fn hook_command(runner: &Arc<Runner>, args: HookArgs) -> i32 {
    let connections = match resolver(&args.conn) {
        Ok(r) => Arc::new(r),
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_OTHER;
        }
    };
    let allow = match allow_rules(&args.conn) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_OTHER;
        }
    };
    let target = || -> Result<GroupRef, String> {
        Ok(GroupRef {
            conn_id: args.conn_id.clone(),
            resource_group: args.resource_group.clone().ok_or("--resource-group is required")?,
            name: args.name.clone().ok_or("--name is required")?,
        })
    };
    let call = (|| -> Result<HookCall, String> {
        Ok(match args.method.as_str() {
            "exists" => HookCall::Exists(target()?),
            "get-state" => HookCall::GetState(target()?),
            "get-logs" => HookCall::GetLogs(target()?, args.tail),
            "delete" => HookCall::Delete(target()?, args.wait),
            "create-or-update" => {
                let file = args.container_group.as_ref().ok_or("--container-group FILE.json is required")?;
                let body = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
                serde_json::from_str::<serde_json::Value>(&body).map_err(|e| format!("{}: not JSON: {e}", file.display()))?;
                HookCall::CreateOrUpdate(target()?, body, args.wait)
            }
            "test-connection" => HookCall::TestConnection(args.conn_id.clone()),
            "get-state-exitcode-details" => HookCall::GetStateExitcodeDetails(target()?),
            "get-messages" => HookCall::GetMessages(target()?),
            "stop" => HookCall::Stop(target()?),
            "start" => HookCall::Start(target()?),
            "restart" => HookCall::Restart(target()?),
            "list" => HookCall::List(args.conn_id.clone(), args.resource_group.clone()),
            other => return Err(format!(
                "unknown hook method `{other}`; one of: exists, get-state, get-logs, delete, create-or-update, test-connection, get-state-exitcode-details, get-messages, stop, start, restart, list"
            )),
        })
    })();
    let call = match call {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_OTHER;
        }
    };
    let mut env = TaskEnv::new(connections);
    env.allow_hosts.extend(allow);
    env.log = Arc::new(StderrSink { quiet: false, prefix: false });
    let masker = env.masker.clone();
    spawn_signal_handler(env.cancel.clone());
    match runner.hook(call, env).await {
        Ok(Ok(v)) => {
            let text = if std::io::stdout().is_terminal() { serde_json::to_string_pretty(&v) } else { serde_json::to_string(&v) };
            println!("{}", masker.mask(&text.unwrap_or_default()));
            0
        }
        Ok(Err(e)) => {
            let (_, msg, status, _, _) = classify_error(&e);
            eprintln!("error: {}", masker.mask(&msg));
            status
        }
        Err(trap) => {
            eprintln!("error: plugin trapped: {}", masker.mask(&format!("{trap:#}")));
            EXIT_OTHER
        }
    }
}

fn xcom_command(args: &XcomArgs) -> i32 {
    let store = match open_xcom(args.state_dir.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_OTHER;
        }
    };
    match args.action.as_str() {
        "list" => match store.list(args.dag_id.as_deref(), args.run_id.as_deref()) {
            Ok(entries) => {
                for e in entries {
                    println!("{}", serde_json::json!({"dag_id": e.dag_id, "run_id": e.run_id, "task_id": e.task_id, "key": e.key, "value": e.value}));
                }
                0
            }
            Err(e) => {
                eprintln!("error: {e}");
                EXIT_OTHER
            }
        },
        "get" => {
            let (Some(run_id), Some(task_id)) = (&args.run_id, &args.task_id) else {
                eprintln!("error: xcom get needs --run-id and --task-id (and --dag-id when the task has one)");
                return EXIT_OTHER;
            };
            match store.pull(args.dag_id.as_deref().unwrap_or(""), run_id, task_id, &args.key) {
                Ok(Some(v)) => {
                    println!("{v}");
                    0
                }
                Ok(None) => {
                    eprintln!("error: no XCom `{}` for task `{task_id}` in run `{run_id}`", args.key);
                    1
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    EXIT_OTHER
                }
            }
        }
        other => {
            eprintln!("error: unknown xcom action `{other}`; use `list` or `get`");
            EXIT_OTHER
        }
    }
}
