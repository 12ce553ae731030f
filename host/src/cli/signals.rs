//! SIGINT / SIGTERM: the first cancels every task (or the validation, or the
//! hook call) cleanly (container groups are deleted unless the task asked to
//! keep them); a second one exits at once with status 130.

use std::sync::Arc;

use crate::runner::EXIT_CANCELLED;
use crate::runtime::CancelToken;

use super::console::Console;
use super::status::Board;

/// Listens for SIGINT and SIGTERM for the rest of the process. The handlers
/// are installed before this returns (a signal that arrives right after is
/// handled, never the default action).
///
/// `first` is what the first signal prints; `on_exit` runs just before a
/// second signal exits the process (local mode uses it to stop the
/// emulator's container processes, which would otherwise outlive the host).
pub fn spawn_signal_handler(
    cancel: CancelToken,
    console: Arc<Console>,
    board: Option<Arc<Board>>,
    first: &'static str,
    on_exit: Box<dyn Fn() + Send>,
) {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        console.line("warning: could not install the SIGINT/SIGTERM handlers");
        return;
    };
    tokio::spawn(async move {
        // Bounded: the second signal ends the process.
        let mut count = 0u32;
        loop {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            count += 1;
            if count == 1 {
                console.line(first);
                if let Some(b) = &board {
                    b.cancelling();
                }
                cancel.cancel();
            } else {
                console.clear_status();
                console.line("exiting at once");
                tokio::task::block_in_place(&on_exit);
                std::process::exit(EXIT_CANCELLED);
            }
        }
    });
}
