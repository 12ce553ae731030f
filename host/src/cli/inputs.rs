//! Turning arguments into inputs: connections, outbound grants, task files,
//! the XCom store, dates.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::connections::ConnectionResolver;
use crate::grant::Grant;
use crate::policy::AllowRule;
use crate::xcom_store::XcomStore;

use super::args::ConnArgs;

/// Builds the connection resolver: `AIRFLOW_CONN_*` from the environment,
/// then `--connections` files, then `--conn` (later sources win).
pub fn resolver(args: &ConnArgs) -> Result<ConnectionResolver, String> {
    let mut r = ConnectionResolver::new().with_env(std::env::vars());
    for f in &args.connection_files {
        r = r.with_file(f).map_err(|e| e.to_string())?;
    }
    for c in &args.conns {
        r = r.with_cli(c).map_err(|e| e.to_string())?;
    }
    Ok(r)
}

/// The `--allow-host` rules.
pub fn allow_rules(args: &ConnArgs) -> Result<Vec<AllowRule>, String> {
    args.allow_hosts
        .iter()
        .map(|h| AllowRule::parse(h).map_err(|e| format!("--allow-host {h}: {e}")))
        .collect()
}

/// The pinned grant of `--grant FILE`, if given.
pub fn pinned_grant(args: &ConnArgs) -> Result<Option<Grant>, String> {
    args.grant
        .as_deref()
        .map(|p| Grant::load(p).map_err(|e| format!("--grant {e}")))
        .transpose()
}

/// Expands directories into their task files (`.toml`, `.json`, `.yaml`,
/// `.yml`, sorted by name), keeping the given order otherwise.
pub fn expand_tasks(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(p)
                .map_err(|e| format!("{}: {e}", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| {
                    f.is_file()
                        && matches!(
                            f.extension().and_then(|x| x.to_str()),
                            Some("toml" | "json" | "yaml" | "yml")
                        )
                })
                .collect();
            entries.sort();
            if entries.is_empty() {
                return Err(format!(
                    "{}: no task files (.toml, .json, .yaml) in this directory",
                    p.display()
                ));
            }
            out.extend(entries);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

/// Opens the XCom store under `dir` (default: [`XcomStore::default_dir`]).
pub fn open_xcom(dir: Option<&Path>) -> Result<Arc<XcomStore>, String> {
    let dir = dir
        .map(Path::to_path_buf)
        .unwrap_or_else(XcomStore::default_dir);
    XcomStore::open(&dir)
        .map(Arc::new)
        .map_err(|e| format!("opening the XCom store {}: {e}", dir.display()))
}

/// Today at 00:00 UTC: the default logical date, so that tasks run on the
/// same day share a run id (and `ti.xcom_pull` sees earlier tasks).
pub fn today_midnight() -> chrono::DateTime<chrono::Utc> {
    use chrono::TimeZone;
    let today = chrono::Utc::now().date_naive();
    chrono::Utc.from_utc_datetime(&today.and_hms_opt(0, 0, 0).unwrap_or_default())
}

/// Parses `--logical-date`.
pub fn parse_logical_date(
    s: Option<&str>,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, String> {
    s.map(|s| crate::task::parse_logical_date(s).map_err(|e| format!("--logical-date: {e}")))
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_expand_to_sorted_task_files() {
        let dir = tempfile::tempdir().unwrap();
        for f in ["b.toml", "a.yaml", "c.json", "notes.txt", "d.yml"] {
            std::fs::write(dir.path().join(f), "").unwrap();
        }
        std::fs::create_dir(dir.path().join("sub.toml")).unwrap();
        let single = PathBuf::from("x.toml");
        let files = expand_tasks(&[single.clone(), dir.path().to_path_buf()]).unwrap();
        let names: Vec<String> = files
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["x.toml", "a.yaml", "b.toml", "c.json", "d.yml"]);
        let empty = tempfile::tempdir().unwrap();
        let err = expand_tasks(&[empty.path().to_path_buf()]).unwrap_err();
        assert!(err.contains("no task files"), "{err}");
    }

    #[test]
    fn logical_dates_parse_or_say_which_flag() {
        assert!(parse_logical_date(None).unwrap().is_none());
        let d = parse_logical_date(Some("2026-01-02")).unwrap().unwrap();
        assert_eq!(d.to_rfc3339(), "2026-01-02T00:00:00+00:00");
        assert!(parse_logical_date(Some("yesterday"))
            .unwrap_err()
            .starts_with("--logical-date"));
        assert_eq!(today_midnight().time(), chrono::NaiveTime::MIN);
    }
}
