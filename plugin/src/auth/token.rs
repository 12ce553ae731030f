//! Access tokens: parsing the token endpoints' answers and deciding when a cached token
//! must be refreshed (pure).

use serde_json::Value;

use crate::arm::models::Secret;

/// Refresh this long before expiry (Azure SDK convention)...
pub const REFRESH_MARGIN_SECS: u64 = 300;

/// A bearer token and its lifetime, in wall-clock Unix seconds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessToken {
    /// The token (redacted in `Debug`).
    pub token: Secret,
    /// When it was obtained.
    pub obtained_at: u64,
    /// When it expires.
    pub expires_on: u64,
}

impl AccessToken {
    /// True when the token should be replaced before use at `now`: within
    /// [`REFRESH_MARGIN_SECS`] of expiry, or within half its lifetime for tokens that live
    /// shorter than twice the margin (so short-lived tokens are not refetched on every call).
    pub fn needs_refresh(&self, now: u64) -> bool {
        let lifetime = self.expires_on.saturating_sub(self.obtained_at);
        let margin = REFRESH_MARGIN_SECS.min(lifetime / 2);
        now.saturating_add(margin) >= self.expires_on
    }
}

/// A number that may arrive as a JSON number or a string (IMDS sends strings).
fn num(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Parses a successful token response (Entra ID v2.0: `expires_in` integer; IMDS:
/// `expires_in` / `expires_on` strings). `now` is the current Unix time.
pub fn parse_token_response(body: &Value, now: u64) -> Result<AccessToken, String> {
    let token = body
        .get("access_token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| "the token response has no access_token".to_string())?;
    if let Some(tt) = body.get("token_type").and_then(Value::as_str) {
        if !tt.eq_ignore_ascii_case("bearer") {
            return Err(format!("unexpected token_type `{tt}`"));
        }
    }
    let expires_on = match body.get("expires_in").and_then(num) {
        Some(secs) => now.saturating_add(secs),
        None => match body.get("expires_on").and_then(num) {
            Some(at) => at,
            None => return Err("the token response has neither expires_in nor expires_on".into()),
        },
    };
    Ok(AccessToken {
        token: Secret::new(token),
        obtained_at: now,
        expires_on,
    })
}

/// The parts of an Entra ID / IMDS error answer worth reporting (never secrets): the
/// `error` code, the first `AADSTS` code and the first line of the description.
pub fn describe_token_error(status: u16, body: &[u8]) -> String {
    let v: Value = match task_plugin_sdk::http::parse_json_body(body) {
        Ok(v) => v,
        Err(_) => return format!("HTTP {status}"),
    };
    let error = v
        .get("error")
        .and_then(Value::as_str)
        .unwrap_or("unknown_error");
    let code = v
        .get("error_codes")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
        .and_then(Value::as_u64)
        .map(|c| format!(", AADSTS{c}"))
        .unwrap_or_default();
    let desc = v
        .get("error_description")
        .and_then(Value::as_str)
        .map(|d| d.lines().next().unwrap_or("").trim().to_string())
        .filter(|d| !d.is_empty())
        .map(|d| format!(": {}", truncate(&d, 300)))
        .unwrap_or_default();
    format!("HTTP {status} {error}{code}{desc}")
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(max).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn aad_and_imds_shapes() {
        let aad = json!({"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":"eyJ.a.b"});
        let t = parse_token_response(&aad, 1000).unwrap();
        assert_eq!(t.expires_on, 4599);
        assert_eq!(t.token.expose(), "eyJ.a.b");
        let imds = json!({"access_token":"x","refresh_token":"","expires_in":"3599","expires_on":"1506484173",
            "not_before":"1506480273","resource":"https://management.azure.com/","token_type":"Bearer"});
        assert_eq!(parse_token_response(&imds, 10).unwrap().expires_on, 3609);
        let only_on = json!({"access_token":"x","expires_on":"5000"});
        assert_eq!(parse_token_response(&only_on, 10).unwrap().expires_on, 5000);
        assert!(parse_token_response(&json!({"expires_in": 5}), 0).is_err());
        assert!(parse_token_response(&json!({"access_token": "x"}), 0).is_err());
        assert!(parse_token_response(
            &json!({"access_token": "x", "expires_in": 5, "token_type": "mac"}),
            0
        )
        .is_err());
    }

    #[test]
    fn refresh_timing() {
        let t = AccessToken {
            token: Secret::new("t"),
            obtained_at: 1000,
            expires_on: 1000 + 3600,
        };
        assert!(!t.needs_refresh(1000));
        assert!(!t.needs_refresh(1000 + 3600 - 301));
        assert!(t.needs_refresh(1000 + 3600 - 300));
        assert!(t.needs_refresh(1000 + 4000));
        // A 60 s token is refreshed 30 s before expiry, not immediately.
        let short = AccessToken {
            token: Secret::new("t"),
            obtained_at: 0,
            expires_on: 60,
        };
        assert!(!short.needs_refresh(0));
        assert!(!short.needs_refresh(29));
        assert!(short.needs_refresh(30));
        // An already-expired token.
        let dead = AccessToken {
            token: Secret::new("t"),
            obtained_at: 0,
            expires_on: 0,
        };
        assert!(dead.needs_refresh(0));
    }

    #[test]
    fn token_debug_is_redacted() {
        let t = AccessToken {
            token: Secret::new("eyJsecret"),
            obtained_at: 0,
            expires_on: 1,
        };
        assert!(!format!("{t:?}").contains("eyJsecret"));
    }

    #[test]
    fn error_description() {
        let body = br#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.\r\nTrace ID: x","error_codes":[7000215]}"#;
        assert_eq!(
            describe_token_error(401, body),
            "HTTP 401 invalid_client, AADSTS7000215: AADSTS7000215: Invalid client secret provided."
        );
        assert_eq!(describe_token_error(502, b"<html>"), "HTTP 502");
        assert_eq!(
            describe_token_error(400, br#"{"error":"bad_request_102","error_description":"Required metadata header not specified"}"#),
            "HTTP 400 bad_request_102: Required metadata header not specified"
        );
    }

    #[test]
    fn fractional_and_negative_lifetimes() {
        let parse = |b: Value| parse_token_response(&b, 1_000);
        let t = parse(serde_json::json!({"access_token": "t", "expires_in": 3599.9})).unwrap();
        assert_eq!(
            t.expires_on,
            1_000 + 3_599,
            "a fractional lifetime is truncated"
        );
        // A negative lifetime is not a number of seconds: `expires_on` is used instead, or
        // the answer is refused.
        let t =
            parse(serde_json::json!({"access_token": "t", "expires_in": -5.0, "expires_on": 7}))
                .unwrap();
        assert_eq!(t.expires_on, 7);
        assert!(parse(serde_json::json!({"access_token": "t", "expires_in": -5.0})).is_err());
        let t = parse(serde_json::json!({"access_token": "t", "expires_in": " 60 "})).unwrap();
        assert_eq!(t.expires_on, 1_060);
        assert!(parse(serde_json::json!({"access_token": "t", "expires_in": true})).is_err());
    }
}
