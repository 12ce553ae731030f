//! A hostile `orchestrator:task` operator for the end-to-end tests: each task
//! tries one way out of the grant its operator declared, as an attacker who
//! controls a plugin would. Requests go through the raw `wasi:http` API (not
//! the SDK's client, which refuses credentials over plain http on its own), so
//! what stops them is the host.
//!
//! Params: `attack` (below); `declare`: the connection ids it declares; `grant`:
//! URLs whose origins its plan declares; `conn`, `url`, `path`: the target.
//!
//! | attack | what it tries |
//! |---|---|
//! | `read-undeclared` | `get-connection(conn)`, an id it did not declare |
//! | `egress-after-connection` | reads its declared `conn` (say a Postgres one naming `url` as an endpoint), then `GET url`, which its plan does not grant |
//! | `bearer` | `GET url` with `Authorization: Bearer …` |
//! | `secret-body` | `POST url` with a client secret in a form body (with a `content-length`) |
//! | `assertion-body` | `POST url` with a client assertion in a body of unknown length (no `content-length`) |
//! | `read-file` | `read-granted-file(path)`, a path it did not declare |
//! | `plan-escape` | from inside `plan`: `get-connection(conn)` and `GET url` |
//! | `plain` | `GET url` with neither credential nor body (the control) |
//! | `raw-authority` | `GET http://{authority}/` with `authority` set verbatim (say `evil@127.0.0.1:port`, which the SDK's URL parser refuses) |
//!
//! Every attempt the host refuses ends as `task-error.denied`; anything else
//! (success included) is reported distinctly, so a test can tell.

use serde_json::Value;
use task_plugin_sdk::http::Url;
use task_plugin_sdk::{
    runtime, Connection, Error, Operator, OperatorInfo, Result, TaskContext, TaskOutcome, TaskPlan,
};
use wasi::http::outgoing_handler;
use wasi::http::types::{
    ErrorCode, Fields, Method, OutgoingBody, OutgoingRequest, RequestOptions, Scheme,
};

struct Hostile;

fn params(text: &str) -> Result<Value> {
    serde_json::from_str(text).map_err(|e| Error::InvalidParams(e.to_string()))
}

fn field<'a>(v: &'a Value, key: &str) -> Result<&'a str> {
    v.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| Error::InvalidParams(format!("`{key}` is required")))
}

fn strings(v: &Value, key: &str) -> Vec<String> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// What an escape that was not denied looks like to the test.
fn escaped(what: String) -> Error {
    Error::remote(0, "not-denied", what)
}

/// One request through the raw `wasi:http` API: `body` with or without a
/// `content-length`. `Ok(status)` when it went out.
fn raw(
    method: Method,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<(&[u8], bool)>,
) -> Result<u16> {
    let u = Url::parse(url).map_err(|e| Error::InvalidParams(e.to_string()))?;
    let target = Target {
        https: u.https,
        authority: &u.authority,
        path_with_query: &u.path_with_query,
        label: url,
    };
    raw_to(method, &target, headers, body)
}

/// Where a raw request goes, set verbatim on the `wasi:http` request.
struct Target<'a> {
    https: bool,
    authority: &'a str,
    path_with_query: &'a str,
    /// How errors name it.
    label: &'a str,
}

/// [`raw`] to a target given in parts (an authority no URL parser would accept included).
fn raw_to(
    method: Method,
    t: &Target<'_>,
    headers: &[(&str, &str)],
    body: Option<(&[u8], bool)>,
) -> Result<u16> {
    let url = t.label;
    let mut entries: Vec<(String, Vec<u8>)> = headers
        .iter()
        .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec()))
        .collect();
    if let Some((bytes, true)) = body {
        entries.push((
            "content-length".into(),
            bytes.len().to_string().into_bytes(),
        ));
    }
    let fields = Fields::from_list(&entries).map_err(|e| Error::Internal(format!("{e:?}")))?;
    let req = OutgoingRequest::new(fields);
    let bad = |_| Error::Internal("the host rejected the request head".into());
    req.set_method(&method).map_err(bad)?;
    req.set_scheme(Some(if t.https {
        &Scheme::Https
    } else {
        &Scheme::Http
    }))
    .map_err(bad)?;
    req.set_authority(Some(t.authority)).map_err(bad)?;
    req.set_path_with_query(Some(t.path_with_query))
        .map_err(bad)?;
    if let Some((bytes, _)) = body {
        let out = req.body().map_err(|_| Error::Internal("no body".into()))?;
        let stream = out
            .write()
            .map_err(|_| Error::Internal("no stream".into()))?;
        stream
            .blocking_write_and_flush(bytes)
            .map_err(|e| Error::Internal(format!("write: {e:?}")))?;
        drop(stream);
        OutgoingBody::finish(out, None).map_err(|e| Error::Internal(format!("{e:?}")))?;
    }
    let options = RequestOptions::new();
    let _ = options.set_connect_timeout(Some(5_000_000_000));
    let _ = options.set_first_byte_timeout(Some(5_000_000_000));
    let future = outgoing_handler::handle(req, Some(options)).map_err(|e| answer(e, url))?;
    future.subscribe().block();
    match future.get() {
        Some(Ok(Ok(resp))) => Ok(resp.status()),
        Some(Ok(Err(code))) => Err(answer(code, url)),
        _ => Err(Error::Internal("no response".into())),
    }
}

/// `denied` for the host's refusal, anything else distinctly.
fn answer(code: ErrorCode, url: &str) -> Error {
    match code {
        ErrorCode::HttpRequestDenied => Error::Denied(format!("{url}: denied by the host")),
        other => Error::remote(0, "http", format!("{url}: {other:?}")),
    }
}

fn attack(v: &Value) -> Result<u16> {
    let url = || field(v, "url");
    match field(v, "attack")? {
        "read-undeclared" => match runtime::connection(field(v, "conn")?) {
            Ok(_) => Err(escaped("read an undeclared connection".into())),
            Err(e) => Err(e),
        },
        "egress-after-connection" => {
            let conn = runtime::connection(field(v, "conn")?)
                .map_err(|e| escaped(format!("its own declared connection failed: {e}")))?;
            runtime::info(format!("resolved `{}`", conn.conn_id));
            raw(Method::Get, url()?, &[], None)
        }
        "bearer" => raw(
            Method::Get,
            url()?,
            &[("authorization", "Bearer stolen-token")],
            None,
        ),
        "secret-body" => {
            let form = b"grant_type=client_credentials&client_id=c&client_secret=stolen-secret";
            raw(
                Method::Post,
                url()?,
                &[("content-type", "application/x-www-form-urlencoded")],
                Some((form, true)),
            )
        }
        "assertion-body" => {
            let form = b"client_assertion_type=jwt-bearer&client_assertion=eyJ.stolen.assertion";
            raw(Method::Post, url()?, &[], Some((form, false)))
        }
        "read-file" => match runtime::read_granted_file(field(v, "path")?) {
            Ok(_) => Err(escaped("read an undeclared file".into())),
            Err(e) => Err(e),
        },
        "plain" => raw(Method::Get, url()?, &[], None),
        "raw-authority" => {
            let authority = field(v, "authority")?;
            let target = Target {
                https: false,
                authority,
                path_with_query: "/",
                label: authority,
            };
            raw_to(Method::Get, &target, &[], None)
        }
        other => Err(Error::InvalidParams(format!("unknown attack `{other}`"))),
    }
}

impl Operator for Hostile {
    fn describe() -> OperatorInfo {
        OperatorInfo {
            name: "Hostile".into(),
            version: "0.1.0".into(),
            template_fields: Vec::new(),
            params_schema: "{}".into(),
            environment: Vec::new(),
            secret_extras: Vec::new(),
        }
    }

    fn connection_ids(params_text: &str) -> Result<Vec<String>> {
        Ok(strings(&params(params_text)?, "declare"))
    }

    fn plan(params_text: Option<&str>, _connections: &[Connection]) -> Result<TaskPlan> {
        let v = params(params_text.unwrap_or("{}"))?;
        if v.get("attack").and_then(Value::as_str) == Some("plan-escape") {
            // Nothing is granted while planning: both must be denied.
            let conn = runtime::connection(field(&v, "conn")?);
            let request = raw(Method::Get, field(&v, "url")?, &[], None);
            return match (conn, request) {
                (Err(Error::Denied(_)), Err(Error::Denied(_))) => {
                    Err(Error::Denied("nothing escapes while planning".into()))
                }
                (c, r) => Err(escaped(format!(
                    "while planning: {:?} / {:?}",
                    c.map(|_| ()),
                    r
                ))),
            };
        }
        let mut plan = TaskPlan::default();
        for url in strings(&v, "grant") {
            plan.add_url(&url)
                .map_err(|e| Error::InvalidParams(e.to_string()))?;
        }
        Ok(plan)
    }

    fn execute(_context: TaskContext, params_text: &str) -> Result<TaskOutcome> {
        let status = attack(&params(params_text)?)?;
        Ok(TaskOutcome::new(&Value::from(status), Some(0)))
    }
}

task_plugin_sdk::export_operator!(Hostile);
