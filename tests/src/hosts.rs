//! The hosts the conformance test (`tests/e2e/conformance.rs`) runs the component through,
//! all driven the same way: a command line taking the contract's commands (`run FILE
//! --json`, `hook METHOD …`, `describe`), loading the same component file: `aci-host`, the
//! Node host (`hosts/node`) and stock `wasmtime run` with the composed `aci-cli.wasm`
//! (`hosts/wasi-cli`).
//!
//! Adding a host means one more [`Host`] implementation and one more entry in [`hosts`];
//! what it cannot do is a [`Feature`] it does not support, with its reason.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use crate::cli::{root, text};
use crate::clients::{digest, run_bounded, target_tmp};
use crate::scan::HostCommand;

/// What some hosts cannot do by design, so that the tests needing it skip them (saying
/// why) instead of failing or passing silently.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Feature {
    /// Loading another component than the ACI plugin ([`Host::command_with`] another
    /// file), e.g. the hostile or http-probe test guests.
    OtherComponents,
    /// Cancelling a run (SIGTERM asks the plugin to stop and clean up; after the grace
    /// period `on-kill` runs): the exit status 130 and the deleted group.
    Cancellation,
    /// The outbound policy: only the origins the operator declared are reachable.
    OutboundPolicy,
    /// Masking what the guest writes to its own stdout and stderr.
    GuestOutputMasking,
}

/// One way to run the component.
pub trait Host: Send + Sync {
    /// Its name in messages.
    fn name(&self) -> &'static str;
    /// Why this host cannot do `feature`; `None` when it can (the default).
    fn lacks(&self, _feature: Feature) -> Option<&'static str> {
        None
    }
    /// True when this host can do `feature`.
    fn supports(&self, feature: Feature) -> bool {
        self.lacks(feature).is_none()
    }
    /// The command for `args` (e.g. `["run", "task.json", "--json"]`) with component
    /// `plugin`, and the host's own options added: private caches, and for `run` its XCom
    /// store under `scratch`.
    /// Its output is scanned for secrets ([`crate::scan`]).
    fn command_with(&self, plugin: &Path, args: &[&str], scratch: &Path) -> HostCommand;
    /// [`Host::command_with`] the ACI component ([`component`]).
    fn command(&self, args: &[&str], scratch: &Path) -> HostCommand {
        self.command_with(component(), args, scratch)
    }
    /// The XCom file a `run` wrote under `scratch`, for hosts that keep one JSON file per
    /// task instance (`{"xcom": {...}}`); `None` for hosts with another store.
    fn xcom_file(&self, scratch: &Path) -> Option<PathBuf>;
}

/// The component every host loads: the one built into `aci-host`, written once under
/// `target/tmp/` (named after its content).
pub fn component() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let bytes = aci_host::runner::BUILTIN_PLUGIN;
        let path = target_tmp().join(format!("aci-plugin-{:016x}.wasm", digest(bytes)));
        if !path.is_file() {
            std::fs::create_dir_all(path.parent().unwrap()).expect("target/tmp");
            let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
            std::fs::write(&tmp, bytes).expect("write the component");
            std::fs::rename(&tmp, &path).expect("place the component");
        }
        path
    })
}

/// The reference host, `aci-host` (its CLI, as a user runs it).
pub struct AciHost;

impl Host for AciHost {
    fn name(&self) -> &'static str {
        "aci-host"
    }

    fn command_with(&self, plugin: &Path, args: &[&str], scratch: &Path) -> HostCommand {
        let mut cmd = crate::cli::aci_host(args, scratch);
        cmd.arg("--plugin").arg(plugin);
        if args.first() == Some(&"run") {
            cmd.arg("--state-dir").arg(scratch.join("aci-host-state"));
        }
        cmd
    }

    fn xcom_file(&self, _scratch: &Path) -> Option<PathBuf> {
        None
    }
}

/// The Node host, `hosts/node` (jco + preview2-shim), run with `node`.
pub struct NodeHost;

impl NodeHost {
    /// `hosts/node` in the workspace.
    pub fn dir() -> PathBuf {
        root().join("hosts/node")
    }

    /// Installs the pinned packages once (`npm ci`, remembered by a marker under
    /// `target/tmp/` named after the lockfile) and transpiles the component once into the
    /// test cache. Panics with a clear message when `node` or `npm` is missing.
    pub fn prepare() {
        static READY: OnceLock<()> = OnceLock::new();
        READY.get_or_init(|| {
            for tool in ["node", "npm"] {
                let found = Command::new(tool).arg("--version").output();
                assert!(
                    found.is_ok_and(|o| o.status.success()),
                    "`{tool}` is not on PATH: the conformance test needs Node.js ≥ 20 and npm \
                     (set ACI_SKIP_NODE=1 to skip the Node host)"
                );
            }
            let lock = std::fs::read(Self::dir().join("package-lock.json")).expect("lockfile");
            let marker = target_tmp().join(format!("npm-ci-{:016x}", digest(&lock)));
            if !(marker.is_file() && Self::dir().join("node_modules").is_dir()) {
                let mut npm = Command::new("npm");
                npm.args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
                    .current_dir(Self::dir());
                let out = run_bounded(npm, Duration::from_secs(600));
                assert!(
                    out.status.success(),
                    "npm ci in hosts/node failed:\n{}",
                    text(&out.stderr)
                );
                std::fs::create_dir_all(target_tmp()).unwrap();
                std::fs::write(&marker, b"ok").unwrap();
            }
            // Transpile once here, not in every test at the same time.
            let scratch = tempfile::tempdir().unwrap();
            let out = run_bounded(
                NodeHost.command(&["describe"], scratch.path()),
                Duration::from_secs(300),
            );
            assert!(
                out.status.success(),
                "the Node host cannot load the component:\n{}",
                text(&out.stderr)
            );
        });
    }
}

impl Host for NodeHost {
    fn name(&self) -> &'static str {
        "node"
    }

    fn command_with(&self, plugin: &Path, args: &[&str], scratch: &Path) -> HostCommand {
        let mut cmd = HostCommand::new("node");
        cmd.arg(Self::dir().join("src/main.mjs"))
            .args(args)
            .arg("--plugin")
            .arg(plugin)
            .arg("--cache-dir")
            .arg(target_tmp().join("aci-node-host-cache"))
            .current_dir(root())
            .env("XDG_DATA_HOME", scratch);
        if args.first() == Some(&"run") {
            cmd.arg("--xcom-file").arg(scratch.join("node-xcom.json"));
        }
        cmd
    }

    fn xcom_file(&self, scratch: &Path) -> Option<PathBuf> {
        Some(scratch.join("node-xcom.json"))
    }
}

/// Stock `wasmtime run -S http` with `aci-cli.wasm` (`hosts/wasi-cli`: the plugin composed
/// with the `wasi:cli` adapter and driver), run as the README says: the real `wasmtime` CLI
/// when one is on `PATH`, else `wasi-run` (the same linker: WASI p2 and wasi-http only),
/// with `--dir SCRATCH` (so the absolute paths of task and group files resolve) and
/// `--env AIRFLOW_CONN_AZURE_DEFAULT`. Compiled code is cached under `target/tmp/`
/// (`XDG_CACHE_HOME`, which both programs' caches follow).
pub struct WasiCliHost;

impl WasiCliHost {
    /// The program that runs `aci-cli.wasm` (printed once): `wasmtime` on `PATH`, else
    /// `wasi-run` next to `aci-host` (built by `cargo test --workspace`, or `cargo build
    /// -p aci-cli`).
    pub fn runtime() -> &'static Path {
        static RUNTIME: OnceLock<PathBuf> = OnceLock::new();
        RUNTIME.get_or_init(|| {
            let real = std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|p| p.join("wasmtime"))
                    .find(|p| p.is_file())
            });
            match real {
                Some(real) => {
                    say(&format!(
                        "wasi-cli host: the real wasmtime CLI, {}",
                        real.display()
                    ));
                    real
                }
                None => {
                    let bin = crate::aci_host_bin().with_file_name("wasi-run");
                    assert!(
                        bin.is_file(),
                        "{} is missing: `cargo build -p aci-cli` (or run `cargo test --workspace`)",
                        bin.display()
                    );
                    say(&format!(
                        "wasi-cli host: no wasmtime on PATH, {} (what `wasmtime run` links)",
                        bin.display()
                    ));
                    bin
                }
            }
        })
    }

    /// Compiles `aci-cli.wasm` once into the runtime's cache (a `describe`), not in every
    /// test at the same time.
    pub fn prepare() {
        static READY: OnceLock<()> = OnceLock::new();
        READY.get_or_init(|| {
            let scratch = tempfile::tempdir().unwrap();
            let out = run_bounded(
                WasiCliHost.command(&["describe"], scratch.path()),
                Duration::from_secs(300),
            );
            assert!(
                out.status.success(),
                "{} cannot run aci-cli.wasm:\n{}",
                Self::runtime().display(),
                text(&out.stderr)
            );
        });
    }
}

impl Host for WasiCliHost {
    fn name(&self) -> &'static str {
        "wasi-cli"
    }

    fn lacks(&self, feature: Feature) -> Option<&'static str> {
        Some(match feature {
            Feature::OtherComponents => "aci-cli.wasm embeds its plugin at build time",
            Feature::Cancellation => {
                "nothing cancels a wasi:cli program: SIGTERM kills the runtime (README: \
                 run `on-kill` after an interruption)"
            }
            Feature::OutboundPolicy => {
                "`wasmtime run -S http` reaches any origin (README: restrict egress around \
                 the process)"
            }
            Feature::GuestOutputMasking => {
                "the guest's own stdout/stderr go straight to the runtime's; the adapter \
                 masks only what passes through `runtime`"
            }
        })
    }

    /// `RUNTIME run -S http --dir SCRATCH --env AIRFLOW_CONN_AZURE_DEFAULT aci-cli.wasm
    /// ARGS`, without `--json` (`run` always prints its JSON result). `plugin` must be
    /// [`component`]: this host has no other ([`Feature::OtherComponents`]).
    fn command_with(&self, plugin: &Path, args: &[&str], scratch: &Path) -> HostCommand {
        assert_eq!(
            plugin,
            component(),
            "the wasi-cli host runs only the plugin aci-cli.wasm embeds"
        );
        let mut cmd = HostCommand::new(Self::runtime());
        cmd.args(["run", "-S", "http", "--dir"])
            .arg(scratch)
            .args(["--env", "AIRFLOW_CONN_AZURE_DEFAULT"])
            .arg(aci_cli::ACI_CLI_WASM)
            .args(args.iter().filter(|a| **a != "--json"))
            .current_dir(scratch)
            .env("XDG_CACHE_HOME", target_tmp().join("wasi-cli-cache"));
        cmd
    }

    fn xcom_file(&self, _scratch: &Path) -> Option<PathBuf> {
        None
    }
}

/// Every host the conformance test compares, the reference (`aci-host`) first, then Node
/// and stock wasmtime (`wasi-cli`). The Node host is left out when `ACI_SKIP_NODE=1`;
/// otherwise it is prepared (`npm ci`) here.
pub fn hosts() -> Vec<Box<dyn Host>> {
    let mut all: Vec<Box<dyn Host>> = vec![Box::new(AciHost)];
    if std::env::var("ACI_SKIP_NODE").as_deref() == Ok("1") {
        eprintln!("ACI_SKIP_NODE=1: the Node host is not compared");
    } else {
        NodeHost::prepare();
        all.push(Box::new(NodeHost));
    }
    WasiCliHost::prepare();
    all.push(Box::new(WasiCliHost));
    all
}

/// The hosts of [`hosts`] that support every one of `needs`; each one left out is named on
/// stderr with its reason.
pub fn hosts_supporting(needs: &[Feature]) -> Vec<Box<dyn Host>> {
    hosts()
        .into_iter()
        .filter(|h| {
            let missing: Vec<String> = needs
                .iter()
                .filter_map(|f| h.lacks(*f).map(|why| format!("{f:?}: {why}")))
                .collect();
            if !missing.is_empty() {
                say(&format!("{} skipped: {}", h.name(), missing.join("; ")));
            }
            missing.is_empty()
        })
        .collect()
}

/// A line on this process's stderr that the test harness does not capture (it captures
/// only `eprintln!`), so that every run shows which runtime ran and which host was skipped.
fn say(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
}
