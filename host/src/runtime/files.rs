//! `read-granted-file`: exactly the files of the call's grant (see
//! [`TaskRuntime::apply_grant`]), nothing else.

use std::path::Path;

use super::{RuntimeError, RuntimeResult, TaskRuntime};

impl TaskRuntime {
    /// Reads a granted file: any other path is `denied`, a missing or
    /// unreadable one `not-found`, one over the size bound `invalid`.
    pub(super) async fn read_file(&self, path: &str) -> RuntimeResult<Vec<u8>> {
        let requested = Path::new(path);
        if !self.granted_files.iter().any(|g| g == requested) {
            return Err(RuntimeError::denied(format!(
                "`{path}` is not a file the host granted to this task"
            )));
        }
        let unreadable = |e: std::io::Error| RuntimeError::not_found(format!("`{path}`: {e}"));
        let meta = tokio::fs::metadata(requested).await.map_err(unreadable)?;
        if meta.len() > self.limits.max_file_bytes {
            return Err(RuntimeError::invalid(format!(
                "`{path}` is larger than {} bytes",
                self.limits.max_file_bytes
            )));
        }
        tokio::fs::read(requested).await.map_err(unreadable)
    }
}
