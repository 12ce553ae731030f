//! Container logs: every stdout/stderr line with the time it was read.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Timelike, Utc};
use tokio::sync::broadcast;

use super::config::TimestampPrecision;

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
    precision: TimestampPrecision,
    live: broadcast::Sender<LogLine>,
}

/// How container logs are kept: the line cap and the timestamp precision.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LogSettings {
    pub max_lines: usize,
    pub precision: TimestampPrecision,
}

impl LogSettings {
    /// Nanosecond stamps, at most `max_lines` lines.
    #[cfg(test)]
    pub fn lines(max_lines: usize) -> LogSettings {
        LogSettings {
            max_lines,
            precision: TimestampPrecision::Nanos,
        }
    }
}

/// `t` truncated to a multiple of the precision's tick.
fn truncate(t: DateTime<Utc>, precision: TimestampPrecision) -> DateTime<Utc> {
    let tick = precision.tick_nanos();
    let nanos = t.nanosecond();
    t.with_nanosecond(nanos - nanos % tick).unwrap_or(t)
}

/// A log shared between the capture threads and the routes.
pub(crate) type LogSink = Arc<Mutex<LogBuffer>>;

impl LogBuffer {
    /// An empty log.
    pub fn new(settings: LogSettings) -> LogBuffer {
        let (live, _) = broadcast::channel(1024);
        LogBuffer {
            lines: VecDeque::new(),
            dropped: 0,
            cap: settings.max_lines.max(1),
            precision: settings.precision,
            live,
        }
    }

    /// A new shared log.
    pub fn sink(settings: LogSettings) -> LogSink {
        Arc::new(Mutex::new(LogBuffer::new(settings)))
    }

    /// Appends a line stamped now (at the log's precision).
    pub fn push(&mut self, text: impl Into<String>) {
        self.push_at(truncate(Utc::now(), self.precision), text.into());
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
    /// from the end), each ending in `\n`, optionally prefixed with an RFC 3339 UTC
    /// timestamp (at the log's precision) and a space.
    pub fn render(&self, tail: Option<usize>, timestamps: bool) -> String {
        let n = self.lines.len();
        let want = tail.map(|t| t.min(n)).unwrap_or(n);
        let mut picked: Vec<String> = Vec::with_capacity(want);
        let mut bytes = 0usize;
        let stamps = timestamps.then_some(self.precision);
        for line in self.lines.iter().rev().take(want) {
            let s = format_line(line, stamps);
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

/// Formats one line with its line ending, with its timestamp at `stamps` precision.
pub(crate) fn format_line(line: &LogLine, stamps: Option<TimestampPrecision>) -> String {
    match stamps {
        Some(p) => format!(
            "{} {}\n",
            line.ts.to_rfc3339_opts(p.format(), true),
            line.text
        ),
        None => format!("{}\n", line.text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_and_timestamps() {
        let mut b = LogBuffer::new(LogSettings::lines(10));
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
        let mut b = LogBuffer::new(LogSettings::lines(3));
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
    fn coarse_precision_shares_timestamps() {
        let mut b = LogBuffer::new(LogSettings {
            max_lines: 10,
            precision: TimestampPrecision::Seconds,
        });
        let t = DateTime::parse_from_rfc3339("2026-11-23T10:00:00.987654321Z")
            .unwrap()
            .with_timezone(&Utc);
        b.push_at(truncate(t, TimestampPrecision::Seconds), "a".into());
        b.push_at(
            truncate(
                t + chrono::Duration::milliseconds(5),
                TimestampPrecision::Seconds,
            ),
            "b".into(),
        );
        assert_eq!(
            b.render(None, true),
            "2026-11-23T10:00:00Z a\n2026-11-23T10:00:00Z b\n"
        );
        b.push("now");
        let last = b.render(Some(1), true);
        let stamp = last.split(' ').next().unwrap();
        assert_eq!(stamp.len(), "2026-11-23T10:00:00Z".len(), "{stamp}");
        let ms = truncate(t, TimestampPrecision::Millis);
        assert_eq!(
            format_line(
                &LogLine {
                    ts: ms,
                    text: "x".into()
                },
                Some(TimestampPrecision::Millis)
            ),
            "2026-11-23T10:00:00.987Z x\n"
        );
        assert_eq!(
            truncate(t, TimestampPrecision::Micros).nanosecond(),
            987_654_000
        );
    }

    #[test]
    fn live_subscribers_see_new_lines() {
        let mut b = LogBuffer::new(LogSettings::lines(3));
        let mut rx = b.subscribe();
        b.push("hello");
        assert_eq!(rx.try_recv().unwrap().text, "hello");
    }
}
