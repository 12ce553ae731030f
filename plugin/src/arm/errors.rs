//! Mapping ARM error answers to [`Error::Remote`] with ARM's own code and message (pure).

use super::models::CloudError;
use task_plugin_sdk::http::Response;
use task_plugin_sdk::Error;

/// Longest message kept from a non-ARM error body.
const MAX_TEXT: usize = 300;

/// ARM's error code in a response body (`""` when the body is not ARM's envelope).
pub fn error_code(resp: &Response) -> String {
    resp.json::<CloudError>()
        .map(|e| e.error.code)
        .unwrap_or_default()
}

/// A generic code for a status without an ARM error body.
pub fn status_code_name(status: u16) -> &'static str {
    match status {
        400 => "BadRequest",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        409 => "Conflict",
        429 => "TooManyRequests",
        500 => "InternalServerError",
        502 => "BadGateway",
        503 => "ServiceUnavailable",
        504 => "GatewayTimeout",
        _ => "HttpError",
    }
}

/// The error for a failed ARM answer. `note` is appended to the message (e.g. the
/// give-up note of the retry loop).
pub fn remote_error(resp: &Response, note: &str) -> Error {
    let parsed = resp
        .json::<CloudError>()
        .ok()
        .filter(|e| !e.error.code.is_empty() || !e.error.message.is_empty());
    let (code, mut message) = match parsed {
        Some(e) => {
            let mut msg = e.error.message.clone();
            if let Some(details) = e.error.details.as_ref().filter(|d| !d.is_empty()) {
                let parts: Vec<String> = details
                    .iter()
                    .take(5)
                    .map(|d| format!("{}: {}", d.code, d.message))
                    .collect();
                msg = format!("{msg} (details: {})", parts.join("; "));
            }
            let code = if e.error.code.is_empty() {
                status_code_name(resp.status).to_string()
            } else {
                e.error.code
            };
            (code, msg)
        }
        None => {
            let text = resp.text();
            let text = text.trim();
            let msg = if text.is_empty() {
                format!("HTTP {} with no error body", resp.status)
            } else if text.chars().count() > MAX_TEXT {
                format!("{}…", text.chars().take(MAX_TEXT).collect::<String>())
            } else {
                text.to_string()
            };
            (status_code_name(resp.status).to_string(), msg)
        }
    };
    message.push_str(note);
    Error::remote(resp.status, code, message)
}

/// True for the `401` codes after which a fresh token is worth one more try.
pub fn is_token_rejection(resp: &Response) -> bool {
    if resp.status != 401 {
        return false;
    }
    let code = error_code(resp);
    matches!(
        code.as_str(),
        "InvalidAuthenticationToken" | "ExpiredAuthenticationToken" | "AuthenticationFailed" | ""
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(status: u16, body: &str) -> Response {
        Response {
            status,
            headers: vec![],
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn arm_envelope() {
        let r = resp(
            404,
            r#"{"error":{"code":"ResourceNotFound","message":"The Resource 'x' was not found."}}"#,
        );
        assert_eq!(error_code(&r), "ResourceNotFound");
        assert_eq!(
            remote_error(&r, ""),
            Error::remote(404, "ResourceNotFound", "The Resource 'x' was not found.")
        );
        let r = resp(
            400,
            r#"{"error":{"code":"MultipleErrorsOccurred","message":"m","details":[{"code":"A","message":"a"},{"code":"B","message":"b"}]}}"#,
        );
        assert_eq!(
            remote_error(&r, " (note)"),
            Error::remote(
                400,
                "MultipleErrorsOccurred",
                "m (details: A: a; B: b) (note)"
            )
        );
    }

    #[test]
    fn non_arm_bodies() {
        assert_eq!(
            remote_error(&resp(502, ""), ""),
            Error::remote(502, "BadGateway", "HTTP 502 with no error body")
        );
        assert_eq!(
            remote_error(&resp(418, "teapot"), ""),
            Error::remote(418, "HttpError", "teapot")
        );
        let long = "x".repeat(1000);
        let Error::Remote { message, .. } = remote_error(&resp(500, &long), "") else {
            panic!()
        };
        assert!(message.chars().count() <= 301);
        assert_eq!(error_code(&resp(500, "nope")), "");
    }

    #[test]
    fn token_rejections() {
        assert!(is_token_rejection(&resp(
            401,
            r#"{"error":{"code":"ExpiredAuthenticationToken","message":"m"}}"#
        )));
        assert!(is_token_rejection(&resp(
            401,
            r#"{"error":{"code":"InvalidAuthenticationToken","message":"m"}}"#
        )));
        assert!(is_token_rejection(&resp(401, "")));
        // A token for the wrong tenant or audience does not get better by refreshing it.
        assert!(!is_token_rejection(&resp(
            401,
            r#"{"error":{"code":"InvalidAuthenticationTokenTenant","message":"m"}}"#
        )));
        assert!(!is_token_rejection(&resp(
            403,
            r#"{"error":{"code":"AuthorizationFailed","message":"m"}}"#
        )));
    }
}
