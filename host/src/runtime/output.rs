//! The guest's stdout and stderr: split into lines, masked, and sent to the
//! task's [`LogSink`], never to the host's own stdout/stderr.
//!
//! A plugin's `eprintln!` or panic message is a log line like any other: it
//! goes through the task's masker (the same secrets as `runtime.log`, split
//! secrets included, see [`LineMasker`]) and reaches the sink as a
//! `warning` line prefixed `[stderr] ` (stdout: `info`, `[stdout] `).
//!
//! Bounds: a line longer than the log line limit is cut there (` …[truncated]`)
//! and the rest of it dropped, so at most one line's worth of bytes is ever
//! buffered per stream; an unfinished last line is sent when the instance ends.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

use crate::bindings::LogLevel;
use crate::mask::LineMasker;

use super::{LogSink, TaskRuntime};

/// Which of the guest's output streams.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GuestStream {
    /// `wasi:cli/stdout`: `info` lines prefixed `[stdout] `.
    Stdout,
    /// `wasi:cli/stderr`: `warning` lines prefixed `[stderr] `.
    Stderr,
}

impl GuestStream {
    fn level(self) -> LogLevel {
        match self {
            GuestStream::Stdout => LogLevel::Info,
            GuestStream::Stderr => LogLevel::Warning,
        }
    }

    fn prefix(self) -> &'static str {
        match self {
            GuestStream::Stdout => "[stdout] ",
            GuestStream::Stderr => "[stderr] ",
        }
    }
}

/// How much one `check-write` lets the guest write at once.
const WRITE_BUDGET: usize = 64 * 1024;

/// A guest output stream for `WasiCtxBuilder::stdout` / `stderr` (see [the
/// module docs](self)); build it with [`TaskRuntime::guest_output`].
#[derive(Clone)]
pub struct GuestOutput(Arc<Mutex<Lines>>);

struct Lines {
    task_id: String,
    sink: Arc<dyn LogSink>,
    masker: LineMasker,
    stream: GuestStream,
    max_line: usize,
    /// The unfinished line (at most `max_line` bytes).
    buf: Vec<u8>,
    /// Dropping the rest of a line that was cut.
    discarding: bool,
}

impl TaskRuntime {
    /// The guest's `stream` for this task: lines masked and sent to the
    /// task's log sink (see [`GuestOutput`]).
    pub fn guest_output(&self, stream: GuestStream) -> GuestOutput {
        GuestOutput(Arc::new(Mutex::new(Lines {
            task_id: self.task_id.clone(),
            sink: self.log.clone(),
            masker: LineMasker::new(self.masker.clone()),
            stream,
            max_line: self.limits.max_log_line.max(1),
            buf: Vec::new(),
            discarding: false,
        })))
    }
}

impl Lines {
    fn write(&mut self, mut bytes: &[u8]) {
        // Bounded: each round consumes at least one byte or the rest.
        while !bytes.is_empty() {
            let (part, newline) = match bytes.iter().position(|b| *b == b'\n') {
                Some(i) => (&bytes[..i], true),
                None => (bytes, false),
            };
            bytes = &bytes[part.len() + usize::from(newline)..];
            if !self.discarding {
                let room = self.max_line - self.buf.len();
                if part.len() > room {
                    self.buf.extend_from_slice(&part[..room]);
                    self.send(" …[truncated]");
                    self.discarding = true;
                } else {
                    self.buf.extend_from_slice(part);
                }
            }
            if newline {
                if !self.discarding {
                    self.send("");
                }
                self.discarding = false;
            }
        }
    }

    /// Sends the buffered line (with `suffix`) and clears the buffer.
    fn send(&mut self, suffix: &str) {
        let line = std::mem::take(&mut self.buf);
        let text = String::from_utf8_lossy(&line);
        let text = text.strip_suffix('\r').unwrap_or(&text);
        let masked = self.masker.mask_line(text);
        let message = format!("{}{masked}{suffix}", self.stream.prefix());
        self.sink.log(&self.task_id, self.stream.level(), &message);
    }
}

impl Drop for Lines {
    fn drop(&mut self) {
        if !self.buf.is_empty() && !self.discarding {
            self.send("");
        }
    }
}

impl GuestOutput {
    fn write(&self, bytes: &[u8]) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .write(bytes);
    }
}

impl IsTerminal for GuestOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for GuestOutput {
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }

    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
}

impl OutputStream for GuestOutput {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        GuestOutput::write(self, &bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(WRITE_BUDGET)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for GuestOutput {
    async fn ready(&mut self) {
        // Writes never wait: lines go to the sink at once.
    }
}

impl tokio::io::AsyncWrite for GuestOutput {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.write(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mask::Masker;

    #[derive(Default)]
    struct Sink(Mutex<Vec<(LogLevel, String)>>);

    impl LogSink for Sink {
        fn log(&self, _task: &str, level: LogLevel, message: &str) {
            self.0.lock().unwrap().push((level, message.to_string()));
        }
    }

    fn output(max_line: usize) -> (GuestOutput, Arc<Sink>, Masker) {
        let sink = Arc::new(Sink::default());
        let masker = Masker::new();
        let lines = Lines {
            task_id: "t".into(),
            sink: sink.clone(),
            masker: LineMasker::new(masker.clone()),
            stream: GuestStream::Stderr,
            max_line,
            buf: Vec::new(),
            discarding: false,
        };
        (GuestOutput(Arc::new(Mutex::new(lines))), sink, masker)
    }

    #[test]
    fn lines_are_masked_and_prefixed() {
        let (out, sink, masker) = output(1024);
        masker.add("hunter2-secret");
        out.write(b"panicked at 'bad password hunter2-");
        out.write(b"secret'\r\nsecond ");
        out.write(b"line\nunfinished");
        drop(out);
        let lines = sink.0.lock().unwrap().clone();
        assert_eq!(
            lines,
            vec![
                (
                    LogLevel::Warning,
                    "[stderr] panicked at 'bad password ***'".into()
                ),
                (LogLevel::Warning, "[stderr] second line".into()),
                (LogLevel::Warning, "[stderr] unfinished".into()),
            ]
        );
    }

    #[test]
    fn long_lines_are_cut_and_the_buffer_stays_bounded() {
        let (out, sink, _) = output(8);
        out.write(b"0123456789abcdef");
        assert!(out.0.lock().unwrap().buf.is_empty());
        out.write(b"still the same line\nnext\n");
        let lines = sink.0.lock().unwrap().clone();
        let texts: Vec<&str> = lines.iter().map(|(_, m)| m.as_str()).collect();
        assert_eq!(texts, ["[stderr] 01234567 …[truncated]", "[stderr] next"]);
    }
}
