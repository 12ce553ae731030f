//! Who runs a task: this host process, named so that a later sweep can tell
//! whether it still runs.
//!
//! An *owner token* is `MACHINE/PROCESS`:
//!
//! - `MACHINE` is `HOSTNAME:BOOT-ID:PID-NAMESPACE` (the kernel's
//!   `/proc/sys/kernel/random/boot_id` changes at every boot; the PID
//!   namespace's inode tells containers sharing a kernel apart), so a token
//!   names one boot of one machine's process table;
//! - `PROCESS` is `PID.START`, the process id and its start time in clock
//!   ticks since boot (`/proc/PID/stat` field 22), so a recycled pid is not
//!   mistaken for the owner.
//!
//! The host gives every task its token in the guest environment variable
//! [`OWNER_ENV`] (a plugin may record it, as the ACI operator does in its
//! `aci-runner-owner` tag), and a sweep passes [`this_machine`] and
//! [`live_processes`] to the plugin, which can then tell an owner that runs
//! (same machine, listed), one that is gone (same machine, not listed) and
//! one it cannot check (another machine). Off Linux there is no token.

use std::os::unix::fs::MetadataExt;

/// The guest environment variable that carries the owner token.
pub const OWNER_ENV: &str = "ORCHESTRATOR_TASK_OWNER";

/// This process's owner token, if it can be formed.
pub fn current() -> Option<String> {
    static TOKEN: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    TOKEN
        .get_or_init(|| {
            Some(format!(
                "{}/{}",
                this_machine()?,
                process(std::process::id())?
            ))
        })
        .clone()
}

/// `HOSTNAME:BOOT-ID:PID-NAMESPACE` of this machine, if it can be read.
pub fn this_machine() -> Option<String> {
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
    let pidns = std::fs::metadata("/proc/self/ns/pid").ok()?.ino();
    Some(format!("{}:{}:{pidns}", hostname()?, boot.trim()))
}

/// The host name (`gethostname`).
fn hostname() -> Option<String> {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most `buf.len()` bytes into `buf`.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return None;
    }
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    let name = String::from_utf8_lossy(&buf[..end]).into_owned();
    (!name.is_empty() && !name.contains(['/', ':'])).then_some(name)
}

/// `PID.START` of a running process, if it exists.
pub fn process(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: the
    // fields after it start after the last `)`, with the state (field 3).
    let after = stat.get(stat.rfind(')')? + 2..)?;
    let start: u64 = after.split_whitespace().nth(19)?.parse().ok()?;
    Some(format!("{pid}.{start}"))
}

/// `PID.START` of every process in this PID namespace.
pub fn live_processes() -> Vec<String> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(process)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_live_and_named_by_its_token() {
        let token = current().expect("a token on Linux");
        let (machine, proc_part) = token.rsplit_once('/').unwrap();
        assert_eq!(Some(machine.to_string()), this_machine());
        assert!(proc_part.starts_with(&format!("{}.", std::process::id())));
        assert!(live_processes().iter().any(|p| p == proc_part));
        assert_eq!(machine.split(':').count(), 3, "{machine}");
    }

    #[test]
    fn a_finished_process_is_not_live() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        let token = process(pid);
        child.wait().unwrap();
        assert_eq!(process(pid), None);
        if let Some(t) = token {
            assert!(!live_processes().contains(&t));
        }
    }
}
