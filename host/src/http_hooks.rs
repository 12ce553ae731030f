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
        self.0.lock().unwrap_or_else(|e| e.into_inner()).check(facts)
    }

    /// A snapshot of the rules.
    pub fn rules(&self) -> Vec<AllowRule> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).rules().to_vec()
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
        PolicyHooks { policy, stats, task_id: task_id.into() }
    }
}

type IoFuture = Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>;
type SendFuture = Box<
    dyn Future<Output = Result<(http::Response<WasiBody>, IoFuture), wasmtime_wasi_http::Error>> + Send,
>;

impl WasiHttpHooks for PolicyHooks {
    fn send_request(&mut self, request: http::Request<WasiBody>, options: Option<RequestOptions>, fut: IoFuture) -> SendFuture {
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
