//! Task log lines: [`LogSink`] receives them, masked and bounded.

use crate::bindings::LogLevel;

use super::TaskRuntime;

/// Receives the task's log lines (already masked).
pub trait LogSink: Send + Sync {
    /// One line from the plugin of task `task_id`.
    fn log(&self, task_id: &str, level: LogLevel, message: &str);
}

/// A log sink that forwards to `tracing` (target `task`).
#[derive(Clone, Debug, Default)]
pub struct TracingLogSink;

impl LogSink for TracingLogSink {
    fn log(&self, task_id: &str, level: LogLevel, message: &str) {
        match level {
            LogLevel::Trace => tracing::trace!(target: "task", task = task_id, "{message}"),
            LogLevel::Debug => tracing::debug!(target: "task", task = task_id, "{message}"),
            LogLevel::Info => tracing::info!(target: "task", task = task_id, "{message}"),
            LogLevel::Warning => tracing::warn!(target: "task", task = task_id, "{message}"),
            LogLevel::Error => tracing::error!(target: "task", task = task_id, "{message}"),
        }
    }
}

impl TaskRuntime {
    /// Masks `message` (as the next line of the task's log stream, see
    /// [`crate::mask::LineMasker`]), truncates it to the line limit and sends
    /// it to the sink.
    pub(super) fn emit(&mut self, level: LogLevel, message: &str) {
        let mut text = self.log_lines.mask_line(message);
        if text.len() > self.limits.max_log_line {
            let mut cut = self.limits.max_log_line;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
            text.push_str(" …[truncated]");
        }
        self.log.log(&self.task_id, level, &text);
    }
}
