//! Emulator configuration and the injectable faults.

use std::path::PathBuf;
use std::time::Duration;

/// How the emulator is set up when it starts.
///
/// Everything has a sensible default (`EmulatorConfig::default()`): an ephemeral port, plain
/// http, a 300 ms provisioning delay, every resource group existing, one client
/// ([`crate::LOCAL_CLIENT_ID`]) with a random secret made for this configuration, no IMDS and no
/// faults.
#[derive(Clone)]
pub struct EmulatorConfig {
    /// TCP port on 127.0.0.1; `0` picks an ephemeral one.
    pub port: u16,
    /// Time a deployment spends in `Pending` + `Creating` (half each) before its containers start.
    pub provision_delay: Duration,
    /// `None`: every resource group exists. `Some(list)`: only these (case-insensitive) exist;
    /// the others answer `404 ResourceGroupNotFound`.
    pub resource_groups: Option<Vec<String>>,
    /// The secret of [`crate::LOCAL_CLIENT_ID`] on the Entra ID token endpoint and of the
    /// `/_emulator/*` control routes (`Authorization: Bearer <secret>`). `Default` makes a
    /// random one; [`crate::Emulator::credentials`] tells it.
    pub client_secret: String,
    /// More accepted `(client_id, client_secret)` pairs on the token endpoint.
    pub credentials: Vec<(String, String)>,
    /// Client ids allowed to authenticate with a certificate assertion (a well-formed JWT with
    /// `iss` = `sub` = client id and `aud` ending in `/{tenant}/oauth2/v2.0/token`; the signature
    /// is **not** checked, so anyone who can reach the emulator can sign in as them). None by
    /// default.
    pub certificate_clients: Vec<String>,
    /// Client ids allowed to authenticate with a federated (workload identity) assertion: any
    /// non-empty `client_assertion` is accepted for them (so, again, by anyone). None by
    /// default.
    pub federated_clients: Vec<String>,
    /// Serve the managed identity endpoint (IMDS, `GET /metadata/identity/oauth2/token` with
    /// `Metadata: true`). IMDS has no secret by nature: with it on, any local process that can
    /// reach the port gets a token. Off by default.
    pub imds: bool,
    /// Serve https (see [`TlsSetup`]) instead of plain http.
    pub tls: Option<TlsSetup>,
    /// The URL clients use when the emulator sits behind a proxy (`https://host[:port]`): its
    /// `host[:port]` is accepted in the `Host` header, and requests that come with it get
    /// URLs (`Azure-AsyncOperation`, `Location`, `nextLink`, …) under this URL.
    pub public_url: Option<String>,
    /// Append one JSON line per request to this file (time, method, path, query, status, kind,
    /// ms, client request id; never a body, a header or a secret).
    pub request_log: Option<PathBuf>,
    /// `None`: any tenant is accepted on the token endpoint. `Some(list)`: only these.
    pub tenants: Option<Vec<String>>,
    /// Lifetime of issued access tokens (Entra ID and IMDS); ARM answers
    /// `401 ExpiredAuthenticationToken` for a token used after it.
    pub token_lifetime: Duration,
    /// Faults active from the start (changeable at runtime with `Emulator::set_faults`).
    pub faults: Faults,
    /// Number of container groups per list page before a `nextLink` is returned.
    pub page_size: usize,
    /// First back-off before a container is restarted by its restart policy; doubles on every
    /// restart up to `restart_backoff_max`.
    pub restart_backoff: Duration,
    /// Upper bound of the restart back-off.
    pub restart_backoff_max: Duration,
    /// Grace period between SIGTERM and SIGKILL when a container process group is stopped.
    pub kill_grace: Duration,
    /// Maximum number of log lines kept per container (older lines are dropped, with a note).
    pub max_log_lines: usize,
    /// Precision of the log line timestamps: lines read within the same tick share one
    /// timestamp, as on ACI (whose clock is coarser than nanoseconds).
    pub log_timestamp_precision: TimestampPrecision,
    /// DELETE answers `200` with the group once its processes are gone (deletion done at once)
    /// instead of `202` + `Azure-AsyncOperation` with the group `Deleting` for a while.
    pub sync_delete: bool,
    /// How long a group stays `Deleting` after its processes are gone (asynchronous DELETE).
    pub delete_delay: Duration,
}

impl std::fmt::Debug for EmulatorConfig {
    /// Every field, secrets as `***`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let extra: Vec<(&str, &str)> = self
            .credentials
            .iter()
            .map(|(id, _)| (id.as_str(), "***"))
            .collect();
        f.debug_struct("EmulatorConfig")
            .field("port", &self.port)
            .field("provision_delay", &self.provision_delay)
            .field("resource_groups", &self.resource_groups)
            .field("client_secret", &"***")
            .field("credentials", &extra)
            .field("certificate_clients", &self.certificate_clients)
            .field("federated_clients", &self.federated_clients)
            .field("imds", &self.imds)
            .field("tls", &self.tls)
            .field("public_url", &self.public_url)
            .field("request_log", &self.request_log)
            .field("tenants", &self.tenants)
            .field("token_lifetime", &self.token_lifetime)
            .field("faults", &self.faults)
            .field("page_size", &self.page_size)
            .field("restart_backoff", &self.restart_backoff)
            .field("restart_backoff_max", &self.restart_backoff_max)
            .field("kill_grace", &self.kill_grace)
            .field("max_log_lines", &self.max_log_lines)
            .field("log_timestamp_precision", &self.log_timestamp_precision)
            .field("sync_delete", &self.sync_delete)
            .field("delete_delay", &self.delete_delay)
            .finish()
    }
}

/// How the emulator gets its https certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TlsSetup {
    /// A CA and a server certificate made at start (ECDSA P-256, SANs `127.0.0.1`,
    /// `localhost`, `::1`, plus the public URL's host); the CA's PEM is written to a file
    /// ([`crate::Emulator::ca_cert_path`]) for `REQUESTS_CA_BUNDLE` / `SSL_CERT_FILE`,
    /// removed at shutdown.
    Generate,
    /// A certificate chain and its private key from PEM files.
    Files {
        /// The certificate chain (PEM), leaf first.
        cert: PathBuf,
        /// The private key (PEM: PKCS#8, PKCS#1 or SEC1).
        key: PathBuf,
    },
}

/// Precision of container log timestamps (`timestamps=true`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TimestampPrecision {
    /// Whole seconds (`2026-11-23T10:00:00Z`).
    Seconds,
    /// Milliseconds (`…:00.123Z`).
    Millis,
    /// Microseconds (`…:00.123456Z`).
    Micros,
    /// Nanoseconds (`…:00.123456789Z`), the default.
    #[default]
    Nanos,
}

impl TimestampPrecision {
    /// Parses `s`, `ms`, `us` or `ns`.
    pub fn parse(s: &str) -> Option<TimestampPrecision> {
        match s {
            "s" => Some(TimestampPrecision::Seconds),
            "ms" => Some(TimestampPrecision::Millis),
            "us" => Some(TimestampPrecision::Micros),
            "ns" => Some(TimestampPrecision::Nanos),
            _ => None,
        }
    }

    /// Nanoseconds in one tick.
    pub(crate) fn tick_nanos(self) -> u32 {
        match self {
            TimestampPrecision::Seconds => 1_000_000_000,
            TimestampPrecision::Millis => 1_000_000,
            TimestampPrecision::Micros => 1_000,
            TimestampPrecision::Nanos => 1,
        }
    }

    /// The RFC 3339 fraction format.
    pub(crate) fn format(self) -> chrono::SecondsFormat {
        match self {
            TimestampPrecision::Seconds => chrono::SecondsFormat::Secs,
            TimestampPrecision::Millis => chrono::SecondsFormat::Millis,
            TimestampPrecision::Micros => chrono::SecondsFormat::Micros,
            TimestampPrecision::Nanos => chrono::SecondsFormat::Nanos,
        }
    }
}

/// A random client secret (32 random bytes, URL-safe base64).
pub(crate) fn random_secret() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut b = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            port: 0,
            provision_delay: Duration::from_millis(300),
            resource_groups: None,
            client_secret: random_secret(),
            credentials: Vec::new(),
            certificate_clients: Vec::new(),
            federated_clients: Vec::new(),
            imds: false,
            tls: None,
            public_url: None,
            request_log: None,
            tenants: None,
            token_lifetime: Duration::from_secs(3600),
            faults: Faults::default(),
            page_size: 100,
            restart_backoff: Duration::from_millis(200),
            restart_backoff_max: Duration::from_secs(5),
            kill_grace: Duration::from_millis(1000),
            max_log_lines: 100_000,
            log_timestamp_precision: TimestampPrecision::Nanos,
            sync_delete: false,
            delete_delay: Duration::from_millis(300),
        }
    }
}

/// A provisioning failure the emulator can inject into a deployment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProvisionFailure {
    /// `InaccessibleImage` (HTTP 400 when synchronous): the image cannot be pulled.
    InaccessibleImage,
    /// `ContainerGroupQuotaReached` (HTTP 400 when synchronous): core quota exceeded.
    QuotaReached,
    /// `ServiceUnavailable` (HTTP 409 when synchronous): no capacity in the region.
    NoCapacity,
    /// A volume cannot be mounted: the images are pulled, then a `FailedMount` event
    /// (`Output: mount error(2): Permission denied`), as the recorded `ContainerGroupsGet_Failed`
    /// example. Always asynchronous (ACI reports mount errors only in events).
    MountFailed,
}

impl ProvisionFailure {
    /// The image-name marker that selects this failure (case-insensitive substring).
    pub fn marker(self) -> &'static str {
        match self {
            ProvisionFailure::InaccessibleImage => "inaccessible",
            ProvisionFailure::QuotaReached => "quota",
            ProvisionFailure::NoCapacity => "nocapacity",
            ProvisionFailure::MountFailed => "failedmount",
        }
    }

    /// The ARM error code.
    pub fn code(self) -> &'static str {
        match self {
            ProvisionFailure::InaccessibleImage => "InaccessibleImage",
            ProvisionFailure::QuotaReached => "ContainerGroupQuotaReached",
            ProvisionFailure::NoCapacity => "ServiceUnavailable",
            ProvisionFailure::MountFailed => "FailedMount",
        }
    }

    /// False for failures ACI only reports asynchronously (a mount error).
    pub fn can_be_synchronous(self) -> bool {
        self != ProvisionFailure::MountFailed
    }

    /// The HTTP status of the synchronous form.
    pub fn status(self) -> u16 {
        match self {
            ProvisionFailure::NoCapacity => 409,
            _ => 400,
        }
    }

    /// Parses `inaccessible|quota|nocapacity|failedmount` (or the ARM code).
    pub fn parse(s: &str) -> Option<ProvisionFailure> {
        let all = [
            ProvisionFailure::InaccessibleImage,
            ProvisionFailure::QuotaReached,
            ProvisionFailure::NoCapacity,
            ProvisionFailure::MountFailed,
        ];
        all.into_iter()
            .find(|f| f.marker().eq_ignore_ascii_case(s) || f.code().eq_ignore_ascii_case(s))
    }

    /// Finds the failure selected by markers in an image name.
    pub fn from_image(image: &str) -> Option<ProvisionFailure> {
        let lower = image.to_ascii_lowercase();
        // "nocapacity" before anything shorter that could be a substring of it.
        [
            ProvisionFailure::NoCapacity,
            ProvisionFailure::MountFailed,
            ProvisionFailure::InaccessibleImage,
            ProvisionFailure::QuotaReached,
        ]
        .into_iter()
        .find(|f| lower.contains(f.marker()))
    }
}

/// Image-name marker that puts a group into the unhealthy / Spot eviction loop.
pub const UNHEALTHY_MARKER: &str = "unhealthy";

/// Faults injected into the emulator's answers. `Faults::default()` injects nothing.
///
/// Request faults (throttling, 5xx, connection reset, latency) apply to ARM requests
/// (`/subscriptions/…`, `/providers/…`), and also to the Entra ID token endpoint and IMDS when
/// `include_auth` is set; never to `/_emulator/…`. Burst counters count down as requests consume
/// them; `set_faults` re-arms them.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    /// Answer every Nth faultable request with `429 TooManyRequests` (counting from when the
    /// faults were set).
    pub throttle_every: Option<u64>,
    /// Answer the next N faultable requests with `429 TooManyRequests`.
    pub throttle_burst: u32,
    /// `Retry-After` seconds sent with injected 429s (0 is sent as 1).
    pub retry_after_secs: u64,
    /// Answer the next N faultable requests with a server error.
    pub error_burst: u32,
    /// Status of the injected server errors (500 `InternalServerError`, 502, 503
    /// `ServiceUnavailable`, 504 `GatewayTimeout`); 0 means 500.
    pub error_status: u16,
    /// Drop the connection (TCP reset, no response) on the next N faultable requests.
    pub reset_burst: u32,
    /// Delay every faultable response by this much (see `latency_burst`).
    pub latency: Option<Duration>,
    /// When non-zero, `latency` delays only the next N faultable responses (a burst of slow
    /// answers, e.g. slower than a client's request timeout, then normal ones).
    pub latency_burst: u32,
    /// Fail every new deployment's provisioning with this error (in addition to image markers
    /// `inaccessible`, `quota`, `nocapacity`, which always apply).
    pub fail_provisioning: Option<ProvisionFailure>,
    /// Provisioning failures are answered synchronously on the PUT (4xx, nothing created) as
    /// Azure often does, instead of an accepted PUT whose operation ends `Failed`.
    pub sync_provisioning_errors: bool,
    /// Evict every running group after it has run this long: processes killed, provisioning
    /// `Unhealthy` → `Repairing` → `Succeeded` with the containers started again (their
    /// restartCount grows by one), and again after the same time (a loop). Groups whose image
    /// contains `unhealthy` always loop (every `evict_after`, default 1 s).
    pub evict_after: Option<Duration>,
    /// Delete every group (as if by someone else) after its containers have run this long.
    pub delete_after: Option<Duration>,
    /// Tokens issued while this is set stop being accepted after this long, although
    /// `expires_in` still announces the full lifetime (a revoked / early-expired token).
    pub token_expiry: Option<Duration>,
    /// Tokens issued while this is set are accepted for this many ARM requests, then refused
    /// as expired (`401 ExpiredAuthenticationToken`) however long they still had to live: a
    /// token expiring mid-run at a point that does not depend on timing.
    pub token_uses: Option<u32>,
    /// Enforce the ARM token buckets (by default ARM's: reads 250 + 25/s, writes and deletes
    /// 200 + 10/s; see `rate_limits`): a request finding its bucket empty gets `429` with the
    /// `Retry-After` to the next token.
    pub enforce_rate_limits: bool,
    /// The sizes of the ARM token buckets (enforced with `enforce_rate_limits`, else only
    /// reported in the `x-ms-ratelimit-remaining-*` headers).
    pub rate_limits: RateLimits,
    /// Also inject request faults into the Entra ID token endpoint and IMDS.
    pub include_auth: bool,
}

/// ARM's token buckets, per operation kind: `(capacity, refill per second)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateLimits {
    /// `GET`s.
    pub reads: (f64, f64),
    /// `PUT`, `PATCH`, `POST`.
    pub writes: (f64, f64),
    /// `DELETE`s.
    pub deletes: (f64, f64),
}

impl Default for RateLimits {
    /// ARM's per-subscription buckets: reads 250 + 25/s, writes and deletes 200 + 10/s.
    fn default() -> Self {
        RateLimits {
            reads: (250.0, 25.0),
            writes: (200.0, 10.0),
            deletes: (200.0, 10.0),
        }
    }
}

impl RateLimits {
    /// Applies `KIND=CAPACITY/RATE` (`reads`, `writes` or `deletes`, e.g. `reads=20/5`).
    pub fn set(&mut self, spec: &str) -> Result<(), String> {
        let bad = || format!("`{spec}` is not KIND=CAPACITY/RATE (KIND reads, writes or deletes)");
        let (kind, limit) = spec.split_once('=').ok_or_else(bad)?;
        let (cap, rate) = limit.split_once('/').ok_or_else(bad)?;
        let cap: f64 = cap.trim().parse().map_err(|_| bad())?;
        let rate: f64 = rate.trim().parse().map_err(|_| bad())?;
        if !(cap.is_finite() && cap >= 1.0 && rate.is_finite() && rate > 0.0) {
            return Err(bad());
        }
        let slot = match kind.trim() {
            "reads" => &mut self.reads,
            "writes" => &mut self.writes,
            "deletes" => &mut self.deletes,
            _ => return Err(bad()),
        };
        *slot = (cap, rate);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_select_failures() {
        assert_eq!(
            ProvisionFailure::from_image("myreg.azurecr.io/inaccessible:1"),
            Some(ProvisionFailure::InaccessibleImage)
        );
        assert_eq!(
            ProvisionFailure::from_image("QUOTA-test"),
            Some(ProvisionFailure::QuotaReached)
        );
        assert_eq!(
            ProvisionFailure::from_image("alpine-nocapacity"),
            Some(ProvisionFailure::NoCapacity)
        );
        assert_eq!(ProvisionFailure::from_image("alpine:3"), None);
        assert_eq!(
            ProvisionFailure::from_image("nginx-failedmount"),
            Some(ProvisionFailure::MountFailed)
        );
        assert!(!ProvisionFailure::MountFailed.can_be_synchronous());
        assert_eq!(
            ProvisionFailure::parse("quota"),
            Some(ProvisionFailure::QuotaReached)
        );
        assert_eq!(
            ProvisionFailure::parse("ServiceUnavailable"),
            Some(ProvisionFailure::NoCapacity)
        );
        assert_eq!(ProvisionFailure::parse("bogus"), None);
    }

    #[test]
    fn defaults_are_quiet() {
        let c = EmulatorConfig::default();
        assert_eq!(c.port, 0);
        assert_eq!(c.page_size, 100);
        assert!(c.faults.throttle_every.is_none());
        assert!(c.credentials.is_empty() && c.certificate_clients.is_empty());
        assert!(!c.imds && c.tls.is_none() && !c.sync_delete);
        assert!(c.client_secret.len() >= 40);
        assert_ne!(
            c.client_secret,
            EmulatorConfig::default().client_secret,
            "random per configuration"
        );
    }

    #[test]
    fn debug_hides_secrets() {
        let c = EmulatorConfig {
            credentials: vec![("app".into(), "pw-extra".into())],
            ..EmulatorConfig::default()
        };
        let text = format!("{c:?}");
        assert!(!text.contains(&c.client_secret) && !text.contains("pw-extra"));
        assert!(text.contains("app"));
    }

    #[test]
    fn timestamp_precisions() {
        assert_eq!(
            TimestampPrecision::parse("ms"),
            Some(TimestampPrecision::Millis)
        );
        assert_eq!(TimestampPrecision::parse("min"), None);
        assert_eq!(TimestampPrecision::default(), TimestampPrecision::Nanos);
        assert_eq!(TimestampPrecision::Seconds.tick_nanos(), 1_000_000_000);
    }
}
