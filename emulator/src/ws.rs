//! Local WebSockets for `attach` and `exec` (RFC 6455, server side, no extensions).
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
use hyper::body::Incoming;
use hyper::Request;
use hyper_util::rt::TokioIo;
use sha1::{Digest, Sha1};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{broadcast, mpsc, watch};

use super::containers::{StreamKind, StreamSession, SESSION_TTL};
use super::http::{arm_error, Resp};
use super::lifecycle::{container_env, container_workdir};
use super::logs::{LogBuffer, LogLine};
use super::process::{spawn_with_stdin, ProcHandle, SpawnSpec};
use super::state::Inner;

const WS_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
/// Largest accepted client frame.
const MAX_FRAME: u64 = 1024 * 1024;
/// How long exec waits for the password frame.
const PASSWORD_TIMEOUT: Duration = Duration::from_secs(30);

/// WebSocket opcodes used here.
pub(crate) const OP_CONT: u8 = 0x0;
/// Text frame.
pub(crate) const OP_TEXT: u8 = 0x1;
/// Binary frame.
#[cfg(test)]
pub(crate) const OP_BINARY: u8 = 0x2;
/// Close frame.
pub(crate) const OP_CLOSE: u8 = 0x8;
/// Ping frame.
pub(crate) const OP_PING: u8 = 0x9;
/// Pong frame.
pub(crate) const OP_PONG: u8 = 0xA;

/// `Sec-WebSocket-Accept` for a key.
pub(crate) fn accept_key(key: &str) -> String {
    let mut h = Sha1::new();
    h.update(key.trim().as_bytes());
    h.update(WS_GUID.as_bytes());
    STANDARD.encode(h.finalize())
}

/// Encodes one unmasked (server) frame with FIN set.
pub(crate) fn encode_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 10);
    out.push(0x80 | opcode);
    let n = payload.len();
    if n < 126 {
        out.push(n as u8);
    } else if n <= u16::MAX as usize {
        out.push(126);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        out.push(127);
        out.extend_from_slice(&(n as u64).to_be_bytes());
    }
    out.extend_from_slice(payload);
    out
}

/// Reads one frame: `(fin, opcode, payload)` (unmasked).
pub(crate) async fn read_frame<R: AsyncRead + Unpin>(
    r: &mut R,
) -> std::io::Result<(bool, u8, Vec<u8>)> {
    let mut h = [0u8; 2];
    r.read_exact(&mut h).await?;
    let fin = h[0] & 0x80 != 0;
    let opcode = h[0] & 0x0f;
    let masked = h[1] & 0x80 != 0;
    let mut len = (h[1] & 0x7f) as u64;
    if len == 126 {
        let mut b = [0u8; 2];
        r.read_exact(&mut b).await?;
        len = u16::from_be_bytes(b) as u64;
    } else if len == 127 {
        let mut b = [0u8; 8];
        r.read_exact(&mut b).await?;
        len = u64::from_be_bytes(b);
    }
    if len > MAX_FRAME {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "frame too large",
        ));
    }
    let mut mask = [0u8; 4];
    if masked {
        r.read_exact(&mut mask).await?;
    }
    let mut payload = vec![0u8; len as usize];
    r.read_exact(&mut payload).await?;
    if masked {
        for (i, b) in payload.iter_mut().enumerate() {
            *b ^= mask[i % 4];
        }
    }
    Ok((fin, opcode, payload))
}

/// A complete client message.
#[derive(Debug)]
enum Msg {
    Data(Vec<u8>),
    Ping(Vec<u8>),
    Close,
}

/// Reads client frames, reassembling fragments, until close or error.
fn spawn_reader<R: AsyncRead + Unpin + Send + 'static>(mut rd: R) -> mpsc::Receiver<Msg> {
    let (tx, rx) = mpsc::channel(64);
    tokio::spawn(async move {
        let mut partial: Option<(u8, Vec<u8>)> = None;
        loop {
            let Ok((fin, op, payload)) = read_frame(&mut rd).await else {
                let _ = tx.send(Msg::Close).await;
                return;
            };
            let msg = match op {
                OP_CLOSE => {
                    let _ = tx.send(Msg::Close).await;
                    return;
                }
                OP_PING => Some(Msg::Ping(payload)),
                OP_PONG => None,
                OP_CONT => match partial.as_mut() {
                    Some((_, buf)) => {
                        buf.extend_from_slice(&payload);
                        if fin {
                            partial.take().map(|(_, b)| Msg::Data(b))
                        } else {
                            None
                        }
                    }
                    None => None,
                },
                _ if fin => Some(Msg::Data(payload)),
                o => {
                    partial = Some((o, payload));
                    None
                }
            };
            if let Some(m) = msg {
                if tx.send(m).await.is_err() {
                    return;
                }
            }
        }
    });
    rx
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
        let io = TokioIo::new(upgraded);
        match session.kind.clone() {
            StreamKind::Attach => attach(inner, io, session, shutdown).await,
            StreamKind::Exec { command } => exec(inner, io, session, command, shutdown).await,
        }
    });
    Resp::empty(101)
        .with_header("upgrade", "websocket")
        .with_header("connection", "Upgrade")
        .with_header("sec-websocket-accept", accept_key(&key))
}

async fn send<W: AsyncWrite + Unpin>(w: &mut W, op: u8, payload: &[u8]) -> bool {
    w.write_all(&encode_frame(op, payload)).await.is_ok() && w.flush().await.is_ok()
}

async fn close<W: AsyncWrite + Unpin>(w: &mut W, code: u16) {
    let _ = send(w, OP_CLOSE, &code.to_be_bytes()).await;
    let _ = w.shutdown().await;
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
async fn pump<W: AsyncWrite + Unpin>(
    wr: &mut W,
    rx: &mut broadcast::Receiver<LogLine>,
    msgs: &mut mpsc::Receiver<Msg>,
    proc: &Option<ProcHandle>,
    shutdown: &mut watch::Receiver<bool>,
    mut on_input: impl FnMut(Vec<u8>),
) {
    enum Ev {
        Line(Result<LogLine, broadcast::error::RecvError>),
        Input(Option<Msg>),
        Exited,
        Stop,
    }
    loop {
        let ev = tokio::select! {
            l = rx.recv() => Ev::Line(l),
            m = msgs.recv() => Ev::Input(m),
            _ = exited(proc) => Ev::Exited,
            _ = shutdown.wait_for(|s| *s) => Ev::Stop,
        };
        match ev {
            Ev::Line(Ok(l)) => {
                if !send(wr, OP_TEXT, format!("{}\n", l.text).as_bytes()).await {
                    return;
                }
            }
            Ev::Line(Err(broadcast::error::RecvError::Lagged(_))) => continue,
            Ev::Line(Err(broadcast::error::RecvError::Closed)) => return,
            Ev::Input(Some(Msg::Data(data))) => on_input(data),
            Ev::Input(Some(Msg::Ping(p))) => {
                if !send(wr, OP_PONG, &p).await {
                    return;
                }
            }
            Ev::Input(Some(Msg::Close) | None) | Ev::Stop => return,
            Ev::Exited => {
                // The output was drained before the exit was published: flush what is queued.
                while let Ok(l) = rx.try_recv() {
                    if !send(wr, OP_TEXT, format!("{}\n", l.text).as_bytes()).await {
                        return;
                    }
                }
                return;
            }
        }
    }
}

async fn attach<S: AsyncRead + AsyncWrite + Send + 'static>(
    inner: Arc<Inner>,
    io: S,
    s: StreamSession,
    mut shutdown: watch::Receiver<bool>,
) {
    let (rd, mut wr) = tokio::io::split(io);
    let mut msgs = spawn_reader(rd);
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
        close(&mut wr, 1011).await;
        return;
    };
    if !backlog.is_empty() && !send(&mut wr, OP_TEXT, backlog.as_bytes()).await {
        return;
    }
    if proc.is_some() {
        pump(&mut wr, &mut rx, &mut msgs, &proc, &mut shutdown, |_| {}).await;
    }
    close(&mut wr, 1000).await;
}

async fn exec<S: AsyncRead + AsyncWrite + Send + 'static>(
    inner: Arc<Inner>,
    io: S,
    s: StreamSession,
    command: String,
    mut shutdown: watch::Receiver<bool>,
) {
    let (rd, mut wr) = tokio::io::split(io);
    let mut msgs = spawn_reader(rd);
    let password_ok = match tokio::time::timeout(PASSWORD_TIMEOUT, msgs.recv()).await {
        Ok(Some(Msg::Data(p))) => p == s.password.as_bytes(),
        _ => false,
    };
    if !password_ok {
        close(&mut wr, 1008).await;
        return;
    }
    let sink = LogBuffer::sink(inner.config.max_log_lines);
    let mut rx = sink.lock().unwrap_or_else(|e| e.into_inner()).subscribe();
    let started = {
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
    };
    let (proc, stdin) = match started {
        Ok(x) => x,
        Err(msg) => {
            let _ = send(&mut wr, OP_TEXT, format!("emulator: {msg}\n").as_bytes()).await;
            close(&mut wr, 1011).await;
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
    pump(
        &mut wr,
        &mut rx,
        &mut msgs,
        &handle,
        &mut shutdown,
        |data| {
            let _ = in_tx.send(data);
        },
    )
    .await;
    drop(in_tx);
    proc.terminate(inner.config.kill_grace).await;
    close(&mut wr, 1000).await;
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

    #[tokio::test]
    async fn frames_round_trip() {
        for n in [0usize, 5, 125, 126, 70_000] {
            let payload: Vec<u8> = (0..n).map(|i| i as u8).collect();
            let enc = encode_frame(OP_BINARY, &payload);
            let (fin, op, got) = read_frame(&mut enc.as_slice()).await.unwrap();
            assert!(fin);
            assert_eq!(op, OP_BINARY);
            assert_eq!(got, payload);
        }
        // A masked client frame.
        let mask = [1u8, 2, 3, 4];
        let data = b"hello";
        let mut f = vec![0x81, 0x80 | data.len() as u8];
        f.extend_from_slice(&mask);
        f.extend(data.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        let (_, op, got) = read_frame(&mut f.as_slice()).await.unwrap();
        assert_eq!((op, got.as_slice()), (OP_TEXT, &data[..]));
    }
}
