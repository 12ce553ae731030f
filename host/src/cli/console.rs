//! The terminal: log lines scroll, one status line stays at the bottom.
//!
//! Every byte the CLI writes to stderr (task logs, host diagnostics from
//! `tracing`, the summary) and the result lines it writes to stdout go
//! through one [`Console`]. When stderr is a terminal the console keeps a
//! status line under the output: before a line is printed the status line is
//! erased (`\r` + `ESC[2K`), the line is written, and the status line is drawn
//! again, so logs never mix with it. When stderr is not a terminal (a pipe, a
//! file, CI) the status line is never drawn and the output is plain lines.

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};

use tracing_subscriber::fmt::MakeWriter;

/// Erases the current terminal line and returns to its start.
const ERASE_LINE: &str = "\r\x1b[2K";

/// Where the console writes.
type Sink = Box<dyn Write + Send>;

struct State {
    err: Sink,
    out: Sink,
    /// The status line currently drawn (empty: none).
    status: String,
}

/// Serialises stderr/stdout output and owns the status line.
pub struct Console {
    live: bool,
    width: Box<dyn Fn() -> usize + Send + Sync>,
    state: Mutex<State>,
}

impl Console {
    /// The process's stderr and stdout; the status line is shown when stderr
    /// is a terminal and `TERM` is not `dumb`.
    pub fn stdio() -> Console {
        let dumb = std::env::var("TERM").is_ok_and(|t| t == "dumb");
        let live = std::io::stderr().is_terminal() && !dumb;
        Console::with_writers(
            Box::new(std::io::stderr()),
            Box::new(std::io::stdout()),
            live,
            Box::new(terminal_width),
        )
    }

    /// A console over the given writers (tests); `width` gives the terminal's columns.
    pub fn with_writers(
        err: Sink,
        out: Sink,
        live: bool,
        width: Box<dyn Fn() -> usize + Send + Sync>,
    ) -> Console {
        Console {
            live,
            width,
            state: Mutex::new(State {
                err,
                out,
                status: String::new(),
            }),
        }
    }

    /// True when the status line can be shown (stderr is a terminal).
    pub fn is_live(&self) -> bool {
        self.live
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes `text` to stderr above the status line; a missing final
    /// newline is added.
    pub fn line(&self, text: &str) {
        self.write_err(text.as_bytes());
    }

    /// Writes raw bytes to stderr above the status line.
    pub fn write_err(&self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let mut st = self.lock();
        let st = &mut *st;
        let shown = self.live && !st.status.is_empty();
        if shown {
            let _ = st.err.write_all(ERASE_LINE.as_bytes());
        }
        let _ = st.err.write_all(bytes);
        if !bytes.ends_with(b"\n") {
            let _ = st.err.write_all(b"\n");
        }
        if shown {
            let _ = st.err.write_all(st.status.as_bytes());
        }
        let _ = st.err.flush();
    }

    /// Writes one line to stdout. On a terminal the status line is erased
    /// first and drawn again afterwards, in case both go to the same screen.
    pub fn out_line(&self, text: &str) {
        let mut st = self.lock();
        let st = &mut *st;
        let shown = self.live && !st.status.is_empty();
        if shown {
            let _ = st.err.write_all(ERASE_LINE.as_bytes());
            let _ = st.err.flush();
        }
        let _ = writeln!(st.out, "{text}");
        let _ = st.out.flush();
        if shown {
            let _ = st.err.write_all(st.status.as_bytes());
            let _ = st.err.flush();
        }
    }

    /// Draws `status` as the status line (cut to the terminal's width); does
    /// nothing when stderr is not a terminal.
    pub fn set_status(&self, status: &str) {
        if !self.live {
            return;
        }
        let status = fit(status, (self.width)());
        let mut st = self.lock();
        if st.status == status {
            return;
        }
        let _ = st.err.write_all(ERASE_LINE.as_bytes());
        let _ = st.err.write_all(status.as_bytes());
        let _ = st.err.flush();
        st.status = status;
    }

    /// Erases the status line (before the final output or exiting).
    pub fn clear_status(&self) {
        let mut st = self.lock();
        if self.live && !st.status.is_empty() {
            let _ = st.err.write_all(ERASE_LINE.as_bytes());
            let _ = st.err.flush();
        }
        st.status.clear();
    }

    /// A `tracing` writer that prints each event through this console.
    pub fn tracing_writer(self: &Arc<Self>) -> ConsoleMakeWriter {
        ConsoleMakeWriter(self.clone())
    }
}

/// Cuts `status` to fit in `width` columns (one column stays free so the
/// cursor never wraps); control characters become spaces.
pub fn fit(status: &str, width: usize) -> String {
    let max = width.saturating_sub(1).max(10);
    let clean: String = status
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if clean.chars().count() <= max {
        return clean;
    }
    let mut cut: String = clean.chars().take(max - 1).collect();
    cut.push('…');
    cut
}

/// The terminal's width in columns (80 when unknown).
fn terminal_width() -> usize {
    // SAFETY: TIOCGWINSZ writes a `winsize` into the struct we pass; fd 2 may
    // be anything, in which case the call fails and we use the fallback.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::ioctl(2, libc::TIOCGWINSZ, &mut ws) } == 0;
    if ok && ws.ws_col > 0 {
        return usize::from(ws.ws_col);
    }
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .filter(|c| *c > 0)
        .unwrap_or(80)
}

/// Makes [`ConsoleWriter`]s for `tracing_subscriber`.
pub struct ConsoleMakeWriter(Arc<Console>);

impl<'a> MakeWriter<'a> for ConsoleMakeWriter {
    type Writer = ConsoleWriter;

    fn make_writer(&'a self) -> ConsoleWriter {
        ConsoleWriter {
            console: self.0.clone(),
            buf: Vec::new(),
        }
    }
}

/// Buffers one `tracing` event and prints it through the console when dropped.
pub struct ConsoleWriter {
    console: Arc<Console>,
    buf: Vec<u8>,
}

impl Write for ConsoleWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for ConsoleWriter {
    fn drop(&mut self) {
        self.console.write_err(&self.buf);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A writer whose bytes the test can read back.
    #[derive(Clone, Default)]
    pub(crate) struct Shared(pub Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Shared {
        pub(crate) fn text(&self) -> String {
            String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
        }
    }

    pub(crate) fn console(live: bool) -> (Console, Shared, Shared) {
        let (err, out) = (Shared::default(), Shared::default());
        (
            Console::with_writers(
                Box::new(err.clone()),
                Box::new(out.clone()),
                live,
                Box::new(|| 40),
            ),
            err,
            out,
        )
    }

    #[test]
    fn plain_mode_writes_lines_only() {
        let (c, err, out) = console(false);
        c.set_status("running");
        c.line("hello");
        c.line("world\n");
        c.out_line("{}");
        c.clear_status();
        assert_eq!(err.text(), "hello\nworld\n");
        assert_eq!(out.text(), "{}\n");
    }

    #[test]
    fn live_mode_keeps_the_status_under_the_logs() {
        let (c, err, out) = console(true);
        c.line("first");
        c.set_status("⠋ t · Running · 1.0s");
        c.line("second");
        c.set_status("⠋ t · Running · 1.0s"); // unchanged: not redrawn
        c.out_line("{\"a\":1}");
        c.clear_status();
        c.line("after");
        assert_eq!(
            err.text(),
            "first\n\r\x1b[2K⠋ t · Running · 1.0s\r\x1b[2Ksecond\n⠋ t · Running · 1.0s\r\x1b[2K⠋ t · Running · 1.0s\r\x1b[2Kafter\n"
        );
        assert_eq!(out.text(), "{\"a\":1}\n");
    }

    #[test]
    fn status_is_cut_to_the_width() {
        assert_eq!(fit("short", 40), "short");
        let long = "x".repeat(100);
        let cut = fit(&long, 40);
        assert_eq!(cut.chars().count(), 39);
        assert!(cut.ends_with('…'));
        assert_eq!(fit("a\tb\nc", 40), "a b c");
        // Tiny terminals still get something readable.
        assert_eq!(fit(&long, 0).chars().count(), 10);
    }

    #[test]
    fn tracing_events_go_through_the_console() {
        let (c, err, _) = console(true);
        let c = Arc::new(c);
        c.set_status("S");
        {
            let mw = c.tracing_writer();
            let mut w = mw.make_writer();
            w.write_all(b"INFO part one, ").unwrap();
            w.write_all(b"part two\n").unwrap();
        }
        assert_eq!(err.text(), "\r\x1b[2KS\r\x1b[2KINFO part one, part two\nS");
    }
}
