//! [`HostCommand`]: a command whose output is scanned for the secrets it was given.

use std::ffi::OsStr;
use std::ops::{Deref, DerefMut};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use super::Secrets;

/// A [`Command`] (through `Deref`) whose [`HostCommand::output`] fails the test when its
/// stdout or stderr shows a secret the command line configured (see
/// [`Secrets::add_command`]) or one added through [`HostCommand::secrets`].
///
/// Its builder methods return the `HostCommand` itself, so a chain such as
/// `aci_host(..).env(..).output()` or `aci_host(..).spawn()` stays scanned: the child of
/// [`HostCommand::spawn`] is a [`ScannedChild`].
#[derive(Debug)]
pub struct HostCommand {
    cmd: Command,
    secrets: Secrets,
}

impl From<Command> for HostCommand {
    fn from(cmd: Command) -> Self {
        HostCommand {
            cmd,
            secrets: Secrets::new(),
        }
    }
}

impl Deref for HostCommand {
    type Target = Command;

    fn deref(&self) -> &Command {
        &self.cmd
    }
}

impl DerefMut for HostCommand {
    fn deref_mut(&mut self) -> &mut Command {
        &mut self.cmd
    }
}

impl HostCommand {
    /// `program`, with no arguments yet.
    pub fn new(program: impl AsRef<OsStr>) -> Self {
        Command::new(program).into()
    }

    /// Secrets scanned for besides those of the command line; add more through it.
    pub fn secrets(&self) -> &Secrets {
        &self.secrets
    }

    /// Every secret the scan looks for now: those added and those of the command line.
    pub fn secrets_now(&self) -> Secrets {
        let all = Secrets::new();
        all.extend_from(&self.secrets);
        all.add_command(&self.cmd);
        all
    }

    /// The command, unscanned.
    pub fn into_command(self) -> Command {
        self.cmd
    }

    /// [`Command::arg`].
    pub fn arg(&mut self, arg: impl AsRef<OsStr>) -> &mut Self {
        self.cmd.arg(arg);
        self
    }

    /// [`Command::args`].
    pub fn args<I, S>(&mut self, args: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.cmd.args(args);
        self
    }

    /// [`Command::env`].
    pub fn env(&mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> &mut Self {
        self.cmd.env(key, value);
        self
    }

    /// [`Command::env_remove`].
    pub fn env_remove(&mut self, key: impl AsRef<OsStr>) -> &mut Self {
        self.cmd.env_remove(key);
        self
    }

    /// [`Command::current_dir`].
    pub fn current_dir(&mut self, dir: impl AsRef<Path>) -> &mut Self {
        self.cmd.current_dir(dir);
        self
    }

    /// [`Command::stdin`].
    pub fn stdin(&mut self, cfg: impl Into<Stdio>) -> &mut Self {
        self.cmd.stdin(cfg);
        self
    }

    /// [`Command::stdout`].
    pub fn stdout(&mut self, cfg: impl Into<Stdio>) -> &mut Self {
        self.cmd.stdout(cfg);
        self
    }

    /// [`Command::stderr`].
    pub fn stderr(&mut self, cfg: impl Into<Stdio>) -> &mut Self {
        self.cmd.stderr(cfg);
        self
    }

    /// [`Command::output`], then stdout and stderr scanned.
    pub fn output(&mut self) -> std::io::Result<Output> {
        let secrets = self.secrets_now();
        let out = self.cmd.output()?;
        secrets.check_output(&self.place(), &out);
        Ok(out)
    }

    /// [`Command::spawn`]; the child knows the secrets to scan its output for.
    pub fn spawn(&mut self) -> std::io::Result<ScannedChild> {
        let secrets = self.secrets_now();
        let child = self.cmd.spawn()?;
        Ok(ScannedChild {
            child,
            secrets,
            place: self.place(),
        })
    }

    /// How the scan names this command's output.
    pub(crate) fn place(&self) -> String {
        // Only the program's file name and its first plain word: arguments may hold secrets.
        let program = Path::new(self.cmd.get_program());
        let program = program.file_name().unwrap_or_default().to_string_lossy();
        let word = self
            .cmd
            .get_args()
            .filter_map(OsStr::to_str)
            .find(|a| a.chars().all(|c| c.is_ascii_lowercase() || c == '-') && !a.starts_with('-'))
            .unwrap_or_default();
        format!("the output of `{program} {word} …`")
    }
}

/// A child of [`HostCommand::spawn`]: a [`Child`] (through `Deref`) whose
/// [`ScannedChild::wait_with_output`] scans what it collects. A test that takes the child's
/// stdout or stderr and reads it as it comes passes what it read to [`ScannedChild::check`].
#[derive(Debug)]
pub struct ScannedChild {
    child: Child,
    secrets: Secrets,
    place: String,
}

impl Deref for ScannedChild {
    type Target = Child;

    fn deref(&self) -> &Child {
        &self.child
    }
}

impl DerefMut for ScannedChild {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.child
    }
}

impl ScannedChild {
    /// [`Child::wait_with_output`], then what it collected of stdout and stderr scanned.
    pub fn wait_with_output(self) -> std::io::Result<Output> {
        let out = self.child.wait_with_output()?;
        self.secrets.check_output(&self.place, &out);
        Ok(out)
    }

    /// Waits for the child at most `limit` ([`crate::clients::wait_bounded`]): its exit
    /// code; kills it and fails the test after that.
    pub fn wait_bounded(&mut self, limit: std::time::Duration) -> Option<i32> {
        crate::clients::wait_bounded(&mut self.child, limit)
    }

    /// Waits for the child at most `limit`, then collects and scans what is left of its
    /// stdout and stderr ([`ScannedChild::wait_with_output`]).
    pub fn finish(mut self, limit: std::time::Duration) -> Output {
        self.wait_bounded(limit);
        self.wait_with_output().expect("the child's output")
    }

    /// Fails the test if `text`, which the test read from this child's output, shows a
    /// secret of its command line.
    pub fn check(&self, text: &str) {
        self.secrets.check_text(&self.place, text);
    }

    /// The secrets this child's output is scanned for, to scan text read on another thread.
    pub fn secrets(&self) -> &Secrets {
        &self.secrets
    }

    /// How the scan names this child's output.
    pub fn place(&self) -> &str {
        &self.place
    }
}
