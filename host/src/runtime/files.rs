//! `read-granted-file`: exactly the files of the call's grant (see
//! [`TaskRuntime::apply_grant`]), nothing else.

use std::io::Read;
use std::path::Path;

use super::{RuntimeError, RuntimeResult, TaskRuntime};

impl TaskRuntime {
    /// Reads a granted file: any other path is `denied`, a missing or
    /// unreadable one `not-found`, one that is not a regular file (a FIFO, a
    /// device, a directory) or is over the size bound `invalid`. At most the
    /// bound plus one byte is ever read, and the contents become secrets of
    /// the task's masker (key files, certificates and tokens are secret).
    pub(super) async fn read_file(&self, path: &str) -> RuntimeResult<Vec<u8>> {
        let requested = Path::new(path);
        if !self.granted_files.iter().any(|g| g == requested) {
            return Err(RuntimeError::denied(format!(
                "`{path}` is not a file the host granted to this task"
            )));
        }
        let limit = self.limits.max_file_bytes;
        let owned = requested.to_path_buf();
        let read = tokio::task::spawn_blocking(move || read_regular_file(&owned, limit))
            .await
            .map_err(RuntimeError::trap)?;
        let bytes = read.map_err(|e| match e {
            ReadError::Io(e) => RuntimeError::not_found(format!("`{path}`: {e}")),
            ReadError::NotRegular => RuntimeError::invalid(format!(
                "`{path}` is not a regular file (a FIFO, device or directory)"
            )),
            ReadError::TooLarge => {
                RuntimeError::invalid(format!("`{path}` is larger than {limit} bytes"))
            }
        })?;
        self.masker.add_file_contents(&bytes);
        Ok(bytes)
    }
}

/// Why [`read_regular_file`] gave nothing.
#[derive(Debug)]
enum ReadError {
    Io(std::io::Error),
    NotRegular,
    TooLarge,
}

/// Opens `path` without blocking (a FIFO with no writer would block a plain
/// open), checks the opened handle is a regular file, and reads at most
/// `limit + 1` bytes.
fn read_regular_file(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(ReadError::Io)?;
    let meta = file.metadata().map_err(ReadError::Io)?;
    if !meta.file_type().is_file() {
        return Err(ReadError::NotRegular);
    }
    if meta.len() > limit {
        return Err(ReadError::TooLarge);
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge);
    }
    Ok(bytes)
}
