//! The forms in which one secret is masked: itself and its common encodings.

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use super::{MAX_SECRET_BYTES, MIN_SECRET_LEN};

/// Python's `urllib.parse.quote(s, safe="")` (also `quote_plus` before its
/// space → `+`): everything but `A-Za-z0-9_.-~`.
const QUOTE_ALL: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'_')
    .remove(b'.')
    .remove(b'-')
    .remove(b'~');

/// Python's `urllib.parse.quote(s)` with its default `safe="/"`.
const QUOTE_KEEP_SLASH: &AsciiSet = &QUOTE_ALL.remove(b'/');

/// Secrets up to this many bytes also get their base64 forms (a PEM key is
/// 2–4 KiB; whole granted files can be far larger).
const MAX_BASE64_SECRET: usize = 8 * 1024;

/// The strings to mask for one secret, deduplicated, none shorter than
/// [`MIN_SECRET_LEN`] characters:
/// - the secret itself;
/// - percent-encoded as `quote(s, safe="")`, `quote(s)` (`/` kept) and
///   `quote_plus(s)` (space → `+`), each with upper- and lower-case hex;
/// - JSON-escaped (as serde_json writes it, with `\/`, and with non-ASCII as
///   `\uXXXX` as Python's `json.dumps` writes it);
/// - base64, standard and URL-safe, padded and not, and inside a longer
///   base64 text: for each of the three byte alignments the characters that
///   depend on the secret alone (the stable middle);
/// - for a multi-line secret, each line (PEM armour lines such as
///   `-----BEGIN PRIVATE KEY-----` excepted).
///
/// A secret over [`MAX_SECRET_BYTES`] is masked line by line only.
pub(super) fn variants(secret: &str) -> Vec<String> {
    let mut out = Variants(Vec::new());
    if secret.trim().chars().count() < MIN_SECRET_LEN {
        return out.0;
    }
    if secret.len() <= MAX_SECRET_BYTES {
        out.push(secret.to_string());
        percent_forms(secret, &mut out);
        json_forms(secret, &mut out);
        if secret.len() <= MAX_BASE64_SECRET {
            base64_forms(secret.as_bytes(), &mut out);
        }
    }
    if secret.contains('\n') {
        for line in secret.lines() {
            let line = line.trim_end_matches('\r');
            if line.len() <= MAX_SECRET_BYTES && !is_pem_armour(line) {
                out.push(line.to_string());
            }
        }
    }
    out.0
}

/// A deduplicating list that drops strings too short to mask.
struct Variants(Vec<String>);

impl Variants {
    fn push(&mut self, s: String) {
        if s.trim().chars().count() >= MIN_SECRET_LEN && !self.0.contains(&s) {
            self.0.push(s);
        }
    }
}

/// `-----BEGIN RSA PRIVATE KEY-----` and the like: not secret themselves.
fn is_pem_armour(line: &str) -> bool {
    let line = line.trim();
    line.starts_with("-----") && line.ends_with("-----")
}

fn percent_forms(secret: &str, out: &mut Variants) {
    let all = utf8_percent_encode(secret, QUOTE_ALL).to_string();
    let keep_slash = utf8_percent_encode(secret, QUOTE_KEEP_SLASH).to_string();
    // `%` only starts escapes in the output, so this touches only spaces.
    let plus = all.replace("%20", "+");
    for form in [all, keep_slash, plus] {
        out.push(lower_hex_escapes(&form));
        out.push(form);
    }
}

/// `%2F` → `%2f`: the hex digits after each `%` in lower case.
fn lower_hex_escapes(encoded: &str) -> String {
    let mut out = String::with_capacity(encoded.len());
    let mut after_percent = 0;
    for c in encoded.chars() {
        if after_percent > 0 {
            out.push(c.to_ascii_lowercase());
            after_percent -= 1;
        } else {
            out.push(c);
            if c == '%' {
                after_percent = 2;
            }
        }
    }
    out
}

fn json_forms(secret: &str, out: &mut Variants) {
    let Ok(json) = serde_json::to_string(secret) else {
        return;
    };
    let inner = json[1..json.len() - 1].to_string();
    out.push(inner.replace('/', "\\/"));
    let mut ascii = String::with_capacity(inner.len());
    for c in inner.chars() {
        if c.is_ascii() {
            ascii.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                ascii.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out.push(ascii);
    out.push(inner);
}

/// Base64 forms, standalone and inside longer base64 text.
///
/// Inside a longer text the secret's bytes start at offset 0, 1 or 2 of a
/// 3-byte group; for alignment `k` the output characters that depend only on
/// the secret's bits are those covering bits `8k..8k+8n` entirely, i.e.
/// characters `ceil(8k/6)..floor((8k+8n)/6)` of the encoding of `k` filler
/// bytes followed by the secret.
fn base64_forms(bytes: &[u8], out: &mut Variants) {
    for engine in [&STANDARD, &URL_SAFE] {
        out.push(engine.encode(bytes));
    }
    for engine in [&STANDARD_NO_PAD, &URL_SAFE_NO_PAD] {
        out.push(engine.encode(bytes));
        for k in 0..3usize {
            let mut shifted = vec![0u8; k];
            shifted.extend_from_slice(bytes);
            let encoded = engine.encode(&shifted);
            let start = (8 * k).div_ceil(6);
            let end = (8 * k + 8 * bytes.len()) / 6;
            if let Some(middle) = encoded.get(start..end) {
                out.push(middle.to_string());
            }
        }
    }
}
