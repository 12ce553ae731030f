//! Which `Host` headers the emulator answers, and the base URL of every URL it hands out.
//!
//! A request is served only when its `Host` is the address the emulator is bound to
//! (`127.0.0.1:PORT` or `localhost:PORT`, any case) or the public URL's `host[:port]`;
//! anything else (a DNS-rebinding page, a proxy that was not declared) gets `421`. The URLs in
//! an answer (`Azure-AsyncOperation`, `Location`, `nextLink`, `WWW-Authenticate`, the OpenID
//! configuration, WebSocket URIs) use the scheme and host the request came in on, or the public
//! URL for requests that came through it, as ARM answers with the host it was called on.

/// The accepted origins.
#[derive(Clone, Debug)]
pub(crate) struct Origins {
    /// `http` or `https`.
    scheme: &'static str,
    port: u16,
    public: Option<Public>,
}

/// The declared public URL.
#[derive(Clone, Debug)]
struct Public {
    /// `scheme://host[:port]`, no trailing slash.
    base: String,
    /// Lower-case `Host` values that mean this URL (`host:port`, and `host` alone when the
    /// port is the scheme's default).
    hosts: Vec<String>,
}

/// `host:port`, plus `host` when `port` is the default of `scheme`.
fn host_forms(host: &str, port: u16, scheme: &str) -> Vec<String> {
    let host = host.to_ascii_lowercase();
    let mut forms = vec![format!("{host}:{port}")];
    if (scheme == "https" && port == 443) || (scheme == "http" && port == 80) {
        forms.push(host);
    }
    forms
}

/// Parses a public URL: `http(s)://host[:port]` with no user info, query or path beyond `/`.
pub(crate) fn parse_public_url(url: &str) -> Result<(String, Vec<String>), String> {
    let bad = |why: &str| format!("the public URL {url:?} {why}");
    let u = url::Url::parse(url).map_err(|e| bad(&format!("is not a URL: {e}")))?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err(bad("must start with http:// or https://"));
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err(bad("must not carry user info"));
    }
    if u.path() != "/" || u.query().is_some() || u.fragment().is_some() {
        return Err(bad("must be scheme://host[:port] with no path"));
    }
    let host = u.host_str().ok_or_else(|| bad("has no host"))?;
    let port = u.port_or_known_default().unwrap_or(443);
    let base = url.trim_end_matches('/').to_string();
    Ok((base, host_forms(host, port, u.scheme())))
}

impl Origins {
    /// The origins of an emulator bound at `base_url` (`http(s)://127.0.0.1:PORT`).
    pub fn new(base_url: &str) -> Origins {
        let scheme = if base_url.starts_with("https://") {
            "https"
        } else {
            "http"
        };
        let port = base_url
            .rsplit(':')
            .next()
            .and_then(|p| p.trim_end_matches('/').parse().ok())
            .unwrap_or(0);
        Origins {
            scheme,
            port,
            public: None,
        }
    }

    /// Also accepts `public_url` (see [`parse_public_url`]).
    pub fn with_public_url(mut self, public_url: &str) -> Result<Origins, String> {
        let (base, hosts) = parse_public_url(public_url)?;
        self.public = Some(Public { base, hosts });
        Ok(self)
    }

    /// The base URL (no trailing slash) for a request with this `Host` header, or `None`
    /// when the emulator must not answer it.
    pub fn base_for(&self, host: Option<&str>) -> Option<String> {
        let host = host?.trim().to_ascii_lowercase();
        if let Some(p) = &self.public {
            if p.hosts.contains(&host) {
                return Some(p.base.clone());
            }
        }
        let local = ["127.0.0.1", "localhost"]
            .iter()
            .any(|h| host_forms(h, self.port, self.scheme).contains(&host));
        local.then(|| format!("{}://{host}", self.scheme))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bound_addresses_only() {
        let o = Origins::new("http://127.0.0.1:4567");
        assert_eq!(
            o.base_for(Some("127.0.0.1:4567")).as_deref(),
            Some("http://127.0.0.1:4567")
        );
        assert_eq!(
            o.base_for(Some("LocalHost:4567")).as_deref(),
            Some("http://localhost:4567")
        );
        for refused in [
            None,
            Some(""),
            Some("attacker.example"),
            Some("attacker.example:4567"),
            Some("127.0.0.1"),
            Some("127.0.0.1:4568"),
            Some("127.0.0.2:4567"),
            Some("localhost.attacker.example:4567"),
        ] {
            assert_eq!(o.base_for(refused), None, "{refused:?}");
        }
        let tls = Origins::new("https://127.0.0.1:443");
        assert_eq!(
            tls.base_for(Some("localhost")).as_deref(),
            Some("https://localhost")
        );
        assert_eq!(
            tls.base_for(Some("localhost:443")).as_deref(),
            Some("https://localhost:443")
        );
    }

    #[test]
    fn public_url_is_accepted_and_used() {
        let o = Origins::new("http://127.0.0.1:4567")
            .with_public_url("https://aci.example.test/")
            .unwrap();
        for host in ["aci.example.test", "ACI.example.test:443"] {
            assert_eq!(
                o.base_for(Some(host)).as_deref(),
                Some("https://aci.example.test"),
                "{host}"
            );
        }
        assert_eq!(
            o.base_for(Some("127.0.0.1:4567")).as_deref(),
            Some("http://127.0.0.1:4567")
        );
        assert_eq!(o.base_for(Some("aci.example.test:8443")), None);
        let p = Origins::new("http://127.0.0.1:1")
            .with_public_url("https://proxy:8443")
            .unwrap();
        assert_eq!(
            p.base_for(Some("proxy:8443")).as_deref(),
            Some("https://proxy:8443")
        );
        assert_eq!(p.base_for(Some("proxy")), None);
    }

    #[test]
    fn bad_public_urls() {
        for bad in [
            "aci.example.test",
            "ftp://x",
            "https://u:p@x",
            "https://x/path",
            "https://x/?q=1",
        ] {
            assert!(parse_public_url(bad).is_err(), "{bad}");
        }
    }
}
