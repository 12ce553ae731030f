//! The local XCom store: a state directory where a task's XComs stay after
//! it ends, so that `ti.xcom_pull` in a later task (a later `aci-host run`)
//! sees them.
//!
//! # Layout
//!
//! ```text
//! <state-dir>/xcom/<dag_id>/<run_id>/<task_id>/<key>.json
//! ```
//!
//! Each path component is the id percent-encoded: every byte outside
//! `A-Z a-z 0-9 _ - .` becomes `%XX`, a leading `.` is encoded too (so no
//! component is `.`, `..` or hidden), and an empty id is written `%`. Ids too
//! long for a file name keep a readable prefix followed by `~` and a hash of
//! the whole id. No id can therefore escape its directory.
//!
//! Each file holds `{"dag_id", "run_id", "task_id", "key", "value"}`, so
//! listing never has to decode names. Writes are atomic: the document goes
//! to a hidden temporary file in the same directory, is flushed to disk, then
//! renamed over the target, and the directory is synced; a crash leaves
//! either the old value or the new one, never a torn file. Readers ignore
//! hidden files, and stale temporaries are harmless.
//!
//! A task with no DAG uses the empty `dag_id`.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// One stored XCom.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct XcomEntry {
    /// The DAG id (empty for a task without one).
    pub dag_id: String,
    /// The run id.
    pub run_id: String,
    /// The task that pushed it.
    pub task_id: String,
    /// The XCom key (`return_value`, `logs`, ...).
    pub key: String,
    /// The value.
    pub value: serde_json::Value,
}

/// The XCom key under which a task's return value is stored.
pub const RETURN_VALUE_KEY: &str = "return_value";

/// Longest encoded path component kept verbatim (file names are limited to
/// 255 bytes; `.json` and the temp-file prefix need room).
const MAX_COMPONENT: usize = 180;

/// A directory of XComs keyed by dag, run, task and key. `Send + Sync`; the
/// file system serialises concurrent writers (last rename wins).
#[derive(Debug, Clone)]
pub struct XcomStore {
    root: PathBuf,
}

impl XcomStore {
    /// Opens (creating it if needed) the store under `state_dir`
    /// (`<state_dir>/xcom`).
    pub fn open(state_dir: &Path) -> io::Result<Self> {
        let root = state_dir.join("xcom");
        fs::create_dir_all(&root).map_err(|e| with_path(e, &root))?;
        Ok(XcomStore { root })
    }

    /// The default state directory: `$XDG_DATA_HOME/aci-host`, else
    /// `~/.local/share/aci-host`, else `aci-host` in the temp directory.
    pub fn default_dir() -> PathBuf {
        let xdg = std::env::var_os("XDG_DATA_HOME")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute());
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
            .map(|h| h.join(".local").join("share"));
        xdg.or(home)
            .unwrap_or_else(std::env::temp_dir)
            .join("aci-host")
    }

    /// The directory holding the XCom files (`<state_dir>/xcom`).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Stores `value` under dag/run/task/key, replacing any previous value.
    pub fn push(
        &self,
        dag_id: &str,
        run_id: &str,
        task_id: &str,
        key: &str,
        value: &serde_json::Value,
    ) -> io::Result<()> {
        let dir = self.task_dir(dag_id, run_id, task_id);
        fs::create_dir_all(&dir).map_err(|e| with_path(e, &dir))?;
        let entry = XcomEntry {
            dag_id: dag_id.to_string(),
            run_id: run_id.to_string(),
            task_id: task_id.to_string(),
            key: key.to_string(),
            value: value.clone(),
        };
        let bytes = serde_json::to_vec(&entry).map_err(io::Error::other)?;
        let target = dir.join(format!("{}.json", encode_component(key)));
        write_atomic(&dir, &target, &bytes)
    }

    /// Reads the value under dag/run/task/key, `None` when there is none.
    pub fn pull(
        &self,
        dag_id: &str,
        run_id: &str,
        task_id: &str,
        key: &str,
    ) -> io::Result<Option<serde_json::Value>> {
        let path = self
            .task_dir(dag_id, run_id, task_id)
            .join(format!("{}.json", encode_component(key)));
        match read_entry(&path)? {
            // The stored ids guard against (astronomically unlikely) hash
            // collisions of long, shortened names.
            Some(e)
                if e.dag_id == dag_id
                    && e.run_id == run_id
                    && e.task_id == task_id
                    && e.key == key =>
            {
                Ok(Some(e.value))
            }
            _ => Ok(None),
        }
    }

    /// Lists stored XComs, optionally only those of one DAG and/or one run,
    /// sorted by dag, run, task and key.
    pub fn list(&self, dag_id: Option<&str>, run_id: Option<&str>) -> io::Result<Vec<XcomEntry>> {
        let mut out = Vec::new();
        let dags = match dag_id {
            Some(d) => vec![self.root.join(encode_component(d))],
            None => subdirs(&self.root)?,
        };
        for dag_dir in dags {
            let runs = match run_id {
                Some(r) => vec![dag_dir.join(encode_component(r))],
                None => subdirs(&dag_dir)?,
            };
            for run_dir in runs {
                for task_dir in subdirs(&run_dir)? {
                    for file in files(&task_dir)? {
                        if let Some(entry) = read_entry(&file)? {
                            let matches = dag_id.is_none_or(|d| d == entry.dag_id)
                                && run_id.is_none_or(|r| r == entry.run_id);
                            if matches {
                                out.push(entry);
                            }
                        }
                    }
                }
            }
        }
        out.sort_by(|a, b| {
            (&a.dag_id, &a.run_id, &a.task_id, &a.key)
                .cmp(&(&b.dag_id, &b.run_id, &b.task_id, &b.key))
        });
        Ok(out)
    }

    fn task_dir(&self, dag_id: &str, run_id: &str, task_id: &str) -> PathBuf {
        self.root
            .join(encode_component(dag_id))
            .join(encode_component(run_id))
            .join(encode_component(task_id))
    }
}

fn with_path(e: io::Error, path: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

/// Reads one entry file; `None` when it does not exist.
fn read_entry(path: &Path) -> io::Result<Option<XcomEntry>> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(with_path(e, path)),
    };
    serde_json::from_slice(&bytes).map(Some).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: not a valid XCom file ({e})", path.display()),
        )
    })
}

/// The visible subdirectories of `dir` (none when it does not exist).
fn subdirs(dir: &Path) -> io::Result<Vec<PathBuf>> {
    Ok(visible_entries(dir)?
        .into_iter()
        .filter(|p| p.is_dir())
        .collect())
}

/// The visible `*.json` files of `dir`.
fn files(dir: &Path) -> io::Result<Vec<PathBuf>> {
    Ok(visible_entries(dir)?
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "json") && p.is_file())
        .collect())
}

fn visible_entries(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let reader = match fs::read_dir(dir) {
        Ok(r) => r,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(with_path(e, dir)),
    };
    let mut out = Vec::new();
    for entry in reader {
        let entry = entry.map_err(|e| with_path(e, dir))?;
        if !entry.file_name().to_string_lossy().starts_with('.') {
            out.push(entry.path());
        }
    }
    out.sort();
    Ok(out)
}

/// Writes `bytes` to `target` atomically (temp file in `dir`, fsync, rename,
/// fsync of the directory).
fn write_atomic(dir: &Path, target: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = dir.join(format!(".tmp-{}", uuid::Uuid::new_v4().simple()));
    let result = (|| {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, target)?;
        // Make the rename itself durable.
        if let Ok(d) = fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(|e: io::Error| with_path(e, target))
}

/// Encodes an id as one safe path component (see the module docs).
pub fn encode_component(id: &str) -> String {
    if id.is_empty() {
        return "%".to_string();
    }
    let mut out = String::with_capacity(id.len());
    for (i, b) in id.bytes().enumerate() {
        let keep = b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || (b == b'.' && i > 0);
        if keep {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    if out.len() > MAX_COMPONENT {
        let hash = hex::encode(&Sha256::digest(id.as_bytes())[..16]);
        let mut cut = 100;
        // Do not cut an escape in half.
        while !out.is_char_boundary(cut)
            || out[..cut].ends_with('%')
            || out[..cut.saturating_sub(1)].ends_with('%')
        {
            cut -= 1;
        }
        out.truncate(cut);
        out.push('~');
        out.push_str(&hash);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn store() -> (tempfile::TempDir, XcomStore) {
        let dir = tempfile::tempdir().unwrap();
        let s = XcomStore::open(dir.path()).unwrap();
        (dir, s)
    }

    #[test]
    fn push_pull_round_trip() {
        let (_d, s) = store();
        assert_eq!(
            s.pull("dag", "run", "extract", "return_value").unwrap(),
            None
        );
        s.push("dag", "run", "extract", "return_value", &json!({"rows": 3}))
            .unwrap();
        assert_eq!(
            s.pull("dag", "run", "extract", "return_value").unwrap(),
            Some(json!({"rows": 3}))
        );
        s.push("dag", "run", "extract", "return_value", &json!(4))
            .unwrap();
        assert_eq!(
            s.pull("dag", "run", "extract", "return_value").unwrap(),
            Some(json!(4))
        );
        assert_eq!(
            s.pull("dag", "other-run", "extract", "return_value")
                .unwrap(),
            None
        );
        assert_eq!(s.pull("dag", "run", "extract", "logs").unwrap(), None);
    }

    #[test]
    fn survives_reopening_like_a_second_run() {
        let (d, s) = store();
        s.push("d", "r", "t1", "k", &json!("v")).unwrap();
        drop(s);
        let s2 = XcomStore::open(d.path()).unwrap();
        assert_eq!(s2.pull("d", "r", "t1", "k").unwrap(), Some(json!("v")));
    }

    #[test]
    fn hostile_ids_stay_inside_the_store() {
        let (d, s) = store();
        let ids = [
            "..",
            ".",
            "../../etc",
            "a/b",
            "/abs",
            "a\\b",
            "",
            ".hidden",
            "x\0y",
            "ü nicode",
        ];
        for (i, id) in ids.iter().enumerate() {
            s.push(id, id, id, id, &json!(i)).unwrap();
            assert_eq!(s.pull(id, id, id, id).unwrap(), Some(json!(i)), "{id:?}");
        }
        // Nothing was written outside <dir>/xcom.
        let top: Vec<_> = fs::read_dir(d.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(top, vec![std::ffi::OsString::from("xcom")]);
        for entry in walk(s.root()) {
            assert!(entry.starts_with(s.root()));
            let name = entry.file_name().unwrap().to_string_lossy().to_string();
            assert!(!name.starts_with('.'), "{name}");
        }
        let listed = s.list(None, None).unwrap();
        assert_eq!(listed.len(), ids.len());
        assert!(listed
            .iter()
            .any(|e| e.dag_id == "../../etc" && e.key == "../../etc"));
    }

    fn walk(dir: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for e in fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                out.extend(walk(&p));
            }
            out.push(p);
        }
        out
    }

    #[test]
    fn encoding_is_injective_for_distinct_ids() {
        let ids = [
            "a", "a.", "%", "%25", "", "a%2Fb", "a/b", ".a", "%2Ea", "A", "a b",
        ];
        let encoded: std::collections::HashSet<String> =
            ids.iter().map(|i| encode_component(i)).collect();
        assert_eq!(encoded.len(), ids.len());
        assert_eq!(
            encode_component("manual__2026-11-23T00:00:00+00:00"),
            "manual__2026-11-23T00%3A00%3A00%2B00%3A00"
        );
        assert_eq!(encode_component(".."), "%2E.");
    }

    #[test]
    fn long_ids_are_shortened_and_still_distinct() {
        let (_d, s) = store();
        let a = "x".repeat(400);
        let b = format!("{}y", "x".repeat(399));
        assert!(encode_component(&a).len() <= MAX_COMPONENT);
        assert_ne!(encode_component(&a), encode_component(&b));
        let c = "/".repeat(300);
        assert!(encode_component(&c).len() <= MAX_COMPONENT);
        s.push(&a, &b, &c, &a, &json!(1)).unwrap();
        s.push(&b, &b, &c, &a, &json!(2)).unwrap();
        assert_eq!(s.pull(&a, &b, &c, &a).unwrap(), Some(json!(1)));
        assert_eq!(s.pull(&b, &b, &c, &a).unwrap(), Some(json!(2)));
    }

    #[test]
    fn list_filters_and_sorts() {
        let (_d, s) = store();
        s.push("d2", "r1", "t", "k", &json!(1)).unwrap();
        s.push("d1", "r2", "t", "k", &json!(2)).unwrap();
        s.push("d1", "r1", "b", "return_value", &json!(3)).unwrap();
        s.push("d1", "r1", "a", "z", &json!(4)).unwrap();
        s.push("d1", "r1", "a", "logs", &json!(["l"])).unwrap();
        let all = s.list(None, None).unwrap();
        let keys: Vec<_> = all
            .iter()
            .map(|e| format!("{}/{}/{}/{}", e.dag_id, e.run_id, e.task_id, e.key))
            .collect();
        assert_eq!(
            keys,
            [
                "d1/r1/a/logs",
                "d1/r1/a/z",
                "d1/r1/b/return_value",
                "d1/r2/t/k",
                "d2/r1/t/k"
            ]
        );
        assert_eq!(s.list(Some("d1"), None).unwrap().len(), 4);
        assert_eq!(s.list(Some("d1"), Some("r1")).unwrap().len(), 3);
        assert_eq!(s.list(None, Some("r1")).unwrap().len(), 4);
        assert!(s.list(Some("nope"), None).unwrap().is_empty());
    }

    #[test]
    fn stale_temp_files_and_strays_are_ignored() {
        let (_d, s) = store();
        s.push("d", "r", "t", "k", &json!(1)).unwrap();
        let dir = s.task_dir("d", "r", "t");
        fs::write(dir.join(".tmp-crashed"), b"{\"torn").unwrap();
        fs::write(dir.join("notes.txt"), b"x").unwrap();
        assert_eq!(s.list(None, None).unwrap().len(), 1);
        // No temporary file is left behind by a successful write.
        let names: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 3);
    }

    #[test]
    fn corrupt_file_is_a_clear_error() {
        let (_d, s) = store();
        s.push("d", "r", "t", "k", &json!(1)).unwrap();
        fs::write(s.task_dir("d", "r", "t").join("k.json"), b"{torn").unwrap();
        let e = s.pull("d", "r", "t", "k").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        assert!(e.to_string().contains("k.json"));
    }

    #[test]
    fn concurrent_writers_never_tear() {
        let (_d, s) = store();
        let s = std::sync::Arc::new(s);
        let big = json!("x".repeat(100_000));
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let s = s.clone();
                let v = json!({"writer": i, "pad": big.clone()});
                std::thread::spawn(move || {
                    for _ in 0..10 {
                        s.push("d", "r", "t", "k", &v).unwrap();
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        let v = s.pull("d", "r", "t", "k").unwrap().unwrap();
        assert!(v["writer"].as_u64().unwrap() < 8);
        assert_eq!(v["pad"], big);
    }

    #[test]
    fn default_dir_ends_in_aci_host() {
        assert!(XcomStore::default_dir().ends_with("aci-host"));
    }

    #[test]
    fn store_is_send_sync() {
        fn check<T: Send + Sync>() {}
        check::<XcomStore>();
    }
}
