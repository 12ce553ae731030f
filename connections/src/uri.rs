//! Airflow connection URIs, parsed the way Airflow's `Connection._parse_from_uri`
//! does on top of Python's `urllib.parse.urlsplit`, `unquote` and `parse_qsl`.
//!
//! Error reasons never quote the URI: it usually carries a password.

use percent_encoding::percent_decode_str;

use crate::{normalize_conn_type, Connection};

/// The query parameter whose value is the whole extra as JSON.
const EXTRA_KEY: &str = "__extra__";

/// Parses `uri` into a connection named `conn_id`.
pub(crate) fn parse(conn_id: &str, uri: &str) -> Result<Connection, String> {
    // urlsplit strips surrounding whitespace and drops tabs and newlines.
    let cleaned: String = uri
        .trim()
        .chars()
        .filter(|c| !matches!(c, '\t' | '\r' | '\n'))
        .collect();
    let uri = cleaned.as_str();
    if uri.is_empty() {
        return Err("the URI is empty".into());
    }
    let schemes = uri.matches("://").count();
    if schemes > 2 {
        return Err("the URI has more than two `://`".into());
    }
    let (scheme, after) = split_scheme(uri).ok_or_else(|| {
        "the URI has no connection type; it must start with `<conn_type>://` (e.g. `azure://`)"
            .to_string()
    })?;
    let rest = after.strip_prefix("//").ok_or_else(|| {
        format!("the URI must start with `{scheme}://` (two slashes after the connection type)")
    })?;

    let (protocol, split) = if schemes == 2 {
        let (before, _) = rest.split_once("://").unwrap_or((rest, ""));
        if before.contains('@') || before.contains(':') {
            return Err(
                "a host with a protocol (`<type>://<protocol>://<host>`) must not have a login or port before the protocol"
                    .into(),
            );
        }
        let (protocol, after) = split_scheme(rest).ok_or_else(|| {
            "the protocol of the host (`<type>://<protocol>://<host>`) is not a valid URI scheme".to_string()
        })?;
        let after = after.strip_prefix("//").unwrap_or(after);
        (Some(protocol), urlsplit_authority(after)?)
    } else {
        (None, urlsplit_authority(rest)?)
    };

    let host = parse_netloc_to_hostname(&split)?;
    let host = match (protocol, host.is_empty()) {
        (_, true) => None,
        (Some(protocol), false) => Some(format!("{protocol}://{host}")),
        (None, false) => Some(host),
    };
    let schema = split.path.strip_prefix('/').unwrap_or(&split.path);
    let (login, password) = split.userinfo();
    let port = split.port()?;

    let mut extra = serde_json::Map::new();
    if let Some(query) = &split.query {
        let pairs = parse_qsl(query);
        if let Some((_, raw)) = pairs.iter().rev().find(|(k, _)| k == EXTRA_KEY) {
            extra = parse_extra_json(raw)?;
        } else {
            for (k, v) in pairs {
                extra.insert(k, serde_json::Value::String(v));
            }
        }
    }

    Ok(Connection {
        conn_id: conn_id.to_string(),
        conn_type: Some(normalize_conn_type(&scheme)),
        host,
        login: non_empty(login.map(unquote)),
        password: non_empty(password.map(unquote)),
        schema: non_empty(Some(unquote(schema))),
        port,
        extra,
    })
}

fn parse_extra_json(raw: &str) -> Result<serde_json::Map<String, serde_json::Value>, String> {
    match serde_json::from_str::<serde_json::Value>(raw) {
        Ok(serde_json::Value::Object(map)) => Ok(map),
        Ok(_) => Err(format!("`{EXTRA_KEY}` must be a JSON object")),
        Err(e) => Err(format!(
            "`{EXTRA_KEY}` is not valid JSON (line {} column {})",
            e.line(),
            e.column()
        )),
    }
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.is_empty())
}

/// Python's `urllib.parse.unquote`: percent-decoding, invalid sequences kept
/// as they are, invalid UTF-8 replaced.
pub(crate) fn unquote(s: &str) -> String {
    percent_decode_str(s).decode_utf8_lossy().into_owned()
}

/// Python's `unquote_plus` for query strings: `+` is a space.
fn unquote_plus(s: &str) -> String {
    unquote(&s.replace('+', " "))
}

/// Python's `parse_qsl(query, keep_blank_values=True)` (separator `&`).
fn parse_qsl(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|piece| !piece.is_empty())
        .map(|piece| {
            let (k, v) = piece.split_once('=').unwrap_or((piece, ""));
            (unquote_plus(k), unquote_plus(v))
        })
        .collect()
}

/// Splits `scheme:rest` as urlsplit does: the scheme starts with a letter and
/// holds only letters, digits, `+`, `-` and `.`; it is lower-cased.
fn split_scheme(s: &str) -> Option<(String, &str)> {
    let colon = s.find(':')?;
    let scheme = &s[..colon];
    let mut chars = scheme.chars();
    let first = chars.next()?;
    if !first.is_ascii_alphabetic()
        || !chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    {
        return None;
    }
    Some((scheme.to_ascii_lowercase(), &s[colon + 1..]))
}

/// The parts of `netloc[/path][?query][#fragment]`.
struct Split {
    netloc: String,
    path: String,
    query: Option<String>,
    /// True when an `@` follows the netloc (a user info cut short).
    rest_has_at: bool,
}

/// urlsplit of a URL whose `//` has been consumed: the netloc runs up to the
/// first `/`, `?` or `#`.
fn urlsplit_authority(s: &str) -> Result<Split, String> {
    let end = s.find(['/', '?', '#']).unwrap_or(s.len());
    let netloc = &s[..end];
    let mut rest = &s[end..];
    if let Some(hash) = rest.find('#') {
        rest = &rest[..hash];
    }
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, Some(q.to_string())),
        None => (rest, None),
    };
    if netloc.contains('[') != netloc.contains(']') {
        return Err("invalid IPv6 host: unbalanced `[` `]`".into());
    }
    Ok(Split {
        netloc: netloc.to_string(),
        path: path.to_string(),
        query,
        rest_has_at: s[end..].contains('@'),
    })
}

impl Split {
    /// `(username, password)` as urlsplit gives them (still quoted).
    fn userinfo(&self) -> (Option<&str>, Option<&str>) {
        match self.netloc.rsplit_once('@') {
            Some((userinfo, _)) => match userinfo.split_once(':') {
                Some((user, password)) => (Some(user), Some(password)),
                None => (Some(userinfo), None),
            },
            None => (None, None),
        }
    }

    fn hostinfo(&self) -> &str {
        self.netloc
            .rsplit_once('@')
            .map_or(self.netloc.as_str(), |(_, h)| h)
    }

    /// `(hostname, port)` as urlsplit's `_hostinfo`: brackets removed, port
    /// text after the host.
    fn host_and_port(&self) -> (&str, &str) {
        let hostinfo = self.hostinfo();
        if let Some((_, bracketed)) = hostinfo.split_once('[') {
            let (host, after) = bracketed.split_once(']').unwrap_or((bracketed, ""));
            let port = after.split_once(':').map_or("", |(_, p)| p);
            (host, port)
        } else {
            hostinfo.split_once(':').unwrap_or((hostinfo, ""))
        }
    }

    /// urlsplit's `hostname`: lower-cased, except an IPv6 zone id.
    fn hostname(&self) -> String {
        let (host, _) = self.host_and_port();
        match host.split_once('%') {
            Some((h, zone)) => format!("{}%{zone}", h.to_lowercase()),
            None => host.to_lowercase(),
        }
    }

    /// urlsplit's `port`, with its errors. The port text is never quoted:
    /// when a password holds an unencoded `/`, `?` or `#`, the netloc ends
    /// inside the password and what looks like a port is part of it.
    fn port(&self) -> Result<Option<u16>, String> {
        let (_, port) = self.host_and_port();
        if port.is_empty() {
            return Ok(None);
        }
        if !port.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!(
                "the port is not a number; if the password holds `/`, `?`, `#` or `@`, \
                 percent-encode them (`%2F`, `%3F`, `%23`, `%40`){}",
                self.cut_short_hint()
            ));
        }
        port.parse::<u32>()
            .ok()
            .filter(|p| *p <= u16::MAX as u32)
            .map(|p| Some(p as u16))
            .ok_or_else(|| "the port is out of range 0-65535".to_string())
    }

    /// A hint when the netloc has no `@` although the text after it does:
    /// the user info was cut short by an unencoded `/`, `?` or `#`.
    fn cut_short_hint(&self) -> &'static str {
        if !self.netloc.contains('@') && self.rest_has_at {
            " (the user info seems to be cut short by one of them)"
        } else {
            ""
        }
    }
}

/// Airflow's `_parse_netloc_to_hostname`: the decoded host name, except that a
/// host holding an encoded `/` is taken verbatim (case kept) from the netloc.
fn parse_netloc_to_hostname(split: &Split) -> Result<String, String> {
    let hostname = unquote(&split.hostname());
    if !hostname.contains('/') {
        return Ok(hostname);
    }
    let hostinfo = split.hostinfo();
    let host = hostinfo.split_once(':').map_or(hostinfo, |(h, _)| h);
    Ok(unquote(host))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn p(uri: &str) -> Connection {
        Connection::from_uri("c", uri).unwrap_or_else(|e| panic!("{uri}: {e}"))
    }

    fn err(uri: &str) -> String {
        Connection::from_uri("c", uri).unwrap_err().to_string()
    }

    #[test]
    fn azure_service_principal() {
        let c = p("azure://CLIENT_ID:SECRET@?tenantId=tid&subscriptionId=sid");
        assert_eq!(c.conn_type.as_deref(), Some("azure"));
        assert_eq!(c.login.as_deref(), Some("CLIENT_ID"));
        assert_eq!(c.password.as_deref(), Some("SECRET"));
        assert_eq!(c.host, None);
        assert_eq!(c.schema, None);
        assert_eq!(c.port, None);
        assert_eq!(
            serde_json::Value::Object(c.extra),
            json!({"tenantId": "tid", "subscriptionId": "sid"})
        );
    }

    #[test]
    fn full_uri_with_everything() {
        let c = p("my-conn-type://login:password@host:5432/schema?param1=val1&param2=val2");
        assert_eq!(c.conn_type.as_deref(), Some("my_conn_type"));
        assert_eq!(c.host.as_deref(), Some("host"));
        assert_eq!(c.port, Some(5432));
        assert_eq!(c.schema.as_deref(), Some("schema"));
        assert_eq!(c.login.as_deref(), Some("login"));
        assert_eq!(c.password.as_deref(), Some("password"));
        assert_eq!(
            serde_json::Value::Object(c.extra),
            json!({"param1": "val1", "param2": "val2"})
        );
    }

    #[test]
    fn percent_decoding_of_userinfo_host_and_schema() {
        let c = p("postgres://us%40er:p%40ss%2Fw%3Ard%25@db.example.com:5432/my%2Fdb");
        assert_eq!(c.login.as_deref(), Some("us@er"));
        assert_eq!(c.password.as_deref(), Some("p@ss/w:rd%"));
        assert_eq!(c.host.as_deref(), Some("db.example.com"));
        assert_eq!(c.schema.as_deref(), Some("my/db"));
    }

    #[test]
    fn plus_is_literal_in_userinfo_and_space_in_query() {
        let c = p("x://u+1:a+b@h?q=a+b&r=%2B");
        assert_eq!(c.login.as_deref(), Some("u+1"));
        assert_eq!(c.password.as_deref(), Some("a+b"));
        assert_eq!(c.extra["q"], json!("a b"));
        assert_eq!(c.extra["r"], json!("+"));
    }

    #[test]
    fn unencoded_at_and_colon_in_password() {
        // urlsplit splits user info at the last `@` and the first `:`.
        let c = p("x://user:pa:ss@word@host");
        assert_eq!(c.login.as_deref(), Some("user"));
        assert_eq!(c.password.as_deref(), Some("pa:ss@word"));
        assert_eq!(c.host.as_deref(), Some("host"));
    }

    #[test]
    fn empty_and_missing_password() {
        let c = p("x://user:@host");
        assert_eq!(c.login.as_deref(), Some("user"));
        assert_eq!(c.password, None);
        let c = p("x://user@host");
        assert_eq!(c.password, None);
        let c = p("x://:only-password@");
        assert_eq!(c.login, None);
        assert_eq!(c.password.as_deref(), Some("only-password"));
        assert_eq!(c.host, None);
    }

    #[test]
    fn ipv6_hosts() {
        let c = p("postgres://u:p@[::1]:5432/db");
        assert_eq!(c.host.as_deref(), Some("::1"));
        assert_eq!(c.port, Some(5432));
        let c = p("x://[FE80::1%25eth0]");
        assert_eq!(c.host.as_deref(), Some("fe80::1%eth0"));
        assert_eq!(c.port, None);
        assert!(err("x://[::1").contains("IPv6"));
    }

    #[test]
    fn no_host_at_all() {
        let c = p("aws://");
        assert_eq!(c.conn_type.as_deref(), Some("aws"));
        assert_eq!(
            (c.host, c.login, c.password, c.schema, c.port),
            (None, None, None, None, None)
        );
        assert!(c.extra.is_empty());
        let c = p("azure://?key_path=%2Fkeys%2Fkey.json");
        assert_eq!(c.extra["key_path"], json!("/keys/key.json"));
    }

    #[test]
    fn host_is_lower_cased_unless_it_holds_a_slash() {
        assert_eq!(
            p("x://MyHost.Example.COM").host.as_deref(),
            Some("myhost.example.com")
        );
        let c = p("x://login:password@My-Host%2FPath:5432/schema");
        assert_eq!(c.host.as_deref(), Some("My-Host/Path"));
        assert_eq!(c.port, Some(5432));
    }

    #[test]
    fn host_with_protocol() {
        let c = p("spark://spark://Master:7077");
        assert_eq!(c.conn_type.as_deref(), Some("spark"));
        assert_eq!(c.host.as_deref(), Some("spark://master"));
        assert_eq!(c.port, Some(7077));
        let c = p("http://https://Example.com:8443/api?x=1");
        assert_eq!(c.host.as_deref(), Some("https://example.com"));
        assert_eq!(c.port, Some(8443));
        assert_eq!(c.schema.as_deref(), Some("api"));
        assert_eq!(c.extra["x"], json!("1"));
        assert!(err("a://b://c://d").contains("more than two"));
    }

    #[test]
    fn host_with_protocol_rejects_userinfo_before_protocol() {
        let e = err("x://user:pw@https://host");
        assert!(e.contains("must not have a login"), "{e}");
        assert!(!e.contains("pw"), "{e}");
    }

    #[test]
    fn extra_json_parameter() {
        let c = p("x://?__extra__=%7B%22a%22%3A+%7B%22b%22%3A+1%7D%2C+%22l%22%3A+%5B1%2C2%5D%7D&ignored=1");
        assert_eq!(
            serde_json::Value::Object(c.extra),
            json!({"a": {"b": 1}, "l": [1, 2]})
        );
        assert!(err("x://?__extra__=%5B1%5D").contains("JSON object"));
        assert!(err("x://?__extra__=nope").contains("not valid JSON"));
    }

    #[test]
    fn blank_and_valueless_query_params() {
        let c = p("x://h?a=&b&c=1&c=2&&");
        assert_eq!(
            serde_json::Value::Object(c.extra),
            json!({"a": "", "b": "", "c": "2"})
        );
    }

    #[test]
    fn query_values_are_percent_decoded() {
        let c = p("wasb://acct:key@?connection_string=DefaultEndpointsProtocol%3Dhttps%3BAccountKey%3Dabc%3D%3D");
        assert_eq!(
            c.extra["connection_string"],
            json!("DefaultEndpointsProtocol=https;AccountKey=abc==")
        );
    }

    #[test]
    fn postgresql_becomes_postgres_and_scheme_is_lower_cased() {
        assert_eq!(p("postgresql://h").conn_type.as_deref(), Some("postgres"));
        assert_eq!(
            p("Azure-Container://h").conn_type.as_deref(),
            Some("azure_container")
        );
    }

    #[test]
    fn schema_keeps_inner_slashes_and_fragment_is_dropped() {
        let c = p("x://h/a/b#frag");
        assert_eq!(c.schema.as_deref(), Some("a/b"));
    }

    #[test]
    fn port_errors_do_not_leak_secrets() {
        let e = err("x://user:s3cr3t-pw@host:abc");
        assert!(e.contains("port is not a number"), "{e}");
        assert!(!e.contains("s3cr3t") && !e.contains("abc"), "{e}");
        assert!(err("x://host:70000").contains("out of range"));
        assert_eq!(p("x://host:").port, None);
        assert_eq!(p("x://host:0").port, Some(0));
    }

    #[test]
    fn unencoded_slash_question_mark_or_hash_in_a_password_is_not_shown() {
        for (uri, secret) in [
            ("azure://client-id:pa55word/x9Yz@?tenantId=t", "pa55word"),
            ("azure://client-id:sEcr?et-Value@?tenantId=t", "sEcr"),
            ("azure://client-id:hunter2#tail@host", "hunter2"),
            ("postgres://u:12ab/34@db:5432/x", "12ab"),
        ] {
            let e = err(uri);
            assert!(e.contains("port is not a number"), "{uri}: {e}");
            assert!(e.contains("percent-encode"), "{uri}: {e}");
            assert!(e.contains("cut short"), "{uri}: {e}");
            assert!(!e.contains(secret), "{uri}: {e}");
        }
    }

    #[test]
    fn malformed_uris() {
        assert!(err("").contains("empty"));
        assert!(err("no-scheme-here").contains("no connection type"));
        assert!(err("1x://h").contains("no connection type"));
        assert!(err("azure:h").contains("two slashes"));
    }

    #[test]
    fn surrounding_whitespace_is_ignored() {
        let c = p("  azure://id:pw@?tenantId=t\n");
        assert_eq!(c.password.as_deref(), Some("pw"));
        assert_eq!(c.extra["tenantId"], json!("t"));
    }

    #[test]
    fn invalid_percent_sequences_are_kept() {
        let c = p("x://u:100%zz@h");
        assert_eq!(c.password.as_deref(), Some("100%zz"));
    }
}
