//! The outbound policy: a pure, deny-by-default allow-list of origins.
//!
//! Enforced at exactly one place, the wasi-http send hook
//! ([`crate::http_hooks`]), before any socket is opened. Rules, in order:
//!
//! - Only `http` and `https`; authorities with user info (`user@host`) are
//!   always denied.
//! - Over plain `http` to a host that is not loopback ([`is_loopback`]: an IP
//!   literal in `127.0.0.0/8`, `::1`, or `localhost`, decided by parsing), a
//!   request that carries a credential header (`Authorization`,
//!   `Proxy-Authorization`, `Cookie`) or that may carry a body (the host cannot
//!   tell a token request's secret or assertion from any other body) is denied,
//!   whatever the grant: plain http stays for credential-free requests such as
//!   a metadata service's `GET`.
//! - Otherwise a request may go out only when an [`AllowRule`] matches its
//!   origin: scheme, host (case-insensitive, trailing dot ignored) and port
//!   (explicit or the scheme's default).
//!
//! Which rules exist is decided before the task runs: the origins its operator
//! declared ([`crate::grant::Grant`]) plus `--allow-host` entries. The policy
//! knows no service by name.

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

/// One origin (an allowed endpoint): scheme, host and port. Written
/// `scheme://host:port` (`[v6]` in brackets), the form grants use.
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
            PolicyError::InvalidRule(m) => write!(f, "invalid origin: {m}"),
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
        if entry.contains('*') {
            return Err(PolicyError::InvalidRule(format!(
                "`{entry}`: wildcards are not supported; name each host, e.g. `api.example.com` or `http://127.0.0.1:8080`"
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

    /// The rule for an origin given as parts (as a plugin declares it): a
    /// scheme, a host (an IPv6 literal with or without brackets) and a port.
    pub fn from_parts(scheme: &str, host: &str, port: u16) -> Result<AllowRule, PolicyError> {
        let scheme = Scheme::parse(scheme)
            .ok_or_else(|| PolicyError::InvalidRule(format!("scheme `{scheme}` is not http(s)")))?;
        let bare = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        let authority = if bare.contains(':') {
            if bare.parse::<std::net::Ipv6Addr>().is_err() {
                return Err(PolicyError::InvalidRule(format!(
                    "`{host}` is neither a host name nor an IP literal"
                )));
            }
            format!("[{bare}]:{port}")
        } else {
            format!("{bare}:{port}")
        };
        if host.contains('*') {
            return Err(PolicyError::InvalidRule(format!(
                "`{host}`: wildcards are not supported"
            )));
        }
        let (host, port) = parse_authority(&authority, scheme)
            .map_err(|m| PolicyError::InvalidRule(format!("`{authority}`: {m}")))?;
        Ok(AllowRule { scheme, host, port })
    }
}

impl PartialOrd for AllowRule {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for AllowRule {
    /// By the written form (`http://…` before `https://…`, then host, then the
    /// port as text), so lists of origins sort as a reader expects.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.to_string().cmp(&other.to_string())
    }
}

impl serde::Serialize for AllowRule {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for AllowRule {
    /// Reads `scheme://host[:port]` (the scheme is required here).
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        if !text.contains("://") {
            return Err(serde::de::Error::custom(format!(
                "origin `{text}` must be written scheme://host:port"
            )));
        }
        AllowRule::parse(&text).map_err(serde::de::Error::custom)
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

/// True for loopback hosts, decided by parsing: an IPv4 literal in
/// `127.0.0.0/8`, the IPv6 literal `::1` (brackets optional), or the name
/// `localhost` (any case); one trailing dot is allowed. Names that merely
/// start like one (`127.attacker.example`, `localhost.evil`) and IPv4-mapped
/// addresses (`::ffff:127.0.0.1`) are not loopback.
pub fn is_loopback(host: &str) -> bool {
    let h = host.strip_suffix('.').unwrap_or(host);
    if h.eq_ignore_ascii_case("localhost") {
        return true;
    }
    let bare = h
        .strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .unwrap_or(h);
    bare.parse::<IpAddr>()
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
    /// The request carries a credential header (`Authorization`,
    /// `Proxy-Authorization`, `Cookie`).
    pub credential_header: bool,
    /// The request may carry a body: a non-zero (or unreadable)
    /// `content-length`, a `transfer-encoding`, or a body not known to be empty.
    pub may_have_body: bool,
}

/// Why the policy denied a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DenyReason {
    /// The scheme is neither http nor https.
    UnsupportedScheme(String),
    /// The authority could not be parsed or carries user info.
    BadAuthority(String),
    /// No rule allows this origin.
    NotAllowed(String),
    /// A credential header over plain http to a host that is not loopback.
    CredentialsOverHttp(String),
    /// A body (which may hold a secret or an assertion) over plain http to a
    /// host that is not loopback.
    BodyOverHttp(String),
}

impl fmt::Display for DenyReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DenyReason::UnsupportedScheme(s) => write!(f, "scheme `{s}` is not allowed"),
            DenyReason::BadAuthority(m) => write!(f, "{m}"),
            DenyReason::NotAllowed(ep) => write!(
                f,
                "`{ep}` is not in the task's grant (the origins its operator declared, see `validate --explain`); allow it with --allow-host if intended"
            ),
            DenyReason::CredentialsOverHttp(ep) => write!(
                f,
                "credentials may only be sent over https (or to loopback), not to `{ep}`"
            ),
            DenyReason::BodyOverHttp(ep) => write!(
                f,
                "a request body may hold a secret: it goes only over https (or to loopback), not to `{ep}`"
            ),
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

    /// A policy that allows exactly `rules`.
    pub fn allowing(rules: impl IntoIterator<Item = AllowRule>) -> Self {
        let mut p = Self::default();
        for r in rules {
            p.allow(r);
        }
        p
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
        if scheme == Scheme::Http && !is_loopback(&endpoint.host) {
            if req.credential_header {
                return Decision::Deny(DenyReason::CredentialsOverHttp(endpoint.to_string()));
            }
            if req.may_have_body {
                return Decision::Deny(DenyReason::BodyOverHttp(endpoint.to_string()));
            }
        }
        if self.rules.contains(&endpoint) {
            Decision::Allow
        } else {
            Decision::Deny(DenyReason::NotAllowed(endpoint.to_string()))
        }
    }
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

    /// A request's facts: `creds` = a credential header, `body` = may carry a body.
    fn check(p: &OutboundPolicy, scheme: &str, authority: &str, creds: bool) -> Decision {
        check_with(p, scheme, authority, creds, false)
    }

    fn check_with(
        p: &OutboundPolicy,
        scheme: &str,
        authority: &str,
        creds: bool,
        body: bool,
    ) -> Decision {
        p.check(&RequestFacts {
            scheme,
            authority,
            credential_header: creds,
            may_have_body: body,
        })
    }

    #[test]
    fn default_denies_everything() {
        let p = OutboundPolicy::default();
        assert!(matches!(
            check(&p, "https", "api.example.com", false),
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
            "api.example.com",
            "https://login.example.com/",
            "http://127.0.0.1:8080",
            "[::1]:9000",
            "http://10.1.2.3",
        ]);
        let allow = [
            ("https", "api.example.com", false),
            ("https", "api.example.com:443", true),
            ("https", "API.Example.COM", true),
            ("https", "api.example.com.", true),
            ("HTTPS", "login.example.com", true),
            ("http", "127.0.0.1:8080", true),
            ("https", "[::1]:9000", true),
            ("http", "10.1.2.3", false),
        ];
        for (s, a, c) in allow {
            assert_eq!(check(&p, s, a, c), Decision::Allow, "{s}://{a} creds={c}");
        }
        let deny = [
            ("https", "api.example.com:8443", false),     // other port
            ("http", "api.example.com", false),           // other scheme
            ("https", "evil.com", false),                 // other host
            ("https", "api.example.com.evil.com", false), // suffix trick
            ("https", "evilapi.example.com", false),      // prefix trick
            ("https", "api.example.com@evil.com", false), // userinfo trick
            ("https", "evil.com@api.example.com", false), // userinfo trick
            ("http", "127.0.0.1:8081", false),            // other loopback port
            ("http", "127.0.0.2:8080", false),            // other loopback ip
            ("https", "[::1]:9001", false),
            ("https", "::1:9000", false),               // unbracketed v6
            ("ftp", "api.example.com", false),          // scheme
            ("https", "", false),                       // no host
            ("https", "api.example.com:0", false),      // port 0
            ("https", "api.example.com:99999", false),  // bad port
            ("https", "2130706433", false),             // decimal IP literal of 127.0.0.1
            ("http", "[::ffff:127.0.0.1]:8080", false), // mapped loopback is another origin
        ];
        for (s, a, c) in deny {
            assert!(
                matches!(check(&p, s, a, c), Decision::Deny(_)),
                "{s}://{a} should be denied"
            );
        }
    }

    /// Over plain http to a host that is not loopback, a credential header or a
    /// body is denied even when the origin is granted: only the credential rule
    /// can stop these, so each is granted first.
    #[test]
    fn credentials_and_bodies_only_over_https_except_loopback() {
        let remote = [
            "127.attacker.example",
            "localhost.evil",
            "[::ffff:10.0.0.1]",
            "[::ffff:127.0.0.1]",
            "169.254.169.254",
            "example.com",
        ];
        for host in remote {
            let p = policy(&[&format!("http://{host}")]);
            assert!(
                matches!(
                    check(&p, "http", host, true),
                    Decision::Deny(DenyReason::CredentialsOverHttp(_))
                ),
                "bearer to {host}"
            );
            assert!(
                matches!(
                    check_with(&p, "http", host, false, true),
                    Decision::Deny(DenyReason::BodyOverHttp(_))
                ),
                "body to {host}"
            );
            // Granted and credential-free: allowed (a metadata GET).
            assert_eq!(check(&p, "http", host, false), Decision::Allow, "{host}");
            // The same over https carries anything.
            let p = policy(&[host]);
            assert_eq!(check_with(&p, "https", host, true, true), Decision::Allow);
        }
        let p = policy(&[
            "http://127.0.0.1:8080",
            "http://localhost:8080",
            "http://[::1]:8080",
            "http://127.9.9.9:8080",
        ]);
        for a in [
            "127.0.0.1:8080",
            "localhost:8080",
            "LOCALHOST.:8080",
            "[::1]:8080",
            "127.9.9.9:8080",
        ] {
            assert_eq!(
                check_with(&p, "http", a, true, true),
                Decision::Allow,
                "{a}"
            );
        }
        // Not granted: the credential rule still speaks first over plain http.
        assert!(matches!(
            check(&OutboundPolicy::default(), "http", "example.com", true),
            Decision::Deny(DenyReason::CredentialsOverHttp(_))
        ));
    }

    #[test]
    fn rule_parsing_errors_teach() {
        assert!(AllowRule::parse("*")
            .unwrap_err()
            .to_string()
            .contains("name each host"));
        assert!(AllowRule::parse("*.example.com")
            .unwrap_err()
            .to_string()
            .contains("wildcards are not supported"));
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
    fn rules_keep_their_order_without_duplicates() {
        let p = policy(&[
            "b.example.com",
            "a.example.com",
            "https://b.example.com:443",
        ]);
        let rules: Vec<String> = p.rules().iter().map(ToString::to_string).collect();
        assert_eq!(
            rules,
            ["https://b.example.com:443", "https://a.example.com:443"]
        );
        assert!(OutboundPolicy::deny_all().rules().is_empty());
    }

    #[test]
    fn denials_say_why_and_name_the_origin() {
        let p = policy(&["api.example.com"]);
        let said =
            |scheme, authority, creds, body| match check_with(&p, scheme, authority, creds, body) {
                Decision::Deny(r) => r.to_string(),
                Decision::Allow => panic!("{scheme}://{authority} allowed"),
            };
        assert_eq!(
            said("ftp", "api.example.com", false, false),
            "scheme `ftp` is not allowed"
        );
        assert_eq!(
            said("https", "user@api.example.com", false, false),
            "user info (`user@host`) is not allowed"
        );
        assert_eq!(
            said("https", "evil.com", false, false),
            "`https://evil.com:443` is not in the task's grant (the origins its operator declared, see `validate --explain`); allow it with --allow-host if intended"
        );
        assert_eq!(
            said("http", "api.example.com", true, false),
            "credentials may only be sent over https (or to loopback), not to `http://api.example.com:80`"
        );
        assert_eq!(
            said("http", "api.example.com", false, true),
            "a request body may hold a secret: it goes only over https (or to loopback), not to `http://api.example.com:80`"
        );
    }

    #[test]
    fn origins_from_parts_are_checked_like_rules() {
        let r = AllowRule::from_parts("HTTPS", "Login.Example.", 443).unwrap();
        assert_eq!(r.to_string(), "https://login.example:443");
        assert_eq!(
            AllowRule::from_parts("http", "::1", 8080)
                .unwrap()
                .to_string(),
            "http://[::1]:8080"
        );
        assert_eq!(
            AllowRule::from_parts("http", "[::1]", 8080).unwrap(),
            AllowRule::from_parts("http", "::1", 8080).unwrap()
        );
        for (scheme, host, port) in [
            ("ftp", "h", 21),
            ("https", "", 443),
            ("https", "h", 0),
            ("https", "*.example.com", 443),
            ("https", "a@b", 443),
            ("https", "a/b", 443),
            ("https", "h:1", 443),
        ] {
            assert!(
                AllowRule::from_parts(scheme, host, port).is_err(),
                "{scheme} {host} {port}"
            );
        }
    }

    #[test]
    fn origins_sort_and_round_trip_as_text() {
        let mut v = vec![
            AllowRule::parse("https://b.example").unwrap(),
            AllowRule::parse("http://a.example:8080").unwrap(),
            AllowRule::parse("https://a.example").unwrap(),
        ];
        v.sort();
        let text: Vec<String> = v.iter().map(|r| r.to_string()).collect();
        assert_eq!(
            text,
            [
                "http://a.example:8080",
                "https://a.example:443",
                "https://b.example:443"
            ]
        );
        let json = serde_json::to_string(&v).unwrap();
        let back: Vec<AllowRule> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, v);
        assert!(serde_json::from_str::<AllowRule>("\"a.example\"").is_err());
    }

    #[test]
    fn loopback_detection() {
        for h in [
            "localhost",
            "LOCALHOST",
            "localhost.",
            "127.0.0.1",
            "127.9.9.9",
            "127.0.0.1.",
            "::1",
            "[::1]",
        ] {
            assert!(is_loopback(h), "{h}");
        }
        for h in [
            "localhost.evil.com",
            "localhost.evil",
            "127.attacker.example",
            "128.0.0.1",
            "10.0.0.1",
            "example.com",
            "::2",
            "::ffff:127.0.0.1",
            "[::ffff:10.0.0.1]",
            "2130706433",
        ] {
            assert!(!is_loopback(h), "{h}");
        }
    }
}
