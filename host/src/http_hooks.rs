//! The one choke point for outbound HTTP: the wasi-http `send_request` hook.
//!
//! Every request a guest makes through `wasi:http/outgoing-handler` arrives
//! here before any DNS lookup or socket; the [`OutboundPolicy`] decides, and a
//! denied request fails in the guest with `ErrorCode::HttpRequestDenied`.
//!
//! Allowed requests are also bounded per task: at most
//! [`DEFAULT_MAX_REQUESTS_IN_FLIGHT`] (or [`PolicyHooks::with_max_in_flight`])
//! are in flight at once. A request holds its slot from before it connects
//! until its response body is dropped (read to the end and released, or
//! abandoned), or until it fails; further requests wait for a slot, bounded
//! by the guest's own timeouts (a guest that gives up drops the wait).
//! Denial logs never show the user-info part of an authority.

use std::borrow::Cow;
use std::future::Future;
use std::sync::{Arc, Mutex};

use http_body::Body;
use http_body_util::BodyExt;
use tokio::sync::Semaphore;
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

/// Default bound on a task's outbound requests in flight at once.
pub const DEFAULT_MAX_REQUESTS_IN_FLIGHT: usize = 16;

/// The store's wasi-http hooks: policy first, then a slot among the task's
/// requests in flight, then wasmtime's default sender.
pub struct PolicyHooks {
    policy: OutboundPolicy,
    stats: HookStats,
    task_id: String,
    in_flight: Arc<Semaphore>,
}

impl PolicyHooks {
    /// Hooks enforcing `policy`; `task_id` labels denial logs. At most
    /// [`DEFAULT_MAX_REQUESTS_IN_FLIGHT`] requests are in flight at once.
    pub fn new(policy: OutboundPolicy, stats: HookStats, task_id: impl Into<String>) -> Self {
        PolicyHooks {
            policy,
            stats,
            task_id: task_id.into(),
            in_flight: Arc::new(Semaphore::new(DEFAULT_MAX_REQUESTS_IN_FLIGHT)),
        }
    }

    /// Allows at most `max` requests in flight at once (at least 1).
    pub fn with_max_in_flight(mut self, max: usize) -> Self {
        self.in_flight = Arc::new(Semaphore::new(max.max(1)));
        self
    }

    /// Replaces the policy (the host sets a call's grant once it is known;
    /// until then it is whatever the hooks were built with, usually deny-all).
    pub fn set_policy(&mut self, policy: OutboundPolicy) {
        self.policy = policy;
    }
}

/// `authority` without its user-info (`user:password@host` → `***@host`).
pub fn redacted_authority(authority: &str) -> Cow<'_, str> {
    match authority.rsplit_once('@') {
        Some((_, host)) => Cow::Owned(format!("{}@{host}", crate::mask::MASK)),
        None => Cow::Borrowed(authority),
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

/// Sends `request` once a slot among the task's requests in flight is free;
/// the slot is released when the response body is dropped, or on failure.
fn send_in_slot(
    slots: Arc<Semaphore>,
    request: http::Request<WasiBody>,
    options: Option<RequestOptions>,
    fut: IoFuture,
) -> SendFuture {
    Box::new(async move {
        let permit = slots.acquire_owned().await.map_err(|_| {
            wasmtime_wasi_http::Error::InternalError(Some("request slots closed".into()))
        })?;
        let sending = wasmtime_wasi_http::default_hooks().send_request(request, options, fut);
        let (response, io) = Box::into_pin(sending).await?;
        let response = response.map(|body| {
            body.map_err(move |e| {
                // The body owns the permit: dropping the body frees the slot.
                let _held = &permit;
                e
            })
            .boxed_unsync()
        });
        Ok((response, io))
    })
}

impl WasiHttpHooks for PolicyHooks {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: IoFuture,
    ) -> SendFuture {
        let facts = facts(&request);
        let scheme = facts.scheme;
        let shown = redacted_authority(facts.authority);
        match self.policy.check(&facts) {
            Decision::Allow => {
                if let Ok(mut s) = self.stats.0.lock() {
                    s.0 += 1;
                }
                tracing::debug!(task = %self.task_id, method = %request.method(), %scheme, authority = %shown, "outbound request allowed");
                send_in_slot(self.in_flight.clone(), request, options, fut)
            }
            Decision::Deny(reason) => {
                if let Ok(mut s) = self.stats.0.lock() {
                    s.1 += 1;
                }
                tracing::warn!(task = %self.task_id, method = %request.method(), %scheme, authority = %shown, "outbound request denied: {reason}");
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
    use std::time::Duration;

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
    /// Captures what `tracing` writes on this thread while `f` runs.
    fn captured_logs(f: impl FnOnce()) -> String {
        #[derive(Clone, Default)]
        struct Buf(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Buf {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buf = Buf::default();
        let writer = buf.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, f);
        let bytes = buf.0.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn denial_logs_hide_user_info() {
        let mut hooks = PolicyHooks::new(OutboundPolicy::deny_all(), HookStats::default(), "t");
        let logs = captured_logs(|| {
            let _ = hooks.send_request(
                request("GET", "http://admin:hunter2-pw@127.0.0.1:9/x", false, None),
                None,
                Box::new(async { Ok(()) }),
            );
        });
        assert!(logs.contains("outbound request denied"), "{logs}");
        assert!(logs.contains("***@127.0.0.1:9"), "{logs}");
        assert!(
            !logs.contains("hunter2-pw") && !logs.contains("admin"),
            "{logs}"
        );
        assert_eq!(redacted_authority("h:1"), "h:1");
        assert_eq!(redacted_authority("a@b@h:1"), "***@h:1");
    }

    /// A loopback server that answers after `hold` concurrent requests
    /// are open at once (or a short while), recording the high-water mark.
    async fn holding_server(hold: usize) -> (u16, Arc<AtomicUsize>) {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        let open = Arc::new(AtomicUsize::new(0));
        let high = Arc::new(AtomicUsize::new(0));
        let changed = Arc::new(tokio::sync::Notify::new());
        let h = high.clone();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                let (open, high, changed) = (open.clone(), h.clone(), changed.clone());
                tokio::spawn(async move {
                    use tokio::io::{AsyncReadExt, AsyncWriteExt};
                    let mut buf = [0u8; 1024];
                    let _ = s.read(&mut buf).await;
                    let now = open.fetch_add(1, Ordering::SeqCst) + 1;
                    high.fetch_max(now, Ordering::SeqCst);
                    changed.notify_waiters();
                    // Hold until more than `hold` are open (a breach) or a while.
                    let _ = tokio::time::timeout(Duration::from_millis(300), async {
                        while open.load(Ordering::SeqCst) <= hold {
                            changed.notified().await;
                        }
                    })
                    .await;
                    open.fetch_sub(1, Ordering::SeqCst);
                    let _ = s
                        .write_all(
                            b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                        )
                        .await;
                });
            }
        });
        (port, high)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn requests_in_flight_are_capped_until_their_bodies_are_dropped() {
        let (port, high) = holding_server(2).await;
        let policy = allowing(&[&format!("http://127.0.0.1:{port}")]);
        let mut hooks = PolicyHooks::new(policy, HookStats::default(), "t").with_max_in_flight(2);
        let url = format!("http://127.0.0.1:{port}/");
        let sends: Vec<_> = (0..6)
            .map(|_| {
                Box::into_pin(hooks.send_request(
                    request("GET", &url, false, None),
                    None,
                    Box::new(async { Ok(()) }),
                ))
            })
            .collect();
        let tasks: Vec<_> = sends
            .into_iter()
            .map(|send| {
                tokio::spawn(async move {
                    let (resp, io) = send.await.unwrap();
                    tokio::spawn(Box::into_pin(io));
                    let body = resp.into_body().collect().await.unwrap().to_bytes();
                    assert_eq!(&body[..], b"ok");
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(high.load(Ordering::SeqCst), 2);
    }
}
