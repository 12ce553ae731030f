//! The one choke point for outbound HTTP: the wasi-http `send_request` hook.
//!
//! Every request a guest makes through `wasi:http/outgoing-handler` arrives
//! here before any DNS lookup or socket; the [`OutboundPolicy`] decides, and a
//! denied request fails in the guest with `ErrorCode::HttpRequestDenied`.

use std::future::Future;
use std::sync::{Arc, Mutex};

use wasmtime_wasi_http::{RequestOptions, WasiBody, WasiHttpHooks};

use crate::policy::{AllowRule, Decision, OutboundPolicy, RequestFacts};

/// A policy shared between the send hook and the runtime (which adds the
/// endpoints of each connection it resolves for the task).
#[derive(Clone, Debug, Default)]
pub struct SharedPolicy(Arc<Mutex<OutboundPolicy>>);

impl SharedPolicy {
    /// Wraps a policy.
    pub fn new(policy: OutboundPolicy) -> Self {
        SharedPolicy(Arc::new(Mutex::new(policy)))
    }

    /// Adds rules.
    pub fn allow_all(&self, rules: impl IntoIterator<Item = AllowRule>) {
        let mut p = self.0.lock().unwrap_or_else(|e| e.into_inner());
        for r in rules {
            p.allow(r);
        }
    }

    /// Decides on one request.
    pub fn check(&self, facts: &RequestFacts<'_>) -> Decision {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .check(facts)
    }

    /// A snapshot of the rules.
    pub fn rules(&self) -> Vec<AllowRule> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .rules()
            .to_vec()
    }
}

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
    policy: SharedPolicy,
    stats: HookStats,
    task_id: String,
}

impl PolicyHooks {
    /// Hooks enforcing `policy`; `task_id` labels denial logs.
    pub fn new(policy: SharedPolicy, stats: HookStats, task_id: impl Into<String>) -> Self {
        PolicyHooks {
            policy,
            stats,
            task_id: task_id.into(),
        }
    }
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
        let uri = request.uri();
        let scheme = uri.scheme_str().unwrap_or("");
        let authority = uri.authority().map(|a| a.as_str()).unwrap_or("");
        let facts = RequestFacts {
            scheme,
            authority,
            has_credentials: request.headers().contains_key(http::header::AUTHORIZATION),
        };
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
    use http_body_util::{BodyExt, Empty};
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn request(uri: &str, bearer: bool) -> http::Request<WasiBody> {
        let mut b = http::Request::get(uri);
        if bearer {
            b = b.header(http::header::AUTHORIZATION, "Bearer t");
        }
        b.body(
            Empty::<bytes::Bytes>::new()
                .map_err(|never| match never {})
                .boxed_unsync(),
        )
        .unwrap()
    }

    async fn send(
        hooks: &mut PolicyHooks,
        uri: &str,
        bearer: bool,
    ) -> Result<u16, wasmtime_wasi_http::Error> {
        let fut = hooks.send_request(request(uri, bearer), None, Box::new(async { Ok(()) }));
        let (resp, _io) = Box::into_pin(fut).await?;
        Ok(resp.status().as_u16())
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

    #[tokio::test]
    async fn denied_before_any_socket() {
        let (port, hits) = listener().await;
        let stats = HookStats::default();
        let mut hooks = PolicyHooks::new(SharedPolicy::default(), stats.clone(), "t");
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
    async fn allowed_reaches_the_server_and_rules_added_later_apply() {
        let (port, hits) = listener().await;
        let policy = SharedPolicy::default();
        let stats = HookStats::default();
        let mut hooks = PolicyHooks::new(policy.clone(), stats.clone(), "t");
        let url = format!("http://127.0.0.1:{port}/x");
        assert!(send(&mut hooks, &url, true).await.is_err());
        // A connection resolved mid-run grants its endpoint to the same store.
        policy.allow_all([AllowRule::parse(&format!("http://127.0.0.1:{port}")).unwrap()]);
        assert_eq!(send(&mut hooks, &url, true).await.unwrap(), 204);
        assert_eq!(hits.load(Ordering::SeqCst), 1);
        assert_eq!(stats.get(), (1, 1));
    }

    #[tokio::test]
    async fn bearer_over_plain_http_to_a_remote_host_is_denied() {
        let policy = SharedPolicy::default();
        policy.allow_all([AllowRule::parse("http://169.254.169.254").unwrap()]);
        let mut hooks = PolicyHooks::new(policy, HookStats::default(), "t");
        let err = send(&mut hooks, "http://169.254.169.254/metadata", true)
            .await
            .unwrap_err();
        assert!(matches!(err, wasmtime_wasi_http::Error::HttpRequestDenied));
    }
}
