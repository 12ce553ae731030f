//! The scan can fail: a secret leaked in each form it covers is found, and what the host's
//! masker leaves of the same text is not.

use super::*;
use aci_host::mask::{LineMasker, Masker};

/// Secrets that exercise every encoding: reserved characters, a space, `/`, `+`, non-ASCII,
/// quotes, bytes whose base64 differs between alphabets, and a multi-line PEM key.
const SECRETS: &[&str] = &[
    "p@ss w/rd+é\"x",
    "hunter2-secret-value",
    "s3cr3t~~~>>>?",
    "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\nAbCdEfGhIjKlMnOpQrStUvWxYz0123456789+/abcdefghij\n-----END PRIVATE KEY-----",
];

fn scan_of(secret: &str) -> Secrets {
    let s = Secrets::new();
    s.add("the test secret", secret);
    s
}

#[test]
fn every_form_of_every_secret_is_found() {
    let mut checked = 0;
    for secret in SECRETS {
        let scan = scan_of(secret);
        let all = forms(secret);
        assert!(all.len() >= 6, "{} forms", all.len());
        for form in all {
            let line = format!("log: token={} end", form.text);
            let leaks = scan.leaks_in_text(&line);
            assert!(
                leaks.iter().any(|l| l.encoding == form.encoding),
                "{} not found: {leaks:?}",
                form.encoding
            );
            assert!(leaks.iter().all(|l| !l.context.contains(&form.text)));
            checked += 1;
        }
    }
    assert!(checked >= 40, "{checked}");
}

#[test]
fn each_encoding_name_is_produced() {
    let mut seen: Vec<&str> = SECRETS
        .iter()
        .flat_map(|s| forms(s).into_iter().map(|f| f.encoding))
        .collect();
    seen.sort_unstable();
    seen.dedup();
    let mut all = ENCODINGS.to_vec();
    all.sort_unstable();
    assert_eq!(seen, all);
}

#[test]
fn known_encodings_are_the_expected_text() {
    let f = |s: &str, enc: &str| {
        forms(s)
            .into_iter()
            .find(|f| f.encoding == enc)
            .map(|f| f.text)
    };
    let s = "p@ss w/rd";
    assert_eq!(f(s, "quote(safe='')").unwrap(), "p%40ss%20w%2Frd");
    assert_eq!(
        f(s, "quote(safe=''), lower-case hex").unwrap(),
        "p%40ss%20w%2frd"
    );
    assert_eq!(f(s, "quote (/ kept)").unwrap(), "p%40ss%20w/rd");
    assert_eq!(f(s, "quote_plus").unwrap(), "p%40ss+w%2Frd");
    assert_eq!(f(s, "quote_plus, lower-case hex").unwrap(), "p%40ss+w%2frd");
    assert_eq!(f("hunter2", "base64").unwrap(), "aHVudGVyMg==");
    assert_eq!(f("a/é\"", "JSON string escape").unwrap(), "a/é\\\"");
    assert_eq!(
        f("a/é\"", "JSON string escape, / as \\/").unwrap(),
        "a\\/é\\\""
    );
    assert_eq!(
        f("a/é\"", "JSON string escape, non-ASCII as \\uXXXX").unwrap(),
        "a/\\u00e9\\\""
    );
}

/// Base64 of `prefix + secret + suffix` for each length of prefix: the secret is inside a
/// longer base64 text at each of the three alignments.
#[test]
fn a_secret_inside_longer_base64_is_found_at_each_alignment() {
    let secret = "hunter2-secret-value";
    let scan = scan_of(secret);
    for k in 0..3 {
        for suffix in ["", "x", "xy", "xyz"] {
            let mut bytes = b"Zq".repeat(3)[..k + 3].to_vec();
            bytes.extend_from_slice(secret.as_bytes());
            bytes.extend_from_slice(suffix.as_bytes());
            for alphabet in [forms::STANDARD, forms::URL_SAFE] {
                let text = forms::base64(&bytes, alphabet, true);
                let leaks = scan.leaks_in_text(&format!("blob {text}"));
                assert!(
                    leaks.iter().any(|l| l.encoding.contains("base64")),
                    "alignment {k}, suffix {suffix:?}: {leaks:?}"
                );
            }
        }
    }
}

#[test]
fn a_secret_split_across_two_lines_is_found_at_every_split() {
    let secret = "hunter2-secret-value";
    let scan = scan_of(secret);
    for at in 1..secret.len() {
        let text = format!("first {}\n{} second", &secret[..at], &secret[at..]);
        let leaks = scan.leaks_in_text(&text);
        assert!(
            leaks.iter().any(|l| l.encoding.starts_with(SPLIT)),
            "split at {at}: {leaks:?}"
        );
    }
}

#[test]
fn json_outputs_are_scanned_as_text_and_as_strings() {
    let secret = "p@ss w/rd+é\"x";
    let scan = scan_of(secret);
    let doc = serde_json::json!({"error": format!("cannot log in: {secret}")});
    assert!(!scan.leaks_in_json(&doc).is_empty());
    let key = serde_json::json!({ secret: 1 });
    assert!(!scan.leaks_in_json(&key).is_empty());
}

#[test]
#[should_panic(expected = "secret scan: ")]
fn check_text_fails_the_test() {
    scan_of("hunter2-secret-value").check_text("a test output", "x hunter2-secret-value y");
}

#[test]
fn clean_text_and_short_secrets_pass() {
    let scan = scan_of("hunter2-secret-value");
    scan.add("too short", "abc");
    assert_eq!(scan.len(), 1);
    assert!(scan
        .leaks_in_text("nothing here\n*** masked ***")
        .is_empty());
    scan.check_text("clean", "hunter2 and secret-value apart");
}

/// Every form, written through the host's masker (one line, and split across two lines of
/// one stream at every point), leaves nothing the scan finds: the two agree.
#[test]
fn what_the_masker_leaves_passes_the_scan() {
    for secret in SECRETS {
        let masker = Masker::new();
        masker.add(secret);
        let scan = scan_of(secret);
        for form in forms(secret) {
            let masked = masker.mask(&format!("log: {} end", form.text));
            let leaks = scan.leaks_in_text(&masked);
            assert!(leaks.is_empty(), "{}: {leaks:?}", form.encoding);
        }
        let line = secret.lines().max_by_key(|l| l.len()).unwrap();
        for at in (1..line.len()).filter(|&i| line.is_char_boundary(i)) {
            let mut stream = LineMasker::new(masker.clone());
            let first = stream.mask_line(&format!("a {}", &line[..at]));
            let second = stream.mask_line(&format!("{} b", &line[at..]));
            let leaks = scan.leaks_in_lines([first.as_str(), second.as_str()]);
            assert!(leaks.is_empty(), "split at {at}: {leaks:?}");
        }
    }
}

#[test]
fn command_lines_give_their_secrets() {
    let mut cmd = std::process::Command::new("aci-host");
    cmd.args([
        "run",
        "--conn",
        "azure_default=azure://id:pa55word%2Fx@?tenantId=t",
    ])
    .env(
        "AIRFLOW_CONN_OTHER",
        r#"{"password": "other-password", "extra": {"client_secret": "extra-secret"}}"#,
    )
    .env("AZURE_CLIENT_SECRET", "env-secret-1");
    let scan = Secrets::new();
    scan.add_command(&cmd);
    for s in [
        "pa55word/x",
        "other-password",
        "extra-secret",
        "env-secret-1",
    ] {
        assert!(!scan.leaks_in_text(s).is_empty(), "{s}");
    }
}

/// A child that prints the secret of its command line, in clear and in base64.
fn leaking_child() -> crate::ScannedChild {
    let mut cmd = HostCommand::new("sh");
    cmd.args([
        "-c",
        r#"echo "$AZURE_CLIENT_SECRET"; echo "$AZURE_CLIENT_SECRET" | base64"#,
    ])
    .env("AZURE_CLIENT_SECRET", "child-secret-1")
    .stdout(std::process::Stdio::piped());
    cmd.spawn().expect("sh")
}

#[test]
#[should_panic(expected = "secret scan: ")]
fn a_spawned_childs_output_is_scanned() {
    leaking_child().finish(std::time::Duration::from_secs(30));
}

#[test]
#[should_panic(expected = "secret scan: ")]
fn text_read_from_a_spawned_child_is_scanned() {
    let mut child = leaking_child();
    let mut out = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut out).unwrap();
    child.wait_bounded(std::time::Duration::from_secs(30));
    child.check(&out);
}
