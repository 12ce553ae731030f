//! `aci-emulator`: a local emulator of Azure Resource Manager for Container Instances, Entra
//! ID, IMDS and the ACR / Storage key helpers, served on one loopback base URL, so the whole
//! job runs offline. Containers run for real as local processes. `aci-host run --local` and
//! `aci-host emulator` use it; tests start it in-process.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use aci_emulator::{Emulator, EmulatorConfig};
//! let emu = Emulator::start(EmulatorConfig::default()).await?;
//! println!("ARM and Entra ID at {}", emu.base_url());
//! let creds = emu.credentials(); // tenant, client id, its random secret, subscription
//! emu.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Behaviour worth knowing (the full list is in this crate's `README.md`):
//! * Locked down: only `Host: 127.0.0.1:PORT` / `localhost:PORT` (or the public URL's host)
//!   is answered (else `421`); the token endpoint needs the instance's random client secret
//!   ([`Emulator::credentials`]); IMDS is off unless [`EmulatorConfig::imds`]; the
//!   `/_emulator/*` control routes need `Authorization: Bearer <client secret>`.
//! * Routes: every ARM route needs `Authorization: Bearer <token issued here>` (else `401`)
//!   and an `api-version` of the form `YYYY-MM-DD[-preview]` (else `400`).
//! * https with [`EmulatorConfig::tls`]; every URL handed out uses the scheme and host the
//!   request came in on (or [`EmulatorConfig::public_url`]).
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
mod credentials;
mod deletion;
mod discovery;
mod faults;
mod helpers;
mod http;
mod lifecycle;
mod locations;
mod logs;
mod model;
mod origin;
mod process;
mod ratelimit;
mod reqlog;
mod restart;
mod routes;
mod server;
mod state;
mod stats;
mod subscriptions;
mod tls;
mod validate;
mod ws;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use cli::{credentials_line, serve_cli, EmulatorArgs};
pub use config::{
    EmulatorConfig, Faults, ProvisionFailure, RateLimits, TimestampPrecision, TlsSetup,
    UNHEALTHY_MARKER,
};
pub use credentials::Credentials;
pub use stats::Stats;

use faults::FaultState;
use process::ProcHandle;
use state::Inner;

/// Tenant id the emulator answers for by default (any tenant is accepted unless
/// `EmulatorConfig::tenants` restricts them).
pub const LOCAL_TENANT_ID: &str = "00000000-0000-0000-0000-00000000aaaa";
/// A subscription id to use with the emulator (any subscription id works).
pub const LOCAL_SUBSCRIPTION_ID: &str = "00000000-0000-0000-0000-00000000bbbb";
/// The client id accepted on the token endpoint (its secret is random per instance:
/// [`Emulator::credentials`]).
pub const LOCAL_CLIENT_ID: &str = "local-client";

/// A running emulator. Dropping it stops serving and kills every process it started
/// (synchronously, best effort); prefer [`Emulator::shutdown`] in async code.
pub struct Emulator {
    inner: Arc<Inner>,
    shutdown_tx: watch::Sender<bool>,
    server: Option<JoinHandle<()>>,
    stopped: bool,
    /// Where the generated CA lives (removed at shutdown).
    tls_dir: Option<PathBuf>,
    ca_file: Option<PathBuf>,
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator")
            .field("base_url", &self.inner.base_url)
            .finish()
    }
}

impl Emulator {
    /// Binds `127.0.0.1:{config.port}` and starts serving (https with `config.tls`). Fails
    /// on an invalid public URL, unusable certificate files or request log.
    pub async fn start(config: EmulatorConfig) -> std::io::Result<Emulator> {
        let invalid = |e: String| std::io::Error::new(std::io::ErrorKind::InvalidInput, e);
        let public_host = match &config.public_url {
            Some(u) => {
                origin::parse_public_url(u).map_err(invalid)?;
                url::Url::parse(u)
                    .ok()
                    .and_then(|u| u.host_str().map(String::from))
            }
            None => None,
        };
        let request_log = config
            .request_log
            .as_deref()
            .map(reqlog::RequestLog::open)
            .transpose()?;
        let unique = format!("{}-{}", std::process::id(), uuid::Uuid::new_v4().simple());
        let tls_dir = std::env::temp_dir().join(format!("aci-emulator-tls-{unique}"));
        let tls = match &config.tls {
            Some(setup) => Some(tls::setup(setup, public_host.as_deref(), &tls_dir)?),
            None => None,
        };
        let listener = TcpListener::bind(("127.0.0.1", config.port)).await?;
        let port = listener.local_addr()?.port();
        let scheme = if tls.is_some() { "https" } else { "http" };
        let base_url = format!("{scheme}://127.0.0.1:{port}");
        let root = std::env::temp_dir().join(format!("aci-emulator-{unique}"));
        std::fs::create_dir_all(&root)?;
        let mut inner = Inner::new(config, base_url, root);
        inner.request_log = request_log;
        let inner = Arc::new(inner);
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let ca_file = tls.as_ref().and_then(|t| t.ca_file.clone());
        let acceptor = tls.map(|t| t.acceptor);
        let server = tokio::spawn(server::serve(
            listener,
            inner.clone(),
            shutdown_rx,
            acceptor,
        ));
        Ok(Emulator {
            inner,
            shutdown_tx,
            server: Some(server),
            stopped: false,
            tls_dir: ca_file.as_ref().map(|_| tls_dir),
            ca_file,
        })
    }

    /// `http://127.0.0.1:PORT`, or `https://…` with TLS (no trailing slash): ARM, Entra ID
    /// (`/{tenant}/oauth2/v2.0/token` and its discovery documents) and IMDS
    /// (`/metadata/identity/oauth2/token`) all live here.
    pub fn base_url(&self) -> String {
        self.inner.base_url.clone()
    }

    /// The credentials this instance accepts: tenant, client id, the client secret (random
    /// unless configured) and a subscription id.
    pub fn credentials(&self) -> Credentials {
        Credentials {
            tenant_id: LOCAL_TENANT_ID.to_string(),
            client_id: LOCAL_CLIENT_ID.to_string(),
            client_secret: self.inner.config.client_secret.clone(),
            subscription_id: LOCAL_SUBSCRIPTION_ID.to_string(),
        }
    }

    /// The PEM file of the CA that signed the generated certificate ([`TlsSetup::Generate`]),
    /// for `REQUESTS_CA_BUNDLE` / `SSL_CERT_FILE`; removed at shutdown.
    pub fn ca_cert_path(&self) -> Option<&Path> {
        self.ca_file.as_deref()
    }

    /// Replaces the active faults (burst counters are re-armed).
    pub fn set_faults(&self, faults: Faults) {
        let limits = faults.rate_limits;
        let changed = self.inner.faults().faults.rate_limits != limits;
        *self.inner.faults() = FaultState::new(faults);
        if changed {
            *self.inner.limits() = ratelimit::RateLimiter::new(limits);
        }
    }

    /// Restarts the service behind the endpoint, as a deployment or failover of ARM's and
    /// Entra ID's front ends looks to a client: every open connection is reset (requests in
    /// flight get no answer), and for `down_for` every request is answered with a connection
    /// reset (counted with status `0` under its operation, as an injected reset); then the
    /// same state answers again. Groups, their running containers, operations, tokens and
    /// faults are kept: ARM's state is not in its front ends. Returns at once.
    pub fn restart(&self, down_for: Duration) {
        self.inner.restarts.begin(down_for);
    }

    /// Ends the down time of a [`Emulator::restart`] now: requests are answered again.
    pub fn end_restart(&self) {
        self.inner.restarts.end();
    }

    /// The statistics also served at `GET /_emulator/stats`.
    pub fn stats(&self) -> Stats {
        self.inner.stats()
    }

    /// Waits at most `timeout` until no container group exists and no container process runs
    /// ([`Stats::nothing_live`]; a DELETE answers `202` before its group is gone); true if so.
    /// Checks every 20 ms.
    pub async fn wait_until_empty(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if self.stats().nothing_live() {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
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
        let tls_dir = self.tls_dir.take();
        let _ = tokio::task::spawn_blocking(move || {
            inner.clean_root_dir(false);
            remove_tls_dir(tls_dir);
        })
        .await;
    }

    fn take_everything(&self) -> Vec<ProcHandle> {
        let mut w = self.inner.world();
        w.shutting_down = true;
        w.clear()
    }
}

/// Removes the generated CA's directory.
fn remove_tls_dir(dir: Option<PathBuf>) {
    if let Some(d) = dir {
        let _ = std::fs::remove_dir_all(d);
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
        remove_tls_dir(self.tls_dir.take());
    }
}
