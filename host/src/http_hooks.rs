//! The one choke point for outbound HTTP: the wasi-http `send_request` hook.
//!
//! Every request a guest makes through `wasi:http/outgoing-handler` arrives
//! here before any DNS lookup or socket; the [`OutboundPolicy`] decides, and a
//! denied request fails in the guest with `ErrorCode::HttpRequestDenied`.

use std::future::Future;
use std::sync::{Arc, Mutex};

use http_body::Body;
use wasmtime_wasi_http::{RequestOptions, WasiBody, WasiHttpHooks};

use crate::policy::{Decision, OutboundPolicy, RequestFacts};

/// Counters of what the hook decided (for tests and reports).
#[derive(Clone, Debug, Default)]
pub struct HookStats(Arc<Mutex<(u64, u64)>>);

impl HookStats {
    /// `(allowed, denied)` request counts.
    pub fn get(&self) -> (u64, u64) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The store's wasi-http hooks: policy first, then wasmtime's default sender.
pub struct PolicyHooks {
    policy: OutboundPolicy,
    stats: HookStats,
    task_id: String,
}

impl PolicyHooks {
    /// Hooks enforcing `policy`; `task_id` labels denial logs.
    pub fn new(policy: OutboundPolicy, stats: HookStats, task_id: impl Into<String>) -> Self {
        PolicyHooks {
            policy,
            stats,
            task_id: task_id.into(),
        }
    }

    /// Replaces the policy (the host sets a call's grant once it is known;
    /// until then it is whatever the hooks were built with, usually deny-all).
    pub fn set_policy(&mut self, policy: OutboundPolicy) {
        self.policy = policy;
    }
}

/// Request headers that carry credentials.
const CREDENTIAL_HEADERS: [http::HeaderName; 3] = [
    http::header::AUTHORIZATION,
    http::header::PROXY_AUTHORIZATION,
    http::header::COOKIE,
];

/// What the policy needs to know about a request.
fn facts(request: &http::Request<WasiBody>) -> RequestFacts<'_> {
    let uri = request.uri();
    let headers = request.headers();
    RequestFacts {
        scheme: uri.scheme_str().unwrap_or(""),
        authority: uri.authority().map(|a| a.as_str()).unwrap_or(""),
        credential_header: CREDENTIAL_HEADERS.iter().any(|h| headers.contains_key(h)),
        may_have_body: may_have_body(request),
    }
}

/// True unless the request is known to have no body: no `transfer-encoding`,
/// a `content-length` of `0` if any, and a body whose size is known to be 0
/// (a guest that wrote and finished a body, even an empty one, gives a body of
/// unknown size: it counts as one).
fn may_have_body(request: &http::Request<WasiBody>) -> bool {
    let headers = request.headers();
    if headers.contains_key(http::header::TRANSFER_ENCODING) {
        return true;
    }
    let declared_empty = headers
        .get_all(http::header::CONTENT_LENGTH)
        .iter()
        .all(|v| v.to_str().ok().map(str::trim) == Some("0"));
    !declared_empty || request.body().size_hint().upper() != Some(0)
}

type IoFuture = Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>;
type SendFuture = Box<
    dyn Future<Output = Result<(http::Response<WasiBody>, IoFuture), wasmtime_wasi_http::Error>>
        + Send,
>;

impl WasiHttpHooks for PolicyHooks {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: IoFuture,
    ) -> SendFuture {
        let facts = facts(&request);
        let (scheme, authority) = (facts.scheme, facts.authority);
        match self.policy.check(&facts) {
            Decision::Allow => {
                if let Ok(mut s) = self.stats.0.lock() {
                    s.0 += 1;
                }
                tracing::debug!(task = %self.task_id, method = %request.method(), %scheme, %authority, "outbound request allowed");
                wasmtime_wasi_http::default_hooks().send_request(request, options, fut)
            }
            Decision::Deny(reason) => {
                if let Ok(mut s) = self.stats.0.lock() {
                    s.1 += 1;
                }
                tracing::warn!(task = %self.task_id, method = %request.method(), %scheme, %authority, "outbound request denied: {reason}");
                Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    //! The send hook without a guest: requests built on the host side go
    //! straight into `send_request`.

    use super::*;
    use crate::policy::AllowRule;
    use http_body_util::{BodyExt, Empty, Full};
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A request: `bearer` adds an Authorization header; `body` is `None` (no
    /// body), `Some(None)` (a body of unknown size), `Some(Some(bytes))` (sized).
    fn request(
        method: &str,
        uri: &str,
        bearer: bool,
        body: Option<Option<&'static [u8]>>,
    ) -> http::Request<WasiBody> {
        let mut b = http::Request::builder().method(method).uri(uri);
        if bearer {
            b = b.header(http::header::AUTHORIZATION, "Bearer t");
        }
        let body: WasiBody = match body {
            None => Empty::<bytes::Bytes>::new()
                .map_err(|never| match never {})
                .boxed_unsync(),
            Some(Some(bytes)) => Full::new(bytes::Bytes::from_static(bytes))
                .map_err(|never| match never {})
                .boxed_unsync(),
            Some(None) => {
                Unsized(Some(bytes::Bytes::from_static(b"client_secret=s"))).boxed_unsync()
            }
        };
        b.body(body).unwrap()
    }

    /// A body of unknown length (what a guest's written body looks like).
    struct Unsized(Option<bytes::Bytes>);

    impl http_body::Body for Unsized {
        type Data = bytes::Bytes;
        type Error = wasmtime_wasi_http::Error;

        fn poll_frame(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Result<http_body::Frame<bytes::Bytes>, Self::Error>>> {
            std::task::Poll::Ready(self.0.take().map(|b| Ok(http_body::Frame::data(b))))
        }
    }

    async fn send_request(
        hooks: &mut PolicyHooks,
        req: http::Request<WasiBody>,
    ) -> Result<u16, wasmtime_wasi_http::Error> {
        let fut = hooks.send_request(req, None, Box::new(async { Ok(()) }));
        let (resp, _io) = Box::into_pin(fut).await?;
        Ok(resp.status().as_u16())
    }

    async fn send(
        hooks: &mut PolicyHooks,
        uri: &str,
        bearer: bool,
    ) -> Result<u16, wasmtime_wasi_http::Error> {
        send_request(hooks, request("GET", uri, bearer, None)).await
    }

    /// A loopback listener that counts accepted connections and answers 204.
    async fn listener() -> (u16, Arc<AtomicUsize>) {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        let hits = Arc::new(AtomicUsize::new(0));
        let h = hits.clone();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                h.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf).await;
                let _ = s.write_all(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\nconnection: close\r\n\r\n").await;
            }
        });
        (port, hits)
    }

    fn allowing(rules: &[&str]) -> OutboundPolicy {
        OutboundPolicy::allowing(rules.iter().map(|r| AllowRule::parse(r).unwrap()))
    }

    #[tokio::test]
    async fn denied_before_any_socket() {
        let (port, hits) = listener().await;
        let stats = HookStats::default();
        let mut hooks = PolicyHooks::new(OutboundPolicy::deny_all(), stats.clone(), "t");
        let err = send(&mut hooks, &format!("http://127.0.0.1:{port}/"), false)
            .await
            .unwrap_err();
        assert!(
            matches!(err, wasmtime_wasi_http::Error::HttpRequestDenied),
            "{err:?}"
        );
        assert_eq!(hits.load(Ordering::SeqCst), 0);
        assert_eq!(stats.get(), (0, 1));
    }

    #[tokio::test]
    async fn allowed_reaches_the_server_once_the_grant_is_set() {
        let (port, hits) = listener().await;
        let stats = HookStats::default();
        let mut hooks = PolicyHooks::new(OutboundPolicy::deny_all(), stats.clone(), "t");
        let url = format!("http://127.0.0.1:{port}/x");
        assert!(send(&mut hooks, &url, true).await.is_err());
        hooks.set_policy(allowing(&[&format!("http://127.0.0.1:{port}")]));
        assert_eq!(send(&mut hooks, &url, true).await.unwrap(), 204);
        let post = request("POST", &url, true, Some(None));
        assert_eq!(send_request(&mut hooks, post).await.unwrap(), 204);
        assert_eq!(hits.load(Ordering::SeqCst), 2);
        assert_eq!(stats.get(), (2, 1));
    }

    #[tokio::test]
    async fn credentials_or_bodies_over_plain_http_to_a_remote_host_are_denied() {
        let remote = "http://169.254.169.254";
        let mut hooks = PolicyHooks::new(allowing(&[remote]), HookStats::default(), "t");
        let url = format!("{remote}/metadata");
        let denied = [
            request("GET", &url, true, None),
            request("POST", &url, false, Some(None)),
            request("POST", &url, false, Some(Some(b"client_secret=s"))),
        ];
        for req in denied {
            let err = send_request(&mut hooks, req).await.unwrap_err();
            assert!(matches!(err, wasmtime_wasi_http::Error::HttpRequestDenied));
        }
        // Declared lengths: any non-zero (or unreadable) one is a body.
        for (cl, body) in [("5", true), ("0", false), ("x", true)] {
            let mut req = request("POST", &url, false, None);
            req.headers_mut()
                .insert(http::header::CONTENT_LENGTH, cl.parse().unwrap());
            assert_eq!(may_have_body(&req), body, "content-length {cl}");
        }
        let mut req = request("POST", &url, false, None);
        req.headers_mut()
            .insert(http::header::TRANSFER_ENCODING, "chunked".parse().unwrap());
        assert!(may_have_body(&req));
        assert!(!may_have_body(&request("GET", &url, false, None)));
        assert!(may_have_body(&request("POST", &url, false, Some(None))));
        assert!(facts(&request("GET", &url, true, None)).credential_header);
    }
}
