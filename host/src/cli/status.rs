//! What `run` shows while tasks run: task log lines with timestamps, the
//! live status line, and the summary table at the end.
//!
//! The status comes from what the host already knows (queued, rendering,
//! running, done, elapsed time) plus the container group's state, which the
//! [`TaskSink`] picks up from the plugin's own log line
//! `Container group state changed to <state>`: the host never parses ARM
//! documents itself.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::bindings::LogLevel;
use crate::runner::TaskReport;
use crate::runtime::LogSink;

use super::console::Console;

/// The log line prefix the plugin uses for container group state changes.
pub const STATE_CHANGE_PREFIX: &str = "Container group state changed to ";

/// Where a task is in its life.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Waiting for a `--max-parallel` slot.
    Queued,
    /// Loading and rendering the task file.
    Rendering,
    /// The plugin is running it.
    Running,
    /// Finished: succeeded or not.
    Done(bool),
}

/// One task's line on the board.
#[derive(Clone, Debug)]
pub struct Entry {
    /// The task id (the file's stem until the file is loaded).
    pub label: String,
    /// Where it is.
    pub phase: Phase,
    /// When it left the queue.
    pub started: Option<Instant>,
    /// The last container group state the plugin reported.
    pub container_state: Option<String>,
}

/// The state of every task of one `run`, rendered as the status line.
pub struct Board {
    console: Arc<Console>,
    view: Arc<View>,
}

/// What the status line shows; the console asks for it at every draw.
struct View {
    started: Instant,
    tasks: Mutex<Tasks>,
    cancelling: std::sync::atomic::AtomicBool,
}

/// Every task's entry, and their tally (kept up to date as entries change,
/// so that drawing the line costs the same for 5 tasks or 5,000).
struct Tasks {
    entries: Vec<Entry>,
    tally: Tally,
}

impl View {
    fn line(&self) -> String {
        let tasks = self.tasks.lock().unwrap_or_else(|e| e.into_inner());
        let cancelling = self.cancelling.load(std::sync::atomic::Ordering::Relaxed);
        match tasks.entries.as_slice() {
            [one] => one_task_line(one, self.started.elapsed(), Instant::now(), cancelling),
            _ => tasks.tally.line(self.started.elapsed(), cancelling),
        }
    }
}

impl Board {
    /// A board of queued tasks with these labels; the status line is drawn
    /// only when `enabled` (and stderr is a terminal).
    pub fn new(console: Arc<Console>, labels: Vec<String>, enabled: bool) -> Board {
        let entries: Vec<Entry> = labels
            .into_iter()
            .map(|label| Entry {
                label,
                phase: Phase::Queued,
                started: None,
                container_state: None,
            })
            .collect();
        let tally = Tally::of(&entries);
        let view = Arc::new(View {
            started: Instant::now(),
            tasks: Mutex::new(Tasks { entries, tally }),
            cancelling: Default::default(),
        });
        if enabled {
            let shown = view.clone();
            console.show_status(move || shown.line());
        }
        Board { console, view }
    }

    fn update(&self, index: usize, f: impl FnOnce(&mut Entry)) {
        {
            let mut tasks = self.view.tasks.lock().unwrap_or_else(|e| e.into_inner());
            let Tasks { entries, tally } = &mut *tasks;
            if let Some(e) = entries.get_mut(index) {
                tally.count(e, false);
                f(e);
                tally.count(e, true);
            }
        }
        self.console.refresh_status();
    }

    /// The task left the queue and is being rendered.
    pub fn rendering(&self, index: usize) {
        self.update(index, |e| {
            e.phase = Phase::Rendering;
            e.started = Some(Instant::now());
        });
    }

    /// The plugin runs the task (now known by its task id).
    pub fn running(&self, index: usize, task_id: &str) {
        self.update(index, |e| {
            e.phase = Phase::Running;
            e.label = task_id.to_string();
        });
    }

    /// The container group reached `state`.
    pub fn container_state(&self, index: usize, state: &str) {
        self.update(index, |e| e.container_state = Some(state.to_string()));
    }

    /// The task finished.
    pub fn done(&self, index: usize, ok: bool) {
        self.update(index, |e| e.phase = Phase::Done(ok));
    }

    /// The run is being cancelled.
    pub fn cancelling(&self) {
        self.view
            .cancelling
            .store(true, std::sync::atomic::Ordering::Relaxed);
        self.console.refresh_status();
    }
}

/// The status line for these tasks (the console puts a spinner before it):
/// one task's own state, or a summary of many.
///
/// - one task: `hello · Running · 12.3s`
/// - many: `3/50 done (1 failed) · 5 running (Running 4, Pending 1) · 42 queued · 1m05s`
pub fn status_line(entries: &[Entry], elapsed: Duration, now: Instant, cancelling: bool) -> String {
    match entries {
        [one] => one_task_line(one, elapsed, now, cancelling),
        _ => Tally::of(entries).line(elapsed, cancelling),
    }
}

fn cancelling_suffix(cancelling: bool) -> &'static str {
    if cancelling {
        " · cancelling (Ctrl-C again to exit now)"
    } else {
        ""
    }
}

/// `hello · Running · 12.3s`.
fn one_task_line(e: &Entry, elapsed: Duration, now: Instant, cancelling: bool) -> String {
    let what = match (&e.phase, &e.container_state) {
        (Phase::Queued, _) => "queued",
        (Phase::Rendering, _) => "rendering",
        (Phase::Running, None) => "starting",
        (Phase::Running, Some(s)) => s.as_str(),
        (Phase::Done(true), _) => "succeeded",
        (Phase::Done(false), _) => "failed",
    };
    let took = e
        .started
        .map(|s| now.saturating_duration_since(s))
        .unwrap_or(elapsed);
    format!(
        "{} · {what} · {}{}",
        e.label,
        human_duration(took),
        cancelling_suffix(cancelling)
    )
}

/// The counts behind the many-task status line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    total: usize,
    done: usize,
    failed: usize,
    queued: usize,
    /// Active tasks per state (`rendering`, `starting` or the container
    /// group's), in order of first appearance; zero counts are not shown.
    active: Vec<(String, usize)>,
}

impl Tally {
    /// The tally of `entries`.
    pub fn of(entries: &[Entry]) -> Tally {
        let mut t = Tally {
            total: entries.len(),
            ..Tally::default()
        };
        for e in entries {
            t.count(e, true);
        }
        t
    }

    /// Adds `e` to the counts (`add`), or takes it out.
    fn count(&mut self, e: &Entry, add: bool) {
        let bump = |n: &mut usize| {
            *n = if add { *n + 1 } else { n.saturating_sub(1) };
        };
        let state = match (&e.phase, &e.container_state) {
            (Phase::Queued, _) => return bump(&mut self.queued),
            (Phase::Done(ok), _) => {
                bump(&mut self.done);
                if !ok {
                    bump(&mut self.failed);
                }
                return;
            }
            (Phase::Rendering, _) => "rendering",
            (Phase::Running, None) => "starting",
            (Phase::Running, Some(s)) => s.as_str(),
        };
        match self.active.iter_mut().find(|(n, _)| n == state) {
            Some((_, c)) => bump(c),
            None if add => self.active.push((state.to_string(), 1)),
            None => {}
        }
    }

    /// `3/50 done (1 failed) · 5 running (Running 4, Pending 1) · 42 queued · 1m05s`.
    pub fn line(&self, elapsed: Duration, cancelling: bool) -> String {
        let mut line = format!("{}/{} done", self.done, self.total);
        if self.failed > 0 {
            line.push_str(&format!(" ({} failed)", self.failed));
        }
        let running: usize = self.active.iter().map(|(_, c)| c).sum();
        line.push_str(&format!(" · {running} running"));
        let parts: Vec<String> = self
            .active
            .iter()
            .filter(|(_, c)| *c > 0)
            .map(|(s, c)| format!("{s} {c}"))
            .collect();
        if !parts.is_empty() {
            line.push_str(&format!(" ({})", parts.join(", ")));
        }
        if self.queued > 0 {
            line.push_str(&format!(" · {} queued", self.queued));
        }
        line.push_str(&format!(
            " · {}{}",
            human_duration(elapsed),
            cancelling_suffix(cancelling)
        ));
        line
    }
}

/// `4.2s`, `1m05s`, `2h03m`.
pub fn human_duration(d: Duration) -> String {
    let secs = d.as_secs();
    if secs < 60 {
        format!("{:.1}s", d.as_secs_f64())
    } else if secs < 3600 {
        format!("{}m{:02}s", secs / 60, secs % 60)
    } else {
        format!("{}h{:02}m", secs / 3600, (secs % 3600) / 60)
    }
}

/// The least important level shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verbosity {
    /// `--quiet`: warnings and errors.
    Quiet,
    /// Default: info and above.
    Normal,
    /// `-v`: debug and above.
    Verbose,
    /// `-vv`: everything.
    Trace,
}

impl Verbosity {
    /// From the `--quiet` flag and the `-v` count.
    pub fn from_flags(quiet: bool, verbose: u8) -> Verbosity {
        match (quiet, verbose) {
            (true, _) => Verbosity::Quiet,
            (false, 0) => Verbosity::Normal,
            (false, 1) => Verbosity::Verbose,
            (false, _) => Verbosity::Trace,
        }
    }

    /// True when lines of `level` are printed.
    pub fn shows(self, level: LogLevel) -> bool {
        let rank = |l: LogLevel| match l {
            LogLevel::Trace => 0,
            LogLevel::Debug => 1,
            LogLevel::Info => 2,
            LogLevel::Warning => 3,
            LogLevel::Error => 4,
        };
        let min = match self {
            Verbosity::Trace => 0,
            Verbosity::Verbose => 1,
            Verbosity::Normal => 2,
            Verbosity::Quiet => 3,
        };
        rank(level) >= min
    }
}

/// One task's log sink: prints its (already masked) lines with a timestamp
/// through the console and feeds container state changes to the board.
pub struct TaskSink {
    /// The task's index on the board.
    pub index: usize,
    /// The board.
    pub board: Option<Arc<Board>>,
    /// Where lines go.
    pub console: Arc<Console>,
    /// Prefix lines with the task id (several tasks share the screen).
    pub prefix: bool,
    /// Which levels are shown.
    pub verbosity: Verbosity,
}

impl LogSink for TaskSink {
    fn log(&self, task_id: &str, level: LogLevel, message: &str) {
        if let (Some(board), Some(state)) = (&self.board, message.strip_prefix(STATE_CHANGE_PREFIX))
        {
            board.container_state(self.index, state.trim());
        }
        if !self.verbosity.shows(level) {
            return;
        }
        self.console.line(&format_line(
            chrono::Local::now(),
            self.prefix.then_some(task_id),
            level,
            message,
        ));
    }
}

/// `12:03:04 task | WARNING message` (the task only when several run).
pub fn format_line<Tz: chrono::TimeZone>(
    at: chrono::DateTime<Tz>,
    task: Option<&str>,
    level: LogLevel,
    message: &str,
) -> String
where
    Tz::Offset: std::fmt::Display,
{
    let tag = match level {
        LogLevel::Trace => "TRACE ",
        LogLevel::Debug => "DEBUG ",
        LogLevel::Info => "",
        LogLevel::Warning => "WARNING ",
        LogLevel::Error => "ERROR ",
    };
    let time = at.format("%H:%M:%S");
    match task {
        Some(t) => format!("{time} {t} | {tag}{message}"),
        None => format!("{time} {tag}{message}"),
    }
}

/// The table printed after a run of several tasks.
pub fn summary_table(reports: &[(TaskReport, Duration)]) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let width = reports
        .iter()
        .map(|(r, _)| r.task_id.chars().count())
        .max()
        .unwrap_or(4)
        .max(4);
    let _ = writeln!(
        out,
        "{:<width$}  {:<7}  {:>4}  {:>8}  error",
        "task", "state", "exit", "elapsed"
    );
    for (r, d) in reports {
        let exit = r
            .exit_code
            .map(|c| c.to_string())
            .unwrap_or_else(|| "-".into());
        let error = r.error.as_deref().unwrap_or("").replace('\n', " ");
        let mut error: String = error.chars().take(100).collect();
        if r.error.as_deref().is_some_and(|e| e.chars().count() > 100) {
            error.push('…');
        }
        let _ = writeln!(
            out,
            "{:<width$}  {:<7}  {:>4}  {:>8}  {}",
            r.task_id,
            r.state.to_string(),
            exit,
            human_duration(*d),
            error
        );
    }
    let ok = reports.iter().filter(|(r, _)| r.exit_status == 0).count();
    let _ = write!(out, "{ok}/{} succeeded", reports.len());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::ErrorKind;

    fn entry(label: &str, phase: Phase, state: Option<&str>) -> Entry {
        Entry {
            label: label.into(),
            phase,
            started: None,
            container_state: state.map(str::to_string),
        }
    }

    #[test]
    fn one_task_shows_its_container_state() {
        let now = Instant::now();
        let mut e = entry("hello", Phase::Running, Some("Running"));
        e.started = now.checked_sub(Duration::from_millis(2500));
        assert_eq!(
            status_line(&[e.clone()], Duration::from_secs(9), now, false),
            "hello · Running · 2.5s"
        );
        e.container_state = None;
        assert_eq!(
            status_line(&[e.clone()], Duration::ZERO, now, false),
            "hello · starting · 2.5s"
        );
        assert!(status_line(&[e], Duration::ZERO, now, true)
            .ends_with("cancelling (Ctrl-C again to exit now)"));
        let q = entry("q", Phase::Queued, None);
        assert_eq!(
            status_line(&[q], Duration::from_secs(75), now, false),
            "q · queued · 1m15s"
        );
    }

    #[test]
    fn many_tasks_are_summarised() {
        let now = Instant::now();
        let entries = vec![
            entry("a", Phase::Done(true), Some("Terminated")),
            entry("b", Phase::Done(false), None),
            entry("c", Phase::Running, Some("Running")),
            entry("d", Phase::Running, Some("Pending")),
            entry("e", Phase::Running, Some("Running")),
            entry("f", Phase::Rendering, None),
            entry("g", Phase::Running, None),
            entry("h", Phase::Queued, None),
            entry("i", Phase::Queued, None),
        ];
        assert_eq!(
            status_line(&entries, Duration::from_secs(3700), now, false),
            "2/9 done (1 failed) · 5 running (Running 2, Pending 1, rendering 1, starting 1) · 2 queued · 1h01m"
        );
        let all_done = vec![
            entry("a", Phase::Done(true), None),
            entry("b", Phase::Done(true), None),
        ];
        assert_eq!(
            status_line(&all_done, Duration::from_millis(1234), now, false),
            "2/2 done · 0 running · 1.2s"
        );
    }

    #[test]
    fn the_board_keeps_its_tally_as_tasks_move() {
        let (console, _, _) = super::super::console::tests::console(false);
        let labels = (0..6).map(|i| format!("t{i}")).collect();
        let board = Board::new(Arc::new(console), labels, false);
        // The same counts (the order of states is that of first appearance).
        let norm = |t: &Tally| {
            let mut active: Vec<(String, usize)> =
                t.active.iter().filter(|(_, c)| *c > 0).cloned().collect();
            active.sort();
            (t.total, t.done, t.failed, t.queued, active)
        };
        let check = |board: &Board| {
            let tasks = board.view.tasks.lock().unwrap();
            assert_eq!(norm(&tasks.tally), norm(&Tally::of(&tasks.entries)));
        };
        for i in 0..5 {
            board.rendering(i);
            check(&board);
            board.running(i, &format!("task-{i}"));
            check(&board);
        }
        for (i, state) in [
            (0, "Pending"),
            (1, "Running"),
            (0, "Running"),
            (2, "Pending"),
        ] {
            board.container_state(i, state);
            check(&board);
        }
        board.done(0, true);
        board.done(1, false);
        check(&board);
        let tasks = board.view.tasks.lock().unwrap();
        assert_eq!(
            tasks.tally.line(Duration::from_secs(2), false),
            "2/6 done (1 failed) · 3 running (starting 2, Pending 1) · 1 queued · 2.0s"
        );
    }

    #[test]
    fn verbosity_filters_levels() {
        assert!(!Verbosity::Quiet.shows(LogLevel::Info));
        assert!(Verbosity::Quiet.shows(LogLevel::Warning));
        assert!(Verbosity::Normal.shows(LogLevel::Info));
        assert!(!Verbosity::Normal.shows(LogLevel::Debug));
        assert!(Verbosity::Verbose.shows(LogLevel::Debug));
        assert!(!Verbosity::Verbose.shows(LogLevel::Trace));
        assert!(Verbosity::Trace.shows(LogLevel::Trace));
        assert_eq!(Verbosity::from_flags(true, 2), Verbosity::Quiet);
        assert_eq!(Verbosity::from_flags(false, 3), Verbosity::Trace);
    }

    #[test]
    fn lines_carry_time_task_and_level() {
        use chrono::TimeZone;
        let t = chrono::Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
        assert_eq!(format_line(t, None, LogLevel::Info, "hi"), "03:04:05 hi");
        assert_eq!(
            format_line(t, Some("t1"), LogLevel::Warning, "careful"),
            "03:04:05 t1 | WARNING careful"
        );
        assert_eq!(
            format_line(t, Some("t1"), LogLevel::Debug, "x"),
            "03:04:05 t1 | DEBUG x"
        );
    }

    #[test]
    fn the_sink_tracks_state_changes_and_filters() {
        let (console, err, _) = super::super::console::tests::console(true);
        let console = Arc::new(console);
        let board = Arc::new(Board::new(console.clone(), vec!["t".into()], true));
        board.rendering(0);
        board.running(0, "task-one");
        let sink = TaskSink {
            index: 0,
            board: Some(board.clone()),
            console: console.clone(),
            prefix: false,
            verbosity: Verbosity::Quiet,
        };
        sink.log(
            "task-one",
            LogLevel::Info,
            "Container group state changed to Pending",
        );
        assert_eq!(
            board.view.tasks.lock().unwrap().entries[0]
                .container_state
                .as_deref(),
            Some("Pending")
        );
        sink.log("task-one", LogLevel::Info, "container says hi");
        sink.log("task-one", LogLevel::Error, "it broke");
        let text = err.text();
        assert!(
            !text.contains("container says hi"),
            "quiet hides info: {text:?}"
        );
        assert!(text.contains("ERROR it broke\n"), "{text:?}");
        assert!(
            text.contains("task-one · Pending · "),
            "the status line shows the state: {text:?}"
        );
    }

    #[test]
    fn summary_lists_every_task() {
        let ok = (
            TaskReport::not_started("alpha", ErrorKind::Internal, "x".into()),
            Duration::from_secs(2),
        );
        let mut ok = ok;
        ok.0.state = crate::runner::TaskState::Success;
        ok.0.error = None;
        ok.0.exit_status = 0;
        ok.0.exit_code = Some(0);
        let bad = (
            TaskReport::not_started("b", ErrorKind::InvalidParams, "bad\nname".into()),
            Duration::from_millis(100),
        );
        let t = summary_table(&[ok, bad]);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], "task   state    exit   elapsed  error");
        assert_eq!(lines[1], "alpha  success     0      2.0s  ");
        assert_eq!(lines[2], "b      failed      -      0.1s  bad name");
        assert_eq!(lines[3], "1/2 succeeded");
    }
}
