//! The masker: secrets, their encodings, JSON, line streams.

use super::*;
use serde_json::json;

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

#[test]
fn masks_quote_plus_and_quote_keeping_slashes() {
    let m = Masker::new();
    m.add("p@ss w/rd");
    // urllib.parse.quote_plus / urlencode
    assert_eq!(m.mask("pw=p%40ss+w%2Frd&x=1"), "pw=***&x=1");
    // urllib.parse.quote with its default safe="/"
    assert_eq!(m.mask("u:p%40ss%20w/rd@h"), "u:***@h");
    // quote(safe="")
    assert_eq!(m.mask("u:p%40ss%20w%2Frd@h"), "u:***@h");
}

#[test]
fn masks_lower_case_hex_escapes() {
    let m = Masker::new();
    m.add("p@ss/w\"rd");
    assert_eq!(m.mask("uri://u:p%40ss%2fw%22rd@h"), "uri://u:***@h");
    assert_eq!(m.mask("q=p%40ss/w%22rd"), "q=***");
}

#[test]
fn masks_python_json_escapes() {
    let m = Masker::new();
    m.add("pässwörd-1");
    assert_eq!(
        m.mask(r#"{"pw": "p\u00e4ssw\u00f6rd-1"}"#),
        r#"{"pw": "***"}"#
    );
    m.add("a/b/c/d-secret");
    assert_eq!(m.mask(r#"{"k":"a\/b\/c\/d-secret"}"#), r#"{"k":"***"}"#);
}

#[test]
fn masks_base64_standalone() {
    use base64::Engine;
    let secret = "s3cr3t?>value~~";
    let m = Masker::new();
    m.add(secret);
    let engines = [
        base64::engine::general_purpose::STANDARD,
        base64::engine::general_purpose::STANDARD_NO_PAD,
        base64::engine::general_purpose::URL_SAFE,
        base64::engine::general_purpose::URL_SAFE_NO_PAD,
    ];
    for engine in engines {
        let encoded = engine.encode(secret);
        assert_eq!(
            m.mask(&format!("Basic {encoded}")),
            "Basic ***",
            "{encoded}"
        );
    }
}

#[test]
fn masks_base64_inside_longer_base64_at_every_alignment() {
    use base64::Engine;
    let secret = "hunter2-is-my-password";
    let m = Masker::new();
    m.add(secret);
    for engine in [
        base64::engine::general_purpose::STANDARD,
        base64::engine::general_purpose::URL_SAFE_NO_PAD,
    ] {
        for before in 0..6usize {
            let mut doc = "u".repeat(before).into_bytes();
            doc.extend_from_slice(format!("{secret}:tail-of-it").as_bytes());
            let encoded = engine.encode(&doc);
            let masked = m.mask(&encoded);
            assert!(masked.contains(MASK), "alignment {before}: {masked}");
            // At most two characters at each end of the secret's span may
            // depend on its neighbours too: everything else is hidden.
            let hidden = encoded.len() + MASK.len() - masked.len();
            assert!(
                hidden + 4 >= secret.len() * 8 / 6,
                "alignment {before}: only {hidden} characters hidden in {masked}"
            );
        }
    }
}

#[test]
fn secret_split_across_two_lines_is_masked() {
    let m = Masker::new();
    m.add("correct-horse-battery");
    let mut lines = LineMasker::new(m.clone());
    assert_eq!(lines.mask_line("token: correct-hor"), "token: ***");
    assert_eq!(lines.mask_line("se-battery and more"), "*** and more");
    // A break three characters in shows those three, and hides the rest.
    assert_eq!(lines.mask_line("x cor"), "x cor");
    assert_eq!(lines.mask_line("rect-horse-battery y"), "*** y");
    // Ordinary text is left alone.
    assert_eq!(lines.mask_line("the cat sat"), "the cat sat");
    assert_eq!(lines.mask_line("on the mat"), "on the mat");
    // Whole secrets on one line, as ever.
    assert_eq!(lines.mask_line("a correct-horse-battery b"), "a *** b");
}

#[test]
fn split_secret_in_encoded_form_is_masked() {
    let m = Masker::new();
    m.add("p@ss/w0rd!");
    let mut lines = LineMasker::new(m);
    assert_eq!(lines.mask_line("url=https://u:p%40ss"), "url=https://u:***");
    assert_eq!(lines.mask_line("%2Fw0rd%21@host"), "***@host");
}

#[test]
fn a_line_that_is_all_fragment_is_masked_whole() {
    let m = Masker::new();
    m.add("0123456789abcdef");
    let mut lines = LineMasker::new(m);
    assert_eq!(lines.mask_line("0123456"), "***");
    assert_eq!(lines.mask_line("789abcdef"), "***");
}

#[test]
fn granted_file_contents_are_masked() {
    let m = Masker::new();
    let pem = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7\n-----END PRIVATE KEY-----\n";
    m.add_file_contents(pem.as_bytes());
    assert_eq!(m.mask("k=MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"), "k=***");
    assert_eq!(m.mask("BKcwggSjAgEAAoIBAQC7"), "***");
    // The armour is not secret.
    assert_eq!(
        m.mask("-----BEGIN PRIVATE KEY-----"),
        "-----BEGIN PRIVATE KEY-----"
    );
    let json = br#"{"clientId": "cid-1", "clientSecret": "json-file-secret", "tenantId": "t"}"#;
    m.add_file_contents(json);
    assert_eq!(m.mask("got json-file-secret"), "got ***");
    m.add_file_contents(b"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl\n");
    assert_eq!(
        m.mask("assertion=eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"),
        "assertion=***"
    );
    m.add_file_contents(&[0xff, 0xfe, 0x00]);
}

#[test]
fn private_keys_are_secrets_whatever_their_name() {
    let pem = "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----";
    let extra = json!({
        "client_certificate": pem,
        "certificate_thumbprint": "ABCDEF",
        "tenantId": "t",
    });
    let mut out = Vec::new();
    secrets_in_json(&extra, &mut out);
    assert_eq!(out, vec![pem.to_string()]);
}
