//! The secret scan every end-to-end test's outputs go through.
//!
//! A [`Secrets`] holds the secrets a test configured (connection passwords and secret
//! extras, client certificate key material, the contents of granted key, certificate and
//! federated token files, secured variables' values, secrets in the host's environment) and
//! fails the test when one of them appears in an output, in clear or in any of the forms of
//! [`forms`] (the encodings the host's masker promises to hide), or split across two
//! consecutive lines.
//!
//! Tests get it without asking:
//! - [`ScannedRunner`] (the [`crate::Harness`]'s `runner`, [`crate::runner`], and every
//!   runner a test builds with `.into()`) learns the secrets of each call from the call
//!   itself (the connections it resolves, its secured variables, its fixed environment) and
//!   scans the log lines, the report (JSON result, XCom, error), the hook's answer and
//!   validate's answer;
//! - [`HostCommand`] (what [`crate::cli::aci_host`] and the conformance hosts return, and
//!   what [`crate::clients::run_bounded`] takes) learns them from the command line (its
//!   `AIRFLOW_CONN_*` variables, `--conn`, `--connections`, the task files it names) and
//!   scans stdout and stderr of `output()`; its `spawn()` gives a [`ScannedChild`], which
//!   scans what `wait_with_output()` / `finish()` collect and, through `check()`, what a
//!   test read from the child's pipes or terminal as it ran.
//!
//! Set `ACI_E2E_SCAN_STATS=FILE` to append one line per scan (test, place, secrets, forms)
//! to `FILE`.

mod command;
pub(crate) mod forms;
mod runner;
mod sources;

use std::io::Write;
use std::sync::{Arc, Mutex};

pub use command::{HostCommand, ScannedChild};
pub use forms::{forms, Form, ENCODINGS, MIN_SECRET_CHARS};
pub use runner::ScannedRunner;

/// What the line-pair check reports as the encoding of a split secret.
pub const SPLIT: &str = "split across two lines";

/// A shared, growing set of secrets to scan for (clones see the same set).
#[derive(Clone, Default, Debug)]
pub struct Secrets(Arc<Mutex<Vec<Secret>>>);

/// One configured secret: what it is (never the value) and its value.
#[derive(Clone)]
struct Secret {
    label: String,
    value: String,
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.label)
    }
}

/// One secret found in an output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Leak {
    /// What the secret is (e.g. "password of connection `azure_default`").
    pub label: String,
    /// The form it was found in (an [`ENCODINGS`] entry, or [`SPLIT`] and the form).
    pub encoding: String,
    /// The line it was found in, with the secret replaced by `<SECRET>`.
    pub context: String,
}

impl Secrets {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `value` (described by `label`, which must not hold the value) unless it is too
    /// short to be masked ([`MIN_SECRET_CHARS`]) or already known.
    pub fn add(&self, label: impl Into<String>, value: impl AsRef<str>) {
        let value = value.as_ref();
        if value.trim().chars().count() < MIN_SECRET_CHARS {
            return;
        }
        let mut all = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if !all.iter().any(|s| s.value == value) {
            all.push(Secret {
                label: label.into(),
                value: value.to_string(),
            });
        }
    }

    /// Adds every secret of `other`.
    pub fn extend_from(&self, other: &Secrets) {
        for s in other.snapshot() {
            self.add(s.label, s.value);
        }
    }

    /// How many secrets are scanned for.
    pub fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// True when no secret is configured.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn snapshot(&self) -> Vec<Secret> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Every (label, form) pair to look for.
    fn all_forms(&self) -> Vec<(String, Form)> {
        self.snapshot()
            .into_iter()
            .flat_map(|s| {
                forms(&s.value)
                    .into_iter()
                    .map(move |f| (s.label.clone(), f))
            })
            .collect()
    }

    /// The leaks in a stream of lines: each line, and each pair of consecutive lines joined
    /// (a secret split across the line break).
    pub fn leaks_in_lines<'a>(&self, lines: impl IntoIterator<Item = &'a str>) -> Vec<Leak> {
        let lines: Vec<&str> = lines
            .into_iter()
            .map(|l| l.trim_end_matches('\r'))
            .collect();
        let forms = self.all_forms();
        let mut leaks = Vec::new();
        for line in &lines {
            for (label, form) in &forms {
                if line.contains(&form.text) {
                    leaks.push(leak(label, form.encoding.to_string(), line, &form.text));
                }
            }
        }
        for pair in lines.windows(2) {
            let joined = format!("{}{}", pair[0], pair[1]);
            let split = pair[0].len();
            for (label, form) in &forms {
                let crosses = joined
                    .match_indices(&form.text)
                    .any(|(at, m)| at < split && at + m.len() > split);
                if crosses {
                    let encoding = format!("{SPLIT} ({})", form.encoding);
                    leaks.push(leak(label, encoding, &joined, &form.text));
                }
            }
        }
        leaks
    }

    /// The leaks in a text: its lines (see [`Secrets::leaks_in_lines`]) and multi-line
    /// secrets in clear across them.
    pub fn leaks_in_text(&self, text: &str) -> Vec<Leak> {
        let mut leaks = self.leaks_in_lines(text.split('\n'));
        for (label, form) in self.all_forms() {
            if form.text.contains('\n') && text.contains(&form.text) {
                leaks.push(leak(
                    &label,
                    form.encoding.to_string(),
                    "(several lines)",
                    "",
                ));
            }
        }
        leaks
    }

    /// The leaks in a JSON document: in its text, and in each string in it (keys too).
    pub fn leaks_in_json(&self, value: &serde_json::Value) -> Vec<Leak> {
        let mut leaks = self.leaks_in_text(&value.to_string());
        let mut strings = Vec::new();
        collect_strings(value, &mut strings);
        for s in strings {
            leaks.extend(self.leaks_in_text(&s));
        }
        leaks
    }

    /// Fails the test when a secret appears in `text` (see [`Secrets::leaks_in_text`]);
    /// `place` names the output in the message.
    pub fn check_text(&self, place: &str, text: &str) {
        report(place, self, self.leaks_in_text(text));
    }

    /// Fails the test when a secret appears in a stream of lines.
    pub fn check_lines<'a>(&self, place: &str, lines: impl IntoIterator<Item = &'a str>) {
        report(place, self, self.leaks_in_lines(lines));
    }

    /// Fails the test when a secret appears in a JSON document.
    pub fn check_json(&self, place: &str, value: &serde_json::Value) {
        report(place, self, self.leaks_in_json(value));
    }

    /// Fails the test when a secret appears in a process's stdout or stderr.
    pub fn check_output(&self, place: &str, out: &std::process::Output) {
        let mut leaks = self.leaks_in_text(&String::from_utf8_lossy(&out.stdout));
        leaks.extend(self.leaks_in_text(&String::from_utf8_lossy(&out.stderr)));
        report(place, self, leaks);
    }

    /// How many (secret, form) pairs a scan checks, the split check counted as one more
    /// form per secret.
    pub fn form_count(&self) -> usize {
        self.snapshot()
            .iter()
            .map(|s| forms(&s.value).len() + 1)
            .sum()
    }
}

fn collect_strings(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect_strings(v, out)),
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                out.push(k.clone());
                collect_strings(v, out);
            }
        }
        _ => {}
    }
}

/// A leak of `form` found in `line`, the form replaced in the context shown.
fn leak(label: &str, encoding: String, line: &str, form: &str) -> Leak {
    let context = if form.is_empty() {
        line.to_string()
    } else {
        line.replace(form, "<SECRET>")
    };
    let context: String = context.chars().take(300).collect();
    Leak {
        label: label.to_string(),
        encoding,
        context,
    }
}

/// Records the scan (see the module docs) and panics listing the leaks, if any.
fn report(place: &str, secrets: &Secrets, mut leaks: Vec<Leak>) {
    record(place, secrets);
    if leaks.is_empty() {
        return;
    }
    leaks.dedup();
    let list: Vec<String> = leaks
        .iter()
        .map(|l| format!("  - {} ({}): {}", l.label, l.encoding, l.context))
        .collect();
    panic!(
        "secret scan: {} leak(s) in {place}:\n{}",
        leaks.len(),
        list.join("\n")
    );
}

fn record(place: &str, secrets: &Secrets) {
    let Some(path) = std::env::var_os("ACI_E2E_SCAN_STATS") else {
        return;
    };
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("?");
    let line = format!(
        "{test}\t{place}\t{}\t{}\n",
        secrets.len(),
        secrets.form_count()
    );
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = f.write_all(line.as_bytes());
    }
}

#[cfg(test)]
mod tests;
