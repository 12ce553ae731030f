//! The `.cwasm` cache: precompiled components on disk, used only when they
//! can only have been written by this user.
//!
//! Loading a `.cwasm` is `unsafe` deserialization of machine code, so the
//! cache is trusted only when nobody else can write to it:
//! - the directory (created `0700` when missing) and each cached file must
//!   be owned by the current (effective) user and writable by neither group
//!   nor others; a cached file must be a regular file (not a symlink);
//! - otherwise the host warns once and compiles in memory (nothing read or
//!   written there).
//!
//! Writes are atomic and never follow a planted file: a temporary file with
//! a random name is created exclusively (`O_CREAT|O_EXCL`, mode `0600`),
//! written, fsynced and renamed over the entry; it is removed on any error.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// A cache directory that passed the trust checks.
#[derive(Debug)]
pub struct CwasmCache {
    dir: PathBuf,
}

/// Why a cache path is not trusted.
fn untrusted(path: &Path, meta: &std::fs::Metadata) -> Option<String> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if meta.uid() != me {
        return Some(format!(
            "{} is owned by user {}, not by this user ({me})",
            path.display(),
            meta.uid()
        ));
    }
    if meta.mode() & 0o022 != 0 {
        return Some(format!(
            "{} is writable by its group or by others (mode {:o})",
            path.display(),
            meta.mode() & 0o7777
        ));
    }
    None
}

impl CwasmCache {
    /// Opens (creating it `0700` when missing) the cache directory `dir`, or
    /// says why it cannot be trusted.
    pub fn open(dir: &Path) -> Result<CwasmCache, String> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let meta = std::fs::metadata(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        if !meta.is_dir() {
            return Err(format!("{} is not a directory", dir.display()));
        }
        match untrusted(dir, &meta) {
            Some(reason) => Err(reason),
            None => Ok(CwasmCache {
                dir: dir.to_path_buf(),
            }),
        }
    }

    /// Where the entry for `key` lives.
    pub fn path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.cwasm"))
    }

    /// The entry for `key` when it exists and can be trusted; an untrusted
    /// one is reported (`Err`) and must not be loaded.
    pub fn trusted_entry(&self, key: &str) -> Result<Option<PathBuf>, String> {
        let path = self.path(key);
        let meta = match std::fs::symlink_metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        if !meta.file_type().is_file() {
            return Err(format!("{} is not a regular file", path.display()));
        }
        match untrusted(&path, &meta) {
            Some(reason) => Err(reason),
            None => Ok(Some(path)),
        }
    }

    /// Stores `bytes` as the entry for `key`, atomically (see [the module
    /// docs](self)).
    pub fn store(&self, key: &str, bytes: &[u8]) -> std::io::Result<()> {
        let suffix: u64 = rand::random();
        let tmp = self.dir.join(format!(".{key}.{suffix:016x}.tmp"));
        let written = (|| {
            let mut file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .custom_flags(libc::O_NOFOLLOW)
                .open(&tmp)?;
            file.write_all(bytes)?;
            file.sync_all()?;
            drop(file);
            std::fs::rename(&tmp, self.path(key))
        })();
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        written?;
        // Best effort: make the rename itself durable.
        if let Ok(dir) = File::open(&self.dir) {
            let _ = dir.sync_all();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn temp_names(dir: &Path) -> Vec<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp"))
            .collect()
    }

    #[test]
    fn stores_atomically_with_private_permissions() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("cache");
        let cache = CwasmCache::open(&dir).unwrap();
        assert_eq!(std::fs::metadata(&dir).unwrap().mode() & 0o777, 0o700);
        cache.store("k", b"compiled").unwrap();
        cache.store("k", b"compiled again").unwrap();
        let entry = cache.trusted_entry("k").unwrap().unwrap();
        assert_eq!(std::fs::read(&entry).unwrap(), b"compiled again");
        assert_eq!(std::fs::metadata(&entry).unwrap().mode() & 0o777, 0o600);
        assert!(temp_names(&dir).is_empty());
        assert_eq!(cache.trusted_entry("missing").unwrap(), None);
    }

    #[test]
    fn a_planted_temp_file_is_never_followed() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("cache");
        let cache = CwasmCache::open(&dir).unwrap();
        let victim = root.path().join("victim");
        std::fs::write(&victim, b"precious").unwrap();
        // What an attacker who can guess a per-process name would plant.
        let planted = dir.join(format!(".k.cwasm.{}.tmp", std::process::id()));
        std::os::unix::fs::symlink(&victim, &planted).unwrap();
        cache.store("k", b"compiled").unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
        assert_eq!(std::fs::read(cache.path("k")).unwrap(), b"compiled");
    }

    #[test]
    fn the_temp_file_is_removed_when_storing_fails() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("cache");
        let cache = CwasmCache::open(&dir).unwrap();
        // The entry's name is taken by a non-empty directory: rename fails.
        std::fs::create_dir_all(cache.path("k").join("x")).unwrap();
        assert!(cache.store("k", b"compiled").is_err());
        assert!(temp_names(&dir).is_empty(), "{:?}", temp_names(&dir));
    }

    #[test]
    fn a_directory_writable_by_others_is_refused() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("shared");
        std::fs::create_dir(&dir).unwrap();
        for mode in [0o777, 0o775, 0o1777] {
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(mode)).unwrap();
            let e = CwasmCache::open(&dir).unwrap_err();
            assert!(e.contains("writable by its group or by others"), "{e}");
        }
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert!(CwasmCache::open(&dir).is_ok());
    }

    #[test]
    fn untrusted_entries_are_refused() {
        let root = tempfile::tempdir().unwrap();
        let cache = CwasmCache::open(&root.path().join("cache")).unwrap();
        cache.store("w", b"x").unwrap();
        std::fs::set_permissions(cache.path("w"), std::fs::Permissions::from_mode(0o666)).unwrap();
        let e = cache.trusted_entry("w").unwrap_err();
        assert!(e.contains("writable by its group or by others"), "{e}");
        std::os::unix::fs::symlink(root.path(), cache.path("l")).unwrap();
        let e = cache.trusted_entry("l").unwrap_err();
        assert!(e.contains("not a regular file"), "{e}");
        // Another user's file (only root can make one here).
        cache.store("o", b"x").unwrap();
        let path = std::ffi::CString::new(cache.path("o").as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        if unsafe { libc::chown(path.as_ptr(), 65534, 65534) } == 0 {
            let e = cache.trusted_entry("o").unwrap_err();
            assert!(e.contains("is owned by user 65534"), "{e}");
        }
    }

    #[test]
    fn the_engine_compiles_in_memory_rather_than_trust_others_files() {
        use crate::engine::{EngineOptions, PluginEngine};
        let root = tempfile::tempdir().unwrap();
        let shared = root.path().join("shared");
        std::fs::create_dir(&shared).unwrap();
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o777)).unwrap();
        let engine = |dir: &Path| {
            PluginEngine::new(EngineOptions {
                pooling: false,
                cache_dir: Some(dir.to_path_buf()),
                ..EngineOptions::default()
            })
            .unwrap()
        };
        let wasm = crate::runner::BUILTIN_PLUGIN;
        let (_, info) = engine(&shared).load_component(wasm).unwrap();
        assert!(!info.cache_hit);
        assert_eq!(
            std::fs::read_dir(&shared).unwrap().count(),
            0,
            "nothing written"
        );
        // A trusted directory with an entry others could have written.
        let own = root.path().join("own");
        let e = engine(&own);
        let cache = CwasmCache::open(&own).unwrap();
        let key = e.cache_key(wasm);
        std::fs::write(cache.path(&key), b"not machine code").unwrap();
        std::fs::set_permissions(cache.path(&key), std::fs::Permissions::from_mode(0o666)).unwrap();
        let (_, info) = e.load_component(wasm).unwrap();
        assert!(!info.cache_hit);
        // Replaced by a private entry, which the next load uses.
        assert!(cache.trusted_entry(&key).unwrap().is_some());
        let (_, info) = e.load_component(wasm).unwrap();
        assert!(info.cache_hit);
    }
}
