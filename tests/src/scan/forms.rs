//! The forms in which a secret must not appear: written here independently of the host's
//! masker (`connections/src/mask/encodings.rs`), so that a form the masker forgets is a
//! leak the scan finds rather than a blind spot both share.

/// Secrets shorter than this many characters (after trimming) are not scanned for: the
/// masker leaves them alone too (`MIN_SECRET_LEN`).
pub const MIN_SECRET_CHARS: usize = 4;

/// Secrets up to this many bytes are also scanned for in base64 (the masker's bound).
const MAX_BASE64_SECRET: usize = 8 * 1024;

/// Secrets over this many bytes are scanned for line by line only (the masker's bound).
const MAX_WHOLE_SECRET: usize = 64 * 1024;

/// One form of a secret: how it was encoded and the text to look for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Form {
    /// The encoding's name, e.g. `quote_plus, lower-case hex`.
    pub encoding: &'static str,
    /// The encoded text.
    pub text: String,
}

/// Every encoding name [`forms`] can produce, in order (for counts and unit tests).
pub const ENCODINGS: &[&str] = &[
    "clear",
    "quote(safe='')",
    "quote(safe=''), lower-case hex",
    "quote (/ kept)",
    "quote (/ kept), lower-case hex",
    "quote_plus",
    "quote_plus, lower-case hex",
    "JSON string escape",
    "JSON string escape, / as \\/",
    "JSON string escape, non-ASCII as \\uXXXX",
    "base64",
    "base64 url-safe",
    "base64 unpadded",
    "base64 url-safe unpadded",
    "inside base64, alignment 0",
    "inside base64, alignment 1",
    "inside base64, alignment 2",
    "inside url-safe base64, alignment 0",
    "inside url-safe base64, alignment 1",
    "inside url-safe base64, alignment 2",
    "one line of a multi-line secret",
];

/// The forms of `secret` to scan for, deduplicated by text (the first name wins), none
/// shorter than [`MIN_SECRET_CHARS`]; empty for a secret that short. A secret split across
/// two lines is found by the line-pair check of the scan, not by a form.
pub fn forms(secret: &str) -> Vec<Form> {
    let mut out = Vec::new();
    if secret.trim().chars().count() < MIN_SECRET_CHARS {
        return out;
    }
    let mut push = |encoding: &'static str, text: String| {
        if text.trim().chars().count() >= MIN_SECRET_CHARS
            && !out.iter().any(|f: &Form| f.text == text)
        {
            out.push(Form { encoding, text });
        }
    };
    if secret.len() <= MAX_WHOLE_SECRET {
        push(ENCODINGS[0], secret.to_string());
        let all = percent_encode(secret, b"");
        let slash = percent_encode(secret, b"/");
        let plus = percent_encode(secret, b" ").replace(' ', "+");
        for (i, form) in [all, slash, plus].into_iter().enumerate() {
            push(ENCODINGS[1 + 2 * i], form.clone());
            push(ENCODINGS[2 + 2 * i], lower_hex(&form));
        }
        let json = json_escape(secret);
        push(ENCODINGS[7], json.clone());
        push(ENCODINGS[8], json.replace('/', "\\/"));
        push(ENCODINGS[9], ascii_json(&json));
        if secret.len() <= MAX_BASE64_SECRET {
            for (i, text) in base64_whole(secret.as_bytes()).into_iter().enumerate() {
                push(ENCODINGS[10 + i], text);
            }
            for (i, text) in base64_middles(secret.as_bytes()).into_iter().enumerate() {
                push(ENCODINGS[14 + i], text);
            }
        }
    }
    if secret.contains('\n') {
        for line in secret.lines().map(|l| l.trim_end_matches('\r')) {
            let armour = line.trim().starts_with("-----") && line.trim().ends_with("-----");
            if !armour && line.len() <= MAX_WHOLE_SECRET {
                push(ENCODINGS[20], line.to_string());
            }
        }
    }
    out
}

/// Python's `urllib.parse.quote(s, safe=SAFE)`: every byte but `A-Za-z0-9_.-~` and `safe`
/// as `%XX` (upper-case hex).
fn percent_encode(s: &str, safe: &[u8]) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || b"_.-~".contains(&b) || safe.contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `%2F` → `%2f`. Only escapes hold upper-case letters after a `%` here, but the secret's
/// own letters must keep their case: lower only the two characters after each `%`.
fn lower_hex(encoded: &str) -> String {
    let mut out = String::with_capacity(encoded.len());
    let mut left = 0;
    for c in encoded.chars() {
        if left > 0 {
            out.push(c.to_ascii_lowercase());
            left -= 1;
        } else {
            if c == '%' {
                left = 2;
            }
            out.push(c);
        }
    }
    out
}

/// The inside of a JSON string holding `s`, as serde_json writes it.
fn json_escape(s: &str) -> String {
    let quoted = serde_json::Value::String(s.to_string()).to_string();
    quoted[1..quoted.len() - 1].to_string()
}

/// A JSON escape with non-ASCII characters as `\uXXXX` (Python's `json.dumps`).
fn ascii_json(escaped: &str) -> String {
    let mut out = String::with_capacity(escaped.len());
    for c in escaped.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}

pub(super) const STANDARD: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
pub(super) const URL_SAFE: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Base64 of `bytes` with `alphabet`, padded with `=` to a multiple of 4 when `pad`.
pub(super) fn base64(bytes: &[u8], alphabet: &[u8; 64], pad: bool) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let chars = chunk.len() + 1;
        for i in 0..4 {
            if i < chars {
                out.push(alphabet[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else if pad {
                out.push('=');
            }
        }
    }
    out
}

/// Standard and URL-safe base64, padded and not.
fn base64_whole(bytes: &[u8]) -> [String; 4] {
    [
        base64(bytes, STANDARD, true),
        base64(bytes, URL_SAFE, true),
        base64(bytes, STANDARD, false),
        base64(bytes, URL_SAFE, false),
    ]
}

/// The characters of a longer base64 text that depend on the secret's bytes alone, when the
/// secret starts at byte 0, 1 or 2 of a 3-byte group: standard alphabet for the three
/// alignments, then URL-safe.
fn base64_middles(bytes: &[u8]) -> Vec<String> {
    let mut out = Vec::with_capacity(6);
    for alphabet in [STANDARD, URL_SAFE] {
        for k in 0..3usize {
            let mut shifted = vec![0xA5u8; k];
            shifted.extend_from_slice(bytes);
            let encoded = base64(&shifted, alphabet, false);
            // Characters wholly inside bits 8k .. 8(k + n).
            let start = (8 * k).div_ceil(6);
            let end = (8 * (k + bytes.len())) / 6;
            out.push(encoded.get(start..end).unwrap_or_default().to_string());
        }
    }
    out
}
