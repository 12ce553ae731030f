//! [`wait`] against the scripted host ([`crate::sys::fake`]): the three ways of following
//! an operation, deletes (`404` = done), failures, pacing, the time bound, cancellation.

use serde_json::json;

use super::*;
use crate::arm::client::tests::{arm_error, client, client_secret, client_with, token_reply};
use crate::arm::retry::RetryPolicy;
use crate::sys::fake;

const GROUP: &str = "https://management.azure.com/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerInstance/containerGroups/g?api-version=2023-05-01";
const OP: &str = "https://management.azure.com/subscriptions/s/providers/Microsoft.ContainerInstance/locations/westeurope/operations/op1?api-version=2023-05-01";

/// 1 s, 1.5 s, 2.25 s... capped at 2 s; gives up after 10 s.
const POLICY: PollPolicy = PollPolicy {
    initial_ms: 1_000,
    max_interval_ms: 2_000,
    max_wait_ms: 10_000,
};

use super::tests::resp as initial;

fn group(state: &str) {
    fake::reply_json(
        200,
        &[],
        &json!({"properties": {"provisioningState": state, "containers": []}}),
    );
}

fn op(status: &str, headers: &[(&str, &str)]) {
    fake::reply_json(200, headers, &json!({"status": status}));
}

/// ARM requests after the token request.
fn polls() -> Vec<String> {
    fake::request_lines().split_off(1)
}

#[test]
fn async_operation_is_polled_until_it_succeeds() {
    let c = client();
    token_reply("tok");
    op("InProgress", &[("retry-after", "3")]);
    op("Running", &[]);
    op("succeeded", &[]);
    let first = initial(201, &[("azure-asyncoperation", OP), ("retry-after", "2")]);
    wait(&c, &first, GROUP, false, POLICY, "creation").unwrap();
    assert_eq!(polls(), vec![format!("GET {OP}"); 3]);
    // The initial hint, the status's hint, then the growing interval (third poll: 2.25 s,
    // capped at 2 s).
    assert_eq!(fake::waits(), [2_000, 3_000, 2_000]);
}

#[test]
fn a_failed_or_refused_async_operation_is_an_error() {
    let c = client();
    token_reply("tok");
    fake::reply_json(
        200,
        &[],
        &json!({"status": "Failed", "error": {"code": "InaccessibleImage", "message": "bad image"}}),
    );
    let first = initial(202, &[("Azure-AsyncOperation", OP)]);
    let e = wait(&c, &first, GROUP, false, POLICY, "creation").unwrap_err();
    assert_eq!(e, Error::remote(200, "InaccessibleImage", "bad image"));

    op("Canceled", &[]);
    let e = wait(&c, &first, GROUP, false, POLICY, "creation").unwrap_err();
    assert_eq!(e.code(), Some("OperationCanceled"));

    arm_error(404, "OperationNotFound", &[]);
    let e = wait(&c, &first, GROUP, false, POLICY, "creation").unwrap_err();
    assert_eq!(
        e,
        Error::remote(404, "OperationNotFound", "OperationNotFound happened")
    );

    fake::reply(200, &[], "<html>");
    let e = wait(&c, &first, GROUP, false, POLICY, "creation").unwrap_err();
    assert_eq!(e.code(), Some("InvalidResponse"));
    assert_eq!(fake::replies_left(), 0);
}

#[test]
fn retries_exhausted_while_polling_are_noted() {
    let policy = RetryPolicy {
        max_attempts: 1,
        ..RetryPolicy::default()
    };
    for first in [
        initial(202, &[("azure-asyncoperation", OP)]),
        initial(202, &[("location", OP)]),
        initial(202, &[]),
    ] {
        let c = client_with(client_secret(), policy);
        token_reply("tok");
        arm_error(503, "ServiceUnavailable", &[]);
        let e = wait(&c, &first, GROUP, true, POLICY, "deletion").unwrap_err();
        assert_eq!(
            e,
            Error::remote(
                503,
                "ServiceUnavailable",
                "ServiceUnavailable happened (gave up after 1 attempt in 0.0 s: retry limit reached)"
            ),
            "{first:?}"
        );
    }
}

#[test]
fn location_answers_202_until_done() {
    for last in [200, 201, 204] {
        let c = client();
        token_reply("tok");
        fake::reply(202, &[("retry-after", "4")], "");
        fake::reply(202, &[], "");
        fake::reply(last, &[], "");
        let first = initial(202, &[("location", OP)]);
        wait(&c, &first, GROUP, false, POLICY, "deletion").unwrap();
        assert_eq!(polls().len(), 3, "{last}");
        assert_eq!(fake::waits(), [1_000, 4_000, 2_000], "{last}");
    }
}

#[test]
fn location_404_is_done_only_for_deletes() {
    let c = client();
    token_reply("tok");
    arm_error(404, "ResourceNotFound", &[]);
    let first = initial(202, &[("location", OP)]);
    wait(&c, &first, GROUP, true, POLICY, "deletion").unwrap();
    arm_error(404, "ResourceNotFound", &[]);
    let e = wait(&c, &first, GROUP, false, POLICY, "creation").unwrap_err();
    assert_eq!(e.code(), Some("ResourceNotFound"));
    arm_error(400, "BadRequest", &[]);
    let e = wait(&c, &first, GROUP, true, POLICY, "deletion").unwrap_err();
    assert_eq!(e.code(), Some("BadRequest"));
}

#[test]
fn a_deleted_resource_is_polled_until_gone() {
    let c = client();
    token_reply("tok");
    group("Deleting");
    group("Deleting");
    arm_error(404, "ResourceNotFound", &[]);
    let first = initial(202, &[("retry-after", "5")]);
    wait(&c, &first, GROUP, true, POLICY, "deletion").unwrap();
    assert_eq!(polls(), vec![format!("GET {GROUP}"); 3]);
    // The initial hint, then the server gave none: the growing interval.
    assert_eq!(fake::waits(), [5_000, 1_500, 2_000]);

    // A creation's 404 and a delete's other errors are failures.
    arm_error(404, "ResourceNotFound", &[]);
    let e = wait(&c, &first, GROUP, false, POLICY, "creation").unwrap_err();
    assert_eq!(e.code(), Some("ResourceNotFound"));
    arm_error(403, "AuthorizationFailed", &[]);
    let e = wait(&c, &first, GROUP, true, POLICY, "deletion").unwrap_err();
    assert_eq!(e.code(), Some("AuthorizationFailed"));
}

#[test]
fn a_created_resource_is_polled_until_terminal() {
    let c = client();
    token_reply("tok");
    group("Pending");
    group("Creating");
    group("Succeeded");
    wait(&c, &initial(201, &[]), GROUP, false, POLICY, "creation").unwrap();
    assert_eq!(polls().len(), 3);

    group("Creating");
    fake::reply_json(
        200,
        &[],
        &json!({"properties": {"provisioningState": "Failed", "containers": [],
            "instanceView": {"events": [{"message": "quota exceeded"}]}}}),
    );
    let e = wait(&c, &initial(201, &[]), GROUP, false, POLICY, "creation").unwrap_err();
    assert_eq!(
        e,
        Error::remote(
            200,
            "ProvisioningFailed",
            "provisioning ended Failed: quota exceeded"
        )
    );
    fake::reply(200, &[], "[]");
    let e = wait(&c, &initial(201, &[]), GROUP, false, POLICY, "creation").unwrap_err();
    assert_eq!(e.code(), Some("InvalidResponse"));
    assert_eq!(fake::replies_left(), 0);
}

#[test]
fn gives_up_at_the_time_bound() {
    let c = client();
    token_reply("tok");
    let policy = PollPolicy {
        initial_ms: 1_000,
        max_interval_ms: 1_000,
        max_wait_ms: 5_000,
    };
    for _ in 0..5 {
        group("Creating");
    }
    let e = wait(&c, &initial(201, &[]), GROUP, false, policy, "creation").unwrap_err();
    assert_eq!(
        e,
        Error::TimedOut("creation did not finish within 5 s".into())
    );
    // Polls at 1, 2, 3, 4 and 5 s; the sixth would end past the bound.
    assert_eq!(polls().len(), 5);
    assert_eq!(fake::replies_left(), 0);
}

#[test]
fn cancellation_stops_the_wait() {
    let c = client();
    token_reply("tok");
    group("Creating");
    fake::cancel_at_wait(1);
    let e = wait(&c, &initial(201, &[]), GROUP, false, POLICY, "creation").unwrap_err();
    assert_eq!(
        e,
        Error::Cancelled("cancelled while waiting for creation".into())
    );
    assert_eq!(polls().len(), 1);
}

#[test]
fn links_elsewhere_are_not_followed() {
    let c = client();
    for header in ["azure-asyncoperation", "location"] {
        let first = initial(202, &[(header, "https://evil.example/op")]);
        let e = wait(&c, &first, GROUP, true, POLICY, "deletion").unwrap_err();
        assert_eq!(e.code(), Some("UntrustedLink"), "{header}");
    }
    assert!(fake::requests().is_empty());
}
