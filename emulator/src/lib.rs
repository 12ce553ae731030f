//! `aci-emulator`: a local emulator of Azure Resource Manager for Container Instances, Entra
//! ID, IMDS and the ACR / Storage key helpers, served on one loopback base URL, so the whole
//! job runs offline. Containers run for real as local processes. `aci-host run --local` and
//! `aci-host emulator` use it; tests start it in-process.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use aci_emulator::{Emulator, EmulatorConfig};
//! let emu = Emulator::start(EmulatorConfig::default()).await?;
//! println!("ARM, Entra ID and IMDS at {}", emu.base_url());
//! emu.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Behaviour worth knowing (the full list is in this crate's `README.md`):
//! * Routes: every ARM route needs `Authorization: Bearer <token issued here>` (else `401`)
//!   and an `api-version` of the form `YYYY-MM-DD[-preview]` (else `400`).
//! * A container's `command` runs as a process (exec form, no shell) in a fresh directory
//!   under the system temp dir, in its own process group, with `PATH`, `HOME`, `LANG`,
//!   `HOSTNAME` plus its `environmentVariables`. A container **without** a `command` (or with
//!   `[]`) logs `emulator: image <image> has no local command; exiting 0` and exits 0.
//! * Provisioning failures selected by image markers (`inaccessible`, `quota`, `nocapacity`)
//!   or `Faults::fail_provisioning` are accepted PUTs whose operation ends `Failed`
//!   (`provisioningState: Failed`), or synchronous 4xx answers with
//!   `Faults::sync_provisioning_errors`.

#![deny(missing_docs)]

mod arm;
mod auth;
mod cli;
mod config;
mod containers;
mod faults;
mod helpers;
mod http;
mod lifecycle;
mod locations;
mod logs;
mod model;
mod process;
mod ratelimit;
mod routes;
mod server;
mod state;
mod stats;
mod validate;
mod ws;

#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use cli::{serve_cli, EmulatorArgs};
pub use config::{EmulatorConfig, Faults, ProvisionFailure, UNHEALTHY_MARKER};
pub use stats::Stats;

use faults::FaultState;
use process::ProcHandle;
use state::Inner;

/// Tenant id the emulator answers for by default (any tenant is accepted unless
/// `EmulatorConfig::tenants` restricts them).
pub const LOCAL_TENANT_ID: &str = "00000000-0000-0000-0000-00000000aaaa";
/// A subscription id to use with the emulator (any subscription id works).
pub const LOCAL_SUBSCRIPTION_ID: &str = "00000000-0000-0000-0000-00000000bbbb";
/// The client id accepted by default on the token endpoint.
pub const LOCAL_CLIENT_ID: &str = "local-client";
/// The client secret of [`LOCAL_CLIENT_ID`] (a fixed, public development credential).
pub const LOCAL_CLIENT_SECRET: &str = "local-secret";

/// A running emulator. Dropping it stops serving and kills every process it started
/// (synchronously, best effort); prefer [`Emulator::shutdown`] in async code.
pub struct Emulator {
    inner: Arc<Inner>,
    shutdown_tx: watch::Sender<bool>,
    server: Option<JoinHandle<()>>,
    stopped: bool,
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator")
            .field("base_url", &self.inner.base_url)
            .finish()
    }
}

impl Emulator {
    /// Binds `127.0.0.1:{config.port}` and starts serving.
    pub async fn start(config: EmulatorConfig) -> std::io::Result<Emulator> {
        let listener = TcpListener::bind(("127.0.0.1", config.port)).await?;
        let port = listener.local_addr()?.port();
        let base_url = format!("http://127.0.0.1:{port}");
        let root = std::env::temp_dir().join(format!(
            "aci-emulator-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&root)?;
        let inner = Arc::new(Inner::new(config, base_url, root));
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let server = tokio::spawn(server::serve(listener, inner.clone(), shutdown_rx));
        Ok(Emulator {
            inner,
            shutdown_tx,
            server: Some(server),
            stopped: false,
        })
    }

    /// `http://127.0.0.1:PORT` (no trailing slash): ARM, Entra ID (`/{tenant}/oauth2/v2.0/token`)
    /// and IMDS (`/metadata/identity/oauth2/token`) all live here.
    pub fn base_url(&self) -> String {
        self.inner.base_url.clone()
    }

    /// Replaces the active faults (burst counters are re-armed).
    pub fn set_faults(&self, faults: Faults) {
        *self.inner.faults() = FaultState::new(faults);
    }

    /// The statistics also served at `GET /_emulator/stats`.
    pub fn stats(&self) -> Stats {
        self.inner.stats()
    }

    /// Same as `POST /_emulator/reset`: kills and reaps every process, forgets all groups,
    /// operations and statistics (tokens and faults are kept). Blocks while processes stop.
    pub fn reset(&self) {
        let procs = self.inner.reset();
        terminate_blocking(&procs, self.inner.config.kill_grace);
        self.inner.clean_root_dir(true);
    }

    /// Stops serving, kills and reaps every process it started, removes its directories.
    pub async fn shutdown(mut self) {
        self.stopped = true;
        let _ = self.shutdown_tx.send(true);
        let procs = self.take_everything();
        let grace = self.inner.config.kill_grace;
        let mut set = tokio::task::JoinSet::new();
        for p in procs {
            set.spawn(async move { p.terminate(grace).await });
        }
        while set.join_next().await.is_some() {}
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
        let inner = self.inner.clone();
        let _ = tokio::task::spawn_blocking(move || inner.clean_root_dir(false)).await;
    }

    fn take_everything(&self) -> Vec<ProcHandle> {
        let mut w = self.inner.world();
        w.shutting_down = true;
        w.clear()
    }
}

/// Terminates processes from synchronous code: SIGTERM to all, SIGKILL after `grace`, and
/// waits (bounded) for each to be reaped.
fn terminate_blocking(procs: &[ProcHandle], grace: Duration) {
    for p in procs {
        p.signal_group(libc::SIGTERM);
    }
    let deadline = std::time::Instant::now() + grace;
    for p in procs {
        p.wait_blocking(deadline.saturating_duration_since(std::time::Instant::now()));
    }
    for p in procs {
        if p.exit().is_none() {
            p.terminate_blocking(Duration::ZERO);
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if self.stopped {
            return;
        }
        let _ = self.shutdown_tx.send(true);
        if let Some(server) = self.server.take() {
            server.abort();
        }
        let procs = self.take_everything();
        terminate_blocking(&procs, self.inner.config.kill_grace);
        self.inner.clean_root_dir(false);
    }
}
