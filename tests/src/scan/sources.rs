//! Where the scan learns a test's secrets: connections, files, environments, task
//! parameters and command lines.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use aci_host::connections::Connection;
use aci_host::task::{Format, TaskFile};
use serde_json::Value;

use super::Secrets;

/// Files larger than this are not read for secrets.
const MAX_FILE: u64 = 1024 * 1024;

/// True for an extra or variable name that holds a secret (the scan's own rule, wider than
/// Airflow's): it names a password, secret, token, certificate or key, and is not a path,
/// file, id or address.
fn secret_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    let not_a_value = [
        "_path",
        "_file",
        "_id",
        "id",
        "_url",
        "_endpoint",
        "_host",
        "_name",
    ]
    .iter()
    .any(|end| lower.ends_with(end));
    !not_a_value
        && [
            "password",
            "passwd",
            "secret",
            "token",
            "certificate",
            "key",
            "credential",
        ]
        .iter()
        .any(|word| lower.contains(word))
}

/// True for a name whose value is a path to a file with secret contents.
fn file_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.ends_with("_path") || lower.ends_with("_file")
}

impl Secrets {
    /// A connection's secrets: its password, the extras the host masks
    /// ([`Connection::secrets`]), the extras the scan's own rule names secret (e.g.
    /// `client_certificate`), and the contents of the files its `*_path` / `*_file` extras
    /// name (`key_path`, `client_certificate_path`).
    pub fn add_connection(&self, c: &Connection) {
        let id = &c.conn_id;
        if let Some(p) = &c.password {
            self.add(format!("password of connection `{id}`"), p);
        }
        for s in c.secrets() {
            self.add(format!("a secret extra of connection `{id}`"), s);
        }
        for (key, value) in &c.extra {
            let label = format!("extra `{key}` of connection `{id}`");
            match value {
                Value::String(s) if file_name(key) => self.add_file(&label, Path::new(s)),
                Value::String(s) if secret_name(key) => self.add(label, s),
                Value::Object(_) | Value::Array(_) if secret_name(key) => {
                    self.add(label, value.to_string())
                }
                _ => {}
            }
        }
    }

    /// The contents of a file holding secrets (a key, a certificate, a token): the whole
    /// text (each of its lines is a form) and, when it is JSON, the secrets in it.
    pub fn add_file(&self, label: &str, path: &Path) {
        let small = std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() <= MAX_FILE);
        let Some(text) = small.then(|| std::fs::read_to_string(path).ok()).flatten() else {
            return;
        };
        self.add(format!("contents of {label}"), text.trim());
        if let Ok(json) = serde_json::from_str::<Value>(&text) {
            let mut inside = Vec::new();
            aci_host::mask::secrets_in_json(&json, &mut inside);
            for s in inside {
                self.add(format!("a secret in {label}"), s);
            }
        }
    }

    /// A connection given as text (`AIRFLOW_CONN_*`, `--conn`): parsed as the host parses
    /// it, or, when it does not parse, the password of its user-info taken as it stands.
    pub fn add_connection_text(&self, conn_id: &str, text: &str) {
        match Connection::from_uri_or_json(conn_id, text) {
            Ok(c) => self.add_connection(&c),
            Err(_) => {
                let Some((_, rest)) = text.split_once("://") else {
                    return;
                };
                let Some(at) = rest.rfind('@') else {
                    return;
                };
                if let Some((_, password)) = rest[..at].split_once(':') {
                    let label = format!("password of connection `{conn_id}` (unparsable)");
                    self.add(&label, password);
                    self.add(&label, percent_decode(password));
                }
            }
        }
    }

    /// Variables of a host environment: values under secret names, and the contents of the
    /// files `*_FILE` / `*_PATH` variables name (`AZURE_FEDERATED_TOKEN_FILE`).
    pub fn add_environment<'a>(&self, vars: impl IntoIterator<Item = (&'a str, &'a str)>) {
        for (name, value) in vars {
            let label = format!("environment variable `{name}`");
            if let Some(conn_id) = name.strip_prefix("AIRFLOW_CONN_") {
                self.add_connection_text(&conn_id.to_ascii_lowercase(), value);
            } else if file_name(name) {
                self.add_file(&label, Path::new(value));
            } else if secret_name(name) {
                self.add(label, value);
            }
        }
    }

    /// A fixed environment (`HostEnv::Fixed`).
    pub fn add_environment_map(&self, vars: &BTreeMap<String, String>) {
        self.add_environment(vars.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    }

    /// A task's secured variables: the values of `environment_variables` that
    /// `secured_variables` names (literal values; a templated one renders to a connection
    /// secret, found when the connection resolves).
    pub fn add_task_params(&self, params: &serde_json::Map<String, Value>) {
        let (Some(Value::Array(secured)), Some(Value::Object(vars))) = (
            params.get("secured_variables"),
            params.get("environment_variables"),
        ) else {
            return;
        };
        for name in secured.iter().filter_map(Value::as_str) {
            if let Some(Value::String(v)) = vars.get(name) {
                if !v.contains("{{") && !v.contains("{%") {
                    self.add(format!("secured variable `{name}`"), v);
                }
            }
        }
    }

    /// What a command line configures: its `AIRFLOW_CONN_*` and secret variables, `--conn
    /// ID=URI`, `--connections FILE`, and the secured variables of the task files (or
    /// directories of them) it names.
    pub fn add_command(&self, cmd: &Command) {
        let envs: Vec<(String, String)> = cmd
            .get_envs()
            .filter_map(|(k, v)| Some((k.to_str()?.to_string(), v?.to_str()?.to_string())))
            .collect();
        self.add_environment(envs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let dir = cmd
            .get_current_dir()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let args: Vec<String> = cmd
            .get_args()
            .filter_map(|a| a.to_str().map(String::from))
            .collect();
        for (i, arg) in args.iter().enumerate() {
            let next = args.get(i + 1).map(String::as_str).unwrap_or_default();
            match arg.as_str() {
                "--conn" => {
                    if let Some((id, uri)) = next.split_once('=') {
                        self.add_connection_text(id, uri);
                    }
                }
                "--connections" => self.add_connections_file(&dir.join(next)),
                _ => self.add_task_path(&dir.join(arg)),
            }
        }
    }

    /// A `--connections` file: a JSON object of connection ids to URIs or JSON objects.
    fn add_connections_file(&self, path: &Path) {
        let Some(Value::Object(all)) = std::fs::read_to_string(path)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
        else {
            return;
        };
        for (id, c) in all {
            match c {
                Value::String(s) => self.add_connection_text(&id, &s),
                other => self.add_connection_text(&id, &other.to_string()),
            }
        }
    }

    /// A task file, or each task file of a directory.
    fn add_task_path(&self, path: &Path) {
        let files: Vec<PathBuf> = if path.is_dir() {
            std::fs::read_dir(path)
                .into_iter()
                .flatten()
                .filter_map(|e| e.ok().map(|e| e.path()))
                .collect()
        } else {
            vec![path.to_path_buf()]
        };
        for file in files {
            if file.is_file() && Format::from_path(&file).is_some() {
                if let Ok(task) = TaskFile::load(&file) {
                    self.add_task_params(&task.params);
                }
            }
        }
    }
}

/// `%XX` escapes decoded (invalid ones kept), `+` kept.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
