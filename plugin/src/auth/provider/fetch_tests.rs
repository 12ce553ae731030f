//! [`TokenProvider`] against the scripted host ([`crate::sys::fake`]): one token request
//! per credential kind, the cache and its refresh, retries, and the errors (which never
//! quote a secret).

use std::rc::Rc;

use serde_json::json;

use super::*;
use crate::arm::client::tests::{client_secret, endpoints, token_reply, TOKEN_URL};
use crate::arm::retry::RetryPolicy;
use crate::auth::credential::CertificateSource;
use crate::sys::fake;
use task_plugin_sdk::http::HttpError;

const PEM: &str = include_str!("../../../tests/data/test-client-cert.pem");
const IMDS: &str = "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fmanagement.azure.com%2F";

fn provider(credential: Credential) -> TokenProvider {
    provider_with(credential, RetryPolicy::default())
}

/// A fresh script and a provider for `credential` whose requests follow `policy`.
fn provider_with(credential: Credential, policy: RetryPolicy) -> TokenProvider {
    fake::reset();
    let transport = Transport::new(policy, Rc::default());
    TokenProvider::new("azure_default", credential, &endpoints(), transport)
}

/// One attempt per request.
const ONE_ATTEMPT: RetryPolicy = RetryPolicy {
    max_attempts: 1,
    base_delay_ms: 500,
    max_delay_ms: 30_000,
    total_budget_ms: 120_000,
    request_timeout_ms: crate::arm::retry::DEFAULT_REQUEST_TIMEOUT_MS,
};

fn workload() -> Credential {
    Credential::WorkloadIdentity {
        tenant_id: "t1".into(),
        client_id: "app".into(),
        token_file: "/var/run/token".into(),
    }
}

fn certificate(source: CertificateSource) -> Credential {
    Credential::ClientCertificate {
        tenant_id: "t1".into(),
        client_id: "app".into(),
        certificate: source,
    }
}

fn managed(client_id: Option<&str>) -> Credential {
    Credential::ManagedIdentity {
        client_id: client_id.map(String::from),
    }
}

/// The form fields of request `i`.
fn form(i: usize) -> Vec<(String, String)> {
    let body = String::from_utf8(fake::requests()[i].body.clone()).unwrap();
    body.split('&')
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap();
            (k.to_string(), v.to_string())
        })
        .collect()
}

fn field(i: usize, name: &str) -> Option<String> {
    form(i).into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

fn token_error(status: u16) {
    fake::reply_json(
        status,
        &[],
        &json!({"error": "invalid_client", "error_codes": [7000215],
            "error_description": "AADSTS7000215: Invalid client secret provided.\r\nTrace ID: x"}),
    );
}

#[test]
fn client_secret_token_is_fetched_cached_and_refreshed() {
    let p = provider(client_secret());
    token_reply("tok-1");
    assert_eq!(p.token().unwrap().expose(), "tok-1");
    assert_eq!(p.token().unwrap().expose(), "tok-1", "cached");
    assert_eq!(fake::request_lines(), [format!("POST {TOKEN_URL}")]);
    let req = &fake::requests()[0];
    assert_eq!(
        fake::header(req, "content-type").unwrap(),
        "application/x-www-form-urlencoded"
    );
    assert_eq!(fake::header(req, "accept").unwrap(), "application/json");
    assert_eq!(
        fake::header(req, "x-ms-client-request-id").unwrap().len(),
        36
    );
    assert_eq!(req.timeout_ms, 30_000);
    assert_eq!(
        form(0),
        [
            ("grant_type", "client_credentials"),
            ("client_id", "app"),
            ("client_secret", "s3cret"),
            ("scope", "https%3A%2F%2Fmanagement.azure.com%2F.default"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()))
    );

    // Five minutes before expiry the token is replaced.
    fake::advance(3_299_000);
    assert_eq!(p.token().unwrap().expose(), "tok-1");
    fake::advance(1_000);
    token_reply("tok-2");
    assert_eq!(p.token().unwrap().expose(), "tok-2");
    // ARM rejected it: the next call fetches another.
    p.invalidate();
    token_reply("tok-3");
    assert_eq!(p.token().unwrap().expose(), "tok-3");
    assert_eq!(fake::requests().len(), 3);
    assert_eq!(fake::replies_left(), 0);
}

#[test]
fn debug_names_the_credential_but_not_the_secret() {
    let p = provider(client_secret());
    let d = format!("{p:?}");
    assert!(d.starts_with("TokenProvider {"), "{d}");
    assert!(
        d.contains("azure_default") && d.contains("client secret"),
        "{d}"
    );
    assert!(d.contains("https://login.microsoftonline.com"), "{d}");
    assert!(!d.contains("s3cret"), "{d}");
    assert!(matches!(p.credential(), Credential::ClientSecret { .. }));
}

#[test]
fn entra_throttling_and_server_errors_are_retried_refusals_are_not() {
    for status in [429, 500, 503] {
        let p = provider(client_secret());
        fake::reply(status, &[], "");
        token_reply("tok");
        assert_eq!(p.token().unwrap().expose(), "tok", "{status}");
        assert_eq!(fake::requests().len(), 2, "{status}");
    }
    for status in [400, 401, 499] {
        let p = provider(client_secret());
        token_error(status);
        let e = p.token().unwrap_err();
        assert_eq!(
            e,
            Error::Connection(format!("client secret credential of connection `azure_default`: token request refused: HTTP {status} invalid_client, AADSTS7000215: AADSTS7000215: Invalid client secret provided."))
        );
        assert_eq!(fake::requests().len(), 1, "{status}");
        assert!(!e.to_string().contains("s3cret"));
    }
}

#[test]
fn bad_token_answers_are_errors() {
    let p = provider(client_secret());
    fake::reply(200, &[], "<html>");
    let e = p.token().unwrap_err();
    assert!(
        e.to_string().ends_with("the token response is not JSON"),
        "{e}"
    );
    fake::reply_json(200, &[], &json!({"expires_in": 3600}));
    let e = p.token().unwrap_err();
    assert!(e.to_string().ends_with("has no access_token"), "{e}");
    let p = provider_with(client_secret(), ONE_ATTEMPT);
    fake::reply(503, &[], "");
    let e = p.token().unwrap_err();
    assert!(
        e.to_string()
            .ends_with("HTTP 503 (gave up after 1 attempt in 0.0 s: retry limit reached)"),
        "{e}"
    );
}

#[test]
fn entra_transport_failures() {
    let p = provider(client_secret());
    fake::fail(HttpError::Denied("origin not allowed".into()));
    assert_eq!(
        p.token().unwrap_err(),
        Error::Denied(
            "token request to https://login.microsoftonline.com: origin not allowed".into()
        )
    );
    let p = provider_with(client_secret(), ONE_ATTEMPT);
    fake::fail(HttpError::Connection("refused".into()));
    let e = p.token().unwrap_err();
    assert!(
        e.to_string()
            .contains("token endpoint https://login.microsoftonline.com unreachable: connection failed: refused"),
        "{e}"
    );
}

#[test]
fn plain_http_authority_is_refused_unless_loopback() {
    let mut ep = endpoints();
    ep.authority = "http://login.example".into();
    let transport = Transport::new(RetryPolicy::default(), Rc::default());
    let p = TokenProvider::new("c", client_secret(), &ep, transport.clone());
    fake::reset();
    let e = p.token().unwrap_err();
    assert!(
        e.to_string()
            .contains("refusing to send credentials over plain http to `http://login.example`"),
        "{e}"
    );
    assert!(fake::requests().is_empty());
    ep.authority = "http://127.0.0.1:8080".into();
    let p = TokenProvider::new("c", client_secret(), &ep, transport);
    token_reply("tok");
    assert_eq!(p.token().unwrap().expose(), "tok");
    assert_eq!(
        fake::request_lines(),
        ["POST http://127.0.0.1:8080/t1/oauth2/v2.0/token"]
    );
}

#[test]
fn workload_identity_rereads_its_token_file() {
    let p = provider(workload());
    fake::file("/var/run/token", Ok(b"  fed-1\n".to_vec()));
    token_reply("tok-1");
    assert_eq!(p.token().unwrap().expose(), "tok-1");
    assert_eq!(field(0, "client_assertion").unwrap(), "fed-1");
    assert_eq!(
        field(0, "client_assertion_type").unwrap(),
        "urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer"
    );
    assert_eq!(field(0, "client_secret"), None);
    fake::file("/var/run/token", Ok(b"fed-2".to_vec()));
    p.invalidate();
    token_reply("tok-2");
    assert_eq!(p.token().unwrap().expose(), "tok-2");
    assert_eq!(field(1, "client_assertion").unwrap(), "fed-2");
    assert_eq!(fake::file_reads().len(), 2);
}

#[test]
fn workload_identity_file_problems() {
    let p = provider(workload());
    let e = p.token().unwrap_err();
    assert!(e.to_string().contains("workload identity credential of connection `azure_default`: cannot read the federated token file `/var/run/token`: "), "{e}");
    fake::file("/var/run/token", Err(Error::Denied("not granted".into())));
    assert_eq!(p.token().unwrap_err(), Error::Denied("not granted".into()));
    fake::file("/var/run/token", Ok(b" \n".to_vec()));
    let e = p.token().unwrap_err();
    assert!(
        e.to_string()
            .ends_with("the federated token file `/var/run/token` is empty"),
        "{e}"
    );
    fake::file("/var/run/token", Ok(vec![0xff, 0xfe]));
    let e = p.token().unwrap_err();
    assert!(
        e.to_string()
            .ends_with("the federated token file is not UTF-8"),
        "{e}"
    );
    assert!(fake::requests().is_empty());
}

#[test]
fn certificate_signs_an_assertion_and_reads_its_file_once() {
    let p = provider(certificate(CertificateSource::Path("/c.pem".into())));
    fake::file("/c.pem", Ok(PEM.as_bytes().to_vec()));
    token_reply("tok-1");
    token_reply("tok-2");
    assert_eq!(p.token().unwrap().expose(), "tok-1");
    p.invalidate();
    assert_eq!(p.token().unwrap().expose(), "tok-2");
    assert_eq!(fake::file_reads(), ["/c.pem"]);
    for i in 0..2 {
        let jwt = field(i, "client_assertion").unwrap();
        assert_eq!(jwt.split('.').count(), 3, "{jwt}");
        assert_eq!(field(i, "client_id").unwrap(), "app");
    }
    assert_ne!(field(0, "client_assertion"), field(1, "client_assertion"));

    let p = provider(certificate(CertificateSource::Inline(Secret::new(PEM))));
    token_reply("tok");
    assert_eq!(p.token().unwrap().expose(), "tok");
    assert!(fake::file_reads().is_empty());

    let p = provider(certificate(CertificateSource::Path("/c.pem".into())));
    fake::file("/c.pem", Ok(vec![0xff]));
    let e = p.token().unwrap_err();
    assert!(
        e.to_string().ends_with("`/c.pem` is not a PEM text file"),
        "{e}"
    );
    let p = provider(certificate(CertificateSource::Inline(Secret::new(
        "no pem here",
    ))));
    let e = p.token().unwrap_err();
    assert!(
        e.to_string().contains(
            "client certificate credential of connection `azure_default`: no PRIVATE KEY"
        ),
        "{e}"
    );
    assert!(fake::requests().is_empty());
}

#[test]
fn managed_identity_asks_imds() {
    let p = provider(managed(Some("cid")));
    fake::reply_json(
        200,
        &[],
        &json!({"access_token": "mi", "expires_in": "3599", "expires_on": "1", "token_type": "Bearer"}),
    );
    assert_eq!(p.token().unwrap().expose(), "mi");
    assert_eq!(fake::request_lines(), [format!("GET {IMDS}&client_id=cid")]);
    let req = &fake::requests()[0];
    assert_eq!(fake::header(req, "metadata").unwrap(), "true");
    assert_eq!(fake::header(req, "accept").unwrap(), "application/json");
    assert!(fake::header(req, "x-ms-client-request-id").is_some());
    assert_eq!(req.timeout_ms, 5_000);

    let p = provider(managed(None));
    token_reply("mi");
    p.token().unwrap();
    assert_eq!(fake::request_lines(), [format!("GET {IMDS}")]);
}

#[test]
fn imds_retries_what_is_transient_for_it() {
    for status in [429, 404, 410, 500] {
        let p = provider(managed(None));
        fake::reply(status, &[], "");
        token_reply("mi");
        assert_eq!(p.token().unwrap().expose(), "mi", "{status}");
        assert_eq!(fake::requests().len(), 2, "{status}");
    }
    for status in [400, 403] {
        let p = provider(managed(None));
        token_error(status);
        let e = p.token().unwrap_err();
        assert!(
            e.to_string().contains(&format!(
                "token request refused: HTTP {status} invalid_client"
            )),
            "{e}"
        );
        assert_eq!(fake::requests().len(), 1, "{status}");
    }
}

#[test]
fn unreachable_imds_fails_at_once_and_says_what_else_works() {
    let p = provider(managed(None));
    fake::fail(HttpError::Connection("refused".into()));
    let e = p.token().unwrap_err();
    assert!(e.to_string().contains("managed identity credential of connection `azure_default`: IMDS at http://169.254.169.254 is unreachable (connection failed: refused). No other credential applies"), "{e}");
    assert_eq!(fake::requests().len(), 1);
    fake::fail(HttpError::Denied("not in plan".into()));
    assert_eq!(
        p.token().unwrap_err(),
        Error::Denied("token request to http://169.254.169.254: not in plan".into())
    );
}
