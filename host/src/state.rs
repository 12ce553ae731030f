//! Per-task store data: WASI and wasi-http contexts, the resource table, the
//! outbound policy hooks, and the task's runtime services.

use wasmtime::component::ResourceTable;
use wasmtime::StoreLimits;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::grant::Grant;
use crate::http_hooks::PolicyHooks;
use crate::runtime::{GuestStream, TaskRuntime, TaskRuntimeView};

/// Everything a plugin instance's `Store` holds.
pub struct HostState {
    pub(crate) wasi: WasiCtx,
    pub(crate) http: WasiHttpCtx,
    pub(crate) table: ResourceTable,
    pub(crate) hooks: PolicyHooks,
    pub(crate) limits: StoreLimits,
    /// The task's runtime services (connections, logs, XCom, cancellation).
    pub runtime: TaskRuntime,
}

impl HostState {
    /// Builds the store data for one instance.
    ///
    /// The WASI context preopens nothing, inherits no environment (only the
    /// variables in `env`: the operator's declared ones that are set), has no
    /// sockets of its own (all network goes through wasi-http and its policy
    /// hook), and sends the guest's stdout and stderr, line by line and
    /// masked, to the task's log sink (see [`crate::runtime::GuestOutput`]):
    /// never to the host's own stdout (results) or stderr in clear.
    pub fn new(
        runtime: TaskRuntime,
        hooks: PolicyHooks,
        env: &[(String, String)],
        max_memory: usize,
    ) -> Self {
        let mut builder = WasiCtx::builder();
        builder
            .stdout(runtime.guest_output(GuestStream::Stdout))
            .stderr(runtime.guest_output(GuestStream::Stderr))
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false);
        for (k, v) in env {
            builder.env(k, v);
        }
        HostState {
            wasi: builder.build(),
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            hooks,
            limits: wasmtime::StoreLimitsBuilder::new()
                .memory_size(max_memory)
                .instances(64)
                .build(),
            runtime,
        }
    }

    /// Grants the call what `grant` names: its connections and files to the
    /// runtime, its origins (and allow-hosts) to the send hook.
    pub fn apply_grant(&mut self, grant: &Grant) {
        self.runtime.apply_grant(grant);
        self.hooks.set_policy(grant.policy());
    }

    /// The store's resource limits (for `Store::limiter`).
    pub fn limits(&mut self) -> &mut StoreLimits {
        &mut self.limits
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

impl TaskRuntimeView for HostState {
    fn task_runtime(&mut self) -> &mut TaskRuntime {
        &mut self.runtime
    }
}
