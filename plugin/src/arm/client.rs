//! The authenticated ARM client: builds URLs under the connection's ARM endpoint, adds the
//! bearer token, `x-ms-client-request-id` and JSON headers, takes a token of the
//! subscription's shared budget before every attempt (a `429` pauses it for every task,
//! see [`budget`]), retries through the [`Transport`], fetches a new token once when ARM
//! rejects the current one, and maps failures to [`Error`].

use std::cell::Cell;
use std::rc::Rc;

use super::budget;
use super::cloud::Endpoints;
use super::errors::{error_code, is_token_rejection, remote_error};
use super::random;
use super::retry::{is_retryable_status, retry_after_ms, RetryPolicy};
use super::transport::{Sent, Transport, TransportError};
use crate::auth::{AuthSetup, TokenProvider};
use crate::sys;
use task_plugin_sdk::http::{self, HttpError, Method, Request, Response, Url};
use task_plugin_sdk::{Error, Result};

/// `User-Agent` sent with every request.
pub const USER_AGENT: &str = concat!("aci-plugin/", env!("CARGO_PKG_VERSION"));

/// An ARM client for one connection and subscription.
#[derive(Debug)]
pub struct ArmClient {
    conn_id: String,
    endpoints: Endpoints,
    subscription_id: String,
    tokens: TokenProvider,
    transport: Transport,
}

/// Maps a transport failure of an ARM call to an [`Error`].
pub fn transport_error(label: &str, e: TransportError) -> Error {
    match e {
        TransportError::Denied(m) => Error::Denied(format!("{label}: {m}")),
        TransportError::Fatal(e) => e,
        TransportError::Unreachable { ref error, .. } => {
            let code = match error {
                HttpError::Timeout(_) => "Timeout",
                HttpError::Connection(_) => "ConnectionFailed",
                HttpError::InvalidUrl(_) => "InvalidUrl",
                HttpError::TooLarge(_) => "ResponseTooLarge",
                _ => "RequestFailed",
            };
            Error::remote(0, code, e.describe())
        }
    }
}

impl ArmClient {
    /// A client from a resolved auth setup. Makes no request. `counter` counts every HTTP
    /// attempt (ARM and token) made through this client.
    pub fn new(
        conn_id: &str,
        setup: &AuthSetup,
        subscription_id: &str,
        policy: RetryPolicy,
        counter: Rc<Cell<u64>>,
    ) -> ArmClient {
        let transport = Transport::new(policy, counter);
        ArmClient {
            conn_id: conn_id.to_string(),
            endpoints: setup.endpoints.clone(),
            subscription_id: subscription_id.to_string(),
            tokens: TokenProvider::new(
                conn_id,
                setup.credential.clone(),
                &setup.endpoints,
                transport.clone(),
            ),
            transport,
        }
    }

    /// The subscription calls are made in.
    pub fn subscription_id(&self) -> &str {
        &self.subscription_id
    }

    /// The endpoints in use.
    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    /// The token provider (tests, diagnostics).
    pub fn tokens(&self) -> &TokenProvider {
        &self.tokens
    }

    /// HTTP attempts made so far (ARM and token requests, retries included).
    pub fn request_count(&self) -> u64 {
        self.transport.requests()
    }

    /// `/subscriptions/{sub}/resourceGroups/{rg}/providers/{provider}` with each segment
    /// percent-encoded.
    pub fn provider_path(&self, resource_group: &str, provider: &str) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/{provider}",
            http::encode_component(&self.subscription_id),
            http::encode_component(resource_group)
        )
    }

    /// POSTs action `action` (`listKeys`, `listCredentials`, ...) of resource `name` of type
    /// `provider` in `resource_group`, and parses the JSON answer.
    pub fn post_action<T: serde::de::DeserializeOwned>(
        &self,
        resource_group: &str,
        provider: &str,
        name: &str,
        action: &str,
        api_version: &str,
    ) -> Result<T> {
        let path = format!(
            "{}/{}/{action}",
            self.provider_path(resource_group, provider),
            http::encode_component(name)
        );
        let url = self.url(&path, api_version, &[]);
        self.send_json(Method::Post, &url, None)
    }

    /// The absolute URL of `path` under the ARM endpoint with `api-version` and `query`.
    pub fn url(&self, path: &str, api_version: &str, query: &[(&str, &str)]) -> String {
        let mut pairs = vec![("api-version", api_version)];
        pairs.extend_from_slice(query);
        http::with_query(
            &format!("{}{path}", self.endpoints.resource_manager),
            &pairs,
        )
    }

    /// Checks that an absolute URL given by ARM (`nextLink`, `Azure-AsyncOperation`,
    /// `Location`) points at the same ARM endpoint, so the bearer token never goes elsewhere.
    pub fn check_followable(&self, url: &str) -> Result<()> {
        let base = Url::parse(&self.endpoints.resource_manager)
            .map_err(|e| Error::Connection(e.to_string()))?;
        let target = Url::parse(url).map_err(|e| Error::remote(0, "InvalidUrl", e.to_string()))?;
        if !target.authority.eq_ignore_ascii_case(&base.authority) || target.https != base.https {
            return Err(Error::remote(
                0,
                "UntrustedLink",
                format!(
                    "refusing to follow a link to {} (the connection's ARM endpoint is {})",
                    target.origin(),
                    base.origin()
                ),
            ));
        }
        Ok(())
    }

    /// Sends one ARM call with retries and the token refresh, returning the final response
    /// whatever its status (callers that treat some errors as answers use this).
    pub fn send_raw(&self, method: Method, url: &str, body: Option<&[u8]>) -> Result<Sent> {
        self.send_raw_with(method, url, body, true)
    }

    /// [`ArmClient::send_raw`], choosing whether `409 ContainerGroupTransitioning` is retried
    /// (reads that callers poll anyway, such as logs during provisioning, fail fast instead).
    pub fn send_raw_with(
        &self,
        method: Method,
        url: &str,
        body: Option<&[u8]>,
        retry_transitioning: bool,
    ) -> Result<Sent> {
        let parsed = Url::parse(url).map_err(|e| Error::remote(0, "InvalidUrl", e.to_string()))?;
        if !parsed.may_carry_credentials() {
            return Err(Error::Connection(format!(
                "connection `{}`: refusing to send a bearer token over plain http to {} (use https, or a loopback address)",
                self.conn_id,
                parsed.origin()
            )));
        }
        let path = parsed
            .path_with_query
            .split('?')
            .next()
            .unwrap_or("/")
            .to_string();
        let label = format!("{method} {path}");
        let request_id = random::uuid_v4();
        let body = body.map(<[u8]>::to_vec);
        let retry = |r: &Response| {
            if r.status == 429 {
                // Hold every task's requests of this kind, not only ours.
                let now = sys::unix_now();
                if let Some(ms) = retry_after_ms(|n| r.header(n).map(String::from), now) {
                    budget::pause(&self.subscription_id, method, ms);
                }
            }
            let code = error_code(r);
            let retry =
                is_retryable_status(r.status, &code) && (retry_transitioning || r.status != 409);
            retry.then(|| format!("HTTP {} {}", r.status, code).trim_end().to_string())
        };
        // Two rounds at most: the second only after ARM rejected the token.
        for round in 0..2 {
            let mut make = || {
                let token = self.tokens.token()?;
                budget::acquire(&self.subscription_id, method)?;
                let mut req = Request::new(method, url)
                    .header("authorization", format!("Bearer {}", token.expose()))
                    .header("x-ms-client-request-id", request_id.clone())
                    .header("accept", "application/json")
                    .header("user-agent", USER_AGENT)
                    .timeout_ms(self.transport.policy.request_timeout_ms);
                if let Some(b) = &body {
                    req = req
                        .header("content-type", "application/json")
                        .body(b.clone());
                }
                Ok(req)
            };
            let sent = self
                .transport
                .execute(&label, &mut make, &retry, true)
                .map_err(|e| transport_error(&label, e))?;
            if round == 0 && is_token_rejection(&sent.response) {
                let code = error_code(&sent.response);
                sys::warn(format!(
                    "{label}: ARM rejected the access token ({code}); fetching a new one"
                ));
                self.tokens.invalidate();
                continue;
            }
            return Ok(sent);
        }
        unreachable!("the loop returns in its second round")
    }

    /// Sends one ARM call; a non-2xx answer becomes [`Error::Remote`] with ARM's code and
    /// message.
    pub fn send(&self, method: Method, url: &str, body: Option<&[u8]>) -> Result<Response> {
        let sent = self.send_raw(method, url, body)?;
        if sent.response.is_success() {
            Ok(sent.response)
        } else {
            Err(remote_error(&sent.response, &sent.give_up_note()))
        }
    }

    /// Like [`ArmClient::send`] without retrying `409 ContainerGroupTransitioning`.
    pub fn send_fail_fast_on_transition(&self, method: Method, url: &str) -> Result<Response> {
        let sent = self.send_raw_with(method, url, None, false)?;
        if sent.response.is_success() {
            Ok(sent.response)
        } else {
            Err(remote_error(&sent.response, &sent.give_up_note()))
        }
    }

    /// Sends and parses the JSON answer.
    pub fn send_json<T: serde::de::DeserializeOwned>(
        &self,
        method: Method,
        url: &str,
        body: Option<&[u8]>,
    ) -> Result<T> {
        let resp = self.send(method, url, body)?;
        parse_json(&resp, url)
    }
}

/// Parses a successful ARM answer as JSON; a malformed body is an internal error naming the
/// path (no query) and what is wrong, without the values it found (see [`json_problem`]).
pub fn parse_json<T: serde::de::DeserializeOwned>(resp: &Response, url: &str) -> Result<T> {
    resp.json().map_err(|e| {
        Error::remote(
            resp.status,
            "InvalidResponse",
            format!(
                "unexpected answer from {}: {}",
                http::redact_query(url),
                json_problem(&e)
            ),
        )
    })
}

/// What a JSON parse error says, without the body's values it quotes: serde writes
/// `invalid type: string "…", expected …` and `unknown field `…``, and answers such as
/// `listCredentials` or `listKeys` carry secrets. Quoted and back-quoted values before
/// `expected` are dropped (what follows `expected` and a `missing field` name come from
/// the model); the line and column stay.
pub fn json_problem(e: &serde_json::Error) -> String {
    let message = e.to_string();
    let message = match message.rfind(" at line ") {
        Some(at) if e.line() > 0 => &message[..at],
        _ => message.as_str(),
    };
    let (found, expected) = match message.find(", expected") {
        Some(at) => message.split_at(at),
        None => (message, ""),
    };
    let found = if found.starts_with("missing field") {
        found.to_string()
    } else {
        drop_quoted(found)
    };
    format!(
        "{found}{expected} (line {} column {})",
        e.line(),
        e.column()
    )
}

/// `text` with every `"…"` and `` `…` `` span replaced by `…`.
fn drop_quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut open: Option<char> = None;
    for c in text.chars() {
        match open {
            Some(q) if c == q => open = None,
            Some(_) => {}
            None if c == '"' || c == '`' => {
                open = Some(c);
                out.push('…');
            }
            None => out.push(c),
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod tests;
