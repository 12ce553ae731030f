//! The masker at its bounds: long secrets, windows that cut a multi-byte character, the
//! JSON depth bound, and the exact forms of the encodings.

use super::*;
use base64::Engine;
use serde_json::{json, Value};

/// 2000 × `€`: 6000 bytes, longer than the 4 KiB split window.
fn euros(n: usize) -> String {
    "€".repeat(n)
}

fn long_secret_masker() -> Masker {
    let m = Masker::new();
    m.add(&euros(2000));
    m
}

#[test]
fn secrets_over_a_kib_are_masked_whole_and_in_base64() {
    let secret: String = (0..2000).map(|i| (b'a' + (i % 26) as u8) as char).collect();
    let m = Masker::new();
    m.add(&secret);
    assert_eq!(m.mask(&format!("<{secret}>")), "<***>");
    let b64 = base64::engine::general_purpose::STANDARD.encode(&secret);
    assert_eq!(m.mask(&format!("<{b64}>")), "<***>");
}

#[test]
fn trailing_fragment_window_starts_on_a_character() {
    let mut lines = LineMasker::new(long_secret_masker());
    // 4501 bytes: the 4096-byte window starts inside a `€` (byte 405); it moves forward
    // to the next character, so the fragment masked is 1365 `€`.
    let line = format!("x{}", euros(1500));
    assert_eq!(lines.mask_line(&line), format!("x{}***", euros(135)));
    // The tail kept from that line starts on the same character: 1365 + 634 `€` are
    // one short of the secret, so nothing straddles.
    let next = format!("{}z", euros(634));
    assert_eq!(lines.mask_line(&next), next);
}

#[test]
fn straddling_head_window_ends_on_a_character() {
    let mut lines = LineMasker::new(long_secret_masker());
    assert_eq!(lines.mask_line(&euros(634)), "***");
    // The head compared is cut back to 1365 `€` (4095 bytes): 634 + 1365 are one short.
    let next = format!("{}z", euros(1500));
    assert_eq!(lines.mask_line(&next), next);
}

#[test]
fn an_empty_line_stays_empty() {
    let m = Masker::new();
    m.add("hunter22");
    let mut lines = LineMasker::new(m.clone());
    assert_eq!(lines.mask_line("a hunter22"), "a ***");
    assert_eq!(lines.mask_line(""), "");
    assert_eq!(lines.masker().len(), m.len());
}

#[test]
fn size_and_debug() {
    let m = Masker::new();
    assert!(m.is_empty());
    assert_eq!(m.len(), 0);
    m.add("hunter22");
    assert!(!m.is_empty());
    let n = m.len();
    assert!(n > 1, "{n}");
    assert_eq!(format!("{m:?}"), format!("Masker {{ secrets: {n} }}"));
}

#[test]
fn short_lines_and_dashes_of_a_multiline_secret() {
    let m = Masker::new();
    m.add("ab\nsecret-line-2\n-----tail-part");
    assert_eq!(m.mask("ab cd"), "ab cd");
    assert_eq!(m.mask("x secret-line-2 y"), "x *** y");
    assert_eq!(m.mask("x -----tail-part y"), "x *** y");
}

#[test]
fn percent_forms_lower_only_the_hex_digits() {
    let mut forms: Vec<String> = encodings::variants("Ab/Cd Ef")
        .into_iter()
        .filter(|v| v.contains('%') || v.contains('+'))
        .collect();
    forms.sort();
    assert_eq!(
        forms,
        [
            "Ab%2FCd%20Ef",
            "Ab%2FCd+Ef",
            "Ab%2fCd%20Ef",
            "Ab%2fCd+Ef",
            "Ab/Cd%20Ef"
        ]
    );
}

#[test]
fn private_keys_need_both_armour_parts() {
    assert!(looks_like_private_key(
        "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----"
    ));
    assert!(!looks_like_private_key("-----BEGIN CERTIFICATE-----"));
    assert!(!looks_like_private_key("RSA PRIVATE KEY-----"));
}

#[test]
fn numbers_and_connection_strings_only_under_their_keys() {
    let mut out = Vec::new();
    secrets_in_json(
        &json!({"password": 12345678, "port": 87654321, "note": "AccountKey=abcd1234;x=y"}),
        &mut out,
    );
    assert_eq!(out, ["12345678"]);
}

/// `leaf` wrapped in `objects` objects (`{"a": …}`), the innermost holding `key`.
fn nested(objects: usize, key: &str, leaf: Value) -> Value {
    let mut v = json!({ key: leaf });
    for _ in 1..objects {
        v = json!({ "a": v });
    }
    v
}

fn found(doc: &Value) -> Vec<String> {
    let mut out = Vec::new();
    secrets_in_json(doc, &mut out);
    out
}

#[test]
fn json_is_searched_64_levels_deep() {
    // The root is depth 0: a value inside 64 objects is at depth 64, the last searched.
    assert_eq!(
        found(&nested(64, "password", json!("deep-secret"))),
        ["deep-secret"]
    );
    assert!(found(&nested(65, "password", json!("deep-secret"))).is_empty());
    // Arrays and JSON texts inside strings count as levels too.
    let mut arrays = json!("deep-secret");
    for _ in 0..63 {
        arrays = json!([arrays]);
    }
    assert_eq!(found(&json!({"password": arrays.clone()})), ["deep-secret"]);
    assert!(found(&json!({"password": [arrays]})).is_empty());
    let text = json!({"password": "deep-secret"}).to_string();
    assert_eq!(found(&nested(62, "k", json!(text))), ["deep-secret"]);
    assert!(found(&nested(63, "k", json!(text))).is_empty());
}
