//! What the host's stderr says about each task, stamped on arrival.
//!
//! With several tasks a line is `HH:MM:SS TASK | [LEVEL ]MESSAGE`; with one
//! it is `HH:MM:SS [LEVEL ]MESSAGE`. The bench reads the lines as the host
//! writes them (it flushes every line), so the arrival time is when the host
//! knew.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::sync::{Arc, Mutex};

use crate::common::now_ns;

/// Per-task observations.
#[derive(Debug, Default)]
pub struct Events {
    /// When the host printed `Container exited …`, ns.
    pub exit_seen: HashMap<String, i128>,
    /// The container's own exit stamp (`bench-exit NS`), ns.
    pub exit_stamp: HashMap<String, i128>,
    /// When the host printed `Container group state changed to Running`, ns.
    pub running: HashMap<String, i128>,
    /// Retry warnings that name a 429, per task.
    pub throttled: HashMap<String, u64>,
    /// Lines read.
    pub lines: u64,
    /// The last few lines (for a failed run's diagnosis).
    pub tail: Vec<String>,
}

impl Events {
    /// Records one line received at `at`; `single` names the task when
    /// only one runs (its lines carry no task).
    pub fn record(&mut self, at: i128, line: &str, single: Option<&str>) {
        self.lines += 1;
        self.tail.push(line.to_string());
        if self.tail.len() > 20 {
            self.tail.remove(0);
        }
        let Some((task, message)) = split(line, single) else {
            return;
        };
        let (level, message) = level_of(message);
        if message.starts_with("Container exited") {
            self.exit_seen.entry(task.clone()).or_insert(at);
        } else if let Some(ns) = message.strip_prefix("bench-exit ") {
            if let Ok(ns) = ns.trim().parse() {
                self.exit_stamp.insert(task, ns);
            }
        } else if message == "Container group state changed to Running" {
            self.running.entry(task).or_insert(at);
        } else if level == "WARNING" && message.contains("429") {
            *self.throttled.entry(task).or_default() += 1;
        }
    }

    /// Exit detection delays (seen − stamp), seconds, of tasks with both.
    pub fn exit_delays(&self) -> Vec<f64> {
        self.exit_seen
            .iter()
            .filter_map(|(t, seen)| Some((seen - self.exit_stamp.get(t)?) as f64 / 1e9))
            .collect()
    }
}

/// `(task, message)` of a log line.
fn split(line: &str, single: Option<&str>) -> Option<(String, String)> {
    let (time, rest) = line.split_once(' ')?;
    if time.len() != 8 || time.as_bytes()[2] != b':' {
        return None;
    }
    match single {
        Some(task) => Some((task.to_string(), rest.to_string())),
        None => {
            let (task, message) = rest.split_once(" | ")?;
            Some((task.to_string(), message.to_string()))
        }
    }
}

/// The level tag and the message without it.
fn level_of(message: String) -> (&'static str, String) {
    for level in ["TRACE", "DEBUG", "WARNING", "ERROR"] {
        if let Some(m) = message
            .strip_prefix(level)
            .and_then(|m| m.strip_prefix(' '))
        {
            return (level, m.to_string());
        }
    }
    ("INFO", message)
}

/// Reads `stream` line by line on a thread into shared [`Events`].
pub fn collect(
    stream: impl Read + Send + 'static,
    single: Option<String>,
) -> (Arc<Mutex<Events>>, std::thread::JoinHandle<()>) {
    let events = Arc::new(Mutex::new(Events::default()));
    let out = events.clone();
    let thread = std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            let at = now_ns();
            out.lock().unwrap().record(at, &line, single.as_deref());
        }
    });
    (events, thread)
}
