//! Failure classification: a short kebab-case reason for every way a run can
//! fail, derived from exit codes, ARM error codes, states and events.
//!
//! | reason | when |
//! |---|---|
//! | `image-pull` | `InaccessibleImage`, or pull-failure events |
//! | `out-of-memory` | exit code 137 or detail status `OOMKilled` |
//! | `evicted` | `Unhealthy` for a Spot group, or eviction events |
//! | `unhealthy` | `Unhealthy` otherwise (node failure) |
//! | `quota` | `ContainerGroupQuotaReached` / quota events |
//! | `capacity` | `ServiceUnavailable` / `InsufficientCapacity` |
//! | `provisioning-timeout` | provisioning failed on a timeout |
//! | `provisioning-failed` | provisioning failed otherwise |
//! | `nonzero-exit` | the container exited with another non-zero code |
//! | `unknown-exit-code` | the container terminated without an exit code |
//! | `deleted-externally` | the group disappeared while the task waited |
//! | `already-exists` | `fail_if_exists` found the group |

use super::observe::EventObs;
use task_plugin_sdk::Error;

/// Image could not be pulled.
pub const IMAGE_PULL: &str = "image-pull";
/// Killed for memory (exit 137).
pub const OUT_OF_MEMORY: &str = "out-of-memory";
/// Spot eviction / eviction events.
pub const EVICTED: &str = "evicted";
/// `Unhealthy` without an eviction.
pub const UNHEALTHY: &str = "unhealthy";
/// Core quota reached.
pub const QUOTA: &str = "quota";
/// No capacity in the region.
pub const CAPACITY: &str = "capacity";
/// Provisioning timed out.
pub const PROVISIONING_TIMEOUT: &str = "provisioning-timeout";
/// Provisioning failed for another reason.
pub const PROVISIONING_FAILED: &str = "provisioning-failed";
/// Non-zero exit code.
pub const NONZERO_EXIT: &str = "nonzero-exit";
/// Terminated without an exit code.
pub const UNKNOWN_EXIT_CODE: &str = "unknown-exit-code";
/// The group was deleted by someone else.
pub const DELETED_EXTERNALLY: &str = "deleted-externally";
/// `fail_if_exists` and the group exists.
pub const ALREADY_EXISTS: &str = "already-exists";

/// The reason for a container that terminated with `exit_code` (non-zero).
pub fn exit_reason(exit_code: i32, detail_status: Option<&str>) -> &'static str {
    let oom_detail = detail_status.is_some_and(|d| d.to_ascii_lowercase().contains("oomkilled"));
    if exit_code == 137 || oom_detail {
        OUT_OF_MEMORY
    } else {
        NONZERO_EXIT
    }
}

/// The reason behind an ARM error code (from a PUT or an operation), if it is
/// one of the known failure classes.
pub fn remote_reason(code: &str, message: &str) -> Option<&'static str> {
    let c = code.to_ascii_lowercase();
    let m = message.to_ascii_lowercase();
    if c == "inaccessibleimage"
        || c.contains("imagepull")
        || c == "registryerrorresponse" && m.contains("pull")
    {
        Some(IMAGE_PULL)
    } else if c.contains("quota") {
        Some(QUOTA)
    } else if c == "serviceunavailable" && m.contains("not available in the location")
        || c.contains("insufficientcapacity")
    {
        Some(CAPACITY)
    } else {
        None
    }
}

/// Turns an error from creating the group into a classified failure when its
/// code is a known class; other errors are returned unchanged.
pub fn classify_create_error(e: Error) -> Error {
    match &e {
        Error::Remote {
            code,
            message,
            status,
        } => match remote_reason(code, message) {
            Some(reason) => Error::Failed {
                exit_code: None,
                reason: reason.into(),
                message: format!(
                    "Could not start container group: ({code}) {message} [HTTP {status}]"
                ),
            },
            None => e,
        },
        _ => e,
    }
}

/// The reason of a failed provisioning, from the group's and containers' events.
pub fn provisioning_reason(events: &[EventObs]) -> &'static str {
    let has = |pred: &dyn Fn(&str, &str) -> bool| {
        events.iter().any(|e| {
            pred(
                &e.name.to_ascii_lowercase(),
                &e.message.to_ascii_lowercase(),
            )
        })
    };
    if has(&|n, m| {
        n.contains("pull") && n != "pulled" && n != "pulling"
            || (n == "failed" || n == "backoff") && (m.contains("pull") || m.contains("image"))
            || m.contains("is not accessible")
    }) {
        IMAGE_PULL
    } else if has(&|n, m| n.contains("quota") || m.contains("quota")) {
        QUOTA
    } else if has(&|n, m| n.contains("capacity") || m.contains("not available in the location")) {
        CAPACITY
    } else if has(&|n, m| n.contains("timeout") || m.contains("timed out") || m.contains("timeout"))
    {
        PROVISIONING_TIMEOUT
    } else if has(&|n, _| n.contains("evict")) {
        EVICTED
    } else {
        PROVISIONING_FAILED
    }
}

/// The reason for an `Unhealthy` group.
pub fn unhealthy_reason(events: &[EventObs], spot: bool) -> &'static str {
    if spot
        || events.iter().any(|e| {
            e.name.to_ascii_lowercase().contains("evict")
                || e.message.to_ascii_lowercase().contains("evict")
        })
    {
        EVICTED
    } else {
        UNHEALTHY
    }
}

/// The distinct messages of warning events (or of all events when none is a
/// warning), joined for an error message.
pub fn event_summary(events: &[EventObs]) -> String {
    let warnings: Vec<&EventObs> = events
        .iter()
        .filter(|e| e.kind.eq_ignore_ascii_case("warning"))
        .collect();
    let chosen: Vec<&EventObs> = if warnings.is_empty() {
        events.iter().collect()
    } else {
        warnings
    };
    let mut out: Vec<String> = Vec::new();
    for e in chosen {
        let s = if e.name.is_empty() {
            e.message.clone()
        } else {
            format!("{}: {}", e.name, e.message)
        };
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(name: &str, message: &str, kind: &str) -> EventObs {
        EventObs {
            name: name.into(),
            message: message.into(),
            kind: kind.into(),
            count: 1,
            last_timestamp: None,
            first_timestamp: None,
        }
    }

    #[test]
    fn exit_codes() {
        assert_eq!(exit_reason(137, Some("Error")), OUT_OF_MEMORY);
        assert_eq!(exit_reason(1, Some("OOMKilled")), OUT_OF_MEMORY);
        assert_eq!(exit_reason(1, Some("Error")), NONZERO_EXIT);
        assert_eq!(exit_reason(3, None), NONZERO_EXIT);
    }

    #[test]
    fn remote_codes() {
        assert_eq!(
            remote_reason(
                "InaccessibleImage",
                "The image 'x' in container group 'y' is not accessible."
            ),
            Some(IMAGE_PULL)
        );
        assert_eq!(
            remote_reason(
                "ContainerGroupQuotaReached",
                "quota 'StandardCores' exceeded"
            ),
            Some(QUOTA)
        );
        assert_eq!(
            remote_reason(
                "ServiceUnavailable",
                "The requested resource is not available in the location 'eastus' at this moment."
            ),
            Some(CAPACITY)
        );
        assert_eq!(
            remote_reason("ServiceUnavailable", "backend down"),
            None,
            "a plain 503 is transient, not capacity"
        );
        assert_eq!(remote_reason("AuthorizationFailed", "no"), None);
    }

    #[test]
    fn create_errors_become_failures_only_when_classified() {
        let e = classify_create_error(Error::remote(
            400,
            "InaccessibleImage",
            "The image 'a' is not accessible.",
        ));
        match e {
            Error::Failed {
                reason,
                exit_code,
                message,
            } => {
                assert_eq!(reason, IMAGE_PULL);
                assert_eq!(exit_code, None);
                assert!(message.contains("InaccessibleImage"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        let e = classify_create_error(Error::remote(403, "AuthorizationFailed", "no"));
        assert_eq!(e.code(), Some("AuthorizationFailed"));
    }

    #[test]
    fn provisioning_failures_from_events() {
        assert_eq!(
            provisioning_reason(&[ev(
                "Failed",
                "Failed to pull image \"x\": the image is not accessible",
                "Warning"
            )]),
            IMAGE_PULL
        );
        assert_eq!(
            provisioning_reason(&[
                ev("Pulling", "pulling image \"x\"", "Normal"),
                ev(
                    "QuotaExceeded",
                    "container group quota 'StandardCores' exceeded",
                    "Warning"
                )
            ]),
            QUOTA
        );
        assert_eq!(
            provisioning_reason(&[ev(
                "InsufficientCapacity.",
                "The requested resource is not available in the location",
                "Warning"
            )]),
            CAPACITY
        );
        assert_eq!(
            provisioning_reason(&[ev(
                "Failed",
                "Provisioning timed out after 1800 seconds",
                "Warning"
            )]),
            PROVISIONING_TIMEOUT
        );
        assert_eq!(
            provisioning_reason(&[ev(
                "FailedMount",
                "Output: mount error(2): Permission denied",
                "Warning"
            )]),
            PROVISIONING_FAILED
        );
        assert_eq!(
            provisioning_reason(&[ev("Pulled", "Successfully pulled image", "Normal")]),
            PROVISIONING_FAILED
        );
    }

    #[test]
    fn unhealthy() {
        assert_eq!(unhealthy_reason(&[], true), EVICTED);
        assert_eq!(
            unhealthy_reason(
                &[ev("Evicted", "The container group was evicted", "Warning")],
                false
            ),
            EVICTED
        );
        assert_eq!(unhealthy_reason(&[], false), UNHEALTHY);
    }

    #[test]
    fn summary_prefers_warnings_and_dedups() {
        let events = [
            ev("Pulling", "pulling", "Normal"),
            ev("Failed", "bad", "Warning"),
            ev("Failed", "bad", "Warning"),
        ];
        assert_eq!(event_summary(&events), "Failed: bad");
        assert_eq!(
            event_summary(&[ev("Started", "ok", "Normal")]),
            "Started: ok"
        );
        assert_eq!(event_summary(&[]), "");
    }

    /// The reason for one event alone.
    fn one(name: &str, message: &str) -> &'static str {
        provisioning_reason(&[ev(name, message, "Warning")])
    }

    #[test]
    fn each_image_pull_alternative_alone() {
        // Each event satisfies exactly one alternative of the image-pull rule.
        // A name containing "pull" (not the normal progress events).
        assert_eq!(one("ErrImagePull", "rpc error"), IMAGE_PULL);
        assert_eq!(one("ImagePullBackOff", "waiting"), IMAGE_PULL);
        // "Failed" / "BackOff" with a message about pulling or an image.
        assert_eq!(one("Failed", "Failed to pull"), IMAGE_PULL);
        assert_eq!(one("Failed", "bad image reference"), IMAGE_PULL);
        assert_eq!(one("BackOff", "Back-off pulling"), IMAGE_PULL);
        assert_eq!(one("BackOff", "image \"x\" unknown"), IMAGE_PULL);
        assert_eq!(one("BackOff", "Back-off pulling image \"x\""), IMAGE_PULL);
        // A message saying the image is not accessible, whatever the name.
        assert_eq!(one("Error", "the registry is not accessible"), IMAGE_PULL);
        // Near misses fall through to the generic reason.
        assert_eq!(one("Pulling", "Pulling image \"x\""), PROVISIONING_FAILED);
        assert_eq!(
            one("Pulled", "Successfully pulled image \"x\""),
            PROVISIONING_FAILED
        );
        assert_eq!(
            one("Started", "Started container with image x"),
            PROVISIONING_FAILED
        );
        assert_eq!(one("Failed", "mount error"), PROVISIONING_FAILED);
        assert_eq!(
            one("BackOff", "Back-off restarting failed container"),
            PROVISIONING_FAILED
        );
        assert_eq!(
            one("Killing", "container is accessible"),
            PROVISIONING_FAILED
        );
    }

    #[test]
    fn each_other_alternative_alone() {
        assert_eq!(one("QuotaExceeded", "limit reached"), QUOTA);
        assert_eq!(one("Failed", "core quota exceeded"), QUOTA);
        assert_eq!(one("InsufficientCapacity", "try later"), CAPACITY);
        assert_eq!(
            one(
                "Failed",
                "The requested resource is not available in the location 'x'"
            ),
            CAPACITY
        );
        assert_eq!(one("ProvisioningTimeout", "gave up"), PROVISIONING_TIMEOUT);
        assert_eq!(
            one("Failed", "the operation timed out"),
            PROVISIONING_TIMEOUT
        );
        assert_eq!(
            one("Failed", "deployment timeout reached"),
            PROVISIONING_TIMEOUT
        );
        assert_eq!(one("Evicted", "node reclaimed"), EVICTED);
        assert_eq!(
            one("Failed", "was evicted"),
            PROVISIONING_FAILED,
            "only names count"
        );
        assert_eq!(provisioning_reason(&[]), PROVISIONING_FAILED);
    }

    #[test]
    fn the_first_matching_class_wins_across_events() {
        let both = [
            ev("QuotaExceeded", "limit", "Warning"),
            ev("ErrImagePull", "x", "Warning"),
        ];
        assert_eq!(provisioning_reason(&both), IMAGE_PULL);
        let both = [
            ev("ProvisioningTimeout", "x", "Warning"),
            ev("QuotaExceeded", "limit", "Warning"),
            ev("InsufficientCapacity", "x", "Warning"),
        ];
        assert_eq!(provisioning_reason(&both), QUOTA);
        let both = [
            ev("Evicted", "x", "Warning"),
            ev("InsufficientCapacity", "x", "Warning"),
        ];
        assert_eq!(provisioning_reason(&both), CAPACITY);
        let both = [ev("Evicted", "x", "Warning"), ev("Timeout", "x", "Warning")];
        assert_eq!(provisioning_reason(&both), PROVISIONING_TIMEOUT);
        // Case does not matter.
        assert_eq!(one("FAILED", "FAILED TO PULL"), IMAGE_PULL);
    }

    #[test]
    fn remote_codes_one_alternative_each() {
        assert_eq!(remote_reason("InaccessibleImage", "x"), Some(IMAGE_PULL));
        assert_eq!(remote_reason("ImagePullFailed", "x"), Some(IMAGE_PULL));
        assert_eq!(remote_reason("ErrImagePull", "x"), Some(IMAGE_PULL));
        assert_eq!(
            remote_reason("RegistryErrorResponse", "pull access denied for x"),
            Some(IMAGE_PULL)
        );
        assert_eq!(
            remote_reason("RegistryErrorResponse", "registry is down"),
            None,
            "a registry error that is not about pulling"
        );
        assert_eq!(remote_reason("SomethingElse", "pull failed"), None);
        assert_eq!(
            remote_reason("ContainerGroupQuotaReached", "x"),
            Some(QUOTA)
        );
        assert_eq!(remote_reason("QuotaExceeded", "x"), Some(QUOTA));
        assert_eq!(
            remote_reason("Failed", "quota exceeded"),
            None,
            "only codes count"
        );
        assert_eq!(remote_reason("InsufficientCapacity", "x"), Some(CAPACITY));
        assert_eq!(
            remote_reason("serviceunavailable", "NOT AVAILABLE IN THE LOCATION 'x'"),
            Some(CAPACITY)
        );
        assert_eq!(
            remote_reason("InternalServerError", "not available in the location 'x'"),
            None
        );
    }

    #[test]
    fn exit_reason_alternatives() {
        assert_eq!(exit_reason(137, None), OUT_OF_MEMORY);
        assert_eq!(exit_reason(1, Some("Terminated: oomkilled")), OUT_OF_MEMORY);
        assert_eq!(exit_reason(1, None), NONZERO_EXIT);
        assert_eq!(exit_reason(136, Some("Completed")), NONZERO_EXIT);
    }

    #[test]
    fn unhealthy_alternatives() {
        let name_only = [ev("Evicted", "gone", "Warning")];
        assert_eq!(unhealthy_reason(&name_only, false), EVICTED);
        let message_only = [ev("Killing", "the group was evicted", "Warning")];
        assert_eq!(unhealthy_reason(&message_only, false), EVICTED);
        let neither = [ev("Killing", "node failure", "Warning")];
        assert_eq!(unhealthy_reason(&neither, false), UNHEALTHY);
        assert_eq!(unhealthy_reason(&neither, true), EVICTED);
    }

    #[test]
    fn classified_create_error_message_and_passthrough() {
        let e = classify_create_error(Error::remote(409, "ContainerGroupQuotaReached", "full"));
        assert_eq!(
            e,
            Error::Failed {
                exit_code: None,
                reason: QUOTA.into(),
                message:
                    "Could not start container group: (ContainerGroupQuotaReached) full [HTTP 409]"
                        .into(),
            }
        );
        let other = Error::Connection("no".into());
        assert_eq!(classify_create_error(other.clone()), other);
    }

    #[test]
    fn summary_details() {
        let events = [
            ev("", "bare message", "WARNING"),
            ev("Pulling", "pulling", "Normal"),
            ev("Failed", "bad", "warning"),
        ];
        assert_eq!(event_summary(&events), "bare message; Failed: bad");
        let normal = [
            ev("A", "1", "Normal"),
            ev("B", "2", "Normal"),
            ev("A", "1", "Normal"),
        ];
        assert_eq!(event_summary(&normal), "A: 1; B: 2");
    }
}
