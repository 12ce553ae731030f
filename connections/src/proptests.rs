//! Property tests of the connection parsers: for any URI (built from parts with reserved
//! characters anywhere, or any text) and any JSON text, parsing never panics and either
//! gives a connection or a clear error that names the connection and never holds the
//! password.

use proptest::prelude::*;

use crate::Connection;

/// Marks the password: no error may contain it.
const MARK: &str = "Pw9Zq";

/// Characters that break URIs in every way: reserved, percent, space, non-ASCII.
fn uri_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => proptest::char::range('a', 'z'),
        1 => proptest::char::range('0', '9'),
        4 => proptest::sample::select(vec![
            '/', '?', '#', '@', ':', '%', '[', ']', '&', '=', '+', ' ', '.', '-', '_', '~',
            '"', '{', '}', '\\', '\n', 'é', '€',
        ]),
    ]
}

fn text(max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(uri_char(), 0..max).prop_map(|v| v.into_iter().collect())
}

/// A URI from parts, any of which may hold reserved characters; the password is
/// `MARK` + anything.
fn uri() -> impl Strategy<Value = (String, String)> {
    // (the URI, its password)
    (
        proptest::sample::select(vec!["azure", "postgres", "a+b", "", "1x", "http"]),
        proptest::sample::select(vec!["://", ":/", ":", "://https://", "://x://y://"]),
        text(8),
        text(10),
        text(12),
        text(8),
        text(16),
    )
        .prop_map(|(scheme, sep, login, password, host, port, tail)| {
            let password = format!("{MARK}{password}");
            let uri = format!("{scheme}{sep}{login}:{password}@{host}:{port}{tail}");
            (uri, password)
        })
}

/// The error's text, checked: it names the connection and holds no part of the password.
fn check_error(e: &crate::ConnectionError) -> Result<(), TestCaseError> {
    let text = e.to_string();
    prop_assert!(
        text.contains("prop_conn"),
        "does not name the connection: {text}"
    );
    prop_assert!(!text.contains(MARK), "shows the password: {text}");
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_uri_parses_or_fails_clearly((uri, _password) in uri()) {
        if let Err(e) = Connection::from_uri("prop_conn", &uri) {
            check_error(&e)?;
        }
    }

    #[test]
    fn any_text_parses_or_fails_clearly(s in text(64)) {
        for parsed in [
            Connection::from_uri("prop_conn", &s),
            Connection::from_uri_or_json("prop_conn", &s),
        ] {
            if let Err(e) = parsed {
                let text = e.to_string();
                prop_assert!(text.contains("prop_conn"), "does not name the connection: {text}");
            }
        }
    }

    #[test]
    fn any_json_connection_parses_or_fails_clearly(
        cut in 0usize..120,
        junk in text(4),
        port in proptest::sample::select(vec!["5432", "\"5432\"", "\"x\"", "-1", "70000", "null", "[]"]),
    ) {
        let json = format!(
            r#"{{"conn_type": "azure", "login": "l", "password": "{MARK}-pw", "port": {port}, "extra": {{"client_secret": "{MARK}-x"}}}}"#
        );
        let cut = cut.min(json.len());
        let text = format!("{}{junk}", &json[..cut]);
        if let Err(e) = Connection::from_uri_or_json("prop_conn", &text) {
            check_error(&e)?;
        }
    }
}
