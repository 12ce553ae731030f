//! Container logs: every stdout/stderr line with the time it was read.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, SecondsFormat, Utc};
use tokio::sync::broadcast;

/// Size cap of a log answer without `tail`, as Azure (4 MB).
pub(crate) const MAX_LOG_BYTES: usize = 4 * 1024 * 1024;

/// One captured line (without its line ending).
#[derive(Clone, Debug)]
pub(crate) struct LogLine {
    pub ts: DateTime<Utc>,
    pub text: String,
}

/// The log of one container instance.
#[derive(Debug)]
pub(crate) struct LogBuffer {
    lines: VecDeque<LogLine>,
    dropped: u64,
    cap: usize,
    live: broadcast::Sender<LogLine>,
}

/// A log shared between the capture threads and the routes.
pub(crate) type LogSink = Arc<Mutex<LogBuffer>>;

impl LogBuffer {
    /// An empty log keeping at most `cap` lines.
    pub fn new(cap: usize) -> LogBuffer {
        let (live, _) = broadcast::channel(1024);
        LogBuffer {
            lines: VecDeque::new(),
            dropped: 0,
            cap: cap.max(1),
            live,
        }
    }

    /// A new shared log.
    pub fn sink(cap: usize) -> LogSink {
        Arc::new(Mutex::new(LogBuffer::new(cap)))
    }

    /// Appends a line stamped now.
    pub fn push(&mut self, text: impl Into<String>) {
        self.push_at(Utc::now(), text.into());
    }

    /// Appends a line with a given time.
    pub fn push_at(&mut self, ts: DateTime<Utc>, text: String) {
        if self.lines.len() >= self.cap {
            self.lines.pop_front();
            self.dropped += 1;
        }
        let line = LogLine { ts, text };
        let _ = self.live.send(line.clone());
        self.lines.push_back(line);
    }

    /// Number of lines held.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// Subscribes to lines pushed from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<LogLine> {
        self.live.subscribe()
    }

    /// The `content` of a logs answer: the last `tail` lines (all when `None`, capped at 4 MB
    /// from the end), each ending in `\n`, optionally prefixed with an RFC 3339 nanosecond UTC
    /// timestamp and a space.
    pub fn render(&self, tail: Option<usize>, timestamps: bool) -> String {
        let n = self.lines.len();
        let want = tail.map(|t| t.min(n)).unwrap_or(n);
        let mut picked: Vec<String> = Vec::with_capacity(want);
        let mut bytes = 0usize;
        for line in self.lines.iter().rev().take(want) {
            let s = format_line(line, timestamps);
            if tail.is_none() && bytes + s.len() > MAX_LOG_BYTES {
                break;
            }
            bytes += s.len();
            picked.push(s);
        }
        let mut out = String::with_capacity(bytes + 128);
        if self.dropped > 0 && picked.len() == n {
            out.push_str(&format!(
                "emulator: {} earlier log lines were dropped (limit {} lines)\n",
                self.dropped, self.cap
            ));
        }
        for s in picked.iter().rev() {
            out.push_str(s);
        }
        out
    }
}

/// Formats one line with its line ending.
pub(crate) fn format_line(line: &LogLine, timestamps: bool) -> String {
    if timestamps {
        format!(
            "{} {}\n",
            line.ts.to_rfc3339_opts(SecondsFormat::Nanos, true),
            line.text
        )
    } else {
        format!("{}\n", line.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_and_timestamps() {
        let mut b = LogBuffer::new(10);
        for i in 0..5 {
            b.push(format!("line {i}"));
        }
        assert_eq!(
            b.render(None, false),
            "line 0\nline 1\nline 2\nline 3\nline 4\n"
        );
        assert_eq!(b.render(Some(2), false), "line 3\nline 4\n");
        assert_eq!(b.render(Some(0), false), "");
        assert_eq!(b.render(Some(99), false).lines().count(), 5);
        let ts = b.render(Some(1), true);
        // 2026-11-23T10:00:00.123456789Z line 4
        let (stamp, rest) = ts.split_once(' ').unwrap();
        assert_eq!(rest, "line 4\n");
        assert_eq!(
            stamp.len(),
            "2026-11-23T10:00:00.123456789Z".len(),
            "{stamp}"
        );
        assert!(stamp.ends_with('Z'));
        assert!(DateTime::parse_from_rfc3339(stamp).is_ok());
    }

    #[test]
    fn bounded_with_a_note() {
        let mut b = LogBuffer::new(3);
        for i in 0..5 {
            b.push(format!("l{i}"));
        }
        assert_eq!(b.len(), 3);
        let all = b.render(None, false);
        assert!(
            all.starts_with("emulator: 2 earlier log lines were dropped"),
            "{all}"
        );
        assert!(all.ends_with("l2\nl3\nl4\n"));
        assert_eq!(b.render(Some(2), false), "l3\nl4\n");
    }

    #[test]
    fn live_subscribers_see_new_lines() {
        let mut b = LogBuffer::new(3);
        let mut rx = b.subscribe();
        b.push("hello");
        assert_eq!(rx.try_recv().unwrap().text, "hello");
    }
}
