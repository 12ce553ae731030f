//! Helpers for the tests that drive the emulator with real Azure clients: the standalone
//! `aci-host emulator` process, and Python virtual environments under the target dir.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::scan::{HostCommand, ScannedChild};

/// `aci-host emulator ARGS` running as a child process.
pub struct StandaloneEmulator {
    child: ScannedChild,
    /// Its base URL (first stdout line).
    pub base_url: String,
    /// The JSON object of its second stdout line (credentials, `ca_cert`).
    pub credentials: Value,
    /// The raw second stdout line.
    pub credentials_line: String,
}

impl StandaloneEmulator {
    /// Starts `aci-host emulator` with `args` (state under `state`) and reads its first two
    /// stdout lines (bounded).
    pub fn start(args: &[&str], state: &Path) -> StandaloneEmulator {
        let mut all = vec!["emulator"];
        all.extend_from_slice(args);
        let mut child = super::cli::aci_host(&all, state)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("aci-host emulator starts");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = std::io::BufReader::new(stdout);
            let (mut first, mut second) = (String::new(), String::new());
            let ok = reader.read_line(&mut first).is_ok() && reader.read_line(&mut second).is_ok();
            let _ = tx.send(ok.then_some((first, second)));
            // Keep the pipe open (and drained) while the emulator runs.
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
        });
        let Ok(Some((first, second))) = rx.recv_timeout(Duration::from_secs(60)) else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("aci-host emulator printed no base URL and credentials");
        };
        let credentials = serde_json::from_str(second.trim())
            .unwrap_or_else(|e| panic!("second line is not JSON ({e}): {second:?}"));
        StandaloneEmulator {
            child,
            base_url: first.trim().to_string(),
            credentials,
            credentials_line: second.trim().to_string(),
        }
    }

    /// A string field of the credentials line.
    pub fn field(&self, name: &str) -> String {
        self.credentials[name]
            .as_str()
            .unwrap_or_else(|| panic!("no {name} in {}", self.credentials))
            .to_string()
    }

    /// SIGTERM, then the exit code (bounded).
    pub fn stop(mut self) -> Option<i32> {
        // SAFETY: kill(2) on our own child's pid.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        self.child.wait_bounded(Duration::from_secs(30))
    }
}

impl Drop for StandaloneEmulator {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Waits for `child` at most `limit` (then kills it and panics); its exit code.
pub fn wait_bounded(child: &mut Child, limit: Duration) -> Option<i32> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status.code();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the child process did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs `cmd` to its end, at most `limit`; its output (stdout and stderr captured), scanned
/// for the secrets the command was given ([`crate::scan`]).
pub fn run_bounded(cmd: impl Into<HostCommand>, limit: Duration) -> Output {
    run_bounded_after(cmd, limit, |_| {})
}

/// [`run_bounded`], calling `started` with the child (e.g. to signal it) once it runs; its
/// output is collected meanwhile.
pub fn run_bounded_after(
    cmd: impl Into<HostCommand>,
    limit: Duration,
    started: impl FnOnce(&Child),
) -> Output {
    let mut cmd = cmd.into();
    let secrets = cmd.secrets_now();
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    let (mut out, mut err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let out = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = std::io::Read::read_to_end(&mut out, &mut v);
        v
    });
    let err = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = std::io::Read::read_to_end(&mut err, &mut v);
        v
    });
    started(&child);
    wait_bounded(&mut child, limit);
    let output = Output {
        status: child.wait().expect("wait"),
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    };
    secrets.check_output(&cmd.place(), &output);
    output
}

/// A Python virtual environment with `requirements` installed (`pip install
/// --require-hashes` when the file pins hashes), in `target/tmp/` and named after the file's
/// content so it is reused until the file changes. Returns its `bin` directory.
pub fn python_venv(name: &str, requirements: &Path, limit: Duration) -> PathBuf {
    let text =
        std::fs::read(requirements).unwrap_or_else(|e| panic!("{}: {e}", requirements.display()));
    let dir = target_tmp().join(format!("{name}-{:016x}", digest(&text)));
    let bin = dir.join("bin");
    let marker = dir.join(".installed");
    if marker.is_file() {
        return bin;
    }
    let _ = std::fs::remove_dir_all(&dir);
    let mut venv = Command::new("python3");
    venv.args(["-m", "venv"]).arg(&dir);
    let made = run_bounded(venv, Duration::from_secs(120));
    assert!(
        made.status.success(),
        "python3 -m venv: {}",
        super::cli::text(&made.stderr)
    );
    let mut pip = Command::new(bin.join("pip"));
    pip.args(["install", "--quiet", "--disable-pip-version-check", "-r"])
        .arg(requirements);
    if String::from_utf8_lossy(&text).contains("--hash=") {
        pip.arg("--require-hashes");
    }
    let installed = run_bounded(pip, limit);
    assert!(
        installed.status.success(),
        "pip install -r {}: {}",
        requirements.display(),
        super::cli::text(&installed.stderr)
    );
    std::fs::write(&marker, b"ok").expect("venv marker");
    bin
}

/// `target/tmp/`: scratch that outlives a test run (installed tools, caches), so that it is
/// reused and removed by `cargo clean`.
pub fn target_tmp() -> PathBuf {
    let profile_dir = super::aci_host_bin()
        .parent()
        .expect("target/<profile>")
        .to_path_buf();
    profile_dir.parent().unwrap_or(&profile_dir).join("tmp")
}

/// A stable 64-bit digest (FNV-1a) of `bytes`, to name cached things after their inputs.
pub fn digest(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}
