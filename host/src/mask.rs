//! Secret masking: the one place that knows which strings must never leave
//! the host in clear text.
//!
//! The host learns secrets as it goes (connection passwords and secret
//! extras when a connection is resolved or used in a template, rendered
//! values of `secured_variables`, Airflow variables with sensitive names) and
//! adds them to a shared [`Masker`]. Everything that leaves the host (log
//! lines, container output, the `--json` result, error messages) passes
//! through [`Masker::mask`] or [`Masker::mask_json`], which replace every
//! known secret with `***`.
//!
//! Rules (following Airflow's secrets masker, with the choices written down):
//! - A secret shorter than [`MIN_SECRET_LEN`] characters (after trimming
//!   whitespace) is ignored: masking `"a"` or `"abc"` everywhere would make
//!   output unreadable while protecting almost nothing. Airflow 3 makes the
//!   same trade-off with a minimum of 5; we mask from 4.
//! - Each secret is also masked in the encodings in which it commonly shows up
//!   in output: percent-encoded (as in a connection URI), JSON-escaped (as in a
//!   JSON document), and, for multi-line secrets such as private keys, line by
//!   line (logs are line oriented).
//! - Matching is leftmost-longest over all secrets at once, so a secret that
//!   contains another secret is masked as a whole.
//!
//! Mask whole lines or whole documents: a secret split across two calls to
//! [`Masker::mask`] cannot be recognised.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::{Arc, RwLock};

use aho_corasick::{AhoCorasick, MatchKind};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// What a masked secret is replaced with.
pub const MASK: &str = "***";

/// Secrets shorter than this many characters (after trimming) are not masked.
pub const MIN_SECRET_LEN: usize = 4;

/// Substrings that make a key name sensitive (compared case-insensitively).
///
/// Airflow's `DEFAULT_SENSITIVE_FIELDS` plus the Azure key names this host
/// deals with (`AccountKey`, `workspaceKey`, `connection_string`, ...).
const SENSITIVE_KEY_PARTS: &[&str] = &[
    // Airflow's defaults.
    "access_token",
    "api_key",
    "apikey",
    "authorization",
    "passphrase",
    "passwd",
    "password",
    "private_key",
    "secret",
    "token",
    "keyfile_dict",
    "service_account",
    // Azure and friends.
    "privatekey",
    "accountkey",
    "account_key",
    "workspacekey",
    "workspace_key",
    "sharedaccesskey",
    "shared_access_key",
    "sharedaccesssignature",
    "connection_string",
    "connectionstring",
    "credential",
];

/// Key names (lowercase) of connection-string segments whose value is a secret.
const CONNECTION_STRING_SECRET_PARTS: &[&str] = &[
    "accountkey",
    "sharedaccesskey",
    "sharedaccesssignature",
    "password",
    "pwd",
];

/// Python's `urllib.parse.quote(s, safe="")`: everything but `A-Za-z0-9_.-~`.
const QUOTE_ALL: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'_')
    .remove(b'.')
    .remove(b'-')
    .remove(b'~');

/// True when a key with this name holds a secret (Airflow's rule: the
/// lowercase name contains one of the sensitive words, e.g. `password`,
/// `secret`, `token`, `api_key`, plus Azure's `AccountKey`, `workspaceKey`,
/// `connection_string`).
pub fn is_sensitive_key(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    SENSITIVE_KEY_PARTS.iter().any(|part| lower.contains(part))
}

/// Collects the secrets inside a JSON document: every string (or number)
/// stored under a sensitive key (see [`is_sensitive_key`]), at any depth, and
/// the key parts of connection strings (`AccountKey=...`,
/// `SharedAccessSignature=...`). Strings that hold a JSON object (such as an
/// Airflow `key_json` extra given as text) are searched too.
pub fn secrets_in_json(value: &serde_json::Value, out: &mut Vec<String>) {
    collect_secrets(None, value, false, out, 0);
}

/// Depth bound for [`secrets_in_json`]; deeper documents are not searched
/// further (serde_json itself refuses documents deeper than 128).
const MAX_DEPTH: usize = 64;

fn collect_secrets(
    key: Option<&str>,
    value: &serde_json::Value,
    inherited: bool,
    out: &mut Vec<String>,
    depth: usize,
) {
    if depth > MAX_DEPTH {
        return;
    }
    let sensitive = inherited || key.is_some_and(is_sensitive_key);
    match value {
        serde_json::Value::String(s) => {
            if key.is_some_and(is_connection_string_key) {
                out.extend(connection_string_secrets(s));
            }
            if sensitive {
                out.push(s.clone());
            } else if s.trim_start().starts_with('{') {
                if let Ok(inner @ serde_json::Value::Object(_)) = serde_json::from_str(s) {
                    collect_secrets(None, &inner, false, out, depth + 1);
                }
            }
        }
        serde_json::Value::Number(n) if sensitive => out.push(n.to_string()),
        serde_json::Value::Array(items) => {
            for item in items {
                collect_secrets(None, item, sensitive, out, depth + 1);
            }
        }
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                collect_secrets(Some(k), v, sensitive, out, depth + 1);
            }
        }
        _ => {}
    }
}

fn is_connection_string_key(key: &str) -> bool {
    let lower = key.to_ascii_lowercase();
    lower.contains("connection_string") || lower.contains("connectionstring")
}

/// The secret values of an Azure-style connection string
/// (`DefaultEndpointsProtocol=https;AccountName=a;AccountKey=SECRET;...`).
pub fn connection_string_secrets(connection_string: &str) -> Vec<String> {
    connection_string
        .split(';')
        .filter_map(|segment| segment.split_once('='))
        .filter(|(name, _)| {
            let name = name.trim().to_ascii_lowercase();
            CONNECTION_STRING_SECRET_PARTS.contains(&name.as_str())
        })
        .map(|(_, value)| value.trim().to_string())
        .filter(|value| !value.is_empty())
        .collect()
}

/// A shared, growing set of secrets and the matcher that hides them.
///
/// Cheap to clone (an `Arc` inside); all clones see the same secrets.
#[derive(Clone, Default)]
pub struct Masker(Arc<RwLock<Inner>>);

#[derive(Default)]
struct Inner {
    secrets: BTreeSet<String>,
    matcher: Option<AhoCorasick>,
}

impl fmt::Debug for Masker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Masker")
            .field("secrets", &self.len())
            .finish()
    }
}

impl Masker {
    /// An empty masker.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a secret (and its common encodings) to mask from now on.
    ///
    /// Secrets shorter than [`MIN_SECRET_LEN`] after trimming are ignored.
    pub fn add(&self, secret: &str) {
        let variants = variants(secret);
        if variants.is_empty() {
            return;
        }
        let mut inner = self.0.write().unwrap_or_else(|e| e.into_inner());
        let before = inner.secrets.len();
        inner.secrets.extend(variants);
        if inner.secrets.len() != before {
            inner.matcher = build_matcher(&inner.secrets);
        }
    }

    /// Adds every secret of an iterator (see [`Masker::add`]).
    pub fn add_all<I, S>(&self, secrets: I)
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        for secret in secrets {
            self.add(secret.as_ref());
        }
    }

    /// How many distinct strings (secrets and their encodings) are masked.
    pub fn len(&self) -> usize {
        self.0
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .secrets
            .len()
    }

    /// True when nothing is masked yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Returns `text` with every known secret replaced by [`MASK`].
    pub fn mask(&self, text: &str) -> String {
        let inner = self.0.read().unwrap_or_else(|e| e.into_inner());
        match &inner.matcher {
            Some(matcher) => replace_secrets(matcher, text),
            None => text.to_string(),
        }
    }

    /// Returns a copy of a JSON document with every known secret masked in
    /// every string, object keys included.
    pub fn mask_json(&self, value: &serde_json::Value) -> serde_json::Value {
        let inner = self.0.read().unwrap_or_else(|e| e.into_inner());
        match &inner.matcher {
            Some(matcher) => mask_value(matcher, value),
            None => value.clone(),
        }
    }
}

/// Replaces every match of any secret with [`MASK`] (one replacement for
/// all patterns, however many secrets the matcher holds).
fn replace_secrets(matcher: &AhoCorasick, text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    matcher.replace_all_with(text, &mut out, |_, _, dst| {
        dst.push_str(MASK);
        true
    });
    out
}

fn mask_value(matcher: &AhoCorasick, value: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::String(s) => Value::String(replace_secrets(matcher, s)),
        Value::Array(items) => Value::Array(items.iter().map(|v| mask_value(matcher, v)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (replace_secrets(matcher, k), mask_value(matcher, v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn build_matcher(secrets: &BTreeSet<String>) -> Option<AhoCorasick> {
    if secrets.is_empty() {
        return None;
    }
    // Building only fails for pattern sets far beyond anything a task has.
    AhoCorasick::builder()
        .match_kind(MatchKind::LeftmostLongest)
        .build(secrets)
        .ok()
}

/// The strings to mask for one secret: itself, its percent-encoded and
/// JSON-escaped forms, and its lines when it has several.
fn variants(secret: &str) -> Vec<String> {
    let mut out = Vec::new();
    if secret.trim().chars().count() < MIN_SECRET_LEN {
        return out;
    }
    let mut push = |s: &str| {
        if s.trim().chars().count() >= MIN_SECRET_LEN && !out.iter().any(|o: &String| o == s) {
            out.push(s.to_string());
        }
    };
    push(secret);
    let quoted = utf8_percent_encode(secret, QUOTE_ALL).to_string();
    push(&quoted);
    if let Ok(json) = serde_json::to_string(secret) {
        push(&json[1..json.len() - 1]);
    }
    if secret.contains('\n') {
        for line in secret.lines() {
            push(line.trim_end_matches('\r'));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn masks_many_secrets_at_once() {
        let m = Masker::default();
        m.add("first-secret");
        m.add("second-secret");
        m.add("third-secret");
        assert_eq!(
            m.mask("a first-secret b second-secret c third-secret"),
            "a *** b *** c ***"
        );
        let v = m.mask_json(&serde_json::json!({"second-secret": ["third-secret", 1]}));
        assert_eq!(v, serde_json::json!({"***": ["***", 1]}));
    }

    use super::*;
    use serde_json::json;

    #[test]
    fn masks_every_occurrence() {
        let m = Masker::new();
        m.add("hunter22");
        assert_eq!(m.mask("pw=hunter22 again hunter22."), "pw=*** again ***.");
    }

    #[test]
    fn short_secrets_are_ignored() {
        let m = Masker::new();
        m.add("abc");
        m.add("   ");
        m.add("");
        assert!(m.is_empty());
        assert_eq!(m.mask("abc"), "abc");
        m.add("abcd");
        assert_eq!(m.mask("xabcdx"), "x***x");
    }

    #[test]
    fn longest_secret_wins() {
        let m = Masker::new();
        m.add("secret");
        m.add("secret-and-more");
        assert_eq!(m.mask("a secret-and-more b secret"), "a *** b ***");
    }

    #[test]
    fn masks_percent_encoded_and_json_escaped_forms() {
        let m = Masker::new();
        m.add("p@ss/w\"rd");
        assert_eq!(m.mask("uri://u:p%40ss%2Fw%22rd@h"), "uri://u:***@h");
        assert_eq!(
            m.mask(r#"{"password":"p@ss/w\"rd"}"#),
            r#"{"password":"***"}"#
        );
    }

    #[test]
    fn masks_multiline_secrets_line_by_line() {
        let m = Masker::new();
        m.add("-----BEGIN KEY-----\nAAAABBBBCCCC\n-----END KEY-----");
        assert_eq!(m.mask("line: AAAABBBBCCCC"), "line: ***");
    }

    #[test]
    fn mask_json_masks_strings_and_keys() {
        let m = Masker::new();
        m.add("topsecret");
        let v = json!({"a": "x topsecret y", "topsecret": [1, "topsecret"], "n": 5});
        assert_eq!(
            m.mask_json(&v),
            json!({"a": "x *** y", "***": [1, "***"], "n": 5})
        );
    }

    #[test]
    fn clones_share_secrets() {
        let m = Masker::new();
        let c = m.clone();
        c.add("shared-secret");
        assert_eq!(m.mask("shared-secret"), "***");
        assert!(!format!("{m:?}").contains("shared"));
    }

    #[test]
    fn sensitive_keys_follow_airflow() {
        for k in [
            "password",
            "client_secret",
            "clientSecret",
            "api_key",
            "X-Token",
            "AccountKey",
            "workspaceKey",
            "connection_string",
        ] {
            assert!(is_sensitive_key(k), "{k}");
        }
        for k in [
            "login",
            "tenantId",
            "subscriptionId",
            "key_path",
            "host",
            "resource_group",
        ] {
            assert!(!is_sensitive_key(k), "{k}");
        }
    }

    #[test]
    fn finds_secrets_in_nested_json() {
        let v = json!({
            "tenantId": "t",
            "key_json": {"clientId": "id", "clientSecret": "cs-value"},
            "connection_string": "AccountName=acc;AccountKey=ak-value==;EndpointSuffix=core",
            "nested": {"credentials": ["c1-value", {"x": "c2-value"}]},
            "as_text": "{\"private_key\": \"pk-value\"}",
            "plain": "not-secret"
        });
        let mut out = Vec::new();
        secrets_in_json(&v, &mut out);
        for s in ["cs-value", "ak-value==", "c1-value", "c2-value", "pk-value"] {
            assert!(out.iter().any(|o| o == s), "{s} missing from {out:?}");
        }
        assert!(out.iter().any(|o| o.starts_with("AccountName=acc;")));
        assert!(!out
            .iter()
            .any(|o| o == "not-secret" || o == "t" || o == "id"));
    }

    #[test]
    fn connection_string_parts() {
        assert_eq!(connection_string_secrets("a=b;AccountKey=1"), vec!["1"]);
        assert_eq!(
            connection_string_secrets("BlobEndpoint=x;SharedAccessSignature=sv=1&sig=abc;"),
            vec!["sv=1&sig=abc"]
        );
        assert!(connection_string_secrets("garbage;;").is_empty());
    }

    #[test]
    fn masker_is_send_sync() {
        fn check<T: Send + Sync>() {}
        check::<Masker>();
    }
}
