//! The unit tests' host (see [`super`]): one script per test thread (libtest runs each
//! test on its own thread, and [`reset`] starts a fresh one anyway).
//!
//! - HTTP: every request is checked as the SDK's client checks it (URL, no credentials
//!   over plain http), recorded, and answered by the next scripted reply ([`reply`],
//!   [`reply_json`], [`fail`]); a request with no reply left panics, naming it.
//! - Time: a virtual monotonic clock ([`now_ms`]) that waits and request latency
//!   ([`latency`]) advance; the wall clock is [`UNIX_AT_ZERO`] plus the same time.
//! - Cancellation: [`cancel_at_wait`] makes a given wait (and every later one) report it.
//! - Warnings, granted files, budget acquisitions and pauses are recorded; files and
//!   budget answers are scripted ([`file`], [`budget_answer`], [`pause_error`]).
//! - Randomness is deterministic: a counter for bytes, [`set_random_u64`] for jitter.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};

use serde_json::Value;
use task_plugin_sdk::http::{check_credentials, HttpError, Request, Response, Url};
use task_plugin_sdk::{Error, Result};

/// The wall clock (Unix seconds) when the virtual monotonic clock reads 0.
pub const UNIX_AT_ZERO: u64 = 1_800_000_000;

#[derive(Default)]
struct Script {
    now_ms: u64,
    latency_ms: u64,
    replies: VecDeque<Result<Response, HttpError>>,
    requests: Vec<Request>,
    logs: Vec<String>,
    waits: Vec<u64>,
    cancel_at_wait: Option<usize>,
    files: HashMap<String, Result<Vec<u8>>>,
    file_reads: Vec<String>,
    budget_answers: VecDeque<Result<bool>>,
    acquired: Vec<(String, bool)>,
    pause_error: Option<Error>,
    paused: Vec<(String, u64)>,
    random_u64: u64,
    random_calls: u8,
}

thread_local! {
    static SCRIPT: RefCell<Script> = RefCell::new(Script::default());
}

fn with<T>(f: impl FnOnce(&mut Script) -> T) -> T {
    SCRIPT.with(|s| f(&mut s.borrow_mut()))
}

// ---- the host calls (same names and signatures as the SDK's) ----

/// Answers `req` with the next scripted reply (after the SDK client's own checks).
pub fn send(req: &Request) -> Result<Response, HttpError> {
    let url = Url::parse(&req.url)?;
    check_credentials(req, &url)?;
    let (reply, left) = with(|s| {
        s.requests.push(req.clone());
        s.now_ms += s.latency_ms;
        (s.replies.pop_front(), s.replies.len())
    });
    reply.unwrap_or_else(|| panic!("unscripted request #{left}: {} {}", req.method, req.url))
}

/// The virtual monotonic clock.
pub fn now_ms() -> u64 {
    with(|s| s.now_ms)
}

/// The virtual wall clock: [`UNIX_AT_ZERO`] plus the monotonic clock's seconds.
pub fn unix_now() -> u64 {
    UNIX_AT_ZERO + now_ms() / 1000
}

/// Records the wait; cancelled from the scripted wait on (the clock then stays), else
/// advances the clock by `millis`.
pub fn wait_cancelled(millis: u64) -> bool {
    with(|s| {
        let index = s.waits.len();
        s.waits.push(millis);
        if s.cancel_at_wait.is_some_and(|c| index >= c) {
            return true;
        }
        s.now_ms += millis;
        false
    })
}

/// Records a warning as `warn: {msg}`.
pub fn warn(msg: impl AsRef<str>) {
    with(|s| s.logs.push(format!("warn: {}", msg.as_ref())));
}

/// Records a debug line as `debug: {msg}`.
pub fn debug(msg: impl AsRef<str>) {
    with(|s| s.logs.push(format!("debug: {}", msg.as_ref())));
}

/// The scripted content of `path`; unscripted files are not found (the SDK's message).
pub fn read_granted_file(path: &str) -> Result<Vec<u8>> {
    with(|s| {
        s.file_reads.push(path.to_string());
        s.files.get(path).cloned().unwrap_or_else(|| {
            Err(Error::Connection(format!(
                "file `{path}` not found: no such file"
            )))
        })
    })
}

/// Records the acquisition; the next scripted answer, else `Ok(true)`.
pub fn acquire_budget(key: &str, urgent: bool) -> Result<bool> {
    with(|s| {
        s.acquired.push((key.to_string(), urgent));
        s.budget_answers.pop_front().unwrap_or(Ok(true))
    })
}

/// Records the pause; fails with the scripted error, if any.
pub fn pause_budget(key: &str, millis: u64) -> Result<()> {
    with(|s| {
        s.paused.push((key.to_string(), millis));
        s.pause_error.clone().map_or(Ok(()), Err)
    })
}

/// `len` bytes, all equal to the number of earlier calls (distinct ids per call).
pub fn random_bytes(len: u64) -> Vec<u8> {
    with(|s| {
        s.random_calls = s.random_calls.wrapping_add(1);
        vec![s.random_calls; len as usize]
    })
}

/// The scripted random number (0 unless set: no jitter).
pub fn insecure_random_u64() -> u64 {
    with(|s| s.random_u64)
}

// ---- scripting ----

/// Starts a fresh script: clock at 0, no replies, nothing recorded.
pub fn reset() {
    with(|s| *s = Script::default());
}

/// Queues a reply with `status`, `headers` and a text `body`.
pub fn reply(status: u16, headers: &[(&str, &str)], body: &str) {
    let resp = Response {
        status,
        headers: headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect(),
        body: body.as_bytes().to_vec(),
    };
    with(|s| s.replies.push_back(Ok(resp)));
}

/// Queues a reply with a JSON body.
pub fn reply_json(status: u16, headers: &[(&str, &str)], body: &Value) {
    reply(status, headers, &body.to_string());
}

/// Queues a failure (no response).
pub fn fail(e: HttpError) {
    with(|s| s.replies.push_back(Err(e)));
}

/// Every request takes `ms` of virtual time from now on.
pub fn latency(ms: u64) {
    with(|s| s.latency_ms = ms);
}

/// Moves the virtual clock forward.
pub fn advance(ms: u64) {
    with(|s| s.now_ms += ms);
}

/// Wait number `index` (0-based) and every later one report a cancellation.
pub fn cancel_at_wait(index: usize) {
    with(|s| s.cancel_at_wait = Some(index));
}

/// What reading `path` returns.
pub fn file(path: &str, content: Result<Vec<u8>>) {
    with(|s| s.files.insert(path.to_string(), content));
}

/// Queues the answer of the next budget acquisition.
pub fn budget_answer(answer: Result<bool>) {
    with(|s| s.budget_answers.push_back(answer));
}

/// Every budget pause fails with `e`.
pub fn pause_error(e: Error) {
    with(|s| s.pause_error = Some(e));
}

/// The number [`insecure_random_u64`] returns.
pub fn set_random_u64(x: u64) {
    with(|s| s.random_u64 = x);
}

// ---- what happened ----

/// The requests sent, in order.
pub fn requests() -> Vec<Request> {
    with(|s| s.requests.clone())
}

/// `METHOD url` of every request, in order.
pub fn request_lines() -> Vec<String> {
    with(|s| {
        s.requests
            .iter()
            .map(|r| format!("{} {}", r.method, r.url))
            .collect()
    })
}

/// Scripted replies not consumed.
pub fn replies_left() -> usize {
    with(|s| s.replies.len())
}

/// The warnings and debug lines, in order (`warn: …`, `debug: …`).
pub fn logs() -> Vec<String> {
    with(|s| s.logs.clone())
}

/// The waits requested (ms), in order.
pub fn waits() -> Vec<u64> {
    with(|s| s.waits.clone())
}

/// The files read, in order.
pub fn file_reads() -> Vec<String> {
    with(|s| s.file_reads.clone())
}

/// The budget acquisitions `(key, urgent)`, in order.
pub fn acquired() -> Vec<(String, bool)> {
    with(|s| s.acquired.clone())
}

/// The budget pauses `(key, ms)`, in order.
pub fn paused() -> Vec<(String, u64)> {
    with(|s| s.paused.clone())
}

/// The value of header `name` (case-insensitive) of `req`.
pub fn header(req: &Request, name: &str) -> Option<String> {
    req.headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.clone())
}
