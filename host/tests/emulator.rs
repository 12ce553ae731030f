//! Integration tests of the local ARM emulator through its public API and plain HTTP.
//!
//! Every emulator listens on 127.0.0.1:0; waits are bounded polls of the emulator's state.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use aci_host::emulator::{
    Emulator, EmulatorConfig, Faults, ProvisionFailure, LOCAL_CLIENT_ID, LOCAL_CLIENT_SECRET,
    LOCAL_SUBSCRIPTION_ID, LOCAL_TENANT_ID,
};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

// ---------------------------------------------------------------------------------------------
// A minimal HTTP/1.1 client (one request per connection).

#[derive(Debug)]
struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    fn code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

fn decode_chunked(mut data: &[u8]) -> Vec<u8> {
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

async fn request(
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

async fn get_token(base: &str) -> String {
    let form = format!(
        "grant_type=client_credentials&client_id={LOCAL_CLIENT_ID}&client_secret={LOCAL_CLIENT_SECRET}&scope=https%3A%2F%2Fmanagement.azure.com%2F.default"
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

const API: &str = "2023-05-01";

/// An ARM client with a token.
struct Arm {
    base: String,
    auth: String,
}

impl Arm {
    async fn new(emu: &Emulator) -> Arm {
        let base = emu.base_url();
        let token = get_token(&base).await;
        Arm {
            base,
            auth: format!("Bearer {token}"),
        }
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            return path.to_string();
        }
        let sep = if path.contains('?') { '&' } else { '?' };
        format!("{}{path}{sep}api-version={API}", self.base)
    }

    async fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Response {
        let data = body.map(|b| serde_json::to_vec(b).unwrap());
        let mut headers = vec![("authorization", self.auth.as_str())];
        if data.is_some() {
            headers.push(("content-type", "application/json"));
        }
        request(&self.url(path), method, &headers, data.as_deref())
            .await
            .expect("request")
    }

    async fn get(&self, path: &str) -> Response {
        self.call("GET", path, None).await
    }
    async fn put(&self, path: &str, body: &Value) -> Response {
        self.call("PUT", path, Some(body)).await
    }
    async fn post(&self, path: &str) -> Response {
        self.call("POST", path, None).await
    }
    async fn delete(&self, path: &str) -> Response {
        self.call("DELETE", path, None).await
    }

    /// Polls GET `path` until `pred` holds (bounded).
    async fn wait_for(&self, path: &str, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
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
    async fn wait_status(&self, path: &str, status: u16) -> Response {
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

    /// PUT, retrying while the group is transitioning (bounded).
    async fn put_when_ready(&self, path: &str, body: &Value) -> Response {
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

fn cg(rg: &str, name: &str) -> String {
    format!("/subscriptions/{LOCAL_SUBSCRIPTION_ID}/resourceGroups/{rg}/providers/Microsoft.ContainerInstance/containerGroups/{name}")
}

fn job(command: &[&str], policy: &str) -> Value {
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

fn config() -> EmulatorConfig {
    EmulatorConfig {
        provision_delay: Duration::from_millis(100),
        kill_grace: Duration::from_millis(500),
        ..EmulatorConfig::default()
    }
}

fn state(v: &Value) -> &str {
    v["properties"]["instanceView"]["state"]
        .as_str()
        .unwrap_or("")
}
fn prov(v: &Value) -> &str {
    v["properties"]["provisioningState"].as_str().unwrap_or("")
}
fn container_view(v: &Value) -> &Value {
    &v["properties"]["containers"][0]["properties"]["instanceView"]
}
fn current(v: &Value) -> &Value {
    &container_view(v)["currentState"]
}

fn pid_exists(pid: i32) -> bool {
    // SAFETY: signal 0 only checks for existence.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

async fn wait_pid_gone(pid: i32) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while pid_exists(pid) {
        assert!(Instant::now() < deadline, "process {pid} still exists");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Polls the container log until a line starting with `prefix` appears; returns the rest.
async fn wait_log_line(arm: &Arm, path: &str, prefix: &str) -> String {
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

fn event_names(view: &Value) -> BTreeSet<String> {
    view["events"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|e| e["name"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// Authentication, api-version, headers.

#[tokio::test]
async fn arm_requires_token_and_api_version() {
    let emu = Emulator::start(config()).await.unwrap();
    let base = emu.base_url();
    assert!(base.starts_with("http://127.0.0.1:") && !base.ends_with('/'));
    let path = cg("rg", "x");

    let r = request(&format!("{base}{path}?api-version={API}"), "GET", &[], None)
        .await
        .unwrap();
    assert_eq!((r.status, r.code().as_str()), (401, "AuthenticationFailed"));
    assert!(r.header("www-authenticate").unwrap().starts_with("Bearer "));

    let r = request(
        &format!("{base}{path}?api-version={API}"),
        "GET",
        &[("authorization", "Bearer made-up")],
        None,
    )
    .await
    .unwrap();
    assert_eq!(
        (r.status, r.code().as_str()),
        (401, "InvalidAuthenticationToken")
    );

    let arm = Arm::new(&emu).await;
    let r = request(
        &format!("{base}{path}"),
        "GET",
        &[("authorization", &arm.auth)],
        None,
    )
    .await
    .unwrap();
    assert_eq!(
        (r.status, r.code().as_str()),
        (400, "MissingApiVersionParameter")
    );
    assert_eq!(
        r.json()["error"]["message"],
        "The api-version query parameter (?api-version=) is required for all requests."
    );
    let r = request(
        &format!("{base}{path}?api-version=latest"),
        "GET",
        &[("authorization", &arm.auth)],
        None,
    )
    .await
    .unwrap();
    assert_eq!(r.status, 400);

    for v in ["2026-07-01", "2024-11-01-preview", "2018-10-01"] {
        let r = request(
            &format!("{base}{path}?api-version={v}"),
            "GET",
            &[("authorization", &arm.auth)],
            None,
        )
        .await
        .unwrap();
        assert_eq!(
            (r.status, r.code().as_str()),
            (404, "ResourceNotFound"),
            "{v}"
        );
    }

    let r = request(
        &format!("{base}{path}?api-version={API}"),
        "GET",
        &[
            ("authorization", &arm.auth),
            ("x-ms-client-request-id", "my-trace-1"),
        ],
        None,
    )
    .await
    .unwrap();
    assert_eq!(r.header("x-ms-client-request-id"), Some("my-trace-1"));
    assert!(r.header("x-ms-request-id").is_some());
    assert!(r.header("x-ms-correlation-request-id").is_some());
    let reads: u64 = r
        .header("x-ms-ratelimit-remaining-subscription-reads")
        .unwrap()
        .parse()
        .unwrap();
    assert!(reads < 250);
    assert!(r
        .header("x-ms-ratelimit-remaining-subscription-global-reads")
        .is_some());
    assert!(r
        .header("content-type")
        .unwrap()
        .starts_with("application/json"));
    let r2 = arm.get(&path).await;
    let reads2: u64 = r2
        .header("x-ms-ratelimit-remaining-subscription-reads")
        .unwrap()
        .parse()
        .unwrap();
    assert!(reads2 < reads, "bucket drains: {reads2} < {reads}");
    let w = arm.delete(&path).await;
    assert!(w
        .header("x-ms-ratelimit-remaining-subscription-deletes")
        .is_some());

    // Unknown route / method.
    assert_eq!(
        arm.get("/subscriptions/s/providers/Nope/things")
            .await
            .status,
        404
    );
    assert_eq!(arm.post(&path).await.status, 405);
    emu.shutdown().await;
}

#[tokio::test]
async fn token_endpoint_errors_are_aad_shaped() {
    let emu = Emulator::start(config()).await.unwrap();
    let url = format!("{}/{LOCAL_TENANT_ID}/oauth2/v2.0/token", emu.base_url());
    let post = |body: String| {
        let url = url.clone();
        async move {
            request(
                &url,
                "POST",
                &[("content-type", "application/x-www-form-urlencoded")],
                Some(body.as_bytes()),
            )
            .await
            .unwrap()
        }
    };
    let r = post(format!("grant_type=client_credentials&client_id={LOCAL_CLIENT_ID}&client_secret=wrong&scope=https%3A%2F%2Fmanagement.azure.com%2F.default")).await;
    assert_eq!(r.status, 401);
    let b = r.json();
    assert_eq!(b["error"], "invalid_client");
    assert!(b["error_description"]
        .as_str()
        .unwrap()
        .starts_with("AADSTS7000215"));
    assert_eq!(b["error_codes"][0], 7000215);
    assert!(!r.text().contains("wrong"));
    let r = post(format!("grant_type=client_credentials&client_id={LOCAL_CLIENT_ID}&client_secret={LOCAL_CLIENT_SECRET}&scope=https%3A%2F%2Fmanagement.azure.com%2F")).await;
    assert_eq!(
        (r.status, r.json()["error"].as_str().unwrap()),
        (400, "invalid_scope")
    );
    let r = post(format!("grant_type=authorization_code&client_id={LOCAL_CLIENT_ID}&client_secret={LOCAL_CLIENT_SECRET}&scope=x%2F.default")).await;
    assert_eq!(r.json()["error"], "unsupported_grant_type");
    // A token for another resource is refused by ARM.
    let r = post(format!("grant_type=client_credentials&client_id={LOCAL_CLIENT_ID}&client_secret={LOCAL_CLIENT_SECRET}&scope=https%3A%2F%2Fvault.azure.net%2F.default")).await;
    let vault = r.json()["access_token"].as_str().unwrap().to_string();
    let r = request(
        &format!("{}{}?api-version={API}", emu.base_url(), cg("rg", "x")),
        "GET",
        &[("authorization", &format!("Bearer {vault}"))],
        None,
    )
    .await
    .unwrap();
    assert_eq!(r.status, 401);
    emu.shutdown().await;
}

#[tokio::test]
async fn imds_token_and_helper_endpoints() {
    let emu = Emulator::start(config()).await.unwrap();
    let base = emu.base_url();
    let imds = format!(
        "{base}/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fmanagement.azure.com%2F"
    );
    let r = request(&imds, "GET", &[], None).await.unwrap();
    assert_eq!(
        (r.status, r.json()["error"].as_str().unwrap()),
        (400, "bad_request_102")
    );
    let r = request(&imds, "GET", &[("metadata", "true")], None)
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    let b = r.json();
    assert!(b["expires_in"].is_string() && b["expires_on"].is_string());
    let arm = Arm {
        base: base.clone(),
        auth: format!("Bearer {}", b["access_token"].as_str().unwrap()),
    };

    let creds = arm
        .post(&format!("/subscriptions/{LOCAL_SUBSCRIPTION_ID}/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/myreg/listCredentials"))
        .await;
    assert_eq!(creds.status, 200);
    let c = creds.json();
    assert_eq!(c["username"], "myreg");
    assert_eq!(c["passwords"].as_array().unwrap().len(), 2);
    let keys = arm
        .post(&format!("/subscriptions/{LOCAL_SUBSCRIPTION_ID}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/acct/listKeys"))
        .await;
    assert_eq!(keys.status, 200);
    assert_eq!(keys.json()["keys"][0]["keyName"], "key1");
    let stats = emu.stats();
    assert_eq!(stats.count("Imds_Token", 400), 1);
    assert_eq!(stats.count("Imds_Token", 200), 1);
    assert_eq!(stats.count("Registries_ListCredentials", 200), 1);
    assert_eq!(stats.count("StorageAccounts_ListKeys", 200), 1);
    emu.shutdown().await;
}

// ---------------------------------------------------------------------------------------------
// Container group lifecycle.

#[tokio::test]
async fn job_runs_to_success_with_logs_and_events() {
    let emu = Emulator::start(config()).await.unwrap();
    let arm = Arm::new(&emu).await;
    let path = cg("rg", "job-ok");
    let body = job(
        &[
            "sh",
            "-c",
            "echo start; echo \"mode=$MODE\"; case \"$TOKEN\" in s3cr3t-v*e) echo secure-ok;; esac; echo done >&2",
        ],
        "Never",
    );
    let r = arm.put(&path, &body).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let created = r.json();
    assert_eq!(prov(&created), "Pending");
    assert_eq!(
        created["properties"]["instanceView"],
        json!({"events": [], "state": "Pending"})
    );
    assert_eq!(created["id"], path);
    assert_eq!(
        created["type"],
        "Microsoft.ContainerInstance/containerGroups"
    );
    assert!(!r.text().contains("s3cr3t-value"));
    let async_url = r.header("azure-asyncoperation").unwrap().to_string();
    let location_url = r.header("location").unwrap().to_string();
    assert!(
        async_url.starts_with(&emu.base_url())
            && async_url.contains("/operations/")
            && async_url.contains("api-version=2018-06-01")
    );
    assert!(location_url.contains("/operationResults/"));

    // The status resource walks Pending -> Creating -> Succeeded (polled, so some may be skipped).
    let order = ["Pending", "Creating", "Succeeded"];
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let s = arm.get(&async_url).await;
        assert_eq!(s.status, 200);
        let b = s.json();
        assert_eq!(b["id"], path);
        assert!(b["startTime"].is_string() && b["properties"]["events"].is_array());
        let st = b["status"].as_str().unwrap().to_string();
        let pos = order
            .iter()
            .position(|o| *o == st)
            .unwrap_or_else(|| panic!("unexpected status {st}"));
        if let Some(last) = seen.last() {
            assert!(pos >= *last, "status went backwards: {seen:?} then {st}");
        }
        seen.push(pos);
        if st == "Succeeded" {
            let names: BTreeSet<_> = b["properties"]["events"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["name"].as_str().unwrap().to_string())
                .collect();
            assert!(
                names.contains("Pulling") && names.contains("Started"),
                "{names:?}"
            );
            break;
        }
        assert!(Instant::now() < deadline, "operation never finished");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let done = arm
        .wait_for(&path, "job Succeeded", |v| state(v) == "Succeeded")
        .await;
    assert_eq!(prov(&done), "Succeeded");
    let cur = current(&done);
    assert_eq!(cur["state"], "Terminated");
    assert_eq!(cur["exitCode"], 0);
    assert_eq!(cur["detailStatus"], "Completed");
    assert!(cur["startTime"].is_string() && cur["finishTime"].is_string());
    assert_eq!(container_view(&done)["restartCount"], 0);
    let names = event_names(container_view(&done));
    for n in ["Pulling", "Pulled", "Created", "Started"] {
        assert!(names.contains(n), "{n} missing in {names:?}");
    }
    assert!(!serde_json::to_string(&done)
        .unwrap()
        .contains("s3cr3t-value"));
    assert!(
        done["properties"]["containers"][0]["properties"]["environmentVariables"][1]
            .get("secureValue")
            .is_none()
    );

    let logs = arm.get(&format!("{path}/containers/job/logs")).await;
    assert_eq!(logs.status, 200);
    let content = logs.json()["content"].as_str().unwrap().to_string();
    for line in ["start", "mode=batch", "secure-ok", "done"] {
        assert!(
            content.lines().any(|l| l == line),
            "{line} missing in {content:?}"
        );
    }
    let tail = arm
        .get(&format!("{path}/containers/job/logs?tail=1"))
        .await
        .json();
    assert_eq!(tail["content"].as_str().unwrap().lines().count(), 1);
    let ts = arm
        .get(&format!(
            "{path}/containers/job/logs?timestamps=true&tail=2"
        ))
        .await
        .json();
    for line in ts["content"].as_str().unwrap().lines() {
        let (stamp, _) = line.split_once(' ').unwrap();
        assert_eq!(stamp.len(), 30, "nanosecond RFC 3339: {stamp}");
        assert!(
            chrono::DateTime::parse_from_rfc3339(stamp).is_ok(),
            "{stamp}"
        );
    }
    assert_eq!(
        arm.get(&format!("{path}/containers/nope/logs"))
            .await
            .status,
        404
    );
    assert_eq!(
        arm.get(&format!("{path}/containers/job/logs?tail=-1"))
            .await
            .status,
        400
    );

    // The Location header resolves to the final group.
    let res = arm.get(&location_url).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json()["name"], "job-ok");

    let del = arm.delete(&path).await;
    assert_eq!(del.status, 200);
    assert_eq!(del.json()["name"], "job-ok");
    assert!(!del.text().contains("s3cr3t-value"));
    assert_eq!(
        (
            arm.get(&path).await.status,
            arm.get(&path).await.code().as_str()
        ),
        (404, "ResourceNotFound")
    );
    assert_eq!(arm.delete(&path).await.status, 204);

    let stats = emu.stats();
    assert_eq!(stats.count("ContainerGroups_CreateOrUpdate", 201), 1);
    assert_eq!(stats.count("ContainerGroups_Delete", 200), 1);
    assert_eq!(stats.count("ContainerGroups_Delete", 204), 1);
    assert!(stats.count("ContainerGroups_Get", 200) >= 1);
    assert!(stats.count("AsyncOperation_Get", 200) >= 1);
    assert!(stats.live_groups.is_empty());
    emu.shutdown().await;
}

#[tokio::test]
async fn job_failure_keeps_provisioning_succeeded() {
    let emu = Emulator::start(config()).await.unwrap();
    let arm = Arm::new(&emu).await;
    let path = cg("rg", "job-fail");
    assert_eq!(
        arm.put(&path, &job(&["sh", "-c", "echo failing; exit 3"], "Never"))
            .await
            .status,
        201
    );
    let v = arm
        .wait_for(&path, "job Failed", |v| state(v) == "Failed")
        .await;
    assert_eq!(prov(&v), "Succeeded");
    assert_eq!(current(&v)["state"], "Terminated");
    assert_eq!(current(&v)["exitCode"], 3);
    assert_eq!(current(&v)["detailStatus"], "Error");
    assert!(event_names(container_view(&v)).contains("Killing"));

    // Signal deaths are 128 + signal, like an OOM kill (137).
    let path2 = cg("rg", "job-killed");
    assert_eq!(
        arm.put(&path2, &job(&["sh", "-c", "kill -9 $$"], "Never"))
            .await
            .status,
        201
    );
    let v = arm
        .wait_for(&path2, "killed job", |v| state(v) == "Failed")
        .await;
    assert_eq!(current(&v)["exitCode"], 137);

    // A command that does not exist ends like a runtime start failure (127).
    let path3 = cg("rg", "job-missing");
    assert_eq!(
        arm.put(&path3, &job(&["/no/such/binary"], "Never"))
            .await
            .status,
        201
    );
    let v = arm
        .wait_for(&path3, "missing binary", |v| state(v) == "Failed")
        .await;
    assert_eq!(current(&v)["exitCode"], 127);
    let logs = arm
        .get(&format!("{path3}/containers/job/logs"))
        .await
        .json();
    assert!(logs["content"].as_str().unwrap().contains("cannot start"));

    // No command: a stand-in that logs a note and exits 0.
    let path4 = cg("rg", "job-nocmd");
    let mut body = job(&[], "Never");
    body["properties"]["containers"][0]["properties"]
        .as_object_mut()
        .unwrap()
        .remove("command");
    assert_eq!(arm.put(&path4, &body).await.status, 201);
    let v = arm
        .wait_for(&path4, "no-command job", |v| state(v) == "Succeeded")
        .await;
    assert_eq!(current(&v)["exitCode"], 0);
    let logs = arm
        .get(&format!("{path4}/containers/job/logs"))
        .await
        .json();
    assert_eq!(
        logs["content"],
        "emulator: image alpine:3 has no local command; exiting 0\n"
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn restart_policies_restart_and_count() {
    let emu = Emulator::start(EmulatorConfig {
        restart_backoff: Duration::from_millis(20),
        ..config()
    })
    .await
    .unwrap();
    let arm = Arm::new(&emu).await;
    // OnFailure: fails twice (a counter file in HOME survives restarts), then succeeds.
    let script = "n=$(cat count 2>/dev/null || echo 0); n=$((n+1)); echo $n > count; echo attempt $n; [ $n -ge 3 ]";
    let path = cg("rg", "on-failure");
    assert_eq!(
        arm.put(&path, &job(&["sh", "-c", script], "OnFailure"))
            .await
            .status,
        201
    );
    let v = arm
        .wait_for(&path, "OnFailure success", |v| state(v) == "Succeeded")
        .await;
    let view = container_view(&v);
    assert_eq!(view["restartCount"], 2);
    assert_eq!(view["currentState"]["exitCode"], 0);
    assert_eq!(view["previousState"]["state"], "Terminated");
    assert_eq!(view["previousState"]["exitCode"], 1);
    assert!(event_names(view).contains("BackOff"));
    let logs = arm.get(&format!("{path}/containers/job/logs")).await.json();
    assert!(logs["content"].as_str().unwrap().contains("attempt 3"));

    // Always: a command that exits 0 keeps being restarted; the group stays Running.
    let path = cg("rg", "always");
    assert_eq!(
        arm.put(&path, &job(&["sh", "-c", "echo tick"], "Always"))
            .await
            .status,
        201
    );
    let v = arm
        .wait_for(&path, "two restarts", |v| {
            container_view(v)["restartCount"].as_u64().unwrap_or(0) >= 2
        })
        .await;
    assert_eq!(state(&v), "Running");
    assert_eq!(prov(&v), "Succeeded");
    emu.shutdown().await;
}

#[tokio::test]
async fn stop_start_restart_and_transitions() {
    let emu = Emulator::start(EmulatorConfig {
        provision_delay: Duration::from_millis(300),
        ..config()
    })
    .await
    .unwrap();
    let arm = Arm::new(&emu).await;
    let path = cg("rg", "svc");
    let body = job(&["sh", "-c", "echo pid $$; exec sleep 300"], "Always");
    let created = arm.put(&path, &body).await;
    assert_eq!(created.status, 201);
    assert!(
        created.header("retry-after").is_none(),
        "ACI sends no Retry-After on PUT"
    );
    // The Location resource answers 202 (with Location and Retry-After) while provisioning.
    let pending = arm.get(created.header("location").unwrap()).await;
    assert_eq!(pending.status, 202);
    assert!(pending
        .header("location")
        .unwrap()
        .contains("/operationResults/"));
    assert_eq!(pending.header("retry-after"), Some("1"));
    // Mid-provisioning: writes are refused, logs are not available yet.
    let r = arm.put(&path, &body).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (409, "ContainerGroupTransitioning")
    );
    assert_eq!(arm.delete(&path).await.status, 409);
    assert_eq!(arm.post(&format!("{path}/stop")).await.status, 409);
    assert_eq!(
        arm.get(&format!("{path}/containers/job/logs")).await.status,
        409
    );
    let creating = arm
        .wait_for(&path, "Creating", |v| {
            prov(v) == "Creating" || prov(v) == "Succeeded"
        })
        .await;
    if prov(&creating) == "Creating" {
        assert_eq!(state(&creating), "Pending");
        assert_eq!(current(&creating)["state"], "Waiting");
    }
    let v = arm
        .wait_for(&path, "Running", |v| state(v) == "Running")
        .await;
    assert_eq!(current(&v)["state"], "Running");
    let pid: i32 = wait_log_line(&arm, &path, "pid ").await.parse().unwrap();
    assert!(pid_exists(pid));
    assert_eq!(emu.stats().live_processes, 1);

    // Start while running: nothing to do.
    assert_eq!(arm.post(&format!("{path}/start")).await.status, 204);

    // Stop: 204, processes killed, state Stopped, provisioning unchanged.
    assert_eq!(arm.post(&format!("{path}/stop")).await.status, 204);
    assert!(!pid_exists(pid), "stop answers once the process is gone");
    let v = arm.get(&path).await.json();
    assert_eq!(state(&v), "Stopped");
    assert_eq!(prov(&v), "Succeeded");
    assert_eq!(current(&v)["state"], "Terminated");
    assert!(event_names(container_view(&v)).contains("Killing"));
    assert_eq!(current(&v)["exitCode"], 128 + 15);

    // Start: 202 with an async operation, back to Running with a new process.
    let r = arm.post(&format!("{path}/start")).await;
    assert_eq!(r.status, 202);
    let op = r.header("azure-asyncoperation").unwrap().to_string();
    arm.wait_for(&op, "start op", |b| b["status"] == "Succeeded")
        .await;
    let pid2: i32 = wait_log_line(&arm, &path, "pid ").await.parse().unwrap();
    assert_ne!(pid, pid2);

    // Restart: 204, the container runs again in place with another process.
    let r = arm.post(&format!("{path}/restart")).await;
    assert_eq!(r.status, 204);
    wait_pid_gone(pid2).await;
    arm.wait_for(&path, "Running after restart", |v| {
        state(v) == "Running" && prov(v) == "Succeeded"
    })
    .await;
    let pid3: i32 = wait_log_line(&arm, &path, "pid ").await.parse().unwrap();
    assert!(pid3 != pid2 && pid_exists(pid3));

    // Update in place: a new command is fine (200), a new restart policy is not.
    let mut updated = body.clone();
    updated["properties"]["containers"][0]["properties"]["command"] =
        json!(["sh", "-c", "echo pid $$ v2; exec sleep 300"]);
    let r = arm.put_when_ready(&path, &updated).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(prov(&r.json()), "Pending");
    wait_pid_gone(pid3).await;
    arm.wait_for(&path, "Running after update", |v| state(v) == "Running")
        .await;
    let mut bad = updated.clone();
    bad["properties"]["restartPolicy"] = json!("Never");
    let r = arm.put_when_ready(&path, &bad).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (400, "InvalidContainerGroupUpdate")
    );
    let mut bad = updated.clone();
    bad["properties"]["containers"][0]["properties"]["resources"]["requests"]["cpu"] = json!(2.0);
    assert_eq!(arm.put_when_ready(&path, &bad).await.status, 400);

    // Delete kills the process.
    let pid4: i32 = wait_log_line(&arm, &path, "pid ")
        .await
        .trim_end_matches(" v2")
        .parse()
        .unwrap();
    let r = arm.delete(&path).await;
    assert_eq!(r.status, 200);
    assert!(!pid_exists(pid4), "delete answers once the process is gone");
    emu.shutdown().await;
}

#[tokio::test]
async fn list_pages_without_instance_views() {
    let emu = Emulator::start(EmulatorConfig {
        page_size: 2,
        ..config()
    })
    .await
    .unwrap();
    let arm = Arm::new(&emu).await;
    for i in 0..5 {
        assert_eq!(
            arm.put(&cg("rg1", &format!("g{i}")), &job(&["true"], "Never"))
                .await
                .status,
            201
        );
    }
    assert_eq!(
        arm.put(&cg("rg2", "other"), &job(&["true"], "Never"))
            .await
            .status,
        201
    );
    let collect = |first: String| {
        let arm = &arm;
        async move {
            let mut names = Vec::new();
            let mut next = Some(first);
            let mut pages = 0;
            while let Some(url) = next.take() {
                pages += 1;
                assert!(pages < 20, "paging does not end");
                let r = arm.get(&url).await;
                assert_eq!(r.status, 200, "{}", r.text());
                let b = r.json();
                for g in b["value"].as_array().unwrap() {
                    assert!(
                        g["properties"].get("instanceView").is_none(),
                        "list has no instance view"
                    );
                    assert!(g["properties"]["containers"][0]["properties"]
                        .get("instanceView")
                        .is_none());
                    assert!(!serde_json::to_string(g).unwrap().contains("s3cr3t-value"));
                    names.push(g["name"].as_str().unwrap().to_string());
                }
                next = b["nextLink"].as_str().map(String::from);
            }
            (names, pages)
        }
    };
    let (names, pages) = collect(arm.url(&format!("/subscriptions/{LOCAL_SUBSCRIPTION_ID}/resourceGroups/rg1/providers/Microsoft.ContainerInstance/containerGroups"))).await;
    assert_eq!(names, vec!["g0", "g1", "g2", "g3", "g4"]);
    assert_eq!(pages, 3);
    let (all, _) =
        collect(arm.url(&format!(
            "/subscriptions/{LOCAL_SUBSCRIPTION_ID}/providers/Microsoft.ContainerInstance/containerGroups"
        )))
        .await;
    assert_eq!(all.len(), 6);
    let (none, _) = collect(
        arm.url("/subscriptions/other-sub/providers/Microsoft.ContainerInstance/containerGroups"),
    )
    .await;
    assert!(none.is_empty());
    // Usage counts the groups of the location.
    let u = arm
        .get(&format!(
            "/subscriptions/{LOCAL_SUBSCRIPTION_ID}/providers/Microsoft.ContainerInstance/locations/eastus/usages"
        ))
        .await
        .json();
    assert_eq!(u["value"][0]["name"]["value"], "ContainerGroups");
    assert_eq!(u["value"][0]["currentValue"], 6);
    emu.shutdown().await;
}

#[tokio::test]
async fn resource_groups_and_validation() {
    let emu = Emulator::start(EmulatorConfig {
        resource_groups: Some(vec!["Known".into()]),
        ..config()
    })
    .await
    .unwrap();
    let arm = Arm::new(&emu).await;
    let r = arm.put(&cg("unknown", "g"), &job(&["true"], "Never")).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (404, "ResourceGroupNotFound")
    );
    assert_eq!(
        r.json()["error"]["message"],
        "Resource group 'unknown' could not be found."
    );
    assert_eq!(
        arm.get(&cg("unknown", "g")).await.code(),
        "ResourceGroupNotFound"
    );
    assert_eq!(
        arm.put(&cg("known", "g"), &job(&["true"], "Never"))
            .await
            .status,
        201
    );

    let r = arm
        .put(&cg("known", "Bad_Name"), &job(&["true"], "Never"))
        .await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (400, "InvalidContainerGroupName")
    );
    let mut b = job(&["true"], "Never");
    b["properties"].as_object_mut().unwrap().remove("osType");
    assert_eq!(
        arm.put(&cg("known", "g2"), &b).await.code(),
        "InvalidRequestContent"
    );
    let mut b = job(&["true"], "Never");
    b["properties"]["restartPolicy"] = json!("never");
    assert_eq!(
        arm.put(&cg("known", "g2"), &b).await.code(),
        "InvalidRequestContent"
    );
    let mut b = job(&["true"], "Never");
    b["properties"]["containers"][0]["properties"]
        .as_object_mut()
        .unwrap()
        .remove("resources");
    assert_eq!(
        arm.put(&cg("known", "g2"), &b).await.code(),
        "InvalidRequestContent"
    );
    let r = arm.call("PUT", &cg("known", "g2"), None).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (400, "InvalidRequestContent")
    );
    assert_eq!(
        arm.get(&cg("known", "g2")).await.status,
        404,
        "nothing was created"
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn secure_values_never_echoed() {
    let emu = Emulator::start(config()).await.unwrap();
    let arm = Arm::new(&emu).await;
    let path = cg("rg", "secrets");
    let mut body = job(
        &[
            "sh",
            "-c",
            "case \"$TOKEN\" in s3cr3t-v*e) echo env-ok;; esac",
        ],
        "Never",
    );
    let p = &mut body["properties"];
    p["imageRegistryCredentials"] = json!([{"server": "myreg.azurecr.io", "username": "myreg", "password": "registry-pass-123"}]);
    p["volumes"] = json!([
        {"name": "files", "azureFile": {"shareName": "share", "storageAccountName": "acct", "storageAccountKey": "storage-key-456=="}},
        {"name": "secret-vol", "secret": {"token.txt": "c2VjcmV0LWZpbGUtNzg5"}}
    ]);
    p["diagnostics"] =
        json!({"logAnalytics": {"workspaceId": "ws", "workspaceKey": "workspace-key-000"}});
    let secrets = [
        "s3cr3t-value",
        "registry-pass-123",
        "storage-key-456",
        "c2VjcmV0LWZpbGUtNzg5",
        "workspace-key-000",
    ];
    let check = |what: &str, text: &str| {
        for s in secrets {
            assert!(!text.contains(s), "{what} leaks {s}: {text}");
        }
    };
    let r = arm.put(&path, &body).await;
    assert_eq!(r.status, 201, "{}", r.text());
    check("PUT", &r.text());
    let v = arm
        .wait_for(&path, "done", |v| state(v) == "Succeeded")
        .await;
    check("GET", &v.to_string());
    assert_eq!(v["properties"]["volumes"][1]["secret"], json!({}));
    assert_eq!(
        v["properties"]["imageRegistryCredentials"][0]["username"],
        "myreg"
    );
    let l = arm.get(&format!("/subscriptions/{LOCAL_SUBSCRIPTION_ID}/resourceGroups/rg/providers/Microsoft.ContainerInstance/containerGroups")).await;
    check("list", &l.text());
    let op = arm.get(r.header("azure-asyncoperation").unwrap()).await;
    check("operation", &op.text());
    let logs = arm.get(&format!("{path}/containers/job/logs")).await.json();
    assert_eq!(
        logs["content"], "env-ok\n",
        "the process still gets the secure value"
    );
    let d = arm.delete(&path).await;
    check("DELETE", &d.text());
    emu.shutdown().await;
}

// ---------------------------------------------------------------------------------------------
// Faults.

#[tokio::test]
async fn fault_throttling_every_nth_and_burst() {
    let emu = Emulator::start(config()).await.unwrap();
    let arm = Arm::new(&emu).await;
    let path = cg("rg", "none");
    emu.set_faults(Faults {
        throttle_every: Some(3),
        retry_after_secs: 7,
        ..Faults::default()
    });
    let statuses: Vec<u16> = {
        let mut v = Vec::new();
        for _ in 0..6 {
            v.push(arm.get(&path).await.status);
        }
        v
    };
    assert_eq!(statuses, vec![404, 404, 429, 404, 404, 429]);
    emu.set_faults(Faults {
        throttle_burst: 2,
        retry_after_secs: 3,
        ..Faults::default()
    });
    let r = arm.get(&path).await;
    assert_eq!((r.status, r.code().as_str()), (429, "TooManyRequests"));
    assert_eq!(r.header("retry-after"), Some("3"));
    assert!(r.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("throttled"));
    assert_eq!(arm.get(&path).await.status, 429);
    assert_eq!(arm.get(&path).await.status, 404);
    // Auth is not faulted unless asked.
    emu.set_faults(Faults {
        throttle_burst: 1,
        ..Faults::default()
    });
    get_token(&emu.base_url()).await;
    assert_eq!(arm.get(&path).await.status, 429);
    emu.set_faults(Faults {
        throttle_burst: 1,
        include_auth: true,
        ..Faults::default()
    });
    let r = request(
        &format!("{}/{LOCAL_TENANT_ID}/oauth2/v2.0/token", emu.base_url()),
        "POST",
        &[],
        Some(b"grant_type=client_credentials"),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 429);
    assert!(emu.stats().count("ContainerGroups_Get", 429) >= 4);
    emu.shutdown().await;
}

#[tokio::test]
async fn fault_server_errors_resets_and_latency() {
    let emu = Emulator::start(config()).await.unwrap();
    let arm = Arm::new(&emu).await;
    let path = cg("rg", "none");
    emu.set_faults(Faults {
        error_burst: 2,
        error_status: 503,
        ..Faults::default()
    });
    let r = arm.get(&path).await;
    assert_eq!((r.status, r.code().as_str()), (503, "ServiceUnavailable"));
    assert_eq!(arm.get(&path).await.status, 503);
    assert_eq!(arm.get(&path).await.status, 404);
    emu.set_faults(Faults {
        error_burst: 1,
        ..Faults::default()
    });
    assert_eq!(arm.get(&path).await.code(), "InternalServerError");

    emu.set_faults(Faults {
        reset_burst: 1,
        ..Faults::default()
    });
    let url = arm.url(&path);
    let r = request(&url, "GET", &[("authorization", &arm.auth)], None).await;
    assert!(r.is_err(), "connection should be reset: {r:?}");
    assert_eq!(arm.get(&path).await.status, 404);
    assert_eq!(emu.stats().count("ContainerGroups_Get", 0), 1);

    emu.set_faults(Faults {
        latency: Some(Duration::from_millis(300)),
        ..Faults::default()
    });
    let t = Instant::now();
    assert_eq!(arm.get(&path).await.status, 404);
    assert!(
        t.elapsed() >= Duration::from_millis(300),
        "latency injected"
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn fault_rate_limit_enforcement() {
    let emu = Emulator::start(config()).await.unwrap();
    let arm = Arm::new(&emu).await;
    emu.set_faults(Faults {
        enforce_rate_limits: true,
        ..Faults::default()
    });
    let path = cg("rg", "none");
    let mut throttled = None;
    for i in 0..2000 {
        let r = arm.get(&path).await;
        if r.status == 429 {
            throttled = Some((i, r));
            break;
        }
    }
    let (i, r) = throttled.expect("the read bucket empties");
    assert!(i >= 249, "at least the bucket size passes, got {i}");
    assert_eq!(
        r.header("x-ms-ratelimit-remaining-subscription-reads"),
        Some("0")
    );
    assert!(r.header("retry-after").unwrap().parse::<u64>().unwrap() >= 1);
    emu.shutdown().await;
}

#[tokio::test]
async fn fault_provisioning_failures_async() {
    let emu = Emulator::start(config()).await.unwrap();
    let arm = Arm::new(&emu).await;
    for (image, code) in [
        ("myreg.azurecr.io/inaccessible:1", "InaccessibleImage"),
        ("alpine-quota", "ContainerGroupQuotaReached"),
        ("alpine-nocapacity", "ServiceUnavailable"),
    ] {
        let path = cg("rg", &format!("fail-{}", code.to_ascii_lowercase()));
        let mut body = job(&["sh", "-c", "echo should-not-run"], "Never");
        body["properties"]["containers"][0]["properties"]["image"] = json!(image);
        let r = arm.put(&path, &body).await;
        assert_eq!(r.status, 201, "accepted first: {}", r.text());
        let op_url = r.header("azure-asyncoperation").unwrap().to_string();
        let loc_url = r.header("location").unwrap().to_string();
        let op = arm
            .wait_for(&op_url, "failed op", |b| b["status"] == "Failed")
            .await;
        assert_eq!(op["error"]["code"], code);
        let v = arm.get(&path).await.json();
        assert_eq!(prov(&v), "Failed");
        assert_eq!(state(&v), "Pending");
        assert_eq!(current(&v)["state"], "Waiting");
        assert!(!v["properties"]["instanceView"]["events"]
            .as_array()
            .unwrap()
            .is_empty());
        let res = arm.get(&loc_url).await;
        assert_eq!(res.code(), code);
        assert_eq!(
            arm.get(&format!("{path}/containers/job/logs")).await.code(),
            "ContainerLogNotAvailable"
        );
        assert_eq!(arm.delete(&path).await.status, 200);
    }
    // The flag fails every deployment whatever the image.
    emu.set_faults(Faults {
        fail_provisioning: Some(ProvisionFailure::NoCapacity),
        ..Faults::default()
    });
    let r = arm
        .put(&cg("rg", "flagged"), &job(&["true"], "Never"))
        .await;
    let op = arm
        .wait_for(
            r.header("azure-asyncoperation").unwrap(),
            "failed op",
            |b| b["status"] == "Failed",
        )
        .await;
    assert_eq!(op["error"]["code"], "ServiceUnavailable");
    assert_eq!(emu.stats().live_processes, 0);
    emu.shutdown().await;
}

#[tokio::test]
async fn fault_provisioning_failures_sync() {
    let emu = Emulator::start(config()).await.unwrap();
    emu.set_faults(Faults {
        sync_provisioning_errors: true,
        ..Faults::default()
    });
    let arm = Arm::new(&emu).await;
    for (image, status, code) in [
        ("inaccessible", 400, "InaccessibleImage"),
        ("quota", 400, "ContainerGroupQuotaReached"),
        ("nocapacity", 409, "ServiceUnavailable"),
    ] {
        let path = cg("rg", image);
        let mut body = job(&["true"], "Never");
        body["properties"]["containers"][0]["properties"]["image"] = json!(image);
        let r = arm.put(&path, &body).await;
        assert_eq!((r.status, r.code().as_str()), (status, code));
        assert_eq!(arm.get(&path).await.status, 404);
    }
    emu.shutdown().await;
}

#[tokio::test]
async fn fault_unhealthy_eviction_loop() {
    let emu = Emulator::start(EmulatorConfig {
        provision_delay: Duration::from_millis(200),
        ..config()
    })
    .await
    .unwrap();
    let arm = Arm::new(&emu).await;
    emu.set_faults(Faults {
        evict_after: Some(Duration::from_millis(300)),
        ..Faults::default()
    });
    let path = cg("rg", "spot");
    let mut body = job(&["sh", "-c", "echo pid $$; exec sleep 300"], "Never");
    body["properties"]["priority"] = json!("Spot");
    assert_eq!(arm.put(&path, &body).await.status, 201);
    let pid: i32 = wait_log_line(&arm, &path, "pid ").await.parse().unwrap();
    let mut seen = BTreeSet::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    let v = loop {
        let v = arm.get(&path).await.json();
        seen.insert(prov(&v).to_string());
        if container_view(&v)["restartCount"].as_u64().unwrap_or(0) >= 1
            && prov(&v) == "Succeeded"
            && state(&v) == "Running"
        {
            break v;
        }
        assert!(Instant::now() < deadline, "no repair: {seen:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert!(
        seen.contains("Unhealthy") || seen.contains("Repairing"),
        "{seen:?}"
    );
    assert!(event_names(&v["properties"]["instanceView"]).contains("Evicted"));
    wait_pid_gone(pid).await;
    // And it loops: evicted again.
    arm.wait_for(&path, "second eviction", |v| {
        container_view(v)["restartCount"].as_u64().unwrap_or(0) >= 2
    })
    .await;
    emu.set_faults(Faults::default());

    // The image marker alone does it too.
    let path = cg("rg", "marker");
    let mut body = job(&["sleep", "300"], "Always");
    body["properties"]["containers"][0]["properties"]["image"] = json!("app-unhealthy:1");
    assert_eq!(arm.put(&path, &body).await.status, 201);
    arm.wait_for(&path, "marker eviction", |v| {
        prov(v) == "Unhealthy"
            || prov(v) == "Repairing"
            || container_view(v)["restartCount"].as_u64().unwrap_or(0) >= 1
    })
    .await;
    emu.shutdown().await;
}

#[tokio::test]
async fn fault_external_deletion_and_token_expiry() {
    let emu = Emulator::start(config()).await.unwrap();
    let arm = Arm::new(&emu).await;
    emu.set_faults(Faults {
        delete_after: Some(Duration::from_millis(200)),
        ..Faults::default()
    });
    let path = cg("rg", "vanishing");
    assert_eq!(
        arm.put(
            &path,
            &job(&["sh", "-c", "echo pid $$; exec sleep 300"], "Never")
        )
        .await
        .status,
        201
    );
    let pid: i32 = wait_log_line(&arm, &path, "pid ").await.parse().unwrap();
    let r = arm.wait_status(&path, 404).await;
    assert_eq!(r.code(), "ResourceNotFound");
    wait_pid_gone(pid).await;
    emu.set_faults(Faults {
        token_expiry: Some(Duration::from_millis(200)),
        ..Faults::default()
    });
    let short = Arm::new(&emu).await;
    assert_eq!(short.get(&path).await.status, 404);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = short.get(&path).await;
        if r.status == 401 {
            assert_eq!(r.code(), "ExpiredAuthenticationToken");
            assert!(r.header("www-authenticate").is_some());
            break;
        }
        assert!(Instant::now() < deadline, "token never expired");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    emu.shutdown().await;

    // A short configured lifetime behaves the same (and is announced).
    let emu = Emulator::start(EmulatorConfig {
        token_lifetime: Duration::from_secs(1),
        ..config()
    })
    .await
    .unwrap();
    let arm = Arm::new(&emu).await;
    assert_eq!(arm.get(&path).await.status, 404);
    let r = arm.wait_status(&path, 401).await;
    assert_eq!(r.code(), "ExpiredAuthenticationToken");
    emu.shutdown().await;
}

// ---------------------------------------------------------------------------------------------
// Processes, stats, reset.

#[tokio::test]
async fn processes_are_reaped_on_shutdown_drop_and_reset() {
    async fn start_sleeper(emu: &Emulator, name: &str) -> i32 {
        let arm = Arm::new(emu).await;
        let path = cg("rg", name);
        assert_eq!(
            arm.put(
                &path,
                &job(&["sh", "-c", "echo pid $$; exec sleep 300"], "Always")
            )
            .await
            .status,
            201
        );
        wait_log_line(&arm, &path, "pid ").await.parse().unwrap()
    }
    let emu = Emulator::start(config()).await.unwrap();
    let pid = start_sleeper(&emu, "a").await;
    emu.shutdown().await;
    assert!(!pid_exists(pid), "shutdown reaps");

    let emu = Emulator::start(config()).await.unwrap();
    let pid = start_sleeper(&emu, "b").await;
    drop(emu);
    assert!(!pid_exists(pid), "drop reaps");

    let emu = Emulator::start(config()).await.unwrap();
    let pid = start_sleeper(&emu, "c").await;
    assert_eq!(emu.stats().live_groups.len(), 1);
    emu.reset();
    assert!(!pid_exists(pid), "reset reaps");
    let s = emu.stats();
    assert!(s.live_groups.is_empty() && s.requests.is_empty() && s.live_processes == 0);

    // The HTTP control routes do the same.
    let pid = start_sleeper(&emu, "d").await;
    let stats = request(
        &format!("{}/_emulator/stats", emu.base_url()),
        "GET",
        &[],
        None,
    )
    .await
    .unwrap()
    .json();
    assert_eq!(stats["live_processes"], 1);
    assert_eq!(stats["live_groups"].as_array().unwrap().len(), 1);
    assert!(
        stats["requests"]["ContainerGroups_CreateOrUpdate"]["201"]
            .as_u64()
            .unwrap()
            >= 1
    );
    assert!(stats["total_requests"].as_u64().unwrap() >= 2);
    let r = request(
        &format!("{}/_emulator/reset", emu.base_url()),
        "POST",
        &[],
        None,
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200);
    assert!(!pid_exists(pid), "HTTP reset reaps");
    let stats = request(
        &format!("{}/_emulator/stats", emu.base_url()),
        "GET",
        &[],
        None,
    )
    .await
    .unwrap()
    .json();
    assert_eq!(stats["total_requests"], 0);
    emu.shutdown().await;
}

// ---------------------------------------------------------------------------------------------
// Exec / attach WebSockets.

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
    let mask = [7u8, 1, 9, 3];
    let mut f = vec![0x80 | opcode];
    assert!(payload.len() < 126);
    f.push(0x80 | payload.len() as u8);
    f.extend_from_slice(&mask);
    f.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    s.write_all(&f).await.unwrap();
}

/// Reads text frames until close; returns the text.
async fn ws_read_all(s: &mut TcpStream) -> String {
    let mut text = String::new();
    let read = async {
        loop {
            let mut h = [0u8; 2];
            if s.read_exact(&mut h).await.is_err() {
                return;
            }
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

// ---------------------------------------------------------------------------------------------
// Shapes of the recorded examples.

fn example(name: &str) -> Value {
    let p = format!(
        "{}/src/emulator/testdata/arm-examples/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}")))
        .unwrap()
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Every field of `example` exists in `actual` with the same JSON type, recursively (array
/// elements are compared with the element at the same index, or the last one).
fn shape_diff(example: &Value, actual: &Value, path: &str, out: &mut Vec<String>) {
    match (example, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (k, ev) in e {
                match a.get(k) {
                    Some(av) => shape_diff(ev, av, &format!("{path}.{k}"), out),
                    None => out.push(format!("{path}.{k} missing")),
                }
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            for (i, ev) in e.iter().enumerate() {
                match a.get(i).or(a.last()) {
                    Some(av) => shape_diff(ev, av, &format!("{path}[{i}]"), out),
                    None => out.push(format!("{path}[{i}] missing (empty array)")),
                }
            }
        }
        (e, a) if kind(e) != kind(a) => out.push(format!(
            "{path}: {} in the example, {} here",
            kind(e),
            kind(a)
        )),
        _ => {}
    }
}

fn assert_shape(example: &Value, actual: &Value, what: &str) {
    let mut diffs = Vec::new();
    shape_diff(example, actual, "", &mut diffs);
    assert!(
        diffs.is_empty(),
        "{what}: shape differs from the recorded example:\n{}\nactual: {actual:#}",
        diffs.join("\n")
    );
}

#[test]
fn shape_comparator_reports_differences() {
    let ex = json!({"a": {"b": [{"c": 1, "d": "x"}]}, "e": true});
    let mut out = Vec::new();
    shape_diff(
        &ex,
        &json!({"a": {"b": [{"c": 2.5, "d": "y", "extra": 1}]}, "e": false, "f": 0}),
        "",
        &mut out,
    );
    assert!(out.is_empty(), "{out:?}");
    shape_diff(
        &ex,
        &json!({"a": {"b": [{"c": "1"}]}, "e": true}),
        "",
        &mut out,
    );
    assert_eq!(
        out,
        vec![
            ".a.b[0].c: number in the example, string here",
            ".a.b[0].d missing"
        ]
    );
    out.clear();
    shape_diff(&ex, &json!({"a": {"b": []}}), "", &mut out);
    assert_eq!(out, vec![".a.b[0] missing (empty array)", ".e missing"]);
}

/// The container group of the Get/List/Delete examples, as a PUT body.
fn example_group_body(image: &str) -> Value {
    json!({
        "location": "westus",
        "zones": ["1"],
        "properties": {
            "containers": [{"name": "demo1", "properties": {
                "command": [], "environmentVariables": [], "image": image,
                "ports": [{"port": 80}],
                "resources": {"requests": {"cpu": 1, "memoryInGB": 1.5}},
                "volumeMounts": [{"name": "volume1", "mountPath": "/mnt/volume1", "readOnly": false}]
            }}],
            "imageRegistryCredentials": [{"server": "azcloudconsoleregistry.azurecr.io", "username": "azcloudconsoleregistry", "password": "pw-secret"}],
            "ipAddress": {"type": "Public", "ports": [{"port": 80, "protocol": "TCP"}]},
            "osType": "Linux",
            "volumes": [{"name": "volume1", "azureFile": {"readOnly": false, "shareName": "share1", "storageAccountName": "storage1", "storageAccountKey": "key"}}]
        }
    })
}

#[tokio::test]
async fn responses_have_the_shape_of_the_recorded_examples() {
    let emu = Emulator::start(config()).await.unwrap();
    let arm = Arm::new(&emu).await;
    let ok = |name: &str| example(name)["responses"]["200"]["body"].clone();

    // Get succeeded / list / list by resource group / delete.
    let path = cg("demo", "demo1");
    assert_eq!(
        arm.put(&path, &example_group_body("nginx")).await.status,
        201
    );
    let got = arm
        .wait_for(&path, "Succeeded", |v| prov(v) == "Succeeded")
        .await;
    assert_shape(&ok("ContainerGroupsGet_Succeeded"), &got, "GET");
    let list = arm
        .get(&format!("/subscriptions/{LOCAL_SUBSCRIPTION_ID}/providers/Microsoft.ContainerInstance/containerGroups"))
        .await
        .json();
    assert_shape(&ok("ContainerGroupsList"), &list, "List");
    let list = arm.get(&format!("/subscriptions/{LOCAL_SUBSCRIPTION_ID}/resourceGroups/demo/providers/Microsoft.ContainerInstance/containerGroups")).await.json();
    assert_shape(
        &ok("ContainerGroupsListByResourceGroup"),
        &list,
        "ListByResourceGroup",
    );
    let patched = arm
        .call(
            "PATCH",
            &path,
            Some(&json!({"tags": {"tag1key": "tag1Value", "tag2key": "tag2Value"}})),
        )
        .await;
    assert_eq!(patched.status, 200);
    let mut update_example = ok("ContainerGroupsUpdate");
    // That example's group has more volumes than the GET one; compare the common part.
    update_example["properties"]["volumes"] =
        ok("ContainerGroupsGet_Succeeded")["properties"]["volumes"].clone();
    update_example["properties"]["containers"][0]["properties"]["volumeMounts"] =
        ok("ContainerGroupsGet_Succeeded")["properties"]["containers"][0]["properties"]
            ["volumeMounts"]
            .clone();
    update_example["properties"]["ipAddress"] =
        ok("ContainerGroupsGet_Succeeded")["properties"]["ipAddress"].clone();
    assert_shape(&update_example, &patched.json(), "PATCH");
    assert_eq!(patched.json()["tags"]["tag1key"], "tag1Value");

    // Usage, capabilities, logs, exec, attach.
    let usage = arm
        .get(&format!(
            "/subscriptions/{LOCAL_SUBSCRIPTION_ID}/providers/Microsoft.ContainerInstance/locations/westus/usages"
        ))
        .await
        .json();
    assert_shape(&ok("ContainerGroupUsage"), &usage, "Usage");
    let caps = arm.get(&format!("/subscriptions/{LOCAL_SUBSCRIPTION_ID}/providers/Microsoft.ContainerInstance/locations/westus/capabilities")).await.json();
    assert_shape(&ok("CapabilitiesList"), &caps, "Capabilities");
    let logs = arm
        .get(&format!("{path}/containers/demo1/logs?tail=10"))
        .await
        .json();
    assert_shape(&ok("ContainerListLogs"), &logs, "Logs");
    // Exec and attach need a running container.
    let svc = cg("demo", "demo5");
    let mut body = example_group_body("nginx");
    body["properties"]["containers"][0]["properties"]["command"] = json!(["sleep", "300"]);
    assert_eq!(arm.put(&svc, &body).await.status, 201);
    arm.wait_for(&svc, "container running", |v| {
        current(v)["state"] == "Running"
    })
    .await;
    let exec = arm
        .call(
            "POST",
            &format!("{svc}/containers/demo1/exec"),
            Some(&json!({"command": "/bin/sh", "terminalSize": {"cols": 12, "rows": 12}})),
        )
        .await;
    assert_eq!(exec.status, 200, "{}", exec.text());
    assert_shape(&ok("ContainerExec"), &exec.json(), "Exec");
    let attach = arm.post(&format!("{svc}/containers/demo1/attach")).await;
    assert_eq!(attach.status, 200, "{}", attach.text());
    assert_shape(&ok("ContainerAttach"), &attach.json(), "Attach");
    assert_eq!(arm.delete(&svc).await.status, 200);

    let del = arm
        .put_when_ready(&path, &example_group_body("nginx"))
        .await;
    assert_eq!(del.status, 200);
    arm.wait_for(&path, "Succeeded again", |v| prov(v) == "Succeeded")
        .await;
    let deleted = arm.delete(&path).await;
    assert_eq!(deleted.status, 200);
    assert_shape(&ok("ContainerGroupsDelete"), &deleted.json(), "DELETE");
    assert!(!deleted.text().contains("pw-secret"));

    // Get failed (a provisioning failure).
    let failed_path = cg("demo", "demo2");
    assert_eq!(
        arm.put(&failed_path, &example_group_body("nginx-nocapacity"))
            .await
            .status,
        201
    );
    let failed = arm
        .wait_for(&failed_path, "Failed", |v| prov(v) == "Failed")
        .await;
    let mut failed_example = ok("ContainerGroupsGet_Failed");
    failed_example["name"] = json!("demo2");
    assert_shape(&failed_example, &failed, "GET failed");

    // Create or update (the full example body, with zones in the body).
    let create = example("ContainerGroupsCreateOrUpdate");
    let mut body = create["parameters"]["containerGroup"].clone();
    body["zones"] = json!(["1"]);
    // The example's subnet id is an ARM template expression; any string is accepted.
    let r = arm.put(&cg("demo", "demo3"), &body).await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_shape(&create["responses"]["201"]["body"], &r.json(), "PUT 201");
    for secret in ["accountKey", "workspaceKey\"", "SecretValue1InBase64"] {
        assert!(!r.text().contains(secret), "{secret} echoed");
    }
    arm.wait_for(&cg("demo", "demo3"), "demo3 Succeeded", |v| {
        prov(v) == "Succeeded"
    })
    .await;
    let r = arm.put_when_ready(&cg("demo", "demo3"), &body).await;
    assert_eq!(r.status, 200);
    assert_shape(&create["responses"]["200"]["body"], &r.json(), "PUT 200");

    // Get with priority: a finished Spot job.
    let prio = example("ContainerGroupsCreatePriority");
    let mut body = prio["parameters"]["containerGroup"].clone();
    body["properties"]["containers"][0]["properties"]["command"] = json!(["/bin/sh", "-c", "true"]);
    let r = arm.put(&cg("demo", "demo4"), &body).await;
    assert_eq!(r.status, 201);
    assert_shape(
        &prio["responses"]["201"]["body"],
        &r.json(),
        "PUT priority 201",
    );
    let done = arm
        .wait_for(&cg("demo", "demo4"), "job Succeeded", |v| {
            state(v) == "Succeeded"
        })
        .await;
    assert_shape(&ok("ContainerGroupsGetPriority"), &done, "GET priority");
    emu.shutdown().await;
}

#[tokio::test]
async fn misc_routes() {
    let emu = Emulator::start(config()).await.unwrap();
    let arm = Arm::new(&emu).await;
    let path = cg("rg", "misc");
    assert_eq!(
        arm.get(&format!("{path}/outboundNetworkDependenciesEndpoints"))
            .await
            .status,
        404
    );
    assert_eq!(arm.put(&path, &job(&["true"], "Never")).await.status, 201);
    let r = arm
        .get(&format!("{path}/outboundNetworkDependenciesEndpoints"))
        .await;
    assert_eq!((r.status, r.json()), (200, json!([])));
    let ops = arm
        .get("/providers/Microsoft.ContainerInstance/operations")
        .await;
    assert_eq!(ops.status, 200);
    assert!(!ops.json()["value"].as_array().unwrap().is_empty());
    let cached = arm.get(&format!("/subscriptions/{LOCAL_SUBSCRIPTION_ID}/providers/Microsoft.ContainerInstance/locations/eastus/cachedImages")).await;
    assert!(cached.json()["value"][0]["image"].is_string());
    let unknown_op = arm.get(&format!("/subscriptions/{LOCAL_SUBSCRIPTION_ID}/providers/Microsoft.ContainerInstance/locations/eastus/operations/nope")).await;
    assert_eq!(unknown_op.status, 404);
    assert_eq!(
        arm.post(&format!("{}/stop", cg("rg", "absent")))
            .await
            .status,
        404
    );
    emu.shutdown().await;
}

// ---------------------------------------------------------------------------------------------
// The standalone program.

#[tokio::test]
async fn cli_prints_the_base_url_first_and_cleans_up_on_sigterm() {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_aci-host"))
        .args(["emulator", "--provision-delay", "0.1"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("aci-host emulator starts");
    let stdout = child.stdout.take().unwrap();
    let first = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .map(|_| line)
    });
    let first = tokio::time::timeout(Duration::from_secs(30), first)
        .await
        .expect("first line in time")
        .unwrap()
        .unwrap();
    let base = first.trim().to_string();
    assert!(
        base.starts_with("http://127.0.0.1:") && base.len() > "http://127.0.0.1:".len(),
        "{first:?}"
    );

    let token = get_token(&base).await;
    let arm = Arm {
        base: base.clone(),
        auth: format!("Bearer {token}"),
    };
    let path = cg("rg", "cli");
    assert_eq!(
        arm.put(
            &path,
            &job(&["sh", "-c", "echo pid $$; exec sleep 300"], "Never")
        )
        .await
        .status,
        201
    );
    let pid: i32 = wait_log_line(&arm, &path, "pid ").await.parse().unwrap();
    assert!(pid_exists(pid));

    // SAFETY: SIGTERM to the child this test started.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let status = tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(s) = child.try_wait().unwrap() {
                return Some((s, child));
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    })
    .await
    .unwrap();
    let (status, mut child) = status.expect("the emulator exits after SIGTERM");
    assert!(status.success(), "{status:?}");
    assert!(!pid_exists(pid), "container process killed on exit");
    let mut err = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert!(err.contains("oauth2/v2.0/token"), "help on stderr: {err}");
    assert!(
        request(&format!("{base}/_emulator/stats"), "GET", &[], None)
            .await
            .is_err(),
        "no longer listening"
    );
}
