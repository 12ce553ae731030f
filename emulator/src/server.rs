//! The HTTP server: accept loop (plain or TLS), the `Host` check, the request pipeline
//! (faults, rate limits, authentication, `api-version`, dispatch, common ARM headers,
//! statistics), the request log and the emulator's control routes.

use std::os::fd::{AsRawFd, RawFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use super::credentials::secret_matches;
use super::faults::{server_error, FaultAction};
use super::http::{aad_error, arm_error, Req, Resp};
use super::ratelimit::GLOBAL_FACTOR;
use super::reqlog::Entry;
use super::routes::{OpKind, Route};
use super::state::Inner;
use super::{arm, auth, containers, discovery, helpers, locations, subscriptions, ws};

/// Largest request body accepted.
const MAX_BODY: usize = 8 * 1024 * 1024;
/// Longest TLS handshake waited for.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The error that makes hyper drop a connection without answering (injected reset).
#[derive(Debug)]
pub(crate) struct DropConnection;

impl std::fmt::Display for DropConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection reset injected by the emulator")
    }
}

impl std::error::Error for DropConnection {}

/// Accepts connections until `shutdown` turns true; with `tls`, each connection is an https
/// one (the handshake runs in the connection's task).
pub(crate) async fn serve(
    listener: TcpListener,
    inner: Arc<Inner>,
    shutdown: watch::Receiver<bool>,
    tls: Option<TlsAcceptor>,
) {
    let mut stop = shutdown.clone();
    loop {
        let accepted = tokio::select! {
            _ = stop.wait_for(|s| *s) => break,
            a = listener.accept() => a,
        };
        let stream = match accepted {
            Ok((s, _)) => s,
            Err(_) => {
                // Out of descriptors or similar: back off briefly instead of spinning.
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        let inner = inner.clone();
        let shutdown = shutdown.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            let _ = stream.set_nodelay(true);
            let fd = stream.as_raw_fd();
            match tls {
                None => connection(stream, inner, fd, shutdown).await,
                Some(acceptor) => {
                    let handshake =
                        tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream));
                    if let Ok(Ok(stream)) = handshake.await {
                        connection(stream, inner, fd, shutdown).await;
                    }
                }
            }
        });
    }
}

/// Serves HTTP/1.1 (with upgrades) on one connection until it ends or the emulator stops.
async fn connection<S>(io: S, inner: Arc<Inner>, fd: RawFd, shutdown: watch::Receiver<bool>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut conn_stop = shutdown.clone();
    let mut restarted = inner.restarts.subscribe();
    let svc = service_fn(move |req| handle(inner.clone(), req, fd, shutdown.clone()));
    let conn = http1::Builder::new()
        .serve_connection(TokioIo::new(io), svc)
        .with_upgrades();
    tokio::select! {
        _ = conn => {}
        _ = conn_stop.wait_for(|s| *s) => {}
        // A restart resets every open connection (dropping `conn` closes the socket).
        _ = restarted.changed() => set_linger_zero(fd),
    }
}

fn to_hyper(resp: Resp) -> Response<Full<Bytes>> {
    let mut b = Response::builder().status(resp.status);
    for (k, v) in &resp.headers {
        b = b.header(k.as_str(), v.as_str());
    }
    b.body(Full::new(resp.body))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

/// Makes the next close of `fd` a TCP reset.
fn set_linger_zero(fd: RawFd) {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: setsockopt on a socket owned by the live connection, with a correctly sized value.
    unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            &linger as *const libc::linger as *const libc::c_void,
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
}

/// `421`: the request named a host this emulator does not serve (its `Host` is not echoed).
fn misdirected(inner: &Inner) -> Resp {
    arm_error(
        421,
        "MisdirectedRequest",
        format!(
            "This emulator answers only requests for {} (or localhost on the same port{}); the Host header of this request names another host.",
            inner.base_url,
            if inner.config.public_url.is_some() { ", or its public URL" } else { "" }
        ),
    )
}

/// Serves one request and writes its request-log line.
async fn handle(
    inner: Arc<Inner>,
    req: Request<Incoming>,
    fd: RawFd,
    shutdown: watch::Receiver<bool>,
) -> Result<Response<Full<Bytes>>, DropConnection> {
    let started = Instant::now();
    let logged = inner.request_log.is_some().then(|| {
        let header = |n: &str| {
            req.headers()
                .get(n)
                .and_then(|v| v.to_str().ok())
                .map(String::from)
        };
        (
            req.method().to_string(),
            req.uri().path().to_string(),
            req.uri().query().map(String::from),
            header("x-ms-client-request-id"),
        )
    });
    let (kind, result) = respond(&inner, req, fd, shutdown).await;
    if let (Some(log), Some((method, path, query, client_request_id))) =
        (&inner.request_log, logged)
    {
        log.write(&Entry {
            method: &method,
            path: &path,
            query: query.as_deref(),
            status: result.as_ref().map(|r| r.status().as_u16()).unwrap_or(0),
            kind,
            started,
            client_request_id: client_request_id.as_deref(),
        });
    }
    result
}

/// The answer to one request and its kind (the operation name) for the request log.
async fn respond(
    inner: &Arc<Inner>,
    req: Request<Incoming>,
    fd: RawFd,
    shutdown: watch::Receiver<bool>,
) -> (&'static str, Result<Response<Full<Bytes>>, DropConnection>) {
    let host = req
        .headers()
        .get(hyper::header::HOST)
        .and_then(|v| v.to_str().ok());
    let Some(base) = inner.origins.base_for(host) else {
        return ("Misdirected", Ok(to_hyper(misdirected(inner))));
    };
    let segs: Vec<String> = req
        .uri()
        .path()
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect();
    let route = Route::parse(&segs);
    let kind = route.operation(req.method()).unwrap_or("Unknown");
    if let Route::EmuStream { session } = &route {
        return (
            kind,
            Ok(to_hyper(ws::upgrade(inner, req, session, shutdown))),
        );
    }
    let (parts, body) = req.into_parts();
    let body = match Limited::new(body, MAX_BODY).collect().await {
        Ok(c) => c.to_bytes(),
        Err(_) => {
            let too_large = arm_error(
                413,
                "RequestEntityTooLarge",
                "The request body is too large.",
            );
            return (kind, Ok(to_hyper(too_large)));
        }
    };
    let r = Req::new(parts.method, parts.uri.query(), parts.headers, body).with_base(base);
    match pipeline(inner, &r, &route).await {
        Some(resp) => (kind, Ok(to_hyper(resp))),
        None => {
            set_linger_zero(fd);
            (kind, Err(DropConnection))
        }
    }
}

/// Serves one request; `None` means "reset the connection".
pub(crate) async fn pipeline(inner: &Arc<Inner>, req: &Req, route: &Route) -> Option<Resp> {
    if route.is_control() {
        return Some(control(inner, req, route).await);
    }
    let op_name = route.operation(&req.method).unwrap_or("Unknown");
    if inner.restarts.is_down() {
        inner.stats_recorder().record(op_name, 0);
        return None;
    }
    let kind = OpKind::of(&req.method);
    if route.is_discovery() && route.operation(&req.method).is_some() {
        let resp = discover(inner, req, route);
        inner.stats_recorder().record(op_name, resp.status);
        return Some(resp);
    }
    let (latency, action) = {
        let mut f = inner.faults();
        let faultable = route.is_arm() || (route.is_auth() && f.faults.include_auth);
        if faultable {
            (f.latency(), f.next())
        } else {
            (None, None)
        }
    };
    if let Some(l) = latency {
        tokio::time::sleep(l).await;
    }
    let mut resp = match action {
        Some(FaultAction::Reset) => {
            inner.stats_recorder().record(op_name, 0);
            return None;
        }
        Some(FaultAction::Throttle { retry_after }) => Some(throttled(route, kind, retry_after)),
        Some(FaultAction::Error { status }) => Some(if route.is_auth() {
            aad_error(
                status,
                "temporarily_unavailable",
                50001,
                "The service is temporarily unavailable.",
            )
        } else {
            let (code, message) = server_error(status);
            arm_error(status, code, message)
        }),
        None => None,
    };
    let mut remaining = None;
    if route.is_arm() {
        let enforce = inner.faults().faults.enforce_rate_limits;
        match inner.limits().take(kind, enforce) {
            Ok(n) => remaining = Some(n),
            Err(wait) => {
                remaining = Some(0);
                resp = resp.or_else(|| {
                    Some(throttled(
                        route,
                        kind,
                        wait.as_secs_f64().ceil().max(1.0) as u64,
                    ))
                });
            }
        }
    }
    let mut resp = match resp {
        Some(r) => r,
        None => dispatch(inner, req, route).await,
    };
    if route.is_arm() {
        add_arm_headers(&mut resp, req, kind, remaining.unwrap_or(0));
    }
    inner.stats_recorder().record(op_name, resp.status);
    Some(resp)
}

fn throttled(route: &Route, kind: OpKind, retry_after: u64) -> Resp {
    let resp = if route.is_auth() {
        aad_error(
            429,
            "temporarily_unavailable",
            50196,
            "The server is throttling requests; retry later.",
        )
    } else {
        let window = match kind {
            OpKind::Read => "Read",
            OpKind::Write => "Write",
            OpKind::Delete => "Delete",
        };
        arm_error(
            429,
            "TooManyRequests",
            format!("The request is being throttled as the limit has been reached for operation type - '{window}_ObservationWindow_00:05:00'. For more information, see - https://aka.ms/srpthrottlinglimits"),
        )
    };
    resp.with_header("retry-after", retry_after.to_string())
}

fn add_arm_headers(resp: &mut Resp, req: &Req, kind: OpKind, remaining: u64) {
    let request_id = uuid::Uuid::new_v4().to_string();
    if resp.header("x-ms-request-id").is_none() {
        resp.set_header("x-ms-request-id", request_id.clone());
    }
    let correlation = req
        .header("x-ms-correlation-request-id")
        .map(String::from)
        .unwrap_or_else(|| request_id.clone());
    resp.set_header("x-ms-correlation-request-id", correlation);
    if let Some(c) = req.header("x-ms-client-request-id") {
        resp.set_header("x-ms-client-request-id", c.to_string());
    }
    resp.set_header(
        "x-ms-routing-request-id",
        format!(
            "LOCAL:{}:{request_id}",
            chrono::Utc::now().format("%Y%m%dT%H%M%SZ")
        ),
    );
    let k = kind.plural();
    resp.set_header(
        &format!("x-ms-ratelimit-remaining-subscription-{k}"),
        remaining.to_string(),
    );
    resp.set_header(
        &format!("x-ms-ratelimit-remaining-subscription-global-{k}"),
        ((remaining + 1) * GLOBAL_FACTOR - 1).to_string(),
    );
    resp.set_header("cache-control", "no-cache");
    resp.set_header("pragma", "no-cache");
    resp.set_header("expires", "-1");
    resp.set_header("x-content-type-options", "nosniff");
}

/// `YYYY-MM-DD` or `YYYY-MM-DD-preview`.
pub(crate) fn valid_api_version(v: &str) -> bool {
    let date = v.strip_suffix("-preview").unwrap_or(v);
    let b = date.as_bytes();
    b.len() == 10
        && b.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        })
        && (1..=12).contains(&date[5..7].parse::<u32>().unwrap_or(0))
        && (1..=31).contains(&date[8..10].parse::<u32>().unwrap_or(0))
}

/// The Entra ID discovery documents and the cloud's metadata (never faulted).
fn discover(inner: &Inner, req: &Req, route: &Route) -> Resp {
    let base = req.base(inner);
    match route {
        Route::OpenIdConfig { tenant, v2 } => {
            discovery::openid_configuration(inner, base, tenant, *v2)
        }
        Route::InstanceDiscovery { tenant } => discovery::instance_discovery(inner, base, tenant),
        Route::DiscoveryKeys { tenant } => discovery::keys(inner, tenant),
        Route::CloudMetadata => subscriptions::cloud_metadata(req, base),
        _ => arm_error(
            404,
            "NotFound",
            "No HTTP resource was found that matches the request URI.",
        ),
    }
}

async fn dispatch(inner: &Arc<Inner>, req: &Req, route: &Route) -> Resp {
    if route.operation(&req.method).is_none() {
        return if *route == Route::Unknown {
            arm_error(
                404,
                "NotFound",
                "No HTTP resource was found that matches the request URI.",
            )
        } else {
            arm_error(
                405,
                "MethodNotAllowed",
                format!(
                    "The requested resource does not support http method '{}'.",
                    req.method
                ),
            )
        };
    }
    match route {
        Route::Token { tenant } => return auth::token_endpoint(inner, req, tenant),
        Route::Imds => return auth::imds(inner, req),
        _ => {}
    }
    if let Err(e) = inner.tokens().check(req.header("authorization")) {
        return auth::unauthorized(req.base(inner), e);
    }
    match req.query("api-version") {
        None | Some("") => {
            return arm_error(400, "MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required for all requests.")
        }
        Some(v) if !valid_api_version(v) => {
            return arm_error(
                400,
                "InvalidApiVersionParameter",
                format!("The api-version '{v}' is invalid. The supported versions are '2026-07-01,2025-09-01,2023-05-01,2022-09-01,2021-10-01,2021-09-01,2021-07-01,2021-03-01,2020-11-01,2019-12-01,2018-10-01,2018-06-01'."),
            )
        }
        Some(_) => {}
    }
    match route {
        Route::ListAll { sub } => arm::list(inner, req, sub, None),
        Route::ListByRg { sub, rg } => arm::list(inner, req, sub, Some(rg)),
        Route::Group(g) => arm::group(inner, req, g).await,
        Route::GroupAction(g, a) => arm::action(inner, req, g, *a).await,
        Route::OutboundDeps(g) => arm::outbound(inner, g),
        Route::Container(g, c, op) => containers::handle(inner, req, g, c, *op),
        Route::Location {
            sub,
            location,
            list,
        } => locations::location(inner, sub, location, *list),
        Route::OperationStatus { id, .. } => locations::operation_status(inner, id),
        Route::OperationResult { id, .. } => {
            locations::operation_result(inner, req.base(inner), id)
        }
        Route::OperationsList => locations::operations_list(),
        Route::AcrCredentials { rg, registry, .. } => helpers::acr_credentials(inner, rg, registry),
        Route::Subscriptions => subscriptions::list_subscriptions(),
        Route::Subscription { sub } => subscriptions::get_subscription(sub),
        Route::Tenants => subscriptions::list_tenants(),
        Route::ResourceGroup { sub, rg } => subscriptions::get_resource_group(inner, sub, rg),
        Route::StorageKeys { rg, account, .. } => helpers::storage_keys(inner, rg, account),
        _ => arm_error(
            404,
            "NotFound",
            "No HTTP resource was found that matches the request URI.",
        ),
    }
}

/// True when the request carries `Authorization: Bearer <client secret>`.
fn has_control_secret(inner: &Inner, req: &Req) -> bool {
    req.header("authorization")
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .is_some_and(|s| secret_matches(s.trim(), &inner.config.client_secret))
}

async fn control(inner: &Arc<Inner>, req: &Req, route: &Route) -> Resp {
    if !has_control_secret(inner, req) {
        return arm_error(
            401,
            "AuthenticationFailed",
            "The emulator's control routes need 'Authorization: Bearer <client secret>' (the client_secret the emulator printed).",
        )
        .with_header("www-authenticate", "Bearer realm=\"aci-emulator\"");
    }
    match (route, &req.method) {
        (Route::EmuStats, &Method::GET) => Resp::json(
            200,
            &serde_json::to_value(inner.stats()).unwrap_or(json!({})),
        ),
        (Route::EmuReset, &Method::POST) => {
            reset_async(inner).await;
            Resp::json(200, &json!({"reset": true}))
        }
        _ => arm_error(
            405,
            "MethodNotAllowed",
            format!(
                "The requested resource does not support http method '{}'.",
                req.method
            ),
        ),
    }
}

/// Resets the emulator, killing and reaping its processes.
pub(crate) async fn reset_async(inner: &Arc<Inner>) {
    let procs = inner.reset();
    let grace = inner.config.kill_grace;
    let mut set = tokio::task::JoinSet::new();
    for p in procs {
        set.spawn(async move { p.terminate(grace).await });
    }
    while set.join_next().await.is_some() {}
    let inner = inner.clone();
    let _ = tokio::task::spawn_blocking(move || inner.clean_root_dir(true)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_versions() {
        for ok in [
            "2023-05-01",
            "2026-07-01",
            "2024-11-01-preview",
            "2018-06-01",
        ] {
            assert!(valid_api_version(ok), "{ok}");
        }
        for bad in [
            "",
            "2023-5-01",
            "2023-13-01",
            "2023-05-01-beta",
            "latest",
            "2023-05-01x",
            "2023/05/01",
        ] {
            assert!(!valid_api_version(bad), "{bad}");
        }
    }
}
