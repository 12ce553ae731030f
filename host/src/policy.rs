//! The outbound policy: a pure, deny-by-default allow-list of HTTP endpoints.
//!
//! Enforced at exactly one place, the wasi-http send hook
//! ([`crate::http_hooks`]), before any socket is opened. Rules:
//!
//! - Only `http` and `https`. A request may go out only when an [`AllowRule`]
//!   matches its scheme, host (case-insensitive, trailing dot ignored) and
//!   port (explicit or the scheme's default).
//! - Authorities with user info (`user@host`) are always denied.
//! - A request that carries credentials (an `Authorization` header) goes only
//!   over https, except to loopback addresses.
//!
//! Which rules exist is decided by the host: the endpoints the task's
//! connections name ([`rules_for_connection`]) plus `--allow-host` entries.

use std::fmt;
use std::net::IpAddr;

/// A URL scheme the policy knows about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// Plain HTTP.
    Http,
    /// HTTP over TLS.
    Https,
}

impl Scheme {
    /// Parses `http`/`https` (case-insensitive).
    pub fn parse(s: &str) -> Option<Scheme> {
        match s.to_ascii_lowercase().as_str() {
            "http" => Some(Scheme::Http),
            "https" => Some(Scheme::Https),
            _ => None,
        }
    }

    /// The scheme's default port.
    pub fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        })
    }
}

/// One allowed endpoint: scheme, host and port.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AllowRule {
    /// The scheme this rule allows.
    pub scheme: Scheme,
    /// Lower-case host name or IP literal (IPv6 without brackets).
    pub host: String,
    /// The port this rule allows.
    pub port: u16,
}

impl fmt::Display for AllowRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "{}://[{}]:{}", self.scheme, self.host, self.port)
        } else {
            write!(f, "{}://{}:{}", self.scheme, self.host, self.port)
        }
    }
}

/// Why a rule or a request could not be parsed or was denied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PolicyError {
    /// The allow-host entry is not a host, `host:port` or URL.
    InvalidRule(String),
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PolicyError::InvalidRule(m) => write!(f, "invalid --allow-host entry: {m}"),
        }
    }
}

impl std::error::Error for PolicyError {}

impl AllowRule {
    /// Parses an allow-host entry: `host`, `host:port`, `[v6]:port`, or a URL
    /// `scheme://host[:port][/path]`. Without a scheme the rule is https; a
    /// plain-http endpoint must be written as an `http://` URL on purpose.
    pub fn parse(entry: &str) -> Result<AllowRule, PolicyError> {
        let entry = entry.trim();
        if entry.is_empty() {
            return Err(PolicyError::InvalidRule("empty entry".into()));
        }
        if entry == "*" || entry.contains('*') {
            return Err(PolicyError::InvalidRule(format!(
                "`{entry}`: wildcards are not supported; name each host, e.g. `management.azure.com` or `http://127.0.0.1:8080`"
            )));
        }
        let (scheme, rest) = match entry.split_once("://") {
            Some((s, rest)) => {
                let scheme = Scheme::parse(s).ok_or_else(|| {
                    PolicyError::InvalidRule(format!(
                        "`{entry}`: only http and https are supported"
                    ))
                })?;
                (scheme, rest)
            }
            None => (Scheme::Https, entry),
        };
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        let facts = parse_authority(authority, scheme)
            .map_err(|m| PolicyError::InvalidRule(format!("`{entry}`: {m}")))?;
        Ok(AllowRule {
            scheme,
            host: facts.0,
            port: facts.1,
        })
    }

    /// The rule for the origin of a URL (`https://management.azure.com/` →
    /// `https://management.azure.com:443`). `None` when it is not an http(s) URL.
    pub fn from_url(url: &str) -> Option<AllowRule> {
        if !url.contains("://") {
            return None;
        }
        AllowRule::parse(url).ok()
    }
}

/// Splits an authority into a lower-case host and a port. User info is an error.
fn parse_authority(authority: &str, scheme: Scheme) -> Result<(String, u16), String> {
    if authority.is_empty() {
        return Err("no host".into());
    }
    if authority.contains('@') {
        return Err("user info (`user@host`) is not allowed".into());
    }
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (h, after) = rest.split_once(']').ok_or("unterminated IPv6 literal")?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or("garbage after IPv6 literal")?),
        };
        (h.to_string(), port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') => (h.to_string(), Some(p)),
            Some(_) => return Err("IPv6 literals must be in brackets".into()),
            None => (authority.to_string(), None),
        }
    };
    let port = match port {
        None => scheme.default_port(),
        Some(p) => p
            .parse::<u16>()
            .map_err(|_| format!("invalid port `{p}`"))?,
    };
    if port == 0 {
        return Err("port 0 is not a valid destination".into());
    }
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if host.is_empty() {
        return Err("no host".into());
    }
    if !host
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | ':' | '_'))
    {
        return Err(format!("invalid host `{host}`"));
    }
    Ok((host, port))
}

/// True for loopback hosts: `localhost`, `127.0.0.0/8`, `::1`.
pub fn is_loopback(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    host.parse::<IpAddr>()
        .map(|ip| ip.is_loopback())
        .unwrap_or(false)
}

/// What the send hook knows about a request when it asks the policy.
#[derive(Clone, Debug)]
pub struct RequestFacts<'a> {
    /// The request's scheme as the guest set it (`http`, `https`, ...).
    pub scheme: &'a str,
    /// The request's authority (`host[:port]`).
    pub authority: &'a str,
    /// True when the request carries credentials (an `Authorization` header).
    pub has_credentials: bool,
}

/// Why the policy denied a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DenyReason {
    /// The scheme is neither http nor https.
    UnsupportedScheme(String),
    /// The authority could not be parsed or carries user info.
    BadAuthority(String),
    /// No rule allows this endpoint.
    NotAllowed(String),
    /// Credentials over plain http to a non-loopback host.
    CredentialsOverHttp(String),
}

impl fmt::Display for DenyReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DenyReason::UnsupportedScheme(s) => write!(f, "scheme `{s}` is not allowed"),
            DenyReason::BadAuthority(m) => write!(f, "{m}"),
            DenyReason::NotAllowed(ep) => write!(
                f,
                "`{ep}` is not named by any of the task's connections; allow it with --allow-host if intended"
            ),
            DenyReason::CredentialsOverHttp(ep) => {
                write!(f, "credentials may only be sent over https (or to loopback), not to `{ep}`")
            }
        }
    }
}

/// The policy's verdict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// The request may be sent.
    Allow,
    /// The request must not be sent.
    Deny(DenyReason),
}

/// A deny-by-default allow-list. `Default` allows nothing.
#[derive(Clone, Debug, Default)]
pub struct OutboundPolicy {
    rules: Vec<AllowRule>,
}

impl OutboundPolicy {
    /// A policy that allows nothing.
    pub fn deny_all() -> Self {
        Self::default()
    }

    /// Adds a rule (duplicates are ignored).
    pub fn allow(&mut self, rule: AllowRule) {
        if !self.rules.contains(&rule) {
            self.rules.push(rule);
        }
    }

    /// The rules, in the order they were added.
    pub fn rules(&self) -> &[AllowRule] {
        &self.rules
    }

    /// Decides whether a request may go out.
    pub fn check(&self, req: &RequestFacts<'_>) -> Decision {
        let Some(scheme) = Scheme::parse(req.scheme) else {
            return Decision::Deny(DenyReason::UnsupportedScheme(req.scheme.to_string()));
        };
        let (host, port) = match parse_authority(req.authority, scheme) {
            Ok(hp) => hp,
            Err(m) => return Decision::Deny(DenyReason::BadAuthority(m)),
        };
        let endpoint = AllowRule { scheme, host, port };
        if req.has_credentials && scheme == Scheme::Http && !is_loopback(&endpoint.host) {
            return Decision::Deny(DenyReason::CredentialsOverHttp(endpoint.to_string()));
        }
        if self.rules.contains(&endpoint) {
            Decision::Allow
        } else {
            Decision::Deny(DenyReason::NotAllowed(endpoint.to_string()))
        }
    }
}

/// Azure cloud endpoints (`cloud_environment` → ARM and authority base URLs).
pub fn cloud_endpoints(cloud_environment: Option<&str>) -> (&'static str, &'static str) {
    match cloud_environment.unwrap_or("AzurePublicCloud") {
        "AzureUSGovernment" => (
            "https://management.usgovcloudapi.net",
            "https://login.microsoftonline.us",
        ),
        "AzureChinaCloud" => (
            "https://management.chinacloudapi.cn",
            "https://login.chinacloudapi.cn",
        ),
        _ => (
            "https://management.azure.com",
            "https://login.microsoftonline.com",
        ),
    }
}

/// The default IMDS token endpoint.
pub const IMDS_ENDPOINT: &str = "http://169.254.169.254/metadata/identity/oauth2/token";

/// The endpoints a resolved connection names, which the plugin may reach:
/// explicit URL extras (`resource_manager_url`, `authority_host`,
/// `imds_endpoint`, key-file endpoint URLs), the ARM and authority hosts of
/// its `cloud_environment` (public cloud by default) for Azure connections,
/// and IMDS when the connection relies on a managed identity.
pub fn rules_for_connection(
    password: Option<&str>,
    extra: &serde_json::Map<String, serde_json::Value>,
) -> Vec<AllowRule> {
    let s = |k: &str| {
        extra
            .get(k)
            .and_then(|v| v.as_str())
            .filter(|v| !v.is_empty())
    };
    let mut rules = Vec::new();
    for key in ["resource_manager_url", "authority_host", "imds_endpoint"] {
        if let Some(rule) = s(key).and_then(AllowRule::from_url) {
            rules.push(rule);
        }
    }
    if let Some(key_json) = extra.get("key_json") {
        let obj = match key_json {
            serde_json::Value::String(text) => serde_json::from_str::<serde_json::Value>(text).ok(),
            v => Some(v.clone()),
        };
        if let Some(serde_json::Value::Object(m)) = obj {
            for key in ["activeDirectoryEndpointUrl", "resourceManagerEndpointUrl"] {
                if let Some(rule) = m
                    .get(key)
                    .and_then(|v| v.as_str())
                    .and_then(AllowRule::from_url)
                {
                    rules.push(rule);
                }
            }
        }
    }
    let explicit_arm = s("resource_manager_url").is_some();
    let explicit_authority = s("authority_host").is_some();
    let (arm, authority) = cloud_endpoints(s("cloud_environment"));
    if !explicit_arm {
        rules.extend(AllowRule::from_url(arm));
    }
    if !explicit_authority {
        rules.extend(AllowRule::from_url(authority));
    }
    // Managed identity is the fallback of every Azure connection (ACI,
    // registry, volume) that carries no credential of its own: then IMDS may
    // be reached, over http as IMDS requires (and never with a bearer token).
    let has_password = password.is_some_and(|p| !p.is_empty());
    let has_key = [
        "key_path",
        "key_json",
        "client_certificate",
        "client_certificate_path",
        "connection_string",
    ]
    .iter()
    .any(|k| {
        extra
            .get(*k)
            .is_some_and(|v| !v.is_null() && v.as_str() != Some(""))
    });
    if s("imds_endpoint").is_none()
        && ((!has_password && !has_key) || s("managed_identity_client_id").is_some())
    {
        rules.extend(AllowRule::from_url(IMDS_ENDPOINT));
    }
    rules
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(rules: &[&str]) -> OutboundPolicy {
        let mut p = OutboundPolicy::deny_all();
        for r in rules {
            p.allow(AllowRule::parse(r).unwrap());
        }
        p
    }

    fn check(p: &OutboundPolicy, scheme: &str, authority: &str, creds: bool) -> Decision {
        p.check(&RequestFacts {
            scheme,
            authority,
            has_credentials: creds,
        })
    }

    #[test]
    fn default_denies_everything() {
        let p = OutboundPolicy::default();
        assert!(matches!(
            check(&p, "https", "management.azure.com", false),
            Decision::Deny(DenyReason::NotAllowed(_))
        ));
        assert!(matches!(
            check(&p, "http", "127.0.0.1:80", false),
            Decision::Deny(_)
        ));
    }

    #[test]
    fn url_table() {
        let p = policy(&[
            "management.azure.com",
            "https://login.microsoftonline.com/",
            "http://127.0.0.1:8080",
            "[::1]:9000",
            "http://169.254.169.254",
        ]);
        let allow = [
            ("https", "management.azure.com", false),
            ("https", "management.azure.com:443", true),
            ("https", "MANAGEMENT.Azure.COM", true),
            ("https", "management.azure.com.", true),
            ("HTTPS", "login.microsoftonline.com", true),
            ("http", "127.0.0.1:8080", true),
            ("https", "[::1]:9000", true),
            ("http", "169.254.169.254", false),
        ];
        for (s, a, c) in allow {
            assert_eq!(check(&p, s, a, c), Decision::Allow, "{s}://{a} creds={c}");
        }
        let deny = [
            ("https", "management.azure.com:8443", false), // other port
            ("http", "management.azure.com", false),       // other scheme
            ("https", "evil.com", false),                  // other host
            ("https", "management.azure.com.evil.com", false), // suffix trick
            ("https", "evilmanagement.azure.com", false),  // prefix trick
            ("https", "management.azure.com@evil.com", false), // userinfo trick
            ("https", "evil.com@management.azure.com", false), // userinfo trick
            ("http", "127.0.0.1:8081", false),             // other loopback port
            ("http", "127.0.0.2:8080", false),             // other loopback ip
            ("https", "[::1]:9001", false),
            ("https", "::1:9000", false),               // unbracketed v6
            ("ftp", "management.azure.com", false),     // scheme
            ("https", "", false),                       // no host
            ("https", "management.azure.com:0", false), // port 0
            ("https", "management.azure.com:99999", false), // bad port
            ("https", "2130706433", false),             // decimal IP literal of 127.0.0.1
        ];
        for (s, a, c) in deny {
            assert!(
                matches!(check(&p, s, a, c), Decision::Deny(_)),
                "{s}://{a} should be denied"
            );
        }
    }

    #[test]
    fn credentials_only_over_https_except_loopback() {
        let p = policy(&[
            "http://169.254.169.254",
            "http://127.0.0.1:8080",
            "http://localhost:8080",
            "http://example.com",
        ]);
        assert!(matches!(
            check(&p, "http", "169.254.169.254", true),
            Decision::Deny(DenyReason::CredentialsOverHttp(_))
        ));
        assert!(matches!(
            check(&p, "http", "example.com", true),
            Decision::Deny(DenyReason::CredentialsOverHttp(_))
        ));
        assert_eq!(check(&p, "http", "example.com", false), Decision::Allow);
        assert_eq!(check(&p, "http", "127.0.0.1:8080", true), Decision::Allow);
        assert_eq!(check(&p, "http", "localhost:8080", true), Decision::Allow);
    }

    #[test]
    fn rule_parsing_errors_teach() {
        assert!(AllowRule::parse("*")
            .unwrap_err()
            .to_string()
            .contains("name each host"));
        assert!(AllowRule::parse("*.azure.com").is_err());
        assert!(AllowRule::parse("ftp://x").is_err());
        assert!(AllowRule::parse("user@host").is_err());
        assert!(AllowRule::parse("host:notaport").is_err());
        assert!(AllowRule::parse("").is_err());
        assert_eq!(
            AllowRule::parse("Example.COM:8443").unwrap(),
            AllowRule {
                scheme: Scheme::Https,
                host: "example.com".into(),
                port: 8443
            }
        );
        assert_eq!(
            AllowRule::parse("http://[::1]:80/x").unwrap(),
            AllowRule {
                scheme: Scheme::Http,
                host: "::1".into(),
                port: 80
            }
        );
    }

    #[test]
    fn loopback_detection() {
        for h in ["localhost", "127.0.0.1", "127.9.9.9", "::1", "LOCALHOST"] {
            assert!(is_loopback(h), "{h}");
        }
        for h in [
            "localhost.evil.com",
            "128.0.0.1",
            "10.0.0.1",
            "example.com",
            "::2",
        ] {
            assert!(!is_loopback(h), "{h}");
        }
    }

    #[test]
    fn connection_rules() {
        let extra = |v: serde_json::Value| v.as_object().unwrap().clone();
        // Client secret, public cloud by default: ARM + authority, no IMDS.
        let r = rules_for_connection(Some("secret"), &extra(serde_json::json!({"tenantId": "t"})));
        assert!(r.contains(&AllowRule::parse("management.azure.com").unwrap()));
        assert!(r.contains(&AllowRule::parse("login.microsoftonline.com").unwrap()));
        assert!(!r.iter().any(|x| x.host == "169.254.169.254"));
        // Sovereign clouds.
        let r = rules_for_connection(
            Some("s"),
            &extra(serde_json::json!({"cloud_environment": "AzureUSGovernment"})),
        );
        assert!(r.contains(&AllowRule::parse("management.usgovcloudapi.net").unwrap()));
        assert!(r.contains(&AllowRule::parse("login.microsoftonline.us").unwrap()));
        assert!(!r.iter().any(|x| x.host == "management.azure.com"));
        // Managed identity: IMDS over http.
        let r = rules_for_connection(None, &extra(serde_json::json!({"subscriptionId": "s"})));
        assert!(r.contains(&AllowRule::parse("http://169.254.169.254").unwrap()));
        // Explicit endpoints replace the cloud defaults.
        let r = rules_for_connection(
            Some("b"),
            &extra(serde_json::json!({
            "resource_manager_url": "http://127.0.0.1:4000", "authority_host": "http://127.0.0.1:4000/"})),
        );
        let local = AllowRule::parse("http://127.0.0.1:4000").unwrap();
        assert_eq!(r, vec![local.clone(), local]);
        // Registry/volume connections without a password fall back to managed identity.
        let r = rules_for_connection(
            None,
            &extra(serde_json::json!({"subscription_id": "s", "resource_group": "rg"})),
        );
        assert!(r.contains(&AllowRule::parse("http://169.254.169.254").unwrap()));
        // A certificate is a credential of its own: no IMDS.
        let r = rules_for_connection(
            None,
            &extra(serde_json::json!({"client_certificate_path": "/c.pem", "tenantId": "t"})),
        );
        assert!(!r.iter().any(|x| x.host == "169.254.169.254"));
    }
}
