//! Finding a connection by id across the configured sources, in the
//! precedence order documented in [the module](super).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use super::{env_var_name, files, Connection, ConnectionError, ENV_PREFIX};

/// Resolves connection ids against overrides, `--conn` options,
/// `--connections` files and `AIRFLOW_CONN_*` variables, in that order.
///
/// Build it once (it is `Send + Sync`) and share it behind an `Arc`.
#[derive(Clone, Default)]
pub struct ConnectionResolver {
    overrides: BTreeMap<String, Connection>,
    cli: BTreeMap<String, Connection>,
    /// In the order given; later files win.
    files: Vec<(PathBuf, BTreeMap<String, Connection>)>,
    /// `AIRFLOW_CONN_*` variables by name, parsed on lookup.
    env: Option<HashMap<String, String>>,
}

impl std::fmt::Debug for ConnectionResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Only ids and places: definitions carry secrets.
        f.debug_struct("ConnectionResolver")
            .field("sources", &self.sources())
            .finish()
    }
}

impl ConnectionResolver {
    /// A resolver with no source configured: every lookup is `NotFound`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads `AIRFLOW_CONN_<ID>` variables from this environment snapshot
    /// (the CLI passes `std::env::vars()`). Values are parsed when a
    /// connection is asked for, so a malformed variable only matters to the
    /// task that uses it.
    pub fn with_env(mut self, env: impl IntoIterator<Item = (String, String)>) -> Self {
        let vars = self.env.get_or_insert_with(HashMap::new);
        vars.extend(env.into_iter().filter(|(k, _)| k.starts_with(ENV_PREFIX)));
        self
    }

    /// Adds a connections file (`airflow connections export` JSON, YAML or
    /// env format). It is read and parsed now; a later file wins over an
    /// earlier one.
    pub fn with_file(mut self, path: &Path) -> Result<Self, ConnectionError> {
        let conns = files::load(path)?;
        self.files.push((path.to_path_buf(), conns));
        Ok(self)
    }

    /// Adds a `--conn ID=URI_OR_JSON` option; a later option for the same id
    /// wins.
    pub fn with_cli(mut self, spec: &str) -> Result<Self, ConnectionError> {
        let (id, value) = spec.split_once('=').ok_or_else(|| ConnectionError::BadOption {
            reason: "expected ID=URI or ID=JSON (e.g. --conn 'azure_default=azure://CLIENT_ID:SECRET@?tenantId=..&subscriptionId=..')".into(),
        })?;
        let id = id.trim();
        if id.is_empty() {
            return Err(ConnectionError::BadOption {
                reason: "the connection id before `=` is empty".into(),
            });
        }
        if value.trim().is_empty() {
            return Err(ConnectionError::BadOption {
                reason: format!("the definition of `{id}` after `=` is empty"),
            });
        }
        let conn = Connection::from_uri_or_json(id, value).map_err(|e| e.with_origin("--conn"))?;
        self.cli.insert(id.to_string(), conn);
        Ok(self)
    }

    /// Adds a connection that wins over every other source (used by `--local`
    /// to point the task's Azure connections at the emulator).
    pub fn with_override(mut self, conn: Connection) -> Self {
        self.overrides.insert(conn.conn_id.clone(), conn);
        self
    }

    /// Finds a connection. The `NotFound` error lists every place looked, in
    /// precedence order, with the ids each place does define.
    pub fn get(&self, conn_id: &str) -> Result<Connection, ConnectionError> {
        if let Some(conn) = self.overrides.get(conn_id) {
            return Ok(conn.clone());
        }
        if let Some(conn) = self.cli.get(conn_id) {
            return Ok(conn.clone());
        }
        for (_, conns) in self.files.iter().rev() {
            if let Some(conn) = conns.get(conn_id) {
                return Ok(conn.clone());
            }
        }
        if let Some(env) = &self.env {
            let var = env_var_name(conn_id);
            if let Some(value) = env.get(&var) {
                return Connection::from_uri_or_json(conn_id, value)
                    .map_err(|e| e.with_origin(format!("environment variable {var}")));
            }
        }
        Err(ConnectionError::NotFound {
            conn_id: conn_id.to_string(),
            looked: self.looked(conn_id),
        })
    }

    /// Where this resolver looks, highest precedence first, for humans.
    pub fn sources(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !self.overrides.is_empty() {
            out.push(format!("host overrides ({})", ids(self.overrides.keys())));
        }
        if !self.cli.is_empty() {
            out.push(format!("--conn options ({})", ids(self.cli.keys())));
        }
        for (path, conns) in self.files.iter().rev() {
            out.push(format!(
                "--connections file {} ({})",
                path.display(),
                ids(conns.keys())
            ));
        }
        if let Some(env) = &self.env {
            let mut names: Vec<&String> = env.keys().collect();
            names.sort();
            out.push(format!(
                "environment variables {ENV_PREFIX}<CONN_ID> ({})",
                if names.is_empty() {
                    "none set".to_string()
                } else {
                    ids(names)
                }
            ));
        }
        out
    }

    /// The places looked for `conn_id`, for a `NotFound` error.
    fn looked(&self, conn_id: &str) -> Vec<String> {
        let mut out = Vec::new();
        if !self.overrides.is_empty() {
            out.push(format!(
                "host overrides (has {})",
                ids(self.overrides.keys())
            ));
        }
        if !self.cli.is_empty() {
            out.push(format!("--conn options (has {})", ids(self.cli.keys())));
        }
        for (path, conns) in self.files.iter().rev() {
            out.push(format!(
                "--connections file {} (has {})",
                path.display(),
                if conns.is_empty() {
                    "no connections".to_string()
                } else {
                    ids(conns.keys())
                }
            ));
        }
        if self.env.is_some() {
            out.push(format!(
                "environment variable {} (not set)",
                env_var_name(conn_id)
            ));
        }
        out
    }
}

fn ids<'a>(keys: impl IntoIterator<Item = &'a String>) -> String {
    const MAX: usize = 20;
    let keys: Vec<&String> = keys.into_iter().collect();
    let mut s = keys
        .iter()
        .take(MAX)
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ");
    if keys.len() > MAX {
        s.push_str(&format!(", and {} more", keys.len() - MAX));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn file(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
        let path = dir.path().join(name);
        std::fs::File::create(&path)
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        path
    }

    #[test]
    fn env_uri_and_json_forms() {
        let r = ConnectionResolver::new().with_env(env(&[
            ("AIRFLOW_CONN_AZURE_DEFAULT", "azure://id:pw@?tenantId=t&subscriptionId=s"),
            ("AIRFLOW_CONN_PG", r#"{"conn_type": "postgres", "login": "u", "password": "p", "host": "db", "port": 5432}"#),
            ("PATH", "/bin"),
        ]));
        let az = r.get("azure_default").unwrap();
        assert_eq!(az.conn_id, "azure_default");
        assert_eq!(az.login.as_deref(), Some("id"));
        assert_eq!(az.extra["tenantId"], "t");
        let pg = r.get("pg").unwrap();
        assert_eq!(pg.port, Some(5432));
        assert_eq!(pg.conn_id, "pg");
    }

    #[test]
    fn malformed_env_var_is_reported_with_its_origin_only_when_used() {
        let r = ConnectionResolver::new().with_env(env(&[
            ("AIRFLOW_CONN_BAD", "x://user:pw-secret-1@host:notaport"),
            ("AIRFLOW_CONN_GOOD", "x://h"),
        ]));
        assert!(r.get("good").is_ok());
        let e = r.get("bad").unwrap_err().to_string();
        assert!(e.contains("environment variable AIRFLOW_CONN_BAD"), "{e}");
        assert!(e.contains("port"), "{e}");
        assert!(!e.contains("pw-secret-1"), "{e}");
    }

    #[test]
    fn precedence_override_then_cli_then_files_then_env() {
        let dir = tempfile::tempdir().unwrap();
        let f1 = file(
            &dir,
            "a.json",
            r#"{"c": "x://from-file-1", "f1only": "x://f1", "both": "x://file1"}"#,
        );
        let f2 = file(&dir, "b.yaml", "c: x://from-file-2\nboth: x://file2\n");
        let base = ConnectionResolver::new().with_env(env(&[
            ("AIRFLOW_CONN_C", "x://from-env"),
            ("AIRFLOW_CONN_ENVONLY", "x://env"),
        ]));
        let host = |r: &ConnectionResolver, id: &str| r.get(id).unwrap().host.unwrap();

        assert_eq!(host(&base, "c"), "from-env");
        let r = base.clone().with_file(&f1).unwrap();
        assert_eq!(host(&r, "c"), "from-file-1");
        let r = r.with_file(&f2).unwrap();
        assert_eq!(host(&r, "c"), "from-file-2", "later file wins");
        assert_eq!(host(&r, "both"), "file2");
        assert_eq!(host(&r, "f1only"), "f1");
        assert_eq!(host(&r, "envonly"), "env");
        let r = r
            .with_cli("c=x://from-cli-1")
            .unwrap()
            .with_cli("c=x://from-cli-2")
            .unwrap();
        assert_eq!(host(&r, "c"), "from-cli-2", "later --conn wins");
        let mut emu = Connection::new("c", "azure");
        emu.host = Some("emulator".into());
        let r = r.with_override(emu);
        assert_eq!(host(&r, "c"), "emulator");
        assert_eq!(host(&r, "envonly"), "env");
    }

    #[test]
    fn env_lookup_uppercases_the_id() {
        let r = ConnectionResolver::new().with_env(env(&[("AIRFLOW_CONN_MY_DB", "x://h")]));
        assert!(r.get("my_db").is_ok());
        assert!(r.get("My_Db").is_ok());
        // Lower-case variable names are not Airflow's convention.
        let r = ConnectionResolver::new().with_env(env(&[("AIRFLOW_CONN_my_db", "x://h")]));
        assert!(r.get("my_db").is_err());
    }

    #[test]
    fn not_found_lists_every_place_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let f1 = file(&dir, "one.json", r#"{"a": "x://h"}"#);
        let f2 = file(&dir, "two.env", "b=x://h\n");
        let r = ConnectionResolver::new()
            .with_env(env(&[("AIRFLOW_CONN_OTHER", "x://h")]))
            .with_file(&f1)
            .unwrap()
            .with_file(&f2)
            .unwrap()
            .with_cli("cli_one=x://h")
            .unwrap()
            .with_override(Connection::new("emu", "azure"));
        let e = r.get("missing_db").unwrap_err();
        let ConnectionError::NotFound { conn_id, looked } = &e else {
            panic!("{e}")
        };
        assert_eq!(conn_id, "missing_db");
        assert_eq!(looked.len(), 5);
        assert!(looked[0].starts_with("host overrides (has `emu`)"));
        assert!(looked[1].starts_with("--conn options (has `cli_one`)"));
        assert!(looked[2].contains("two.env") && looked[2].contains("`b`"));
        assert!(looked[3].contains("one.json") && looked[3].contains("`a`"));
        assert_eq!(
            looked[4],
            "environment variable AIRFLOW_CONN_MISSING_DB (not set)"
        );
        let msg = e.to_string();
        assert!(
            msg.starts_with("connection `missing_db` is not defined; looked in 1. host overrides"),
            "{msg}"
        );
        assert_eq!(r.sources().len(), 5);
        assert!(r.sources()[4].contains("AIRFLOW_CONN_OTHER"));
    }

    #[test]
    fn nothing_configured() {
        let e = ConnectionResolver::new().get("x").unwrap_err().to_string();
        assert_eq!(
            e,
            "connection `x` is not defined; looked in nothing (no connection source is configured)"
        );
        assert!(ConnectionResolver::new().sources().is_empty());
        let e = ConnectionResolver::new()
            .with_env(Vec::new())
            .get("x")
            .unwrap_err()
            .to_string();
        assert!(e.contains("AIRFLOW_CONN_X (not set)"), "{e}");
    }

    #[test]
    fn cli_option_errors() {
        let e = ConnectionResolver::new()
            .with_cli("no-equals-sign")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("invalid --conn option: expected ID=URI"),
            "{e}"
        );
        assert!(ConnectionResolver::new().with_cli("=x://h").is_err());
        assert!(ConnectionResolver::new().with_cli("a=").is_err());
        let e = ConnectionResolver::new()
            .with_cli("a=x://u:pw-secret-2@h:99999")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("connection `a` (from --conn)") && e.contains("out of range"),
            "{e}"
        );
        assert!(!e.contains("pw-secret-2"));
        let r = ConnectionResolver::new()
            .with_cli(r#"j={"conn_type": "http", "host": "h", "extra": {"a": "b=c"}}"#)
            .unwrap();
        assert_eq!(r.get("j").unwrap().extra["a"], "b=c");
    }

    #[test]
    fn bad_file_fails_at_configuration_time() {
        let dir = tempfile::tempdir().unwrap();
        let f = file(&dir, "bad.json", "{not json");
        let e = ConnectionResolver::new()
            .with_file(&f)
            .unwrap_err()
            .to_string();
        assert!(e.contains("bad.json") && e.contains("line 1"), "{e}");
    }

    #[test]
    fn debug_shows_no_secrets() {
        let r = ConnectionResolver::new()
            .with_cli("a=x://u:pw-secret-3@h")
            .unwrap()
            .with_env(env(&[("AIRFLOW_CONN_B", "x://u:pw-secret-4@h")]));
        let dbg = format!("{r:?}");
        assert!(!dbg.contains("pw-secret"), "{dbg}");
        assert!(dbg.contains("`a`"));
    }

    #[test]
    fn resolver_is_send_sync() {
        fn check<T: Send + Sync>() {}
        check::<ConnectionResolver>();
    }
}
