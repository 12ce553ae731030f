//! `aci-host emulator`: the emulator as a standalone program.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use super::config::{EmulatorConfig, Faults, ProvisionFailure, TimestampPrecision, TlsSetup};
use super::Emulator;

/// Options of `aci-host emulator`.
#[derive(clap::Args, Debug, Clone)]
pub struct EmulatorArgs {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Seconds a deployment spends in Pending + Creating before its containers start.
    #[arg(long, value_name = "SECS", default_value_t = 0.3)]
    pub provision_delay: f64,
    /// A resource group that exists (repeatable; without it every resource group exists).
    #[arg(long = "resource-group", value_name = "NAME")]
    pub resource_groups: Vec<String>,
    /// An extra accepted client credential, `CLIENT_ID:SECRET` (repeatable; the instance's own
    /// random credential, printed on the second stdout line, is always accepted).
    #[arg(long = "credential", value_name = "ID:SECRET")]
    pub credentials: Vec<String>,
    /// A client id that may sign in with a certificate assertion, UNVERIFIED: anyone who can
    /// reach the port can then get a token as it (repeatable; for tests).
    #[arg(long = "certificate-client", value_name = "ID")]
    pub certificate_clients: Vec<String>,
    /// A client id that may sign in with any federated (workload identity) assertion,
    /// UNVERIFIED: anyone who can reach the port can then get a token as it (repeatable).
    #[arg(long = "federated-client", value_name = "ID")]
    pub federated_clients: Vec<String>,
    /// Serve the managed identity endpoint (IMDS): it has no secret, so any local process
    /// that can reach the port gets a token.
    #[arg(long)]
    pub imds: bool,
    /// Serve https with a certificate made at start; its CA's PEM file is `ca_cert` in the
    /// JSON on the second stdout line (for REQUESTS_CA_BUNDLE / SSL_CERT_FILE).
    #[arg(long)]
    pub tls: bool,
    /// Serve https with this certificate chain (PEM; with --key).
    #[arg(long, value_name = "FILE", requires = "key")]
    pub cert: Option<PathBuf>,
    /// The private key (PEM) of --cert.
    #[arg(long, value_name = "FILE", requires = "cert")]
    pub key: Option<PathBuf>,
    /// The URL clients use when the emulator sits behind a proxy (scheme://host[:port]): its
    /// host is accepted and the URLs handed out to requests through it use it.
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
    /// Append one JSON line per request to FILE (no bodies, headers or secrets).
    #[arg(long, value_name = "FILE")]
    pub request_log: Option<PathBuf>,
    /// Precision of container log timestamps: ns, us, ms or s (coarser: lines share stamps).
    #[arg(long, value_name = "P", default_value = "ns")]
    pub log_timestamp_precision: String,
    /// DELETE answers 200 once the group is gone, instead of 202 + Azure-AsyncOperation.
    #[arg(long)]
    pub sync_delete: bool,
    /// Seconds a group stays Deleting after its processes are gone (asynchronous DELETE).
    #[arg(long, value_name = "SECS", default_value_t = 0.3)]
    pub delete_delay: f64,
    /// Lifetime of issued access tokens, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 3600)]
    pub token_lifetime: u64,
    /// Container groups per list page (then `nextLink`).
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub page_size: usize,
    /// Fault: answer every Nth ARM request with 429 TooManyRequests.
    #[arg(long, value_name = "N")]
    pub throttle_every: Option<u64>,
    /// Fault: answer the next N ARM requests with 429 TooManyRequests.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub throttle_burst: u32,
    /// Retry-After seconds sent with injected 429s.
    #[arg(long, value_name = "SECS", default_value_t = 1)]
    pub retry_after: u64,
    /// Fault: answer the next N ARM requests with a server error.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub error_burst: u32,
    /// Status of injected server errors (500, 502, 503 or 504).
    #[arg(long, value_name = "STATUS", default_value_t = 500)]
    pub error_status: u16,
    /// Fault: reset the connection (no answer) on the next N ARM requests.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub reset_burst: u32,
    /// Fault: delay every ARM answer by this many seconds.
    #[arg(long, value_name = "SECS")]
    pub latency: Option<f64>,
    /// Fault: with --latency, delay only the next N ARM answers.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub latency_burst: u32,
    /// Fault: fail every deployment's provisioning: inaccessible | quota | nocapacity | failedmount.
    #[arg(long, value_name = "KIND")]
    pub fail_provisioning: Option<String>,
    /// Answer provisioning failures synchronously on the PUT (4xx) instead of a Failed operation.
    #[arg(long)]
    pub sync_provisioning_errors: bool,
    /// Fault: evict running groups after this many seconds (Unhealthy → Repairing → rerun), in a loop.
    #[arg(long, value_name = "SECS")]
    pub evict_after: Option<f64>,
    /// Fault: delete running groups (as someone else would) after this many seconds.
    #[arg(long, value_name = "SECS")]
    pub delete_after: Option<f64>,
    /// Fault: issued tokens stop working after this many seconds (expires_in is unchanged).
    #[arg(long, value_name = "SECS")]
    pub token_expiry: Option<f64>,
    /// Fault: issued tokens are accepted for N ARM requests, then refused as expired.
    #[arg(long, value_name = "N")]
    pub token_uses: Option<u32>,
    /// Enforce ARM's token buckets (reads 250 + 25/s, writes/deletes 200 + 10/s) with 429s.
    #[arg(long)]
    pub enforce_rate_limits: bool,
    /// Another size for one of ARM's token buckets: `KIND=CAPACITY/RATE` with KIND `reads`,
    /// `writes` or `deletes` (e.g. `reads=20/5`). Repeatable.
    #[arg(long = "rate-limit", value_name = "KIND=CAPACITY/RATE")]
    pub rate_limits: Vec<String>,
    /// Also inject request faults into the token endpoint and IMDS.
    #[arg(long)]
    pub fault_auth: bool,
}

fn secs(name: &str, v: f64) -> Result<Duration, String> {
    Duration::try_from_secs_f64(v)
        .map_err(|_| format!("--{name} must be a non-negative number of seconds, got {v}"))
}

impl EmulatorArgs {
    /// The configuration these options describe.
    pub fn to_config(&self) -> Result<EmulatorConfig, String> {
        let mut config = EmulatorConfig {
            port: self.port,
            ..EmulatorConfig::default()
        };
        config.provision_delay = secs("provision-delay", self.provision_delay)?;
        if !self.resource_groups.is_empty() {
            config.resource_groups = Some(self.resource_groups.clone());
        }
        for c in &self.credentials {
            let (id, secret) = c
                .split_once(':')
                .filter(|(i, s)| !i.is_empty() && !s.is_empty())
                .ok_or_else(|| "--credential must be CLIENT_ID:SECRET".to_string())?;
            config
                .credentials
                .push((id.to_string(), secret.to_string()));
        }
        config.certificate_clients = self.certificate_clients.clone();
        config.federated_clients = self.federated_clients.clone();
        config.imds = self.imds;
        config.tls = match (&self.cert, &self.key) {
            (Some(cert), Some(key)) => Some(TlsSetup::Files {
                cert: cert.clone(),
                key: key.clone(),
            }),
            _ if self.tls => Some(TlsSetup::Generate),
            _ => None,
        };
        config.public_url = self.public_url.clone();
        config.request_log = self.request_log.clone();
        config.log_timestamp_precision = TimestampPrecision::parse(&self.log_timestamp_precision)
            .ok_or_else(|| {
            format!(
                "--log-timestamp-precision must be ns, us, ms or s, got {:?}",
                self.log_timestamp_precision
            )
        })?;
        config.sync_delete = self.sync_delete;
        config.delete_delay = secs("delete-delay", self.delete_delay)?;
        config.token_lifetime = Duration::from_secs(self.token_lifetime.max(1));
        if self.page_size == 0 {
            return Err("--page-size must be at least 1".into());
        }
        config.page_size = self.page_size;
        if ![500, 502, 503, 504].contains(&self.error_status) {
            return Err(format!(
                "--error-status must be 500, 502, 503 or 504, got {}",
                self.error_status
            ));
        }
        let opt = |name: &str, v: Option<f64>| v.map(|v| secs(name, v)).transpose();
        config.faults = Faults {
            throttle_every: self.throttle_every.filter(|n| *n > 0),
            throttle_burst: self.throttle_burst,
            retry_after_secs: self.retry_after,
            error_burst: self.error_burst,
            error_status: self.error_status,
            reset_burst: self.reset_burst,
            latency: opt("latency", self.latency)?,
            latency_burst: self.latency_burst,
            fail_provisioning: match &self.fail_provisioning {
                None => None,
                Some(k) => Some(ProvisionFailure::parse(k).ok_or_else(|| {
                    format!(
                        "--fail-provisioning must be inaccessible, quota, nocapacity or failedmount, got {k:?}"
                    )
                })?),
            },
            sync_provisioning_errors: self.sync_provisioning_errors,
            evict_after: opt("evict-after", self.evict_after)?,
            delete_after: opt("delete-after", self.delete_after)?,
            token_expiry: opt("token-expiry", self.token_expiry)?,
            token_uses: self.token_uses,
            enforce_rate_limits: self.enforce_rate_limits,
            rate_limits: {
                let mut limits = crate::config::RateLimits::default();
                for spec in &self.rate_limits {
                    limits.set(spec)?;
                }
                limits
            },
            include_auth: self.fault_auth,
        };
        Ok(config)
    }
}

/// The JSON object of the second stdout line: the credentials, and `ca_cert` with a
/// generated certificate.
pub fn credentials_line(emulator: &Emulator) -> serde_json::Value {
    let mut line = serde_json::to_value(emulator.credentials()).unwrap_or_default();
    if let Some(ca) = emulator.ca_cert_path() {
        line["ca_cert"] = serde_json::json!(ca.display().to_string());
    }
    line
}

/// Runs the emulator until SIGINT or SIGTERM: prints the base URL as the first stdout line
/// and [`credentials_line`] as the second, a short help on stderr (no secret), and on the
/// signal kills every process it started and returns.
pub async fn serve_cli(args: EmulatorArgs) -> std::io::Result<()> {
    let config = args
        .to_config()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    let emulator = Emulator::start(config).await?;
    let base = emulator.base_url();
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{base}")?;
        writeln!(out, "{}", credentials_line(&emulator))?;
        out.flush()?;
    }
    let c = emulator.credentials();
    let tenant = &c.tenant_id;
    eprintln!(
        "aci-host emulator: Azure Resource Manager (Container Instances) and Entra ID at {base}\n\
         \x20 second stdout line: tenant_id, client_id ({}), client_secret (random), subscription_id{}\n\
         \x20 token:  curl -s -d grant_type=client_credentials -d client_id={} -d client_secret=\"$SECRET\" \\\n\
         \x20           --data-urlencode scope=https://management.azure.com/.default {base}/{tenant}/oauth2/v2.0/token\n\
         \x20 stats:  curl -s -H \"Authorization: Bearer $SECRET\" {base}/_emulator/stats\n\
         \x20 A container's command runs as a local process of this user.\n\
         \x20 Ctrl-C (SIGINT) or SIGTERM stops it and kills every container process it started.",
        c.client_id,
        if emulator.ca_cert_path().is_some() { ", ca_cert" } else { "" },
        c.client_id,
    );
    wait_for_signal().await?;
    eprintln!("aci-host emulator: stopping");
    emulator.shutdown().await;
    Ok(())
}

async fn wait_for_signal() -> std::io::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser, Debug)]
    struct Cli {
        #[command(flatten)]
        args: EmulatorArgs,
    }

    #[test]
    fn flags_become_config() {
        let cli = Cli::try_parse_from([
            "x",
            "--provision-delay",
            "1",
            "--resource-group",
            "rg1",
            "--resource-group",
            "rg2",
            "--throttle-every",
            "3",
            "--retry-after",
            "2",
            "--error-burst",
            "4",
            "--error-status",
            "503",
            "--reset-burst",
            "1",
            "--latency",
            "0.05",
            "--latency-burst",
            "2",
            "--fail-provisioning",
            "quota",
            "--sync-provisioning-errors",
            "--evict-after",
            "2",
            "--delete-after",
            "3",
            "--token-expiry",
            "5",
            "--token-uses",
            "3",
            "--credential",
            "app:pw",
            "--enforce-rate-limits",
            "--fault-auth",
            "--throttle-burst",
            "2",
        ])
        .unwrap();
        let c = cli.args.to_config().unwrap();
        assert_eq!(c.provision_delay, Duration::from_secs(1));
        assert_eq!(
            c.resource_groups,
            Some(vec!["rg1".to_string(), "rg2".to_string()])
        );
        assert_eq!(c.faults.throttle_every, Some(3));
        assert_eq!(c.faults.throttle_burst, 2);
        assert_eq!(c.faults.retry_after_secs, 2);
        assert_eq!(c.faults.error_burst, 4);
        assert_eq!(c.faults.error_status, 503);
        assert_eq!(c.faults.reset_burst, 1);
        assert_eq!(c.faults.latency, Some(Duration::from_millis(50)));
        assert_eq!(c.faults.latency_burst, 2);
        assert_eq!(
            c.faults.fail_provisioning,
            Some(ProvisionFailure::QuotaReached)
        );
        assert!(
            c.faults.sync_provisioning_errors
                && c.faults.enforce_rate_limits
                && c.faults.include_auth
        );
        assert_eq!(c.faults.evict_after, Some(Duration::from_secs(2)));
        assert_eq!(c.faults.delete_after, Some(Duration::from_secs(3)));
        assert_eq!(c.faults.token_expiry, Some(Duration::from_secs(5)));
        assert_eq!(c.faults.token_uses, Some(3));
        assert!(c
            .credentials
            .contains(&("app".to_string(), "pw".to_string())));
    }

    #[test]
    fn access_tls_and_behaviour_flags_become_config() {
        let cli = Cli::try_parse_from([
            "x",
            "--imds",
            "--tls",
            "--public-url",
            "https://aci.example.test",
            "--request-log",
            "/tmp/requests.jsonl",
            "--log-timestamp-precision",
            "ms",
            "--sync-delete",
            "--delete-delay",
            "0.5",
            "--federated-client",
            "fed",
            "--certificate-client",
            "cert",
        ])
        .unwrap();
        let c = cli.args.to_config().unwrap();
        assert!(c.imds && c.sync_delete);
        assert_eq!(c.tls, Some(TlsSetup::Generate));
        assert_eq!(c.public_url.as_deref(), Some("https://aci.example.test"));
        assert_eq!(c.request_log, Some(PathBuf::from("/tmp/requests.jsonl")));
        assert_eq!(c.log_timestamp_precision, TimestampPrecision::Millis);
        assert_eq!(c.delete_delay, Duration::from_millis(500));
        assert_eq!(c.federated_clients, vec!["fed".to_string()]);
        assert_eq!(c.certificate_clients, vec!["cert".to_string()]);
        let files = Cli::try_parse_from(["x", "--cert", "c.pem", "--key", "k.pem"])
            .unwrap()
            .args
            .to_config()
            .unwrap();
        assert_eq!(
            files.tls,
            Some(TlsSetup::Files {
                cert: "c.pem".into(),
                key: "k.pem".into()
            })
        );
        assert!(Cli::try_parse_from(["x", "--cert", "c.pem"]).is_err());
        let quiet = Cli::try_parse_from(["x"])
            .unwrap()
            .args
            .to_config()
            .unwrap();
        assert!(!quiet.imds && quiet.tls.is_none() && !quiet.sync_delete);
    }

    #[test]
    fn bad_flags_are_clear_errors() {
        let parse = |args: &[&str]| {
            let mut all = vec!["x"];
            all.extend_from_slice(args);
            Cli::try_parse_from(all).unwrap().args.to_config()
        };
        assert!(parse(&["--provision-delay=-1"])
            .unwrap_err()
            .contains("provision-delay"));
        assert!(parse(&["--fail-provisioning", "meh"])
            .unwrap_err()
            .contains("fail-provisioning"));
        assert!(parse(&["--credential", "nocolon"])
            .unwrap_err()
            .contains("CLIENT_ID:SECRET"));
        assert!(parse(&["--error-status", "418"])
            .unwrap_err()
            .contains("error-status"));
        assert!(parse(&["--log-timestamp-precision", "min"])
            .unwrap_err()
            .contains("log-timestamp-precision"));
        assert!(parse(&[]).is_ok());
    }
}
