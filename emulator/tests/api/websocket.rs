//! Exec and attach over WebSockets, with a raw RFC 6455 client.

use crate::common::*;

async fn ws_connect(uri: &str, auth: Option<&str>) -> TcpStream {
    let u = url::Url::parse(uri).unwrap();
    let host = format!("{}:{}", u.host_str().unwrap(), u.port().unwrap());
    let mut s = TcpStream::connect(&host).await.unwrap();
    let mut target = u.path().to_string();
    if let Some(q) = u.query() {
        target = format!("{target}?{q}");
    }
    let mut req = format!(
        "GET {target} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
    );
    if let Some(a) = auth {
        req.push_str(&format!("Authorization: {a}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut b).await.unwrap();
        head.push(b[0]);
    }
    let head = String::from_utf8_lossy(&head).to_string();
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("sec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo="),
        "{head}"
    );
    s
}

async fn ws_send(s: &mut TcpStream, opcode: u8, payload: &[u8]) {
    ws_send_frame(s, true, opcode, payload).await;
}

/// Sends one masked client frame (`fin` false starts or continues a fragmented message).
async fn ws_send_frame(s: &mut TcpStream, fin: bool, opcode: u8, payload: &[u8]) {
    let mask = [7u8, 1, 9, 3];
    let mut f = vec![if fin { 0x80 } else { 0 } | opcode];
    assert!(payload.len() < 126);
    f.push(0x80 | payload.len() as u8);
    f.extend_from_slice(&mask);
    f.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    s.write_all(&f).await.unwrap();
}

/// Reads one server frame: `(opcode, payload)`, `None` at end of stream.
async fn ws_read_frame(s: &mut TcpStream) -> Option<(u8, Vec<u8>)> {
    let mut h = [0u8; 2];
    s.read_exact(&mut h).await.ok()?;
    let op = h[0] & 0x0f;
    let mut len = (h[1] & 0x7f) as usize;
    if len == 126 {
        let mut b = [0u8; 2];
        s.read_exact(&mut b).await.unwrap();
        len = u16::from_be_bytes(b) as usize;
    } else if len == 127 {
        let mut b = [0u8; 8];
        s.read_exact(&mut b).await.unwrap();
        len = u64::from_be_bytes(b) as usize;
    }
    let mut p = vec![0u8; len];
    s.read_exact(&mut p).await.unwrap();
    Some((op, p))
}

/// Reads text frames until close; returns the text.
async fn ws_read_all(s: &mut TcpStream) -> String {
    let mut text = String::new();
    let read = async {
        while let Some((op, p)) = ws_read_frame(s).await {
            match op {
                0x1 | 0x2 => text.push_str(&String::from_utf8_lossy(&p)),
                0x8 => return,
                _ => {}
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(20), read)
        .await
        .expect("websocket closed in time");
    text
}

#[tokio::test]
async fn attach_and_exec_over_websocket() {
    let emu = Emulator::start(config()).await.unwrap();
    let arm = Arm::new(&emu).await;
    let path = cg("rg", "ws");
    // Prints a line, waits for a file to appear (created by exec), prints another, exits.
    let script = "echo hello-attach; i=0; while [ ! -f go ] && [ $i -lt 1000 ]; do sleep 0.02; i=$((i+1)); done; echo after-exec";
    assert_eq!(
        arm.put(&path, &job(&["sh", "-c", script], "Never"))
            .await
            .status,
        201
    );
    arm.wait_for(&path, "running", |v| state(v) == "Running")
        .await;
    wait_log_line(&arm, &path, "hello-").await;

    let a = arm.post(&format!("{path}/containers/job/attach")).await;
    assert_eq!(a.status, 200);
    let a = a.json();
    let (uri, pw) = (
        a["webSocketUri"].as_str().unwrap().to_string(),
        a["password"].as_str().unwrap().to_string(),
    );
    assert!(uri.starts_with("ws://127.0.0.1:"));
    let mut attach = ws_connect(&uri, Some(&pw)).await;

    let e = arm
        .call(
            "POST",
            &format!("{path}/containers/job/exec"),
            Some(&json!({"command": "touch go", "terminalSize": {"rows": 24, "cols": 80}})),
        )
        .await;
    assert_eq!(e.status, 200, "{}", e.text());
    let e = e.json();
    let mut exec = ws_connect(e["webSocketUri"].as_str().unwrap(), None).await;
    ws_send(&mut exec, 0x1, e["password"].as_str().unwrap().as_bytes()).await;
    ws_read_all(&mut exec).await;

    let streamed = ws_read_all(&mut attach).await;
    assert!(streamed.contains("hello-attach\n"), "{streamed:?}");
    assert!(streamed.contains("after-exec\n"), "{streamed:?}");
    arm.wait_for(&path, "job done", |v| state(v) == "Succeeded")
        .await;

    // A wrong attach password is refused; sessions are single-use.
    let r = request(
        &uri.replace("ws://", "http://"),
        "GET",
        &[("upgrade", "websocket"), ("sec-websocket-key", "x")],
        None,
    )
    .await
    .unwrap();
    assert_eq!(r.status, 404);
    // exec/attach on a finished container are refused.
    assert_eq!(
        arm.post(&format!("{path}/containers/job/attach"))
            .await
            .code(),
        "ContainerNotRunning"
    );
    emu.shutdown().await;
}

/// Exec: a password sent in fragments, a ping answered with a pong, binary frames to stdin.
#[tokio::test]
async fn exec_reassembles_fragments_answers_pings_and_feeds_stdin() {
    let emu = Emulator::start(config()).await.unwrap();
    let arm = Arm::new(&emu).await;
    let path = cg("rg", "ws-stdin");
    let body = job(&["sh", "-c", "echo ready; exec sleep 300"], "Never");
    assert_eq!(arm.put(&path, &body).await.status, 201);
    wait_log_line(&arm, &path, "ready").await;
    let e = arm
        .call(
            "POST",
            &format!("{path}/containers/job/exec"),
            Some(&json!({"command": "head -n 1", "terminalSize": {"rows": 24, "cols": 80}})),
        )
        .await;
    assert_eq!(e.status, 200, "{}", e.text());
    let e = e.json();
    let password = e["password"].as_str().unwrap().as_bytes();
    let mut exec = ws_connect(e["webSocketUri"].as_str().unwrap(), None).await;
    let (first, rest) = password.split_at(password.len() / 2);
    ws_send_frame(&mut exec, false, 0x1, first).await;
    ws_send_frame(&mut exec, true, 0x0, rest).await;
    ws_send(&mut exec, 0x9, b"are you there").await;
    let pong = tokio::time::timeout(Duration::from_secs(20), ws_read_frame(&mut exec))
        .await
        .expect("a pong in time");
    assert_eq!(pong, Some((0xA, b"are you there".to_vec())));
    ws_send(&mut exec, 0x2, b"hello-stdin\n").await;
    let out = ws_read_all(&mut exec).await;
    assert_eq!(out, "hello-stdin\n");
    emu.shutdown().await;
}
