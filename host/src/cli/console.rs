//! The terminal: log lines scroll, one status line stays at the bottom.
//!
//! Every byte the CLI writes to stderr (task logs, host diagnostics from
//! `tracing`, the summary) and the result lines it writes to stdout go
//! through one [`Console`]. When stderr is a terminal the console keeps a
//! status line under the output, drawn by an `indicatif` spinner: before a
//! line is printed the status line is erased, the line is written, and the
//! status line is drawn again (`ProgressBar::suspend`), so logs never mix
//! with it; the spinner ticks on its own and the status text is asked for at
//! every draw. When stderr is not a terminal (a pipe, a file, CI) the status
//! line is never drawn and the output is plain lines.

use std::fmt;
use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle, TermLike};
use tracing_subscriber::fmt::MakeWriter;

/// Where the console writes.
type Sink = Box<dyn Write + Send>;

/// Gives the status text at each draw.
type StatusSource = Arc<dyn Fn() -> String + Send + Sync>;

/// The terminal's width in columns.
type Width = Arc<dyn Fn() -> usize + Send + Sync>;

/// How often the spinner turns (and elapsed times in the status move).
const TICK: Duration = Duration::from_millis(200);

/// Spinner frames of the status line (the last one is never shown: the
/// line is cleared when it ends).
const SPINNER: &str = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏ ";

/// Serialises stderr/stdout output and owns the status line.
pub struct Console {
    live: bool,
    width: Width,
    err: Arc<Mutex<Sink>>,
    out: Mutex<Sink>,
    /// Where the status line is drawn: the real stderr, or `err` (tests).
    stdio: bool,
    status: Mutex<Option<ProgressBar>>,
}

impl Console {
    /// The process's stderr and stdout; the status line is shown when stderr
    /// is a terminal and `TERM` is not `dumb`.
    pub fn stdio() -> Console {
        let dumb = std::env::var("TERM").is_ok_and(|t| t == "dumb");
        let live = std::io::stderr().is_terminal() && !dumb;
        let mut c = Console::with_writers(
            Box::new(std::io::stderr()),
            Box::new(std::io::stdout()),
            live,
            Box::new(terminal_width),
        );
        c.stdio = true;
        c
    }

    /// A console over the given writers (tests); `width` gives the terminal's
    /// columns. A live console draws its status line into `err`.
    pub fn with_writers(
        err: Sink,
        out: Sink,
        live: bool,
        width: Box<dyn Fn() -> usize + Send + Sync>,
    ) -> Console {
        Console {
            live,
            width: Arc::from(width),
            err: Arc::new(Mutex::new(err)),
            out: Mutex::new(out),
            stdio: false,
            status: Mutex::new(None),
        }
    }

    /// True when the status line can be shown (stderr is a terminal).
    pub fn is_live(&self) -> bool {
        self.live
    }

    /// The status bar, if one is shown.
    fn bar(&self) -> Option<ProgressBar> {
        self.status
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Runs `write` with the status line erased, and draws it again after.
    fn above_status(&self, write: impl FnOnce()) {
        match self.bar() {
            Some(bar) => bar.suspend(write),
            None => write(),
        }
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
        self.above_status(|| {
            let mut err = self.err.lock().unwrap_or_else(|e| e.into_inner());
            let _ = err.write_all(bytes);
            if !bytes.ends_with(b"\n") {
                let _ = err.write_all(b"\n");
            }
            let _ = err.flush();
        });
    }

    /// Writes one line to stdout. On a terminal the status line is erased
    /// first and drawn again afterwards, in case both go to the same screen.
    pub fn out_line(&self, text: &str) {
        self.above_status(|| {
            let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
            let _ = writeln!(out, "{text}");
            let _ = out.flush();
        });
    }

    /// Shows the status line (a no-op when stderr is not a terminal): a
    /// spinner, then `source()`, asked again at every draw and cut to the
    /// terminal's width. [`Console::refresh_status`] draws it at once.
    pub fn show_status(&self, source: impl Fn() -> String + Send + Sync + 'static) {
        if !self.live {
            return;
        }
        let source: StatusSource = Arc::new(source);
        let width = self.width.clone();
        let status = move |_: &indicatif::ProgressState, w: &mut dyn fmt::Write| {
            // Two columns go to the spinner and its space.
            let _ = w.write_str(&fit(&source(), width().saturating_sub(2)));
        };
        let style = ProgressStyle::with_template("{spinner} {status}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner())
            .tick_chars(SPINNER)
            .with_key("status", status);
        let bar = ProgressBar::with_draw_target(None, self.draw_target()).with_style(style);
        bar.tick();
        bar.enable_steady_tick(TICK);
        if let Some(old) = self
            .status
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .replace(bar)
        {
            old.finish_and_clear();
        }
    }

    fn draw_target(&self) -> ProgressDrawTarget {
        if self.stdio {
            return ProgressDrawTarget::stderr();
        }
        ProgressDrawTarget::term_like(Box::new(WriterTerm {
            err: self.err.clone(),
            width: self.width.clone(),
        }))
    }

    /// Draws the status line again now (its text changed).
    pub fn refresh_status(&self) {
        if let Some(bar) = self.bar() {
            bar.tick();
        }
    }

    /// Erases the status line for good (before the final output or exiting).
    pub fn clear_status(&self) {
        let bar = self.status.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
    }

    /// A `tracing` writer that prints each event through this console.
    pub fn tracing_writer(self: &Arc<Self>) -> ConsoleMakeWriter {
        ConsoleMakeWriter(self.clone())
    }
}

/// The status line's terminal when the console writes to given writers.
struct WriterTerm {
    err: Arc<Mutex<Sink>>,
    width: Width,
}

impl fmt::Debug for WriterTerm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WriterTerm")
    }
}

impl WriterTerm {
    fn write(&self, s: &str) -> std::io::Result<()> {
        self.err
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .write_all(s.as_bytes())
    }
}

impl TermLike for WriterTerm {
    fn width(&self) -> u16 {
        u16::try_from((self.width)()).unwrap_or(u16::MAX)
    }
    fn move_cursor_up(&self, n: usize) -> std::io::Result<()> {
        if n == 0 {
            return Ok(());
        }
        self.write(&format!("\x1b[{n}A"))
    }
    fn move_cursor_down(&self, n: usize) -> std::io::Result<()> {
        if n == 0 {
            return Ok(());
        }
        self.write(&format!("\x1b[{n}B"))
    }
    fn move_cursor_right(&self, n: usize) -> std::io::Result<()> {
        self.write(&format!("\x1b[{n}C"))
    }
    fn move_cursor_left(&self, n: usize) -> std::io::Result<()> {
        self.write(&format!("\x1b[{n}D"))
    }
    fn write_line(&self, s: &str) -> std::io::Result<()> {
        self.write(s)?;
        self.write("\n")
    }
    fn write_str(&self, s: &str) -> std::io::Result<()> {
        self.write(s)
    }
    fn clear_line(&self) -> std::io::Result<()> {
        self.write("\r\x1b[2K")
    }
    fn flush(&self) -> std::io::Result<()> {
        self.err.lock().unwrap_or_else(|e| e.into_inner()).flush()
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
        c.show_status(|| "running".into());
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
        let status = Arc::new(Mutex::new("t · Pending · 1.0s".to_string()));
        let source = status.clone();
        c.show_status(move || source.lock().unwrap().clone());
        c.line("second");
        *status.lock().unwrap() = "t · Running · 2.0s".into();
        c.refresh_status();
        c.out_line("{\"a\":1}");
        c.clear_status();
        c.line("after");
        let text = err.text();
        // Lines arrive whole; the status line is erased before each one and
        // drawn again after it, with the spinner and the current text.
        assert!(text.starts_with("first\n"), "{text:?}");
        assert!(text.contains("\r\x1b[2Ksecond\n"), "{text:?}");
        let second = text.find("second").unwrap();
        assert!(text[..second].contains(" t · Pending · 1.0s"), "{text:?}");
        assert!(text[second..].contains(" t · Running · 2.0s"), "{text:?}");
        // Cleared for good before the last line.
        assert!(text.ends_with("\r\x1b[2Kafter\n"), "{text:?}");
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
        c.show_status(|| "S".into());
        {
            let mw = c.tracing_writer();
            let mut w = mw.make_writer();
            w.write_all(b"INFO part one, ").unwrap();
            w.write_all(b"part two\n").unwrap();
        }
        c.clear_status();
        let text = err.text();
        assert!(
            text.contains("\r\x1b[2KINFO part one, part two\n"),
            "one event, one whole line: {text:?}"
        );
        let event = text.find("INFO").unwrap();
        assert!(text[event..].contains(" S"), "drawn again after: {text:?}");
    }
}
