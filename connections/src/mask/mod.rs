//! Secret masking: the one place that knows which strings must never leave
//! the host in clear text.
//!
//! The host learns secrets as it goes (connection passwords and secret
//! extras when a connection is resolved or used in a template, rendered
//! values of `secured_variables`, Airflow variables with sensitive names,
//! the contents of files read through `read-granted-file`) and adds them to
//! a shared [`Masker`]. Everything that leaves the host (log lines, guest
//! stdout/stderr, container output, the `--json` result, error messages)
//! passes through [`Masker::mask`], [`Masker::mask_json`] or, for a stream of
//! log lines, a [`LineMasker`]; each replaces every known secret with `***`.
//!
//! # What is a secret
//!
//! - A connection's password; its extras whose names contain one of
//!   Airflow's sensitive words (`access_token`, `api_key`, `apikey`,
//!   `authorization`, `passphrase`, `passwd`, `password`, `private_key`,
//!   `secret`, `token`, `keyfile_dict`, `service_account`, plus Azure's
//!   `AccountKey`, `workspaceKey`, `connection_string`, `credential`, ...;
//!   case-insensitive substring match, [`is_sensitive_key`]), at any depth of
//!   an extra that is a JSON object or a JSON text (`key_json.clientSecret`);
//!   the extras an operator declares secret (`secret-extras`,
//!   [`crate::Connection::declared_secrets`]); any extra holding
//!   a PEM private key (`client_certificate`, [`looks_like_private_key`]);
//!   the key parts of connection strings (`AccountKey=…`).
//! - The contents of every file the guest reads through `read-granted-file`
//!   ([`Masker::add_file_contents`]): the whole text, each line, and the
//!   secret values inside it when it is JSON.
//!
//! # What is masked, exactly
//!
//! For each secret of at least [`MIN_SECRET_LEN`] characters (after trimming
//! whitespace; shorter ones would make output unreadable while protecting
//! almost nothing, Airflow 3 makes the same trade-off with 5):
//! - the secret itself;
//! - percent-encoded as Python's `quote(s, safe="")`, `quote(s)` (`/` kept)
//!   and `quote_plus(s)` (space → `+`), with upper- and lower-case hex;
//! - JSON-escaped (serde_json's form, with `/` as `\/`, and with non-ASCII
//!   characters as `\uXXXX` as Python's `json.dumps` writes them);
//! - base64, standard and URL-safe, padded and unpadded, and inside a longer
//!   base64 text (the characters that depend on the secret alone, for each of
//!   the three byte alignments, so a few characters at each end of the
//!   secret's encoding may remain);
//! - for a multi-line secret (a private key, a granted file), each line
//!   except PEM armour (`-----BEGIN … KEY-----`).
//!
//! Secrets over [`MAX_SECRET_BYTES`] are masked line by line only, and
//! base64 forms are computed for secrets up to 8 KiB.
//!
//! Matching is leftmost-longest over all secrets at once, so a secret that
//! contains another secret is masked as a whole.
//!
//! # A secret split across two log lines
//!
//! A [`LineMasker`] masks one stream of lines (a task's `runtime.log`
//! lines, its stderr, its stdout) and also hides a secret split across two
//! consecutive lines:
//! - a line's trailing fragment of at least [`MIN_FRAGMENT_LEN`] characters
//!   that is the start of a secret is masked (the next line is not known
//!   yet), and
//! - when the previous line ended with the start of a secret and this line
//!   begins with its rest, that rest is masked, however short.
//!
//! So at most the first `MIN_FRAGMENT_LEN - 1` characters of a split secret
//! can show (when the line break falls that close to its start), and a line
//! that merely ends with the first few characters of a secret loses them.
//! Only the last 4 KiB of a line are compared.

mod encodings;
mod lines;
mod names;

use std::collections::BTreeSet;
use std::fmt;
use std::ops::Bound;
use std::sync::{Arc, RwLock};

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};

pub use lines::LineMasker;
pub use names::{
    connection_string_secrets, is_sensitive_key, looks_like_private_key, secrets_in_json,
};

/// What a masked secret is replaced with.
pub const MASK: &str = "***";

/// Secrets shorter than this many characters (after trimming) are not masked.
pub const MIN_SECRET_LEN: usize = 4;

/// The shortest trailing fragment of a line that is masked because a secret
/// starts with it (see [the module docs](self)).
pub const MIN_FRAGMENT_LEN: usize = 4;

/// Longest secret (or line of a multi-line secret) masked, in bytes.
pub const MAX_SECRET_BYTES: usize = 64 * 1024;

/// How many bytes at each side of a line break are compared for split secrets.
const SPLIT_WINDOW: usize = 4096;

/// A shared, growing set of secrets and the matcher that hides them.
///
/// Cheap to clone (an `Arc` inside); all clones see the same secrets.
#[derive(Clone, Default)]
pub struct Masker(Arc<RwLock<Inner>>);

#[derive(Default)]
struct Inner {
    /// Every masked string (secrets and their encodings).
    secrets: BTreeSet<String>,
    /// The single-line ones, sorted, for "does a secret start with this".
    single_line: BTreeSet<String>,
    /// Length in bytes of the longest single-line one.
    longest: usize,
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

    /// Adds a secret (and its encodings, see [the module docs](self)) to mask
    /// from now on. Secrets shorter than [`MIN_SECRET_LEN`] after trimming
    /// are ignored.
    pub fn add(&self, secret: &str) {
        self.insert(encodings::variants(secret));
    }

    /// Adds every secret of an iterator (see [`Masker::add`]).
    pub fn add_all<I, S>(&self, secrets: I)
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut all = Vec::new();
        for secret in secrets {
            all.extend(encodings::variants(secret.as_ref()));
        }
        self.insert(all);
    }

    /// Adds the contents of a file the task was granted (a key file, a
    /// certificate, a federated token): its text and each of its lines and,
    /// when it is JSON, the secrets inside it (see [`secrets_in_json`]).
    /// Binary (non-UTF-8) contents add nothing.
    pub fn add_file_contents(&self, bytes: &[u8]) {
        let Ok(text) = std::str::from_utf8(bytes) else {
            return;
        };
        let mut secrets = vec![text.trim().to_string()];
        if let Ok(json) = serde_json::from_str::<serde_json::Value>(text) {
            secrets_in_json(&json, &mut secrets);
        }
        self.add_all(secrets);
    }

    fn insert(&self, variants: Vec<String>) {
        if variants.is_empty() {
            return;
        }
        let mut inner = self.0.write().unwrap_or_else(|e| e.into_inner());
        let before = inner.secrets.len();
        for v in variants {
            if !v.contains('\n') {
                inner.longest = inner.longest.max(v.len());
                inner.single_line.insert(v.clone());
            }
            inner.secrets.insert(v);
        }
        if inner.secrets.len() != before {
            inner.matcher = build_matcher(&inner.secrets);
        }
    }

    /// How many distinct strings (secrets and their encodings) are masked.
    pub fn len(&self) -> usize {
        self.read().secrets.len()
    }

    /// True when nothing is masked yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.0.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Returns `text` with every known secret replaced by [`MASK`].
    pub fn mask(&self, text: &str) -> String {
        let inner = self.read();
        match &inner.matcher {
            Some(matcher) => replace_secrets(matcher, text),
            None => text.to_string(),
        }
    }

    /// Returns a copy of a JSON document with every known secret masked in
    /// every string, object keys included.
    pub fn mask_json(&self, value: &serde_json::Value) -> serde_json::Value {
        let inner = self.read();
        match &inner.matcher {
            Some(matcher) => mask_value(matcher, value),
            None => value.clone(),
        }
    }

    /// `text` with every known secret masked and also the byte ranges
    /// `extra` (overlapping ranges become one [`MASK`]).
    fn mask_with_ranges(&self, text: &str, extra: &[(usize, usize)]) -> String {
        let inner = self.read();
        let mut ranges: Vec<(usize, usize)> = extra.to_vec();
        if let Some(matcher) = &inner.matcher {
            ranges.extend(matcher.find_iter(text).map(|m| (m.start(), m.end())));
        }
        ranges.sort_unstable();
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for (start, end) in ranges.into_iter().filter(|(s, e)| s < e) {
            if start < at {
                // Overlaps the range just masked: extend it.
                at = at.max(end);
                continue;
            }
            out.push_str(&text[at..start]);
            out.push_str(MASK);
            at = end;
        }
        out.push_str(&text[at..]);
        out
    }

    /// Where the longest trailing fragment of `line` that a secret starts
    /// with (but is not the whole secret) begins, if it has at least
    /// [`MIN_FRAGMENT_LEN`] characters.
    fn trailing_fragment(&self, line: &str) -> Option<usize> {
        let inner = self.read();
        let window = inner.longest.min(SPLIT_WINDOW);
        let mut start = line.len().saturating_sub(window);
        while !line.is_char_boundary(start) {
            start += 1;
        }
        line[start..]
            .char_indices()
            .map(|(i, _)| start + i)
            .take_while(|&i| line[i..].chars().count() >= MIN_FRAGMENT_LEN)
            .find(|&i| starts_a_secret(&inner.single_line, &line[i..]))
    }

    /// How many leading bytes of `line` finish a secret that `previous` (the
    /// end of the line before) started.
    fn straddling(&self, previous: &str, line: &str) -> usize {
        let inner = self.read();
        let Some(matcher) = &inner.matcher else {
            return 0;
        };
        if previous.is_empty() {
            return 0;
        }
        let mut head_end = line.len().min(inner.longest.min(SPLIT_WINDOW));
        while !line.is_char_boundary(head_end) {
            head_end -= 1;
        }
        let joined = format!("{previous}{}", &line[..head_end]);
        let split = previous.len();
        matcher
            .find_iter(&joined)
            .filter(|m| m.start() < split && m.end() > split)
            .map(|m| m.end() - split)
            .max()
            .unwrap_or(0)
    }

    /// The end of `line` kept to recognise a secret split after it.
    fn tail_of(&self, line: &str) -> String {
        let window = self.read().longest.min(SPLIT_WINDOW);
        let mut start = line.len().saturating_sub(window);
        while !line.is_char_boundary(start) {
            start += 1;
        }
        line[start..].to_string()
    }
}

/// True when some secret in `sorted` starts with `fragment` and is longer.
fn starts_a_secret(sorted: &BTreeSet<String>, fragment: &str) -> bool {
    sorted
        .range::<str, _>((Bound::Excluded(fragment), Bound::Unbounded))
        .next()
        .is_some_and(|s| s.starts_with(fragment))
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
    // A contiguous NFA, not the DFA aho-corasick picks for under 100 patterns: the DFA's
    // build grows with pattern length times alphabet, so one 6 KB secret took 1.4 s to add
    // (13 s for non-ASCII text), and the matcher is rebuilt on every add. The NFA builds in
    // milliseconds and masks a line as fast (`cargo bench -p airflow-connections`).
    AhoCorasick::builder()
        .match_kind(MatchKind::LeftmostLongest)
        .kind(Some(AhoCorasickKind::ContiguousNFA))
        .build(secrets)
        .ok()
}

#[cfg(test)]
mod bounds_tests;
#[cfg(test)]
mod tests;
