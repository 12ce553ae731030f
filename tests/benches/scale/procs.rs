//! The two processes of a scale run (the emulator and `aci-host run`): how
//! they are started, sampled from `/proc`, and reaped with their resource
//! usage.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::{fail, now_ns};

/// What the kernel reports for a reaped child (`wait4`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Usage {
    /// Peak resident set, KiB (`ru_maxrss`).
    pub max_rss_kb: u64,
    /// User + system CPU, seconds.
    pub cpu_s: f64,
    /// Exit status (`-1` when killed by a signal).
    pub status: i32,
}

/// Waits for `child` (with `wait4`, for its resource usage) and returns
/// its resource usage.
pub fn reap(child: Child) -> Usage {
    let pid = child.id();
    let mut status = 0;
    // SAFETY: rusage is plain data that wait4 fills in.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: wait4 on our own child with valid out-pointers.
    let rc = unsafe { libc::wait4(pid as libc::pid_t, &mut status, 0, &mut ru) };
    if rc < 0 {
        fail(&format!(
            "wait4({pid}): {}",
            std::io::Error::last_os_error()
        ));
    }
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Usage {
        max_rss_kb: ru.ru_maxrss as u64,
        cpu_s: tv(ru.ru_utime) + tv(ru.ru_stime),
        status: if libc::WIFEXITED(status) {
            libc::WEXITSTATUS(status)
        } else {
            -1
        },
    }
}

/// One `/proc` sample of a process.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    /// When, ns since the epoch.
    pub at_ns: i128,
    /// User + system CPU so far, seconds.
    pub cpu_s: f64,
}

/// Reads `/proc/PID/stat`; `None` once the process is gone.
pub fn sample(pid: u32) -> Option<Sample> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) start at state (3).
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    Some(Sample {
        at_ns: now_ns(),
        cpu_s: ticks as f64 / hz,
    })
}

/// Samples the CPU time of some processes every `every` until stopped.
pub struct Sampler {
    stop: Arc<AtomicBool>,
    samples: Arc<Mutex<Vec<(u32, Sample)>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Sampler {
    /// Starts sampling `pids`.
    pub fn start(pids: Vec<u32>, every: Duration) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let samples = Arc::new(Mutex::new(Vec::new()));
        let (s, out) = (stop.clone(), samples.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                for pid in &pids {
                    if let Some(x) = sample(*pid) {
                        out.lock().unwrap().push((*pid, x));
                    }
                }
                std::thread::sleep(every);
            }
        });
        Sampler {
            stop,
            samples,
            thread: Some(thread),
        }
    }

    /// Stops and returns the samples, by process.
    pub fn finish(mut self) -> Vec<(u32, Sample)> {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        std::mem::take(&mut *self.samples.lock().unwrap())
    }
}

/// CPU use of `pid` between two instants, as a percentage of one core.
pub fn cpu_percent(samples: &[(u32, Sample)], pid: u32, from_ns: i128, to_ns: i128) -> Option<f64> {
    let inside: Vec<&Sample> = samples
        .iter()
        .filter(|(p, s)| *p == pid && s.at_ns >= from_ns && s.at_ns <= to_ns)
        .map(|(_, s)| s)
        .collect();
    let (first, last) = (inside.first()?, inside.last()?);
    let wall = (last.at_ns - first.at_ns) as f64 / 1e9;
    (wall >= 1.0).then(|| 100.0 * (last.cpu_s - first.cpu_s) / wall)
}

/// The credentials an emulator accepts (its second stdout line).
#[derive(Clone, Debug)]
pub struct Credentials {
    /// Entra ID tenant.
    pub tenant_id: String,
    /// Client (application) id.
    pub client_id: String,
    /// Its secret.
    pub client_secret: String,
    /// The subscription the emulator serves.
    pub subscription_id: String,
}

impl Credentials {
    fn from_json(line: &str) -> Option<Credentials> {
        let v: serde_json::Value = serde_json::from_str(line).ok()?;
        let s = |k: &str| v.get(k)?.as_str().map(str::to_string);
        Some(Credentials {
            tenant_id: s("tenant_id")?,
            client_id: s("client_id")?,
            client_secret: s("client_secret")?,
            subscription_id: s("subscription_id")?,
        })
    }

    /// The `AIRFLOW_CONN_*` JSON for an emulator at `base`.
    pub fn connection(&self, base: &str) -> String {
        serde_json::json!({
            "conn_type": "azure_container_instance",
            "login": self.client_id,
            "password": self.client_secret,
            "extra": {
                "tenantId": self.tenant_id,
                "subscriptionId": self.subscription_id,
                "resource_manager_url": base,
                "authority_host": base,
            }
        })
        .to_string()
    }
}

/// `aci-host emulator` running in its own process.
pub struct EmulatorProcess {
    /// The process.
    pub child: Child,
    /// Its base URL (`http://127.0.0.1:PORT`).
    pub base: String,
    /// The credentials it accepts.
    pub credentials: Credentials,
}

impl EmulatorProcess {
    /// Starts `aci-host emulator ARGS` and reads its base URL and its
    /// credentials line.
    pub fn start(bin: &std::path::Path, args: &[String]) -> EmulatorProcess {
        let mut child = Command::new(bin)
            .arg("emulator")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| fail(&format!("starting {}: {e}", bin.display())));
        let (tx, rx) = mpsc::channel();
        let stdout = child.stdout.take().expect("piped stdout");
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let base = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| fail("the emulator printed no base URL"));
        let credentials = rx
            .recv_timeout(Duration::from_secs(30))
            .ok()
            .and_then(|l| Credentials::from_json(&l))
            .unwrap_or_else(|| fail("the emulator printed no credentials line"));
        EmulatorProcess {
            child,
            base,
            credentials,
        }
    }

    /// Stops it (SIGTERM: it kills its container processes) and reaps it.
    pub fn stop(self) -> Usage {
        // SAFETY: signalling our own child.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        reap(self.child)
    }
}

/// `GET base+path` over plain HTTP/1.1 with `Authorization: Bearer
/// SECRET` (the emulator's control routes need its client secret); the body.
pub fn http_get(base: &str, path: &str, secret: &str) -> String {
    use std::io::{Read, Write};
    let authority = base.trim_start_matches("http://").trim_end_matches('/');
    let mut s = std::net::TcpStream::connect(authority)
        .unwrap_or_else(|e| fail(&format!("connecting to {authority}: {e}")));
    let _ = s.set_read_timeout(Some(Duration::from_secs(30)));
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nAuthorization: Bearer {secret}\r\nConnection: close\r\n\r\n"
    )
    .unwrap_or_else(|e| fail(&format!("GET {path}: {e}")));
    let mut text = String::new();
    let _ = s.read_to_string(&mut text);
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    dechunk(body)
}

/// The body of a chunked response (or the body itself when not chunked).
fn dechunk(body: &str) -> String {
    if serde_json::from_str::<serde_json::Value>(body).is_ok() {
        return body.to_string();
    }
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, after)) = rest.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || after.len() < n {
            break;
        }
        out.push_str(&after[..n]);
        rest = after[n..].trim_start_matches("\r\n");
    }
    out
}
