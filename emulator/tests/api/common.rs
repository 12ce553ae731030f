//! The test client: a minimal HTTP/1.1 client (one request per connection), an ARM client
//! with a token, request bodies and accessors for the answers.

pub use std::collections::BTreeSet;
pub use std::time::{Duration, Instant};

pub use aci_emulator::{
    Emulator, EmulatorConfig, Faults, ProvisionFailure, LOCAL_CLIENT_ID, LOCAL_SUBSCRIPTION_ID,
    LOCAL_TENANT_ID,
};
pub use serde_json::{json, Value};
pub use tokio::io::{AsyncReadExt, AsyncWriteExt};
pub use tokio::net::TcpStream;

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

pub fn decode_chunked(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(pos) = data.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&data[..pos]).trim(), 16).unwrap_or(0);
        data = &data[pos + 2..];
        if size == 0 || data.len() < size {
            return out;
        }
        out.extend_from_slice(&data[..size]);
        data = &data[(size + 2).min(data.len())..];
    }
}

pub async fn request(
    url: &str,
    method: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> std::io::Result<Response> {
    let u = url::Url::parse(url).expect("url");
    let host = format!("{}:{}", u.host_str().unwrap(), u.port().unwrap());
    let mut target = u.path().to_string();
    if let Some(q) = u.query() {
        target.push('?');
        target.push_str(q);
    }
    let mut stream = TcpStream::connect(&host).await?;
    let body = body.unwrap_or(b"");
    let mut head = format!(
        "{method} {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body).await?;
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut raw))
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "response timeout"))??;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "no response"))?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .unwrap_or("")
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| {
            l.split_once(':')
                .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        })
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"))
    {
        body = decode_chunked(&body);
    }
    Ok(Response {
        status,
        headers,
        body,
    })
}

/// A token from the emulator's token endpoint, with its client secret.
pub async fn get_token(emu: &Emulator) -> String {
    let base = emu.base_url();
    let secret = url::form_urlencoded::byte_serialize(emu.credentials().client_secret.as_bytes())
        .collect::<String>();
    let form = format!(
        "grant_type=client_credentials&client_id={LOCAL_CLIENT_ID}&client_secret={secret}&scope=https%3A%2F%2Fmanagement.azure.com%2F.default"
    );
    let r = request(
        &format!("{base}/{LOCAL_TENANT_ID}/oauth2/v2.0/token"),
        "POST",
        &[("content-type", "application/x-www-form-urlencoded")],
        Some(form.as_bytes()),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["access_token"].as_str().unwrap().to_string()
}

pub const API: &str = "2023-05-01";

/// An ARM client with a token.
pub struct Arm {
    pub base: String,
    pub auth: String,
}

impl Arm {
    pub async fn new(emu: &Emulator) -> Arm {
        let base = emu.base_url();
        let token = get_token(emu).await;
        Arm {
            base,
            auth: format!("Bearer {token}"),
        }
    }

    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            return path.to_string();
        }
        let sep = if path.contains('?') { '&' } else { '?' };
        format!("{}{path}{sep}api-version={API}", self.base)
    }

    pub async fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Response {
        let data = body.map(|b| serde_json::to_vec(b).unwrap());
        let mut headers = vec![("authorization", self.auth.as_str())];
        if data.is_some() {
            headers.push(("content-type", "application/json"));
        }
        request(&self.url(path), method, &headers, data.as_deref())
            .await
            .expect("request")
    }

    pub async fn get(&self, path: &str) -> Response {
        self.call("GET", path, None).await
    }
    pub async fn put(&self, path: &str, body: &Value) -> Response {
        self.call("PUT", path, Some(body)).await
    }
    pub async fn post(&self, path: &str) -> Response {
        self.call("POST", path, None).await
    }
    pub async fn delete(&self, path: &str) -> Response {
        self.call("DELETE", path, None).await
    }

    /// Polls GET `path` until `pred` holds (bounded).
    pub async fn wait_for(&self, path: &str, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut last = Value::Null;
        while Instant::now() < deadline {
            let r = self.get(path).await;
            if r.status == 200 {
                last = r.json();
                if pred(&last) {
                    return last;
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("timed out waiting for {what}; last: {last:#}");
    }

    /// Polls GET `path` until it answers `status` (bounded).
    pub async fn wait_status(&self, path: &str, status: u16) -> Response {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            let r = self.get(path).await;
            if r.status == status {
                return r;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("timed out waiting for {status} from {path}");
    }

    /// DELETE answered `202`; then polls GET until `404` (bounded).
    pub async fn delete_and_wait(&self, path: &str) -> Response {
        let r = self.delete(path).await;
        assert_eq!(r.status, 202, "{}", r.text());
        self.wait_status(path, 404).await;
        r
    }

    /// PUT, retrying while the group is transitioning (bounded).
    pub async fn put_when_ready(&self, path: &str, body: &Value) -> Response {
        for _ in 0..1500 {
            let r = self.put(path, body).await;
            if r.status != 409 {
                return r;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("group stayed transitioning");
    }
}

pub fn cg(rg: &str, name: &str) -> String {
    format!("/subscriptions/{LOCAL_SUBSCRIPTION_ID}/resourceGroups/{rg}/providers/Microsoft.ContainerInstance/containerGroups/{name}")
}

pub fn job(command: &[&str], policy: &str) -> Value {
    json!({
        "location": "eastus",
        "tags": {"runner": "test"},
        "properties": {
            "osType": "Linux",
            "restartPolicy": policy,
            "containers": [{"name": "job", "properties": {
                "image": "alpine:3",
                "command": command,
                "resources": {"requests": {"cpu": 1.0, "memoryInGB": 1.5}},
                "environmentVariables": [{"name": "MODE", "value": "batch"}, {"name": "TOKEN", "secureValue": "s3cr3t-value"}]
            }}]
        }
    })
}

pub fn config() -> EmulatorConfig {
    EmulatorConfig {
        provision_delay: Duration::from_millis(100),
        delete_delay: Duration::from_millis(100),
        kill_grace: Duration::from_millis(500),
        ..EmulatorConfig::default()
    }
}

/// `Authorization: Bearer <client secret>`, for the control routes.
pub fn control_auth(emu: &Emulator) -> String {
    format!("Bearer {}", emu.credentials().client_secret)
}

pub fn state(v: &Value) -> &str {
    v["properties"]["instanceView"]["state"]
        .as_str()
        .unwrap_or("")
}
pub fn prov(v: &Value) -> &str {
    v["properties"]["provisioningState"].as_str().unwrap_or("")
}
pub fn container_view(v: &Value) -> &Value {
    &v["properties"]["containers"][0]["properties"]["instanceView"]
}
pub fn current(v: &Value) -> &Value {
    &container_view(v)["currentState"]
}

pub fn pid_exists(pid: i32) -> bool {
    // SAFETY: signal 0 only checks for existence.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

pub async fn wait_pid_gone(pid: i32) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while pid_exists(pid) {
        assert!(Instant::now() < deadline, "process {pid} still exists");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Polls the container log until a line starting with `prefix` appears; returns the rest.
pub async fn wait_log_line(arm: &Arm, path: &str, prefix: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let r = arm.get(&format!("{path}/containers/job/logs")).await;
        if r.status == 200 {
            let content = r.json()["content"].as_str().unwrap_or("").to_string();
            if let Some(rest) = content.lines().rev().find_map(|l| l.strip_prefix(prefix)) {
                return rest.trim().to_string();
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no log line {prefix:?}");
}

pub fn event_names(view: &Value) -> BTreeSet<String> {
    view["events"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|e| e["name"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}
