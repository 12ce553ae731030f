//! Getting and caching ARM access tokens for one credential.
//!
//! * Client secret / certificate / workload identity: Entra ID v2.0 client-credentials
//!   (`POST {authority}/{tenant}/oauth2/v2.0/token`, form-encoded), the certificate as a
//!   signed JWT assertion, the workload identity's federated token (re-read from its file on
//!   every request) as the assertion.
//! * Managed identity: IMDS (`GET …/metadata/identity/oauth2/token?api-version=2018-02-01
//!   &resource=…[&client_id=…]`, header `Metadata: true`).
//!
//! The token is cached and refreshed before it expires (see [`AccessToken::needs_refresh`])
//! or when ARM rejects it ([`TokenProvider::invalidate`]). Errors say which credential
//! failed and the Entra ID error code, never the secret, assertion or token.

use std::cell::RefCell;

use serde_json::Value;

use super::credential::{CertificateSource, Credential};
use super::jwt::ClientCertificate;
use super::token::{self, AccessToken};
use crate::arm::cloud::Endpoints;
use crate::arm::models::Secret;
use crate::arm::random;
use crate::arm::transport::{Transport, TransportError};
use crate::sys;
use task_plugin_sdk::http::{self, Method, Request, Url};
use task_plugin_sdk::{Error, Result};

/// Timeout of one Entra ID token request.
const TOKEN_TIMEOUT_MS: u64 = 30_000;
/// Timeout of one IMDS request (IMDS answers in milliseconds when it exists).
const IMDS_TIMEOUT_MS: u64 = 5_000;
/// IMDS api-version.
const IMDS_API_VERSION: &str = "2018-02-01";
/// OAuth assertion type for certificate and federated assertions.
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Tokens for one credential.
pub struct TokenProvider {
    conn_id: String,
    credential: Credential,
    /// The Entra ID authority, or the IMDS token URL for a managed identity
    /// ([`Credential::token_endpoint`], which the task's plan grants).
    token_endpoint: String,
    scope: String,
    transport: Transport,
    cache: RefCell<Option<AccessToken>>,
    certificate: RefCell<Option<ClientCertificate>>,
}

impl std::fmt::Debug for TokenProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenProvider")
            .field("conn_id", &self.conn_id)
            .field("credential", &self.credential.kind())
            .field("token_endpoint", &self.token_endpoint)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

/// The Entra ID token endpoint for a tenant.
pub fn token_url(authority: &str, tenant: &str) -> String {
    format!(
        "{}/{}/oauth2/v2.0/token",
        authority.trim_end_matches('/'),
        http::encode_component(tenant)
    )
}

/// The IMDS `resource` for a scope: `https://management.azure.com/.default` →
/// `https://management.azure.com/`.
pub fn imds_resource(scope: &str) -> String {
    format!(
        "{}/",
        scope.trim_end_matches("/.default").trim_end_matches('/')
    )
}

impl TokenProvider {
    /// A provider for `credential` with the endpoints of its connection.
    pub fn new(
        conn_id: &str,
        credential: Credential,
        endpoints: &Endpoints,
        transport: Transport,
    ) -> TokenProvider {
        TokenProvider {
            conn_id: conn_id.to_string(),
            token_endpoint: credential.token_endpoint(endpoints).to_string(),
            credential,
            scope: endpoints.scope.clone(),
            transport,
            cache: RefCell::new(None),
            certificate: RefCell::new(None),
        }
    }

    /// The credential in use.
    pub fn credential(&self) -> &Credential {
        &self.credential
    }

    /// A valid bearer token (cached, or fetched now).
    pub fn token(&self) -> Result<Secret> {
        let now = sys::unix_now();
        if let Some(t) = self.cache.borrow().as_ref() {
            if !t.needs_refresh(now) {
                return Ok(t.token.clone());
            }
        }
        let fresh = self.fetch()?;
        let secret = fresh.token.clone();
        *self.cache.borrow_mut() = Some(fresh);
        Ok(secret)
    }

    /// Forgets the cached token (ARM said it is invalid or expired).
    pub fn invalidate(&self) {
        *self.cache.borrow_mut() = None;
    }

    /// The timeout of one token request: `default`, or the connection's shorter
    /// `request_timeout_ms`.
    fn request_timeout_ms(&self, default: u64) -> u64 {
        default.min(self.transport.policy.request_timeout_ms)
    }

    fn fail(&self, what: impl std::fmt::Display) -> Error {
        Error::Connection(format!(
            "{} credential of connection `{}`: {what}",
            self.credential.kind(),
            self.conn_id
        ))
    }

    fn fetch(&self) -> Result<AccessToken> {
        match &self.credential {
            Credential::ClientSecret {
                tenant_id,
                client_id,
                secret,
                ..
            } => {
                let form = [
                    ("grant_type", "client_credentials"),
                    ("client_id", client_id.as_str()),
                    ("client_secret", secret.expose()),
                    ("scope", self.scope.as_str()),
                ];
                self.entra_request(tenant_id, &http::form_encode(&form))
            }
            Credential::ClientCertificate {
                tenant_id,
                client_id,
                certificate,
            } => {
                let url = token_url(&self.token_endpoint, tenant_id);
                let assertion = {
                    let mut cached = self.certificate.borrow_mut();
                    if cached.is_none() {
                        let pem = match certificate {
                            CertificateSource::Inline(p) => p.expose().to_string(),
                            CertificateSource::Path(path) => {
                                let bytes = self.read_file(path, "client_certificate_path")?;
                                String::from_utf8(bytes).map_err(|_| {
                                    self.fail(format!("`{path}` is not a PEM text file"))
                                })?
                            }
                        };
                        *cached =
                            Some(ClientCertificate::from_pem(&pem).map_err(|e| self.fail(e))?);
                    }
                    let cert = cached.as_ref().expect("set above");
                    cert.assertion(client_id, &url, sys::unix_now(), &random::uuid_v4())
                        .map_err(|e| self.fail(e))?
                };
                self.assertion_request(tenant_id, client_id, &assertion)
            }
            Credential::WorkloadIdentity {
                tenant_id,
                client_id,
                token_file,
            } => {
                // Re-read on every request: the projected token is rotated by the kubelet.
                let bytes = self.read_file(token_file, "the federated token file")?;
                let assertion = String::from_utf8(bytes)
                    .map_err(|_| self.fail("the federated token file is not UTF-8"))?;
                let assertion = assertion.trim();
                if assertion.is_empty() {
                    return Err(
                        self.fail(format!("the federated token file `{token_file}` is empty"))
                    );
                }
                self.assertion_request(tenant_id, client_id, assertion)
            }
            Credential::ManagedIdentity { client_id } => self.imds_request(client_id.as_deref()),
        }
    }

    /// Reads a host-granted file (`what` names it in messages); a denial stays a denial.
    fn read_file(&self, path: &str, what: &str) -> Result<Vec<u8>> {
        sys::read_granted_file(path).map_err(|e| match e {
            Error::Denied(m) => Error::Denied(m),
            other => self.fail(format!("cannot read {what} `{path}`: {other}")),
        })
    }

    /// A client-credentials token request authenticated by a JWT `assertion`.
    fn assertion_request(
        &self,
        tenant_id: &str,
        client_id: &str,
        assertion: &str,
    ) -> Result<AccessToken> {
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", assertion),
            ("scope", self.scope.as_str()),
        ];
        self.entra_request(tenant_id, &http::form_encode(&form))
    }

    fn entra_request(&self, tenant_id: &str, form: &str) -> Result<AccessToken> {
        let url = token_url(&self.token_endpoint, tenant_id);
        let parsed = Url::parse(&url)
            .map_err(|e| self.fail(format!("authority `{}`: {e}", self.token_endpoint)))?;
        if !parsed.may_carry_credentials() {
            return Err(self.fail(format!(
                "refusing to send credentials over plain http to `{}` (use https, or a loopback address)",
                parsed.origin()
            )));
        }
        let label = format!("POST {}/…/oauth2/v2.0/token", parsed.origin());
        let body = form.as_bytes().to_vec();
        let mut make = || {
            Ok(Request::new(Method::Post, url.clone())
                .header("content-type", "application/x-www-form-urlencoded")
                .header("accept", "application/json")
                .header("x-ms-client-request-id", random::uuid_v4())
                .body(body.clone())
                .timeout_ms(self.request_timeout_ms(TOKEN_TIMEOUT_MS)))
        };
        let retry = |r: &http::Response| {
            (r.status == 429 || r.status >= 500).then(|| format!("HTTP {}", r.status))
        };
        let sent = self
            .transport
            .execute(&label, &mut make, &retry, true)
            .map_err(|e| self.transport_error(e, &parsed.origin()))?;
        {
            let note = sent.give_up_note();
            self.parse(sent.response, &note)
        }
    }

    fn imds_request(&self, client_id: Option<&str>) -> Result<AccessToken> {
        let resource = imds_resource(&self.scope);
        let mut query = vec![
            ("api-version", IMDS_API_VERSION),
            ("resource", resource.as_str()),
        ];
        if let Some(c) = client_id {
            query.push(("client_id", c));
        }
        let url = http::with_query(&self.token_endpoint, &query);
        let origin = Url::parse(&url)
            .map(|u| u.origin())
            .map_err(|e| self.fail(format!("imds_endpoint: {e}")))?;
        let label = format!("GET {origin}/metadata/identity/oauth2/token");
        let mut make = || {
            Ok(Request::new(Method::Get, url.clone())
                .header("metadata", "true")
                .header("accept", "application/json")
                .header("x-ms-client-request-id", random::uuid_v4())
                .timeout_ms(self.request_timeout_ms(IMDS_TIMEOUT_MS)))
        };
        // IMDS: 429, 404/410 (updating) and 5xx are transient; a missing endpoint fails fast.
        let retry = |r: &http::Response| {
            (r.status == 429 || r.status == 404 || r.status == 410 || r.status >= 500)
                .then(|| format!("HTTP {}", r.status))
        };
        let sent = self.transport.execute(&label, &mut make, &retry, false).map_err(|e| match e {
            TransportError::Unreachable { .. } => self.fail(format!(
                "IMDS at {origin} is unreachable ({}). No other credential applies: set login/password and the tenantId extra, key_path/key_json, a client certificate, or run where a managed or workload identity is available (imds_endpoint overrides the IMDS address)",
                e.describe()
            )),
            other => self.transport_error(other, &origin),
        })?;
        {
            let note = sent.give_up_note();
            self.parse(sent.response, &note)
        }
    }

    fn transport_error(&self, e: TransportError, origin: &str) -> Error {
        match e {
            TransportError::Denied(m) => Error::Denied(format!("token request to {origin}: {m}")),
            TransportError::Fatal(e) => e,
            other => self.fail(format!(
                "token endpoint {origin} unreachable: {}",
                other.describe()
            )),
        }
    }

    fn parse(&self, resp: http::Response, note: &str) -> Result<AccessToken> {
        if !resp.is_success() {
            return Err(self.fail(format!(
                "token request refused: {}{note}",
                token::describe_token_error(resp.status, &resp.body)
            )));
        }
        let body: Value = resp
            .json()
            .map_err(|_| self.fail("the token response is not JSON"))?;
        token::parse_token_response(&body, sys::unix_now()).map_err(|e| self.fail(e))
    }
}

#[cfg(test)]
mod fetch_tests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            token_url("https://login.microsoftonline.com/", "my tenant"),
            "https://login.microsoftonline.com/my%20tenant/oauth2/v2.0/token"
        );
        assert_eq!(
            imds_resource("https://management.azure.com/.default"),
            "https://management.azure.com/"
        );
        assert_eq!(
            imds_resource("https://management.usgovcloudapi.net/.default"),
            "https://management.usgovcloudapi.net/"
        );
    }
}
