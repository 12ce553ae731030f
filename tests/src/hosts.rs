//! The hosts the conformance test (`tests/conformance.rs`) runs the component through, all
//! driven the same way: a command line taking the contract's commands (`run FILE --json`,
//! `hook METHOD …`, `describe`), loading the same component file.
//!
//! Adding a host means one more [`Host`] implementation and one more entry in [`hosts`].

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use crate::cli::{root, text};
use crate::clients::{digest, run_bounded, target_tmp};

/// One way to run the component.
pub trait Host: Send + Sync {
    /// Its name in messages.
    fn name(&self) -> &'static str;
    /// The command for `args` (e.g. `["run", "task.json", "--json"]`) with component
    /// `plugin`, and the host's own options added: private caches, and for `run` its XCom
    /// store under `scratch`.
    fn command_with(&self, plugin: &Path, args: &[&str], scratch: &Path) -> Command;
    /// [`Host::command_with`] the ACI component ([`component`]).
    fn command(&self, args: &[&str], scratch: &Path) -> Command {
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

    fn command_with(&self, plugin: &Path, args: &[&str], scratch: &Path) -> Command {
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

    fn command_with(&self, plugin: &Path, args: &[&str], scratch: &Path) -> Command {
        let mut cmd = Command::new("node");
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

/// Every host the conformance test compares, the reference (`aci-host`) first. The Node
/// host is left out when `ACI_SKIP_NODE=1`; otherwise it is prepared (`npm ci`) here.
pub fn hosts() -> Vec<Box<dyn Host>> {
    let mut all: Vec<Box<dyn Host>> = vec![Box::new(AciHost)];
    if std::env::var("ACI_SKIP_NODE").as_deref() == Ok("1") {
        eprintln!("ACI_SKIP_NODE=1: the Node host is not compared");
    } else {
        NodeHost::prepare();
        all.push(Box::new(NodeHost));
    }
    all
}
