//! Entra ID token endpoint, IMDS, and bearer-token checks on ARM routes.
//!
//! Tokens are JWT-shaped random strings (unsigned; the emulator only recognises the ones it
//! issued) remembered with their expiry and audience.
//!
//! Token endpoint rules (`POST /{tenant}/oauth2/v2.0/token`, form-urlencoded):
//! * `grant_type` must be `client_credentials`; `client_id` is required (form field or HTTP
//!   Basic user); `scope` is required, must be one value ending in `/.default`.
//! * Client secret (form `client_secret` or HTTP Basic password): [`crate::LOCAL_CLIENT_ID`]
//!   with `EmulatorConfig::client_secret` (random per instance), or a pair of
//!   `EmulatorConfig::credentials`; compared in constant time.
//! * Client assertion (`client_assertion_type` =
//!   `urn:ietf:params:oauth:client-assertion-type:jwt-bearer`): a **certificate** assertion is
//!   a well-formed JWT whose `iss` and `sub` are the client id, whose `aud` ends with
//!   `/{tenant}/oauth2/v2.0/token` and whose `exp` (if any) is in the future, for a client in
//!   `certificate_clients` (the signature is not checked); any other non-empty assertion is a
//!   **federated** token, accepted for a client in `federated_clients`.
//! * Errors are AAD-shaped: `{"error","error_description":"AADSTS…","error_codes":[…],…}`.
//!
//! ARM accepts tokens whose audience is an Azure Resource Manager endpoint (public, US Gov,
//! China; `management.azure.com` / `management.core.windows.net` forms) or a loopback URL such
//! as the emulator's own base URL.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use chrono::{DateTime, Utc};
use rand::RngCore;
use serde_json::{json, Value};

use super::credentials::secret_matches;
use super::http::{aad_error, arm_error, Req, Resp};
use super::state::Inner;

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

#[derive(Clone, Debug)]
struct TokenInfo {
    valid_until: Instant,
    expires_utc: DateTime<Utc>,
    audience: String,
    /// ARM requests the token is still accepted for (`Faults::token_uses`); `None`: no limit.
    uses_left: Option<u32>,
}

/// How long an issued token works, how long it claims to, and how many ARM requests it is
/// accepted for.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Lifetime {
    /// Accepted until this much time has passed.
    pub valid_for: Duration,
    /// What `expires_in` announces.
    pub announced: Duration,
    /// Accepted for at most this many ARM requests, then refused as expired.
    pub uses: Option<u32>,
}

/// The tokens issued so far.
#[derive(Debug, Default)]
pub(crate) struct TokenStore {
    tokens: HashMap<String, TokenInfo>,
}

/// Why a bearer token was refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum TokenError {
    Missing,
    Invalid,
    Expired(String),
    WrongAudience(String),
}

fn random_b64url(n: usize) -> String {
    let mut b = vec![0u8; n];
    rand::thread_rng().fill_bytes(&mut b);
    URL_SAFE_NO_PAD.encode(b)
}

/// Random standard base64 of `n` bytes (keys and passwords).
pub(crate) fn random_b64(n: usize) -> String {
    let mut b = vec![0u8; n];
    rand::thread_rng().fill_bytes(&mut b);
    STANDARD.encode(b)
}

/// `https://management.azure.com/.default` → `https://management.azure.com`.
fn normalize_audience(s: &str) -> String {
    s.trim()
        .trim_end_matches("/.default")
        .trim_end_matches('/')
        .to_ascii_lowercase()
}

fn audience_allowed(aud: &str) -> bool {
    const ARM: [&str; 6] = [
        "https://management.azure.com",
        "https://management.core.windows.net",
        "https://management.usgovcloudapi.net",
        "https://management.core.usgovcloudapi.net",
        "https://management.chinacloudapi.cn",
        "https://management.core.chinacloudapi.cn",
    ];
    if ARM.contains(&aud) {
        return true;
    }
    match url::Url::parse(aud) {
        Ok(u) => matches!(
            u.host_str(),
            Some("127.0.0.1") | Some("localhost") | Some("[::1]")
        ),
        Err(_) => false,
    }
}

impl TokenStore {
    /// Issues a token for `audience`; it stops being valid after `lifetime.valid_for` (or
    /// after `lifetime.uses` accepted requests), and claims to expire after
    /// `lifetime.announced`.
    pub fn issue(
        &mut self,
        audience: &str,
        client_id: &str,
        tenant: &str,
        lifetime: Lifetime,
    ) -> String {
        let Lifetime {
            valid_for,
            announced,
            uses,
        } = lifetime;
        let now = Instant::now();
        self.tokens
            .retain(|_, t| t.valid_until + Duration::from_secs(3600) > now);
        let iat = Utc::now().timestamp();
        let header = URL_SAFE_NO_PAD.encode(br#"{"typ":"JWT","alg":"none","kid":"emulator"}"#);
        let claims = json!({
            "aud": audience, "iss": format!("https://sts.windows.net/{tenant}/"), "iat": iat, "nbf": iat,
            "exp": iat + announced.as_secs() as i64, "appid": client_id, "tid": tenant, "jti": random_b64url(12),
        });
        let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
        let token = format!("{header}.{payload}.{}", random_b64url(32));
        self.tokens.insert(
            token.clone(),
            TokenInfo {
                valid_until: now + valid_for,
                expires_utc: Utc::now() + chrono::Duration::from_std(valid_for).unwrap_or_default(),
                audience: normalize_audience(audience),
                uses_left: uses,
            },
        );
        token
    }

    /// Checks the `Authorization` header of an ARM request; an accepted token whose uses are
    /// limited has one use fewer left.
    pub fn check(&mut self, authorization: Option<&str>) -> Result<(), TokenError> {
        let value = authorization.ok_or(TokenError::Missing)?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .map(str::trim)
            .ok_or(TokenError::Invalid)?;
        let info = self.tokens.get_mut(token).ok_or(TokenError::Invalid)?;
        if Instant::now() >= info.valid_until || info.uses_left == Some(0) {
            return Err(TokenError::Expired(
                info.expires_utc.format("%m/%d/%Y %H:%M:%S").to_string(),
            ));
        }
        if !audience_allowed(&info.audience) {
            return Err(TokenError::WrongAudience(info.audience.clone()));
        }
        if let Some(n) = &mut info.uses_left {
            *n -= 1;
        }
        Ok(())
    }
}

/// The ARM `401` for a refused token (with `WWW-Authenticate` naming the authority under
/// `base`, the scheme and host the request came in on).
pub(crate) fn unauthorized(base: &str, err: TokenError) -> Resp {
    let (code, message, desc) = match err {
        TokenError::Missing => (
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is missing.".to_string(),
            "The authentication failed because of missing 'Authorization' header.",
        ),
        TokenError::Invalid => (
            "InvalidAuthenticationToken",
            "The access token is invalid.".to_string(),
            "The access token is invalid.",
        ),
        TokenError::Expired(when) => (
            "ExpiredAuthenticationToken",
            format!(
                "The access token expiry UTC time '{when}' is earlier than current UTC time '{}'.",
                Utc::now().format("%m/%d/%Y %H:%M:%S")
            ),
            "The access token has expired.",
        ),
        TokenError::WrongAudience(aud) => (
            "InvalidAuthenticationTokenAudience",
            format!(
                "The access token has been obtained for wrong audience or resource '{aud}'. It should exactly match with one of the allowed audiences 'https://management.core.windows.net/','https://management.core.windows.net','https://management.azure.com/','https://management.azure.com'."
            ),
            "The access token has been obtained for wrong audience or resource.",
        ),
    };
    arm_error(401, code, message).with_header(
        "www-authenticate",
        format!(
            "Bearer authorization_uri=\"{base}/{}\", error=\"invalid_token\", error_description=\"{desc}\"",
            super::LOCAL_TENANT_ID
        ),
    )
}

/// The lifetime of a token issued now: the configured one, shortened by the `token_expiry`
/// and `token_uses` faults.
fn token_lifetime(inner: &Inner) -> Lifetime {
    let announced = inner.config.token_lifetime;
    let faults = &inner.faults().faults;
    Lifetime {
        valid_for: faults
            .token_expiry
            .map(|e| e.min(announced))
            .unwrap_or(announced),
        announced,
        uses: faults.token_uses,
    }
}

/// Decodes the claims of a JWT (no signature check).
fn jwt_claims(token: &str) -> Option<Value> {
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 || parts.iter().any(|p| p.is_empty()) {
        return None;
    }
    let header: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(parts[0].trim_end_matches('='))
            .ok()?,
    )
    .ok()?;
    header.as_object()?;
    serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(parts[1].trim_end_matches('='))
            .ok()?,
    )
    .ok()
}

fn is_certificate_assertion(assertion: &str, client_id: &str, tenant: &str) -> bool {
    let Some(c) = jwt_claims(assertion) else {
        return false;
    };
    let iss_sub = c["iss"].as_str() == Some(client_id) && c["sub"].as_str() == Some(client_id);
    let suffix = format!("/{tenant}/oauth2/v2.0/token").to_ascii_lowercase();
    let aud_ok = match &c["aud"] {
        Value::String(a) => a.to_ascii_lowercase().ends_with(&suffix),
        Value::Array(list) => list.iter().any(|a| {
            a.as_str()
                .is_some_and(|a| a.to_ascii_lowercase().ends_with(&suffix))
        }),
        _ => false,
    };
    let not_expired = match c["exp"].as_i64() {
        Some(exp) => exp > Utc::now().timestamp(),
        None => !c["exp"].is_number(),
    };
    iss_sub && aud_ok && not_expired
}

fn basic_auth(req: &Req) -> Option<(String, String)> {
    let v = req.header("authorization")?;
    let b64 = v
        .strip_prefix("Basic ")
        .or_else(|| v.strip_prefix("basic "))?;
    let raw = String::from_utf8(STANDARD.decode(b64.trim()).ok()?).ok()?;
    let (id, secret) = raw.split_once(':')?;
    let dec = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    };
    Some((dec(id)?, dec(secret)?))
}

/// The token request's form fields.
struct TokenForm(Vec<(String, String)>);

impl TokenForm {
    /// A non-empty field.
    fn field(&self, k: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }
}

fn missing_parameter(p: &str) -> Resp {
    aad_error(
        400,
        "invalid_request",
        900144,
        &format!("The request body must contain the following parameter: '{p}'."),
    )
}

/// `POST /{tenant}/oauth2/v2.0/token`.
pub(crate) fn token_endpoint(inner: &Inner, req: &Req, tenant: &str) -> Resp {
    if let Some(list) = &inner.config.tenants {
        if !list.iter().any(|t| t.eq_ignore_ascii_case(tenant)) {
            return aad_error(400, "invalid_request", 90002, &format!("Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."));
        }
    }
    let form = TokenForm(req.form());
    let basic = basic_auth(req);
    let (client_id, audience) = match client_and_audience(inner, &form, &basic, tenant) {
        Ok(found) => found,
        Err(resp) => return resp,
    };
    let secret = form
        .field("client_secret")
        .map(String::from)
        .or_else(|| basic.map(|b| b.1));
    if let Err(resp) = check_credential(inner, &form, secret, &client_id, tenant) {
        return resp;
    }
    let lifetime = token_lifetime(inner);
    let token = inner
        .tokens()
        .issue(&audience, &client_id, tenant, lifetime);
    let secs = lifetime.announced.as_secs().saturating_sub(1);
    Resp::json(
        200,
        &json!({"token_type": "Bearer", "expires_in": secs, "ext_expires_in": secs, "access_token": token}),
    )
}

/// The grant type, a known client id (form or HTTP Basic) and one `/.default` scope: the
/// client id and the token's audience.
fn client_and_audience(
    inner: &Inner,
    form: &TokenForm,
    basic: &Option<(String, String)>,
    tenant: &str,
) -> Result<(String, String), Resp> {
    let grant = form
        .field("grant_type")
        .ok_or_else(|| missing_parameter("grant_type"))?;
    if grant != "client_credentials" {
        return Err(aad_error(
            400,
            "unsupported_grant_type",
            70003,
            &format!("The app requested an unsupported grant type '{grant}'."),
        ));
    }
    let client_id = form
        .field("client_id")
        .map(String::from)
        .or_else(|| basic.as_ref().map(|b| b.0.clone()))
        .ok_or_else(|| missing_parameter("client_id"))?;
    let scope = form
        .field("scope")
        .ok_or_else(|| missing_parameter("scope"))?;
    let scopes: Vec<&str> = scope.split_whitespace().collect();
    if scopes.len() != 1 || !scopes[0].ends_with("/.default") {
        return Err(aad_error(
            400,
            "invalid_scope",
            1002012,
            &format!("The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."),
        ));
    }
    let known = client_id == super::LOCAL_CLIENT_ID
        || inner
            .config
            .credentials
            .iter()
            .any(|(c, _)| *c == client_id)
        || inner.config.certificate_clients.contains(&client_id)
        || inner.config.federated_clients.contains(&client_id);
    if !known {
        return Err(aad_error(
            400,
            "unauthorized_client",
            700016,
            &format!("Application with identifier '{client_id}' was not found in the directory '{tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant."),
        ));
    }
    let audience = scopes[0].trim_end_matches("/.default").to_string();
    Ok((client_id, audience))
}

/// The client's proof: its secret, or a certificate / federated client assertion.
fn check_credential(
    inner: &Inner,
    form: &TokenForm,
    secret: Option<String>,
    client_id: &str,
    tenant: &str,
) -> Result<(), Resp> {
    if let Some(secret) = secret {
        let local = client_id == super::LOCAL_CLIENT_ID
            && secret_matches(&secret, &inner.config.client_secret);
        let extra = inner
            .config
            .credentials
            .iter()
            .any(|(c, s)| c == client_id && secret_matches(&secret, s));
        if !(local || extra) {
            return Err(aad_error(
                401,
                "invalid_client",
                7000215,
                &format!("Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client_id}'."),
            ));
        }
        return Ok(());
    }
    let Some(assertion) = form.field("client_assertion") else {
        return Err(aad_error(
            401,
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        ));
    };
    if form.field("client_assertion_type") != Some(JWT_BEARER) {
        return Err(aad_error(
            400,
            "invalid_request",
            700010,
            &format!(
                "Invalid client assertion type. The client_assertion_type must be '{JWT_BEARER}'."
            ),
        ));
    }
    let listed = |clients: &[String]| clients.iter().any(|c| c == client_id);
    let certificate = is_certificate_assertion(assertion, client_id, tenant)
        && listed(&inner.config.certificate_clients);
    let federated = listed(&inner.config.federated_clients);
    if certificate || federated {
        Ok(())
    } else {
        Err(aad_error(
            401,
            "invalid_client",
            700027,
            "Client assertion failed signature validation, or no matching federated identity record found for the presented assertion.",
        ))
    }
}

fn imds_error(status: u16, error: &str, description: &str) -> Resp {
    Resp::json(
        status,
        &json!({"error": error, "error_description": description}),
    )
}

/// `GET /metadata/identity/oauth2/token` (IMDS managed identity); with IMDS off, what IMDS
/// answers on a machine without an identity.
pub(crate) fn imds(inner: &Inner, req: &Req) -> Resp {
    if !inner.config.imds {
        return imds_error(400, "invalid_request", "Identity not found");
    }
    if !req
        .header("metadata")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    {
        return imds_error(
            400,
            "bad_request_102",
            "Required metadata header not specified",
        );
    }
    if req.query("api-version").is_none_or(str::is_empty) {
        return imds_error(
            400,
            "invalid_request",
            "Required query variable 'api-version' is missing",
        );
    }
    let Some(resource) = req.query("resource").filter(|r| !r.is_empty()) else {
        return imds_error(
            400,
            "invalid_request",
            "Required query variable 'resource' is missing",
        );
    };
    if url::Url::parse(resource).is_err() {
        return imds_error(
            400,
            "invalid_resource",
            "AADSTS500011: The resource principal named was not found in the tenant.",
        );
    }
    let client_id = req
        .query("client_id")
        .unwrap_or("system-assigned")
        .to_string();
    let lifetime = token_lifetime(inner);
    let token = inner
        .tokens()
        .issue(resource, &client_id, super::LOCAL_TENANT_ID, lifetime);
    let now = Utc::now().timestamp();
    let secs = lifetime.announced.as_secs();
    let mut body = json!({
        "access_token": token,
        "refresh_token": "",
        "expires_in": secs.to_string(),
        "expires_on": (now + secs as i64).to_string(),
        "not_before": now.to_string(),
        "resource": resource,
        "token_type": "Bearer",
    });
    if let Some(c) = req.query("client_id") {
        body["client_id"] = json!(c);
    }
    Resp::json(200, &body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{EmulatorConfig, Faults};
    use bytes::Bytes;
    use hyper::{HeaderMap, Method};

    fn inner() -> Inner {
        Inner::new(
            EmulatorConfig {
                client_secret: "local-secret".into(),
                imds: true,
                ..EmulatorConfig::default()
            },
            "http://127.0.0.1:1".into(),
            std::env::temp_dir(),
        )
    }

    fn post(body: &str) -> Req {
        Req::new(
            Method::POST,
            None,
            HeaderMap::new(),
            Bytes::from(body.to_string()),
        )
    }

    fn error_of(r: &Resp) -> (u16, String) {
        (
            r.status,
            r.json_body()["error"].as_str().unwrap_or("").to_string(),
        )
    }

    const SCOPE: &str = "scope=https%3A%2F%2Fmanagement.azure.com%2F.default";

    #[test]
    fn client_secret_flow_and_errors() {
        let i = inner();
        let ok = token_endpoint(
            &i,
            &post(&format!("grant_type=client_credentials&client_id=local-client&client_secret=local-secret&{SCOPE}")),
            "t",
        );
        assert_eq!(ok.status, 200);
        let b = ok.json_body();
        assert_eq!(b["token_type"], "Bearer");
        assert!(b["expires_in"].is_u64());
        let token = b["access_token"].as_str().unwrap();
        assert_eq!(token.split('.').count(), 3);
        assert_eq!(i.tokens().check(Some(&format!("Bearer {token}"))), Ok(()));

        let cases = [
            (format!("client_id=local-client&client_secret=local-secret&{SCOPE}"), (400, "invalid_request".to_string())),
            (format!("grant_type=password&client_id=local-client&client_secret=local-secret&{SCOPE}"), (400, "unsupported_grant_type".into())),
            (format!("grant_type=client_credentials&client_secret=local-secret&{SCOPE}"), (400, "invalid_request".into())),
            ("grant_type=client_credentials&client_id=local-client&client_secret=local-secret".to_string(), (400, "invalid_request".into())),
            ("grant_type=client_credentials&client_id=local-client&client_secret=local-secret&scope=https://management.azure.com/user_impersonation".to_string(), (400, "invalid_scope".into())),
            (format!("grant_type=client_credentials&client_id=who&client_secret=local-secret&{SCOPE}"), (400, "unauthorized_client".into())),
            (format!("grant_type=client_credentials&client_id=local-client&client_secret=wrong&{SCOPE}"), (401, "invalid_client".into())),
            (format!("grant_type=client_credentials&client_id=local-client&{SCOPE}"), (401, "invalid_client".into())),
        ];
        for (body, want) in cases {
            let r = token_endpoint(&i, &post(&body), "t");
            assert_eq!(error_of(&r), want, "{body}");
            let text = String::from_utf8_lossy(&r.body).to_string();
            assert!(
                !text.contains("local-secret") && !text.contains("wrong"),
                "secret echoed: {text}"
            );
            assert!(r.json_body()["error_codes"].is_array());
        }
    }

    #[test]
    fn basic_auth_is_accepted() {
        let i = inner();
        let mut h = HeaderMap::new();
        h.insert(
            "authorization",
            format!("Basic {}", STANDARD.encode("local-client:local-secret"))
                .parse()
                .unwrap(),
        );
        let req = Req::new(
            Method::POST,
            None,
            h,
            Bytes::from(format!("grant_type=client_credentials&{SCOPE}")),
        );
        assert_eq!(token_endpoint(&i, &req, "t").status, 200);
    }

    fn jwt(claims: Value) -> String {
        format!(
            "{}.{}.sig",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"PS256","typ":"JWT"}"#),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        )
    }

    #[test]
    fn assertions() {
        let cfg = EmulatorConfig {
            federated_clients: vec!["fed".into()],
            certificate_clients: vec!["cert".into()],
            ..EmulatorConfig::default()
        };
        let none = Inner::new(
            EmulatorConfig::default(),
            "http://127.0.0.1:1".into(),
            std::env::temp_dir(),
        );
        let i = Inner::new(cfg, "http://127.0.0.1:1".into(), std::env::temp_dir());
        let exp = Utc::now().timestamp() + 300;
        let good = jwt(
            json!({"iss": "cert", "sub": "cert", "aud": "https://login.microsoftonline.com/t/oauth2/v2.0/token", "exp": exp}),
        );
        let bad_aud =
            jwt(json!({"iss": "cert", "sub": "cert", "aud": "https://elsewhere/", "exp": exp}));
        let expired = jwt(
            json!({"iss": "cert", "sub": "cert", "aud": "https://x/t/oauth2/v2.0/token", "exp": 1000}),
        );
        let t = "client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer";
        let req = |client: &str, a: &str, typ: &str| {
            post(&format!("grant_type=client_credentials&client_id={client}&client_assertion={a}&{typ}&{SCOPE}"))
        };
        assert_eq!(token_endpoint(&i, &req("cert", &good, t), "t").status, 200);
        // By default no client may sign in with an (unverified) assertion.
        for client in ["cert", "fed", "local-client"] {
            let r = token_endpoint(&none, &req(client, &good, t), "t");
            assert_eq!(r.status / 100, 4, "{client}");
            let r = token_endpoint(&none, &req(client, "any-oidc-token", t), "t");
            assert_eq!(r.status / 100, 4, "{client}");
        }
        assert_eq!(
            error_of(&token_endpoint(&i, &req("cert", &bad_aud, t), "t")),
            (401, "invalid_client".into())
        );
        assert_eq!(
            error_of(&token_endpoint(&i, &req("cert", &expired, t), "t")),
            (401, "invalid_client".into())
        );
        assert_eq!(
            token_endpoint(&i, &req("fed", "any-oidc-token", t), "t").status,
            200
        );
        assert_eq!(
            error_of(&token_endpoint(
                &i,
                &req("fed", "x", "client_assertion_type=other"),
                "t"
            )),
            (400, "invalid_request".into())
        );
    }

    #[test]
    fn tenant_allow_list() {
        let cfg = EmulatorConfig {
            tenants: Some(vec!["good".into()]),
            client_secret: "local-secret".into(),
            ..EmulatorConfig::default()
        };
        let i = Inner::new(cfg, "http://127.0.0.1:1".into(), std::env::temp_dir());
        let body = format!("grant_type=client_credentials&client_id=local-client&client_secret=local-secret&{SCOPE}");
        assert_eq!(token_endpoint(&i, &post(&body), "good").status, 200);
        assert_eq!(token_endpoint(&i, &post(&body), "bad").status, 400);
    }

    /// A lifetime of `valid_for`, announcing 60 s, with unlimited uses.
    fn lasting(valid_for: Duration) -> Lifetime {
        Lifetime {
            valid_for,
            announced: Duration::from_secs(60),
            uses: None,
        }
    }

    #[test]
    fn token_checks() {
        let mut s = TokenStore::default();
        let minute = lasting(Duration::from_secs(60));
        assert_eq!(s.check(None), Err(TokenError::Missing));
        assert_eq!(s.check(Some("Bearer nope")), Err(TokenError::Invalid));
        assert_eq!(s.check(Some("Basic abc")), Err(TokenError::Invalid));
        let t = s.issue("https://management.azure.com/", "c", "t", minute);
        assert_eq!(s.check(Some(&format!("Bearer {t}"))), Ok(()));
        let e = s.issue(
            "https://management.azure.com",
            "c",
            "t",
            lasting(Duration::ZERO),
        );
        assert!(matches!(
            s.check(Some(&format!("Bearer {e}"))),
            Err(TokenError::Expired(_))
        ));
        let v = s.issue("https://vault.azure.net", "c", "t", minute);
        assert!(matches!(
            s.check(Some(&format!("Bearer {v}"))),
            Err(TokenError::WrongAudience(_))
        ));
        let l = s.issue("http://127.0.0.1:5555/", "c", "t", minute);
        assert_eq!(s.check(Some(&format!("Bearer {l}"))), Ok(()));
    }

    #[test]
    fn a_token_with_limited_uses_expires_after_the_last_one() {
        let mut s = TokenStore::default();
        let twice = Lifetime {
            uses: Some(2),
            ..lasting(Duration::from_secs(60))
        };
        let t = s.issue("https://management.azure.com", "c", "t", twice);
        let bearer = format!("Bearer {t}");
        assert_eq!(s.check(Some(&bearer)), Ok(()));
        assert_eq!(s.check(Some(&bearer)), Ok(()));
        assert!(matches!(
            s.check(Some(&bearer)),
            Err(TokenError::Expired(_))
        ));
        assert!(
            matches!(s.check(Some(&bearer)), Err(TokenError::Expired(_))),
            "stays expired"
        );
        // A refused request does not use up a token: one with a wrong audience is refused
        // for that, every time.
        let v = s.issue("https://vault.azure.net", "c", "t", twice);
        for _ in 0..3 {
            assert!(matches!(
                s.check(Some(&format!("Bearer {v}"))),
                Err(TokenError::WrongAudience(_))
            ));
        }
        let fresh = s.issue("https://management.azure.com", "c", "t", twice);
        assert_eq!(s.check(Some(&format!("Bearer {fresh}"))), Ok(()));
    }

    #[test]
    fn random_secret_is_required() {
        let i = Inner::new(
            EmulatorConfig::default(),
            "http://127.0.0.1:1".into(),
            std::env::temp_dir(),
        );
        let body = |secret: &str| {
            post(&format!("grant_type=client_credentials&client_id=local-client&client_secret={secret}&{SCOPE}"))
        };
        assert_eq!(
            error_of(&token_endpoint(&i, &body("local-secret"), "t")),
            (401, "invalid_client".into()),
            "the old public secret is refused"
        );
        let secret = i.config.client_secret.clone();
        assert_eq!(token_endpoint(&i, &body(&secret), "t").status, 200);
    }

    #[test]
    fn imds_is_off_by_default() {
        let i = Inner::new(
            EmulatorConfig::default(),
            "http://127.0.0.1:1".into(),
            std::env::temp_dir(),
        );
        let mut h = HeaderMap::new();
        h.insert("metadata", "true".parse().unwrap());
        let q = "api-version=2018-02-01&resource=https%3A%2F%2Fmanagement.azure.com%2F";
        let r = imds(&i, &Req::new(Method::GET, Some(q), h, Bytes::new()));
        assert_eq!(
            (r.status, r.json_body()["error_description"].as_str()),
            (400, Some("Identity not found"))
        );
    }

    #[test]
    fn unauthorized_has_www_authenticate() {
        let r = unauthorized("https://localhost:7", TokenError::Expired("x".into()));
        assert_eq!(r.status, 401);
        assert_eq!(r.json_body()["error"]["code"], "ExpiredAuthenticationToken");
        assert!(r
            .header("www-authenticate")
            .unwrap()
            .starts_with("Bearer authorization_uri=\"https://localhost:7/"));
    }

    #[test]
    fn imds_rules() {
        let i = inner();
        let get = |q: &str, meta: bool| {
            let mut h = HeaderMap::new();
            if meta {
                h.insert("metadata", "true".parse().unwrap());
            }
            imds(&i, &Req::new(Method::GET, Some(q), h, Bytes::new()))
        };
        let q = "api-version=2018-02-01&resource=https%3A%2F%2Fmanagement.azure.com%2F";
        assert_eq!(error_of(&get(q, false)), (400, "bad_request_102".into()));
        assert_eq!(
            get("resource=https://management.azure.com/", true).status,
            400
        );
        assert_eq!(get("api-version=2018-02-01", true).status, 400);
        let ok = get(q, true);
        assert_eq!(ok.status, 200);
        let b = ok.json_body();
        for k in ["expires_in", "expires_on", "not_before"] {
            assert!(b[k].is_string(), "{k} must be a string: {b}");
        }
        assert_eq!(b["resource"], "https://management.azure.com/");
        let tok = b["access_token"].as_str().unwrap();
        assert_eq!(i.tokens().check(Some(&format!("Bearer {tok}"))), Ok(()));
    }

    #[test]
    fn token_uses_fault_limits_each_issued_token() {
        let i = inner();
        i.faults().faults = Faults {
            token_uses: Some(1),
            ..Faults::default()
        };
        let body = format!("grant_type=client_credentials&client_id=local-client&client_secret=local-secret&{SCOPE}");
        for _ in 0..2 {
            let b = token_endpoint(&i, &post(&body), "t").json_body();
            assert_eq!(b["expires_in"], 3599, "announced lifetime unchanged");
            let bearer = format!("Bearer {}", b["access_token"].as_str().unwrap());
            assert_eq!(i.tokens().check(Some(&bearer)), Ok(()));
            assert!(matches!(
                i.tokens().check(Some(&bearer)),
                Err(TokenError::Expired(_))
            ));
        }
    }

    #[test]
    fn token_expiry_fault_shortens_validity_only() {
        let i = inner();
        i.faults().faults = Faults {
            token_expiry: Some(Duration::ZERO),
            ..Faults::default()
        };
        let ok = token_endpoint(
            &i,
            &post(&format!("grant_type=client_credentials&client_id=local-client&client_secret=local-secret&{SCOPE}")),
            "t",
        );
        let b = ok.json_body();
        assert_eq!(b["expires_in"], 3599, "announced lifetime unchanged");
        let tok = b["access_token"].as_str().unwrap();
        assert!(matches!(
            i.tokens().check(Some(&format!("Bearer {tok}"))),
            Err(TokenError::Expired(_))
        ));
    }
}
