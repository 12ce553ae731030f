//! URL helpers (pure): splitting an absolute URL the way `wasi:http` wants it,
//! percent-encoding, query strings.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::HttpError;

/// An absolute URL split the way `wasi:http` wants it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    /// `true` for `https`.
    pub https: bool,
    /// `host[:port]`.
    pub authority: String,
    /// Path and query, starting with `/`.
    pub path_with_query: String,
}

impl Url {
    /// Splits an absolute `http(s)://authority/path?query` URL (a fragment is dropped).
    pub fn parse(url: &str) -> Result<Url, HttpError> {
        let (https, rest) = if let Some(r) = strip_prefix_ci(url, "https://") {
            (true, r)
        } else if let Some(r) = strip_prefix_ci(url, "http://") {
            (false, r)
        } else {
            return Err(HttpError::InvalidUrl(format!(
                "`{}` is not an absolute http(s) URL",
                redact_query(url)
            )));
        };
        let rest = rest.split('#').next().unwrap_or("");
        let split = rest.find(['/', '?']).unwrap_or(rest.len());
        let authority = &rest[..split];
        if authority.is_empty()
            || authority.contains('@')
            || authority.chars().any(|c| c.is_whitespace())
        {
            return Err(HttpError::InvalidUrl(format!(
                "`{}` has no usable host",
                redact_query(url)
            )));
        }
        let tail = &rest[split..];
        let path_with_query = if tail.is_empty() {
            "/".to_string()
        } else if tail.starts_with('?') {
            format!("/{tail}")
        } else {
            tail.to_string()
        };
        if path_with_query
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(HttpError::InvalidUrl(format!(
                "`{}` contains whitespace",
                redact_query(url)
            )));
        }
        Ok(Url {
            https,
            authority: authority.to_string(),
            path_with_query,
        })
    }

    /// The host without port (brackets kept for IPv6 literals).
    pub fn host(&self) -> &str {
        let a = self.authority.as_str();
        if a.starts_with('[') {
            match a.find(']') {
                Some(i) => &a[..=i],
                None => a,
            }
        } else {
            a.rsplit_once(':').map(|(h, _)| h).unwrap_or(a)
        }
    }

    /// The host in lower case, without IPv6 brackets or a trailing dot
    /// (`[::1]` → `::1`, `Login.Example.` → `login.example`).
    pub fn host_name(&self) -> String {
        let h = self.host();
        let h = h
            .strip_prefix('[')
            .and_then(|r| r.strip_suffix(']'))
            .unwrap_or(h);
        h.strip_suffix('.').unwrap_or(h).to_ascii_lowercase()
    }

    /// The port: the one written in the URL, else 443 for https and 80 for http.
    pub fn port(&self) -> Result<u16, HttpError> {
        let a = self.authority.as_str();
        let after_host = &a[self.host().len()..];
        match after_host.strip_prefix(':') {
            None if after_host.is_empty() => Ok(if self.https { 443 } else { 80 }),
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| HttpError::InvalidUrl(format!("`{a}` has an invalid port"))),
            None => Err(HttpError::InvalidUrl(format!("`{a}` is not host[:port]"))),
        }
    }

    /// True when the host is a loopback address: see [`is_loopback_host`].
    pub fn is_loopback(&self) -> bool {
        is_loopback_host(self.host())
    }

    /// True when credentials (bearer tokens, secrets) may be sent to this URL: https, or
    /// plain http to a loopback address.
    pub fn may_carry_credentials(&self) -> bool {
        self.https || self.is_loopback()
    }

    /// `scheme://authority` (no trailing slash).
    pub fn origin(&self) -> String {
        format!(
            "{}://{}",
            if self.https { "https" } else { "http" },
            self.authority
        )
    }
}

/// True when `host` (as written in a URL, IPv6 in brackets or not) is a loopback
/// address, decided by parsing, never by prefix: an IPv4 literal in `127.0.0.0/8`,
/// the IPv6 literal `::1`, or the name `localhost` (any case); one trailing dot is
/// allowed. `127.attacker.example`, `localhost.evil`, `[::ffff:127.0.0.1]` and
/// `[::ffff:10.0.0.1]` are not loopback.
pub fn is_loopback_host(host: &str) -> bool {
    let h = host.strip_suffix('.').unwrap_or(host);
    if h.eq_ignore_ascii_case("localhost") {
        return true;
    }
    let bare = h
        .strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .unwrap_or(h);
    if let Ok(v6) = bare.parse::<Ipv6Addr>() {
        return v6 == Ipv6Addr::LOCALHOST;
    }
    h.parse::<Ipv4Addr>().is_ok_and(|v4| v4.octets()[0] == 127)
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    if s.len() >= prefix.len()
        && s.is_char_boundary(prefix.len())
        && s[..prefix.len()].eq_ignore_ascii_case(prefix)
    {
        Some(&s[prefix.len()..])
    } else {
        None
    }
}

/// A URL with its query string removed (query strings may carry skip tokens or SAS
/// signatures; never print them).
pub fn redact_query(url: &str) -> String {
    match url.find('?') {
        Some(i) => format!("{}?…", &url[..i]),
        None => url.to_string(),
    }
}

/// Percent-encodes everything except RFC 3986 unreserved characters.
pub fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Encodes `application/x-www-form-urlencoded` pairs.
pub fn form_encode(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode_component(k), encode_component(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Appends `key=value` pairs (encoded) to a URL that may already have a query.
pub fn with_query(url: &str, pairs: &[(&str, &str)]) -> String {
    if pairs.is_empty() {
        return url.to_string();
    }
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{}", form_encode(pairs))
}

/// The value of query parameter `key` in `url` (not decoded), if present.
pub fn query_param<'a>(url: &'a str, key: &str) -> Option<&'a str> {
    let q = url.split_once('?')?.1;
    q.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (k == key).then_some(v)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_parsing() {
        let u = Url::parse("https://management.azure.com/subscriptions/x?api-version=1").unwrap();
        assert!(u.https);
        assert_eq!(u.authority, "management.azure.com");
        assert_eq!(u.path_with_query, "/subscriptions/x?api-version=1");
        assert_eq!(u.host(), "management.azure.com");
        assert!(!u.is_loopback());
        assert!(u.may_carry_credentials());

        let u = Url::parse("http://127.0.0.1:8080").unwrap();
        assert_eq!(u.authority, "127.0.0.1:8080");
        assert_eq!(u.path_with_query, "/");
        assert_eq!(u.host(), "127.0.0.1");
        assert!(u.is_loopback() && u.may_carry_credentials());
        assert_eq!(u.origin(), "http://127.0.0.1:8080");

        let u = Url::parse("HTTP://[::1]:99?x=1#frag").unwrap();
        assert_eq!(u.host(), "[::1]");
        assert_eq!(u.path_with_query, "/?x=1");
        assert!(u.is_loopback());

        let u = Url::parse("http://169.254.169.254/metadata").unwrap();
        assert!(!u.may_carry_credentials());

        for bad in [
            "ftp://x/",
            "management.azure.com/x",
            "https:///x",
            "https://user@host/",
            "https://h/a b",
        ] {
            assert!(
                matches!(Url::parse(bad), Err(HttpError::InvalidUrl(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn loopback_is_parsed_not_guessed() {
        let loopback = [
            "localhost",
            "LOCALHOST",
            "localhost.",
            "127.0.0.1",
            "127.9.9.9",
            "127.255.255.255",
            "127.0.0.1.",
            "[::1]",
            "::1",
            "[0:0:0:0:0:0:0:1]",
        ];
        for h in loopback {
            assert!(is_loopback_host(h), "{h} is loopback");
        }
        let remote = [
            "127.attacker.example",
            "127.0.0.1.attacker.example",
            "localhost.evil",
            "localhost..",
            "evil-localhost",
            "[::ffff:10.0.0.1]",
            "[::ffff:127.0.0.1]",
            "[::2]",
            "[::1%25eth0]",
            "128.0.0.1",
            "0.0.0.0",
            "169.254.169.254",
            "2130706433",
            "127.1",
            "0x7f.0.0.1",
            "",
        ];
        for h in remote {
            assert!(!is_loopback_host(h), "{h} is not loopback");
        }
        for (url, loopback) in [
            ("http://127.attacker.example/t", false),
            ("http://localhost.evil:8080/t", false),
            ("http://[::ffff:10.0.0.1]/t", false),
            ("http://LocalHost:99/", true),
            ("http://[::1]:99/", true),
        ] {
            let u = Url::parse(url).unwrap();
            assert_eq!(u.is_loopback(), loopback, "{url}");
            assert_eq!(u.may_carry_credentials(), loopback, "{url}");
        }
    }

    #[test]
    fn hosts_and_ports() {
        let cases = [
            ("https://Login.Example./t", "login.example", 443),
            ("http://h", "h", 80),
            ("http://h:8080/x", "h", 8080),
            ("http://[::1]:9/x", "::1", 9),
            ("https://[::1]", "::1", 443),
        ];
        for (url, host, port) in cases {
            let u = Url::parse(url).unwrap();
            assert_eq!(
                (u.host_name().as_str(), u.port().unwrap()),
                (host, port),
                "{url}"
            );
        }
        for bad in [
            "http://h:0/",
            "http://h:99999/",
            "http://h:x/",
            "http://[::1]x/",
        ] {
            assert!(Url::parse(bad).unwrap().port().is_err(), "{bad}");
        }
    }

    #[test]
    fn invalid_url_message_hides_query() {
        let e = Url::parse("ftp://x/?sig=SECRET").unwrap_err();
        assert!(!e.to_string().contains("SECRET"), "{e}");
    }

    #[test]
    fn encoding() {
        assert_eq!(encode_component("a b/c+d=é"), "a%20b%2Fc%2Bd%3D%C3%A9");
        assert_eq!(encode_component("AZaz09-._~"), "AZaz09-._~");
        assert_eq!(
            form_encode(&[
                ("grant_type", "client_credentials"),
                ("scope", "https://x/.default")
            ]),
            "grant_type=client_credentials&scope=https%3A%2F%2Fx%2F.default"
        );
        assert_eq!(
            with_query("https://h/p", &[("api-version", "2023-05-01")]),
            "https://h/p?api-version=2023-05-01"
        );
        assert_eq!(
            with_query("https://h/p?a=1", &[("tail", "5")]),
            "https://h/p?a=1&tail=5"
        );
        assert_eq!(with_query("https://h/p", &[]), "https://h/p");
        assert_eq!(
            query_param("https://h/p?a=1&api-version=2018-06-01", "api-version"),
            Some("2018-06-01")
        );
        assert_eq!(query_param("https://h/p", "a"), None);
        assert_eq!(redact_query("https://h/p?$skiptoken=abc"), "https://h/p?…");
    }
}
