//! The ARM client against the scripted host ([`crate::sys::fake`]): URLs, the link check,
//! retries and their budget pauses, the token refresh after a `401`, and error mapping.

use serde_json::json;

use super::*;
use crate::arm::cloud::{self, Endpoints};
use crate::arm::models::Secret;
use crate::auth::Credential;
use crate::sys::fake;

/// ARM base of the test endpoints.
pub(crate) const ARM: &str = "https://management.azure.com";
/// The token endpoint of the test client-secret credential.
pub(crate) const TOKEN_URL: &str = "https://login.microsoftonline.com/t1/oauth2/v2.0/token";

/// The public cloud's endpoints.
pub(crate) fn endpoints() -> Endpoints {
    cloud::resolve(&serde_json::Map::new()).0
}

/// A client-secret credential of tenant `t1`.
pub(crate) fn client_secret() -> Credential {
    Credential::ClientSecret {
        tenant_id: "t1".into(),
        client_id: "app".into(),
        secret: Secret::new("s3cret"),
        source: "login/password",
    }
}

/// A fresh script and a client of subscription `sub 1` with `credential` and `policy`.
pub(crate) fn client_with(credential: Credential, policy: RetryPolicy) -> ArmClient {
    fake::reset();
    let setup = AuthSetup {
        credential,
        endpoints: endpoints(),
        subscription_id: Some("sub 1".into()),
        notes: vec![],
        warnings: vec![],
    };
    ArmClient::new("azure_default", &setup, "sub 1", policy, Rc::default())
}

/// [`client_with`] a client secret and the default retry policy.
pub(crate) fn client() -> ArmClient {
    client_with(client_secret(), RetryPolicy::default())
}

/// Queues an Entra ID answer with access token `token`, valid for an hour.
pub(crate) fn token_reply(token: &str) {
    fake::reply_json(
        200,
        &[],
        &json!({"token_type": "Bearer", "expires_in": 3600, "access_token": token}),
    );
}

/// An ARM error answer.
pub(crate) fn arm_error(status: u16, code: &str, headers: &[(&str, &str)]) {
    fake::reply_json(
        status,
        headers,
        &json!({"error": {"code": code, "message": format!("{code} happened")}}),
    );
}

const GROUP: &str = "https://management.azure.com/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerInstance/containerGroups/g?api-version=2023-05-01";

fn unreachable(error: HttpError) -> TransportError {
    TransportError::Unreachable {
        error,
        attempts: 2,
        elapsed_ms: 1_000,
        gave_up: None,
    }
}

#[test]
fn transport_errors_have_codes() {
    let cases = [
        (HttpError::Timeout("t".into()), "Timeout"),
        (HttpError::Connection("c".into()), "ConnectionFailed"),
        (HttpError::InvalidUrl("u".into()), "InvalidUrl"),
        (HttpError::TooLarge("l".into()), "ResponseTooLarge"),
        (HttpError::Other("o".into()), "RequestFailed"),
    ];
    for (error, code) in cases {
        let text = error.to_string();
        let e = transport_error("GET /x", unreachable(error));
        assert_eq!(e, Error::remote(0, code, text), "{code}");
    }
    assert_eq!(
        transport_error("GET /x", TransportError::Denied("no".into())),
        Error::Denied("GET /x: no".into())
    );
    let fatal = Error::Cancelled("c".into());
    assert_eq!(
        transport_error("GET /x", TransportError::Fatal(fatal.clone())),
        fatal
    );
}

#[test]
fn paths_and_urls() {
    let c = client();
    assert_eq!(c.subscription_id(), "sub 1");
    assert_eq!(c.endpoints().resource_manager, ARM);
    assert_eq!(c.tokens().credential().kind(), client_secret().kind());
    assert_eq!(
        c.provider_path("my rg", "Microsoft.ContainerInstance/containerGroups"),
        "/subscriptions/sub%201/resourceGroups/my%20rg/providers/Microsoft.ContainerInstance/containerGroups"
    );
    assert_eq!(
        c.url(
            "/x/y",
            "2023-05-01",
            &[("tail", "10"), ("timestamps", "true")]
        ),
        "https://management.azure.com/x/y?api-version=2023-05-01&tail=10&timestamps=true"
    );
}

#[test]
fn only_links_to_the_arm_endpoint_are_followed() {
    let c = client();
    assert_eq!(
        c.check_followable("https://MANAGEMENT.azure.com/op/1?x=y"),
        Ok(())
    );
    for bad in [
        "https://evil.example/op/1",
        "http://management.azure.com/op/1",
        "https://management.azure.com:8443/op/1",
    ] {
        let e = c.check_followable(bad).unwrap_err();
        assert_eq!(e.code(), Some("UntrustedLink"), "{bad}");
        assert!(
            e.to_string().contains("https://management.azure.com"),
            "{e}"
        );
    }
    assert_eq!(
        c.check_followable("not a url").unwrap_err().code(),
        Some("InvalidUrl")
    );
}

#[test]
fn a_call_carries_token_id_and_headers_and_counts_requests() {
    let c = client();
    token_reply("tok-1");
    fake::reply_json(200, &[], &json!({"name": "g"}));
    fake::reply_json(200, &[], &json!({"name": "g"}));
    let v: serde_json::Value = c.send_json(Method::Get, GROUP, None).unwrap();
    assert_eq!(v["name"], "g");
    let put = c.send(Method::Put, GROUP, Some(b"{}")).unwrap();
    assert_eq!(
        (put.status, put.body.as_slice()),
        (200, &b"{\"name\":\"g\"}"[..])
    );
    // One token request, then two ARM calls with the cached token.
    assert_eq!(c.request_count(), 3);
    let reqs = fake::requests();
    assert_eq!(fake::request_lines()[0], format!("POST {TOKEN_URL}"));
    let (get, put) = (&reqs[1], &reqs[2]);
    assert_eq!(fake::header(get, "authorization").unwrap(), "Bearer tok-1");
    assert_eq!(fake::header(put, "authorization").unwrap(), "Bearer tok-1");
    assert_eq!(fake::header(get, "accept").unwrap(), "application/json");
    assert_eq!(fake::header(get, "user-agent").unwrap(), USER_AGENT);
    assert_eq!(fake::header(get, "content-type"), None);
    assert_eq!(
        fake::header(put, "content-type").unwrap(),
        "application/json"
    );
    assert_eq!(put.body, b"{}");
    assert_eq!(
        get.timeout_ms,
        crate::arm::retry::DEFAULT_REQUEST_TIMEOUT_MS
    );
    let id = fake::header(get, "x-ms-client-request-id").unwrap();
    assert_eq!(id.len(), 36);
    assert_ne!(Some(id), fake::header(put, "x-ms-client-request-id"));
    assert_eq!(
        fake::acquired(),
        [
            ("arm/sub 1/reads".to_string(), false),
            ("arm/sub 1/writes".to_string(), true)
        ]
    );
}

#[test]
fn plain_http_to_a_remote_host_is_refused_before_sending() {
    let c = client();
    let e = c
        .send_raw(Method::Get, "http://arm.example/x", None)
        .unwrap_err();
    assert!(
        matches!(&e, Error::Connection(m) if m.contains("refusing to send a bearer token")),
        "{e}"
    );
    assert!(fake::requests().is_empty());
    assert_eq!(
        c.send_raw(Method::Get, "nope", None).unwrap_err().code(),
        Some("InvalidUrl")
    );
    // Loopback over http is fine (the emulator).
    token_reply("tok");
    fake::reply(200, &[], "{}");
    let sent = c
        .send_raw(Method::Get, "http://127.0.0.1:9/x?api-version=1", None)
        .unwrap();
    assert_eq!(sent.response.status, 200);
}

#[test]
fn transient_answers_are_retried_and_throttling_pauses_the_budget() {
    let c = client();
    token_reply("tok");
    arm_error(429, "TooManyRequests", &[("retry-after", "2")]);
    arm_error(503, "ServiceUnavailable", &[]);
    fake::reply(200, &[], "{}");
    let sent = c.send_raw(Method::Delete, GROUP, None).unwrap();
    assert_eq!((sent.response.status, sent.attempts), (200, 3));
    assert_eq!(fake::paused(), [("arm/sub 1/deletes".to_string(), 2_000)]);
    // Retry-After first, then the default backoff (no jitter: half of 1 s).
    assert_eq!(fake::waits(), [2_000, 500]);
    let logs = fake::logs();
    assert!(logs[0].contains("DELETE /subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerInstance/containerGroups/g: HTTP 429 TooManyRequests; retrying in 2000 ms (attempt 2/6)"), "{logs:?}");
    assert!(logs[1].contains("HTTP 503 ServiceUnavailable;"), "{logs:?}");
}

#[test]
fn transitioning_is_retried_unless_the_caller_fails_fast() {
    let c = client();
    token_reply("tok");
    arm_error(409, "ContainerGroupTransitioning", &[]);
    fake::reply(200, &[], "{}");
    assert_eq!(c.send_raw(Method::Get, GROUP, None).unwrap().attempts, 2);

    // Fail fast: the 409 is the answer; other transient answers are still retried.
    arm_error(409, "ContainerGroupTransitioning", &[]);
    let e = c
        .send_fail_fast_on_transition(Method::Get, GROUP)
        .unwrap_err();
    assert_eq!(e.code(), Some("ContainerGroupTransitioning"));
    arm_error(500, "InternalServerError", &[]);
    fake::reply(200, &[], "ok");
    let r = c.send_fail_fast_on_transition(Method::Get, GROUP).unwrap();
    assert_eq!((r.status, r.text()), (200, "ok".to_string()));

    // A plain conflict is never retried.
    arm_error(409, "Conflict", &[]);
    let sent = c.send_raw(Method::Put, GROUP, Some(b"{}")).unwrap();
    assert_eq!((sent.response.status, sent.attempts), (409, 1));
    arm_error(400, "InvalidRequest", &[]);
    let e = c.send(Method::Put, GROUP, Some(b"{}")).unwrap_err();
    assert_eq!(
        e,
        Error::remote(400, "InvalidRequest", "InvalidRequest happened")
    );
    assert_eq!(fake::replies_left(), 0);
    assert_eq!(c.request_count(), 8);
}

#[test]
fn exhausted_retries_say_so() {
    let policy = RetryPolicy {
        max_attempts: 2,
        base_delay_ms: 1_000,
        ..RetryPolicy::default()
    };
    let c = client_with(client_secret(), policy);
    token_reply("tok");
    arm_error(503, "ServiceUnavailable", &[]);
    arm_error(503, "ServiceUnavailable", &[]);
    let e = c.send(Method::Get, GROUP, None).unwrap_err();
    assert_eq!(
        e,
        Error::remote(
            503,
            "ServiceUnavailable",
            "ServiceUnavailable happened (gave up after 2 attempts in 0.5 s: retry limit reached)"
        )
    );
    fake::fail(HttpError::Timeout(
        "GET https://management.azure.com/x".into(),
    ));
    fake::fail(HttpError::Timeout(
        "GET https://management.azure.com/x".into(),
    ));
    let e = c.send(Method::Get, GROUP, None).unwrap_err();
    assert_eq!(e.code(), Some("Timeout"));
    assert!(e.to_string().contains("gave up after 2 attempts"), "{e}");
}

#[test]
fn a_rejected_token_is_refreshed_once() {
    let c = client();
    token_reply("old");
    arm_error(401, "ExpiredAuthenticationToken", &[]);
    token_reply("new");
    fake::reply(200, &[], "{}");
    let sent = c.send_raw(Method::Get, GROUP, None).unwrap();
    assert_eq!(sent.response.status, 200);
    let reqs = fake::requests();
    let auth: Vec<Option<String>> = reqs
        .iter()
        .map(|r| fake::header(r, "authorization"))
        .collect();
    assert_eq!(
        auth,
        [
            None,
            Some("Bearer old".into()),
            None,
            Some("Bearer new".into())
        ]
    );
    assert!(fake::logs()
        .iter()
        .any(|l| l.contains("ARM rejected the access token (ExpiredAuthenticationToken)")));

    // A 401 that persists after the refresh is the answer: no third round.
    arm_error(401, "InvalidAuthenticationToken", &[]);
    token_reply("newer");
    arm_error(401, "InvalidAuthenticationToken", &[]);
    let e = c.send(Method::Get, GROUP, None).unwrap_err();
    assert_eq!(e.code(), Some("InvalidAuthenticationToken"));
    assert_eq!(fake::replies_left(), 0);
    assert_eq!(c.request_count(), 7);
}

#[test]
fn a_refused_budget_is_a_cancellation_and_an_unknown_key_lets_the_request_go() {
    let c = client();
    token_reply("tok");
    fake::budget_answer(Ok(false));
    let e = c.send_raw(Method::Get, GROUP, None).unwrap_err();
    assert!(matches!(e, Error::Cancelled(_)), "{e}");
    assert_eq!(fake::request_lines().len(), 1, "only the token request");
    fake::budget_answer(Err(Error::Internal("budget `k`: unknown".into())));
    fake::pause_error(Error::Internal("budget `k`: unknown".into()));
    arm_error(429, "TooManyRequests", &[("retry-after-ms", "300")]);
    fake::reply(200, &[], "{}");
    assert_eq!(c.send_raw(Method::Get, GROUP, None).unwrap().attempts, 2);
    let logs = fake::logs();
    assert!(logs
        .iter()
        .any(|l| l.starts_with("debug: no shared budget for this request")));
    assert!(logs
        .iter()
        .any(|l| l.starts_with("debug: could not pause the shared budget")));
}

#[test]
fn cancelled_while_waiting_to_retry() {
    let c = client();
    token_reply("tok");
    arm_error(503, "ServiceUnavailable", &[]);
    fake::cancel_at_wait(0);
    let e = c.send_raw(Method::Get, GROUP, None).unwrap_err();
    assert!(
        matches!(&e, Error::Cancelled(m) if m.contains("waiting to retry GET /subscriptions/s/")),
        "{e}"
    );
}

#[test]
fn malformed_json_names_the_path_without_the_query() {
    let c = client();
    token_reply("tok");
    fake::reply(200, &[], "not json");
    let e = c
        .send_json::<serde_json::Value>(Method::Get, GROUP, None)
        .unwrap_err();
    assert_eq!(e.code(), Some("InvalidResponse"));
    assert!(!e.to_string().contains("api-version"), "{e}");
    assert_eq!(fake::replies_left(), 0);
}

#[test]
fn post_action_builds_the_action_url() {
    let c = client();
    token_reply("tok");
    fake::reply_json(200, &[], &json!({"keys": [{"value": "k"}]}));
    let v: serde_json::Value = c
        .post_action(
            "rg",
            "Microsoft.Storage/storageAccounts",
            "acct 1",
            "listKeys",
            "2023-01-01",
        )
        .unwrap();
    assert_eq!(v["keys"][0]["value"], "k");
    assert_eq!(
        fake::request_lines()[1],
        "POST https://management.azure.com/subscriptions/sub%201/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/acct%201/listKeys?api-version=2023-01-01"
    );
}

#[test]
fn backoff_is_jittered_and_time_counts_every_request() {
    let c = client();
    // Jitter 0.5: the first retry waits 250 ms + half of the other 250 ms.
    fake::set_random_u64(u64::MAX / 2);
    fake::latency(100);
    token_reply("tok");
    arm_error(503, "ServiceUnavailable", &[]);
    fake::reply(200, &[], "{}");
    let sent = c.send_raw(Method::Get, GROUP, None).unwrap();
    assert_eq!(fake::waits(), [374]);
    // Two ARM requests and the wait; the token request (made while building the first
    // attempt) is queueing, not retrying: it does not count.
    assert_eq!(sent.elapsed_ms, 100 + 374 + 100);
}
