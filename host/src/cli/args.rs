//! The command-line arguments (clap derive).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[cfg(feature = "local")]
use aci_emulator::EmulatorArgs;

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
    /// More detail on stderr: `-v` adds the plugin's debug lines and host
    /// diagnostics, `-vv` everything (`RUST_LOG` overrides the host part).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only warnings, errors and the final result on stderr.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Seconds the plugin's `describe` and `validate` may take (each).
    #[arg(long, global = true, value_name = "SECS", default_value_t = 60.0, value_parser = positive_seconds)]
    pub validate_timeout: f64,
    /// Seconds one hook call may take (`hook …`).
    #[arg(long, global = true, value_name = "SECS", default_value_t = 3600.0, value_parser = positive_seconds)]
    pub hook_timeout: f64,
    /// What this host may use of a shared rate budget class, e.g.
    /// `arm-reads=250/25` (capacity / tokens per second), instead of its
    /// share of what the plugin declares. Repeatable.
    #[arg(long = "budget", global = true, value_name = "CLASS=CAPACITY/RATE")]
    pub budgets: Vec<crate::budget::BudgetOverride>,
    /// The fraction (0 < F ≤ 1) of each declared budget this host uses,
    /// leaving the rest to the service's other clients.
    #[arg(long, global = true, value_name = "F", default_value_t = crate::budget::DEFAULT_SHARE)]
    pub budget_share: f64,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// A number of seconds above zero (and below a century).
fn positive_seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(s) if s > 0.0 && s < 3.2e9 => Ok(s),
        _ => Err(format!("`{text}` is not a number of seconds above 0")),
    }
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Render, validate and execute tasks (several run concurrently).
    Run(RunArgs),
    /// Check tasks without any network call (`--explain`: and show what they are granted).
    Validate(ValidateArgs),
    /// Print the operator's info (name, version, template fields, params schema) as JSON.
    Describe,
    /// Call one of the hook's methods (`aci-host hook --help` lists them).
    #[command(disable_help_flag = true)]
    Hook(HookArgs),
    /// Delete the container groups the plugin created whose task no longer runs.
    Sweep(SweepArgs),
    /// Run the local ARM emulator alone; its first stdout line is its base URL.
    #[cfg(feature = "local")]
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
    /// A reviewed grant (the JSON of `validate --explain --json`): refuse a
    /// task whose declared connections, origins, files or environment go beyond it.
    #[arg(long = "grant", value_name = "FILE")]
    pub grant: Option<PathBuf>,
}

/// Template rendering limits (`run` and `validate`).
#[derive(Args, Debug, Clone)]
pub struct TemplateArgs {
    /// MiniJinja fuel per template string (about one unit per instruction).
    #[arg(long, value_name = "UNITS", default_value_t = crate::templates::DEFAULT_TEMPLATE_FUEL)]
    pub template_fuel: u64,
    /// Largest rendered template string, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = crate::templates::DEFAULT_MAX_FIELD_BYTES)]
    pub max_rendered_bytes: usize,
    /// Largest total of a task's rendered template strings, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = crate::templates::DEFAULT_MAX_TOTAL_BYTES)]
    pub max_rendered_task_bytes: usize,
}

impl TemplateArgs {
    /// The limits these flags set.
    pub fn limits(&self) -> crate::templates::TemplateLimits {
        crate::templates::TemplateLimits {
            fuel: self.template_fuel,
            max_field_bytes: self.max_rendered_bytes,
            max_total_bytes: self.max_rendered_task_bytes,
        }
    }
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
    /// Most tasks running at once (at least 1).
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
    /// Most outbound requests one task may have in flight at once.
    #[arg(long, value_name = "N", default_value_t = crate::http_hooks::DEFAULT_MAX_REQUESTS_IN_FLIGHT)]
    pub max_requests_per_task: usize,
    /// Most bytes of JSON a task's XCom values may hold together.
    #[arg(long, value_name = "BYTES", default_value_t = crate::runtime::DEFAULT_MAX_XCOM_TOTAL_BYTES)]
    pub max_xcom_bytes: usize,
    /// Template rendering limits.
    #[command(flatten)]
    pub templates: TemplateArgs,
}

/// `sweep` options.
#[derive(Args, Debug)]
pub struct SweepArgs {
    /// The Azure connection (Airflow's default: `azure_default`).
    #[arg(long, default_value = "azure_default", value_name = "ID")]
    pub conn_id: String,
    /// Only this resource group (default: the whole subscription).
    #[arg(long, value_name = "RG")]
    pub resource_group: Option<String>,
    /// Also delete groups whose owner cannot be checked (another machine)
    /// once older than this: `90s`, `30m`, `1h`, `2d`, `1h30m` or seconds.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub older_than: Option<u64>,
    /// List what would be deleted and why; delete nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the report as one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
    /// Connections.
    #[command(flatten)]
    pub conn: ConnArgs,
}

/// Seconds in `90s`, `30m`, `1h`, `2d`, `1h30m`, or a plain number of seconds.
pub fn parse_duration(text: &str) -> Result<u64, String> {
    let bad = || format!("`{text}` is not a duration like 90s, 30m, 1h, 2d or 1h30m");
    let t = text.trim();
    if let Ok(secs) = t.parse::<u64>() {
        return Ok(secs);
    }
    let (mut total, mut digits) = (0u64, String::new());
    for c in t.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return Err(bad()),
        };
        let n: u64 = digits.parse().map_err(|_| bad())?;
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(bad)?;
        digits.clear();
    }
    if !digits.is_empty() || t.is_empty() {
        return Err(bad());
    }
    Ok(total)
}

/// `validate` options.
#[derive(Args, Debug)]
pub struct ValidateArgs {
    /// Task files to check.
    #[arg(required = true, value_name = "TASK_FILE")]
    pub tasks: Vec<PathBuf>,
    /// Connections (for templates such as `macros.connection(..)`, and for
    /// `--explain` / `--grant`, which resolve the connections a task reads).
    #[command(flatten)]
    pub conn: ConnArgs,
    /// Also print what each task is granted: the connections it may read, the
    /// origins it may contact, the files it may read and the environment
    /// variables it may see (nothing is contacted).
    #[arg(long)]
    pub explain: bool,
    /// With `--explain`: print each grant as one JSON object per line on
    /// stdout (the form `--grant FILE` reads).
    #[arg(long, requires = "explain")]
    pub json: bool,
    /// Local XCom store used by `ti.xcom_pull` in templates.
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Template rendering limits.
    #[command(flatten)]
    pub templates: TemplateArgs,
}

/// `hook` arguments: `METHOD [FLAGS]`. The methods and their flags are
/// derived from the component's hook interface once it is loaded (see
/// `aci-host hook --help` and [`crate::cli`]'s `hook` module).
#[derive(Args, Debug)]
pub struct HookArgs {
    /// The method and its flags.
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "METHOD [FLAGS]"
    )]
    pub args: Vec<String>,
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
    /// Task id (`get`: required; `list`: a filter).
    #[arg(long)]
    pub task_id: Option<String>,
    /// Key (`get`: default `return_value`; `list`: a filter).
    #[arg(long)]
    pub key: Option<String>,
    /// Local XCom store.
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
}
