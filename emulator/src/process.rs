//! Containers as local processes: spawn in a fresh process group, capture stdout/stderr line
//! by line into a [`LogSink`], kill the whole group, and always reap.
//!
//! Each process has three helper threads (two readers and a waiter) so that reaping never
//! depends on a tokio runtime still being alive: the waiter reaps the process as soon as it
//! exits, and first kills whatever else is left in its process group (a container ends when
//! its main process ends).

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::logs::LogSink;

/// Longest line kept as one log line; longer output is split.
const MAX_LINE_BYTES: u64 = 64 * 1024;
/// How long the waiter waits for the readers to drain after the process died.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a kill waits for the process to be reaped after SIGKILL.
const REAP_TIMEOUT: Duration = Duration::from_secs(5);

/// How a process ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ExitInfo {
    /// Exit code; `128 + signal` for a signal death (137 for SIGKILL, like an OOM kill).
    pub code: i32,
    /// The signal that killed it, if any.
    pub signal: Option<i32>,
}

#[derive(Debug, Default)]
struct ProcState {
    reaped: bool,
    exit: Option<ExitInfo>,
}

#[derive(Debug)]
struct ProcShared {
    pid: i32,
    state: Mutex<ProcState>,
    cond: Condvar,
    tx: watch::Sender<Option<ExitInfo>>,
}

/// A handle on a spawned process (cheap to clone).
#[derive(Clone, Debug)]
pub(crate) struct ProcHandle(Arc<ProcShared>);

/// What to run.
#[derive(Clone, Debug)]
pub(crate) struct SpawnSpec {
    /// argv, exec form (no shell).
    pub argv: Vec<String>,
    /// The complete environment.
    pub env: Vec<(String, String)>,
    /// Working directory (must exist).
    pub workdir: PathBuf,
}

/// Exit code reported when a command cannot be started (as a container runtime would).
pub(crate) fn spawn_error_code(err: &std::io::Error) -> i32 {
    match err.kind() {
        std::io::ErrorKind::NotFound => 127,
        std::io::ErrorKind::PermissionDenied => 126,
        _ => 128,
    }
}

/// Starts `spec` in its own process group; its output goes to `log`, stdin is empty.
pub(crate) fn spawn(spec: &SpawnSpec, log: LogSink) -> std::io::Result<ProcHandle> {
    spawn_inner(spec, log, false).map(|(h, _)| h)
}

/// Like [`spawn`], with a pipe to the process's stdin.
pub(crate) fn spawn_with_stdin(
    spec: &SpawnSpec,
    log: LogSink,
) -> std::io::Result<(ProcHandle, ChildStdin)> {
    let (h, stdin) = spawn_inner(spec, log, true)?;
    let stdin = stdin.ok_or_else(|| std::io::Error::other("no stdin pipe"))?;
    Ok((h, stdin))
}

fn spawn_inner(
    spec: &SpawnSpec,
    log: LogSink,
    with_stdin: bool,
) -> std::io::Result<(ProcHandle, Option<ChildStdin>)> {
    let (program, args) = spec
        .argv
        .split_first()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "empty command"))?;
    let mut cmd = Command::new(program);
    cmd.args(args)
        .current_dir(&spec.workdir)
        .env_clear()
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .stdin(if with_stdin {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child = cmd.spawn()?;
    let stdin = child.stdin.take();
    let pid = child.id() as i32;
    let (tx, _) = watch::channel(None);
    let shared = Arc::new(ProcShared {
        pid,
        state: Mutex::new(ProcState::default()),
        cond: Condvar::new(),
        tx,
    });

    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let mut readers = 0;
    if let Some(out) = child.stdout.take() {
        readers += 1;
        start_reader(out, log.clone(), done_tx.clone());
    }
    if let Some(err) = child.stderr.take() {
        readers += 1;
        start_reader(err, log, done_tx.clone());
    }
    drop(done_tx);
    let waiter_shared = shared.clone();
    thread::Builder::new()
        .name(format!("emu-wait-{pid}"))
        .spawn(move || wait_and_reap(child, waiter_shared, done_rx, readers))?;
    Ok((ProcHandle(shared), stdin))
}

fn start_reader<R: Read + Send + 'static>(
    stream: R,
    log: LogSink,
    done: std::sync::mpsc::Sender<()>,
) {
    let _ = thread::Builder::new()
        .name("emu-log".into())
        .spawn(move || {
            let mut reader = BufReader::new(stream);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match (&mut reader)
                    .take(MAX_LINE_BYTES)
                    .read_until(b'\n', &mut buf)
                {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        while matches!(buf.last(), Some(b'\n' | b'\r')) {
                            buf.pop();
                        }
                        let text = String::from_utf8_lossy(&buf).into_owned();
                        if let Ok(mut l) = log.lock() {
                            l.push(text);
                        }
                    }
                }
            }
            let _ = done.send(());
        });
}

fn wait_and_reap(
    mut child: Child,
    shared: Arc<ProcShared>,
    done_rx: std::sync::mpsc::Receiver<()>,
    readers: usize,
) {
    let pid = shared.pid;
    // Wait for the exit without reaping, so the pid (and process group id) stays ours while
    // we kill what is left of the group.
    loop {
        // SAFETY: waitid with a zeroed siginfo_t out-parameter is the documented use.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        let r = unsafe {
            libc::waitid(
                libc::P_PID,
                pid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOWAIT,
            )
        };
        if r == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            break;
        }
    }
    let status = {
        let mut st = shared.state.lock().unwrap_or_else(|e| e.into_inner());
        // SAFETY: plain kill(2) on our own process group; the leader is a zombie we have not
        // reaped yet, so the group id cannot have been reused.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
        let status = child.wait();
        st.reaped = true;
        status
    };
    let exit = match status {
        Ok(s) => match (s.code(), s.signal()) {
            (Some(code), _) => ExitInfo { code, signal: None },
            (None, Some(sig)) => ExitInfo {
                code: 128 + sig,
                signal: Some(sig),
            },
            _ => ExitInfo {
                code: 128,
                signal: None,
            },
        },
        Err(_) => ExitInfo {
            code: 128,
            signal: None,
        },
    };
    let deadline = Instant::now() + DRAIN_TIMEOUT;
    for _ in 0..readers {
        let left = deadline.saturating_duration_since(Instant::now());
        if done_rx.recv_timeout(left).is_err() {
            break;
        }
    }
    let mut st = shared.state.lock().unwrap_or_else(|e| e.into_inner());
    st.exit = Some(exit);
    shared.cond.notify_all();
    shared.tx.send_replace(Some(exit));
}

impl ProcHandle {
    /// The process id (also its process group id).
    #[cfg(test)]
    pub fn pid(&self) -> i32 {
        self.0.pid
    }

    /// True if both handles are the same process.
    pub fn same(&self, other: &ProcHandle) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// The exit, once the process is reaped and its output drained.
    pub fn exit(&self) -> Option<ExitInfo> {
        self.0.state.lock().unwrap_or_else(|e| e.into_inner()).exit
    }

    /// Sends `sig` to the whole process group unless the process is already reaped.
    pub fn signal_group(&self, sig: i32) {
        let st = self.0.state.lock().unwrap_or_else(|e| e.into_inner());
        if !st.reaped {
            // SAFETY: kill(2) on a process group we created and have not reaped.
            unsafe {
                libc::kill(-self.0.pid, sig);
            }
        }
    }

    /// Waits for the exit.
    pub async fn wait(&self) -> ExitInfo {
        let mut rx = self.0.tx.subscribe();
        let res = rx.wait_for(|e| e.is_some()).await.map(|e| {
            e.unwrap_or(ExitInfo {
                code: 128,
                signal: None,
            })
        });
        match res {
            Ok(e) => e,
            Err(_) => self.exit().unwrap_or(ExitInfo {
                code: 128,
                signal: None,
            }),
        }
    }

    /// Waits for the exit, blocking, at most `timeout`.
    pub fn wait_blocking(&self, timeout: Duration) -> Option<ExitInfo> {
        let st = self.0.state.lock().unwrap_or_else(|e| e.into_inner());
        let (st, _) = self
            .0
            .cond
            .wait_timeout_while(st, timeout, |s| s.exit.is_none())
            .unwrap_or_else(|e| e.into_inner());
        st.exit
    }

    /// SIGTERM to the group, SIGKILL after `grace`, then waits (bounded) for the reap.
    pub async fn terminate(&self, grace: Duration) -> Option<ExitInfo> {
        if let Some(e) = self.exit() {
            return Some(e);
        }
        self.signal_group(libc::SIGTERM);
        if let Ok(e) = tokio::time::timeout(grace, self.wait()).await {
            return Some(e);
        }
        self.signal_group(libc::SIGKILL);
        tokio::time::timeout(REAP_TIMEOUT, self.wait()).await.ok()
    }

    /// Blocking form of [`ProcHandle::terminate`] (for `Drop`).
    pub fn terminate_blocking(&self, grace: Duration) -> Option<ExitInfo> {
        if let Some(e) = self.exit() {
            return Some(e);
        }
        self.signal_group(libc::SIGTERM);
        if let Some(e) = self.wait_blocking(grace) {
            return Some(e);
        }
        self.signal_group(libc::SIGKILL);
        self.wait_blocking(REAP_TIMEOUT)
    }
}

/// True if a process with this pid exists (zombies included).
#[cfg(test)]
pub(crate) fn pid_exists(pid: i32) -> bool {
    // SAFETY: signal 0 only checks for existence.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::{LogBuffer, LogSettings};

    fn spec(argv: &[&str]) -> SpawnSpec {
        SpawnSpec {
            argv: argv.iter().map(|s| s.to_string()).collect(),
            env: vec![
                ("PATH".into(), "/usr/bin:/bin".into()),
                ("GREETING".into(), "hi".into()),
            ],
            workdir: std::env::temp_dir(),
        }
    }

    #[tokio::test]
    async fn captures_output_and_exit_code() {
        let log = LogBuffer::sink(LogSettings::lines(100));
        let h = spawn(
            &spec(&[
                "sh",
                "-c",
                "echo out; echo err >&2; printf 'no-newline'; exit 3",
            ]),
            log.clone(),
        )
        .unwrap();
        let e = tokio::time::timeout(Duration::from_secs(10), h.wait())
            .await
            .unwrap();
        assert_eq!(
            e,
            ExitInfo {
                code: 3,
                signal: None
            }
        );
        let text = log.lock().unwrap().render(None, false);
        assert!(
            text.contains("out\n") && text.contains("err\n") && text.contains("no-newline\n"),
            "{text}"
        );
        assert!(!pid_exists(h.pid()), "reaped");
    }

    #[tokio::test]
    async fn environment_is_exactly_the_given_one() {
        let log = LogBuffer::sink(LogSettings::lines(100));
        let h = spawn(
            &spec(&["sh", "-c", "echo \"$GREETING\"; env | wc -l"]),
            log.clone(),
        )
        .unwrap();
        tokio::time::timeout(Duration::from_secs(10), h.wait())
            .await
            .unwrap();
        let text = log.lock().unwrap().render(None, false);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "hi");
        // PATH, GREETING and the shell's own PWD (and maybe SHLVL/_): a handful, not the parent's.
        assert!(lines[1].trim().parse::<usize>().unwrap() <= 5, "{text}");
    }

    #[tokio::test]
    async fn terminate_kills_the_whole_group() {
        let log = LogBuffer::sink(LogSettings::lines(100));
        // The shell starts a grandchild in the same group and waits.
        let h = spawn(
            &spec(&["sh", "-c", "sleep 300 & echo child $!; wait"]),
            log.clone(),
        )
        .unwrap();
        let mut child_pid = None;
        for _ in 0..200 {
            let t = log.lock().unwrap().render(None, false);
            if let Some(p) = t.lines().find_map(|l| l.strip_prefix("child ")) {
                child_pid = p.trim().parse::<i32>().ok();
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let child_pid = child_pid.expect("grandchild pid logged");
        let e = h
            .terminate(Duration::from_secs(2))
            .await
            .expect("terminated");
        assert_eq!(e.code, 128 + libc::SIGTERM);
        assert!(!pid_exists(h.pid()));
        // The grandchild was killed with the group (it is reaped by init, poll briefly).
        let mut gone = false;
        for _ in 0..200 {
            if !pid_exists(child_pid) {
                gone = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(gone, "grandchild {child_pid} survived");
    }

    #[tokio::test]
    async fn sigkill_after_grace_gives_137() {
        let log = LogBuffer::sink(LogSettings::lines(100));
        let h = spawn(
            &spec(&[
                "sh",
                "-c",
                "trap '' TERM; echo ready; while :; do sleep 0.05; done",
            ]),
            log.clone(),
        )
        .unwrap();
        for _ in 0..200 {
            if log.lock().unwrap().len() > 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let e = h
            .terminate(Duration::from_millis(200))
            .await
            .expect("killed");
        assert_eq!(
            e,
            ExitInfo {
                code: 137,
                signal: Some(libc::SIGKILL)
            }
        );
    }

    #[test]
    fn blocking_terminate_reaps() {
        let log = LogBuffer::sink(LogSettings::lines(100));
        let h = spawn(&spec(&["sleep", "300"]), log).unwrap();
        let e = h
            .terminate_blocking(Duration::from_secs(2))
            .expect("terminated");
        assert_eq!(e.code, 128 + libc::SIGTERM);
        assert!(!pid_exists(h.pid()));
    }

    #[test]
    fn missing_program_is_a_spawn_error() {
        let err = spawn(
            &spec(&["/definitely/not/here"]),
            LogBuffer::sink(LogSettings::lines(1)),
        )
        .unwrap_err();
        assert_eq!(spawn_error_code(&err), 127);
        assert!(spawn(&spec(&[]), LogBuffer::sink(LogSettings::lines(1))).is_err());
    }
}
