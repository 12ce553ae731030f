//! Local WebSockets for `attach` and `exec`: hyper answers the upgrade, `tokio-tungstenite`
//! speaks RFC 6455 (server side, no extensions) on the upgraded connection.
//!
//! * attach: connect to the `webSocketUri` with the password as the `Authorization` header
//!   value (`Bearer <password>` is accepted too); the server sends the container's log so far
//!   and then every new line as text frames, and closes when the container process ends.
//! * exec: connect, send the password as the first text frame; the command (split on
//!   whitespace; no shell) runs in the container's working directory with its environment;
//!   binary or text frames go to its stdin, its stdout/stderr come back as text frames (line
//!   by line); the server closes when the command ends.
//!
//! Sessions are single-use and expire after five minutes.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use futures_util::{SinkExt, StreamExt};
use hyper::body::Incoming;
use hyper::upgrade::Upgraded;
use hyper::Request;
use hyper_util::rt::TokioIo;
use sha1::{Digest, Sha1};
use tokio::sync::{broadcast, watch};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use super::containers::{StreamKind, StreamSession, SESSION_TTL};
use super::http::{arm_error, Resp};
use super::lifecycle::{container_env, container_workdir};
use super::logs::{LogBuffer, LogLine, LogSink};
use super::process::{spawn_with_stdin, ProcHandle, SpawnSpec};
use super::state::Inner;

const WS_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
/// Largest accepted client frame.
const MAX_FRAME: usize = 1024 * 1024;
/// How long exec waits for the password frame.
const PASSWORD_TIMEOUT: Duration = Duration::from_secs(30);

/// `Sec-WebSocket-Accept` for a key (RFC 6455, section 4.2.2).
fn accept_key(key: &str) -> String {
    let mut h = Sha1::new();
    h.update(key.trim().as_bytes());
    h.update(WS_GUID.as_bytes());
    STANDARD.encode(h.finalize())
}

/// A server-side WebSocket on hyper's upgraded connection.
type Ws = WebSocketStream<TokioIo<Upgraded>>;

/// The next text or binary message from the client (fragments reassembled; pings are
/// answered by the protocol layer); `None` once the client closed or the connection failed.
async fn next_data(ws: &mut Ws) -> Option<Vec<u8>> {
    loop {
        match ws.next().await? {
            Ok(Message::Text(t)) => return Some(t.as_bytes().to_vec()),
            Ok(Message::Binary(b)) => return Some(b.to_vec()),
            Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_)) => continue,
            Ok(Message::Close(_)) | Err(_) => return None,
        }
    }
}

/// Answers the upgrade request of a stream session.
pub(crate) fn upgrade(
    inner: &Arc<Inner>,
    mut req: Request<Incoming>,
    session_id: &str,
    shutdown: watch::Receiver<bool>,
) -> Resp {
    let session = {
        let mut w = inner.world();
        w.sessions.retain(|_, s| s.created.elapsed() < SESSION_TTL);
        w.sessions.get(session_id).cloned()
    };
    let Some(session) = session else {
        return arm_error(404, "NotFound", "Unknown or expired stream session.");
    };
    let header = |n: &str| {
        req.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    if !header("upgrade").is_some_and(|u| u.eq_ignore_ascii_case("websocket")) {
        return arm_error(400, "BadRequest", "A WebSocket upgrade is required.");
    }
    let Some(key) = header("sec-websocket-key") else {
        return arm_error(400, "BadRequest", "Missing Sec-WebSocket-Key.");
    };
    if session.kind == StreamKind::Attach {
        let auth = header("authorization").unwrap_or_default();
        let given = auth.strip_prefix("Bearer ").unwrap_or(&auth);
        if given != session.password {
            return arm_error(
                401,
                "Unauthorized",
                "The attach password must be sent as the Authorization header.",
            );
        }
    }
    inner.world().sessions.remove(session_id);
    let on_upgrade = hyper::upgrade::on(&mut req);
    let inner = inner.clone();
    tokio::spawn(async move {
        let Ok(upgraded) = on_upgrade.await else {
            return;
        };
        // Lenient like the hand-written server it replaced: unmasked client frames are accepted.
        let config = WebSocketConfig::default()
            .max_frame_size(Some(MAX_FRAME))
            .accept_unmasked_frames(true);
        let ws =
            WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, Some(config))
                .await;
        match session.kind.clone() {
            StreamKind::Attach => attach(inner, ws, session, shutdown).await,
            StreamKind::Exec { command } => exec(inner, ws, session, command, shutdown).await,
        }
    });
    Resp::empty(101)
        .with_header("upgrade", "websocket")
        .with_header("connection", "Upgrade")
        .with_header("sec-websocket-accept", accept_key(&key))
}

/// Sends one text message; false once the client is gone.
async fn send_text(ws: &mut Ws, text: String) -> bool {
    ws.send(Message::text(text)).await.is_ok()
}

/// Sends a close frame with `code` and drops the connection without waiting for the reply.
async fn close(mut ws: Ws, code: u16) {
    let frame = CloseFrame {
        code: CloseCode::from(code),
        reason: "".into(),
    };
    let _ = ws.close(Some(frame)).await;
}

async fn exited(p: &Option<ProcHandle>) {
    match p {
        Some(p) => {
            p.wait().await;
        }
        None => std::future::pending::<()>().await,
    }
}

/// Forwards live log lines until the process ends, the client leaves or the emulator stops.
async fn pump(
    ws: &mut Ws,
    rx: &mut broadcast::Receiver<LogLine>,
    proc: &Option<ProcHandle>,
    shutdown: &mut watch::Receiver<bool>,
    mut on_input: impl FnMut(Vec<u8>),
) {
    enum Ev {
        Line(Result<LogLine, broadcast::error::RecvError>),
        Input(Option<Vec<u8>>),
        Exited,
        Stop,
    }
    loop {
        let ev = tokio::select! {
            l = rx.recv() => Ev::Line(l),
            m = next_data(ws) => Ev::Input(m),
            _ = exited(proc) => Ev::Exited,
            _ = shutdown.wait_for(|s| *s) => Ev::Stop,
        };
        match ev {
            Ev::Line(Ok(l)) => {
                if !send_text(ws, format!("{}\n", l.text)).await {
                    return;
                }
            }
            Ev::Line(Err(broadcast::error::RecvError::Lagged(_))) => continue,
            Ev::Line(Err(broadcast::error::RecvError::Closed)) => return,
            Ev::Input(Some(data)) => on_input(data),
            Ev::Input(None) | Ev::Stop => return,
            Ev::Exited => {
                // The output was drained before the exit was published: flush what is queued.
                while let Ok(l) = rx.try_recv() {
                    if !send_text(ws, format!("{}\n", l.text)).await {
                        return;
                    }
                }
                return;
            }
        }
    }
}

async fn attach(
    inner: Arc<Inner>,
    mut ws: Ws,
    s: StreamSession,
    mut shutdown: watch::Receiver<bool>,
) {
    let found = {
        let w = inner.world();
        w.groups
            .get(&s.key)
            .and_then(|g| g.containers.iter().find(|c| c.spec.name == s.container))
            .map(|c| {
                let log = c.log.lock().unwrap_or_else(|e| e.into_inner());
                (log.render(None, false), log.subscribe(), c.proc.clone())
            })
    };
    let Some((backlog, mut rx, proc)) = found else {
        close(ws, 1011).await;
        return;
    };
    if !backlog.is_empty() && !send_text(&mut ws, backlog).await {
        return;
    }
    if proc.is_some() {
        pump(&mut ws, &mut rx, &proc, &mut shutdown, |_| {}).await;
    }
    close(ws, 1000).await;
}

/// Starts `command` in the container's directory and environment; the process and its stdin.
fn start_exec(
    inner: &Inner,
    s: &StreamSession,
    command: &str,
    sink: &LogSink,
) -> Result<(ProcHandle, std::process::ChildStdin), String> {
    let mut w = inner.world();
    let spec = w.groups.get(&s.key).and_then(|g| {
        let idx = g
            .containers
            .iter()
            .position(|c| c.spec.name == s.container)?;
        let workdir = container_workdir(g, false, idx);
        let env = container_env(g, &g.containers[idx], &workdir);
        Some(SpawnSpec {
            argv: command.split_whitespace().map(String::from).collect(),
            env,
            workdir,
        })
    });
    match spec {
        _ if w.shutting_down => Err("the emulator is shutting down".to_string()),
        None => Err("the container no longer exists".to_string()),
        Some(spec) => match spawn_with_stdin(&spec, sink.clone()) {
            Ok((h, stdin)) => {
                w.register(h.clone());
                Ok((h, stdin))
            }
            Err(e) => Err(format!("cannot start {command:?}: {e}")),
        },
    }
}

async fn exec(
    inner: Arc<Inner>,
    mut ws: Ws,
    s: StreamSession,
    command: String,
    mut shutdown: watch::Receiver<bool>,
) {
    let password_ok = match tokio::time::timeout(PASSWORD_TIMEOUT, next_data(&mut ws)).await {
        Ok(Some(p)) => p == s.password.as_bytes(),
        _ => false,
    };
    if !password_ok {
        close(ws, 1008).await;
        return;
    }
    let sink = LogBuffer::sink(inner.log_settings());
    let mut rx = sink.lock().unwrap_or_else(|e| e.into_inner()).subscribe();
    let (proc, stdin) = match start_exec(&inner, &s, &command, &sink) {
        Ok(x) => x,
        Err(msg) => {
            let _ = send_text(&mut ws, format!("emulator: {msg}\n")).await;
            close(ws, 1011).await;
            return;
        }
    };
    // Stdin writes may block: a small thread owns the pipe.
    let (in_tx, in_rx) = std::sync::mpsc::channel::<Vec<u8>>();
    let _ = std::thread::Builder::new()
        .name("emu-exec-stdin".into())
        .spawn(move || {
            let mut stdin = stdin;
            while let Ok(data) = in_rx.recv() {
                if stdin.write_all(&data).and_then(|_| stdin.flush()).is_err() {
                    break;
                }
            }
        });
    let handle = Some(proc.clone());
    pump(&mut ws, &mut rx, &handle, &mut shutdown, |data| {
        let _ = in_tx.send(data);
    })
    .await;
    drop(in_tx);
    proc.terminate(inner.config.kill_grace).await;
    close(ws, 1000).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_key_matches_rfc_example() {
        assert_eq!(
            accept_key("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }
}
