//! Reading the emulator's request log (`EmulatorConfig::request_log`) in tests: when each
//! request arrived and was answered, by the emulator's clock, so a test can check the order
//! of requests and the pauses between them (a `Retry-After` honoured) without timing the
//! test itself.

use std::path::{Path, PathBuf};

use crate::{EmulatorConfig, Harness};

/// A harness whose emulator writes its request log into `dir`, and that log's path.
pub async fn harness(dir: &tempfile::TempDir) -> (Harness, PathBuf) {
    let log = dir.path().join("requests.jsonl");
    let h = Harness::with_config(EmulatorConfig {
        request_log: Some(log.clone()),
        ..EmulatorConfig::default()
    })
    .await;
    (h, log)
}

/// One request as the emulator logged it.
#[derive(Clone, Debug)]
pub struct Logged {
    /// The operation (`ContainerGroups_Get`, `Token_Issue`, …).
    pub kind: String,
    /// The status answered (0: connection reset).
    pub status: u16,
    /// When it arrived, Unix milliseconds (the log's millisecond time minus its duration).
    pub start_ms: f64,
    /// When its answer was ready, Unix milliseconds (truncated to the millisecond).
    pub end_ms: f64,
}

/// Every line of the request log at `path`, in the order written.
pub fn read(path: &Path) -> Vec<Logged> {
    let text = std::fs::read_to_string(path).expect("request log");
    text.lines()
        .map(|l| {
            let v: serde_json::Value =
                serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
            let end_ms = unix_ms(v["time"].as_str().expect("time"));
            Logged {
                kind: v["kind"].as_str().expect("kind").to_string(),
                status: v["status"].as_u64().expect("status") as u16,
                start_ms: end_ms - v["ms"].as_f64().expect("ms"),
                end_ms,
            }
        })
        .collect()
}

/// The statuses answered to the requests of `kind`, in order.
pub fn statuses(log: &[Logged], kind: &str) -> Vec<u16> {
    log.iter()
        .filter(|l| l.kind == kind)
        .map(|l| l.status)
        .collect()
}

/// The pauses (ms) between the answer to each request of `kind` and the arrival of the next
/// one of that kind. The log's times are truncated to the millisecond, so a pause the client
/// kept to exactly `n` ms may show as `n - 1`.
pub fn gaps(log: &[Logged], kind: &str) -> Vec<f64> {
    let of_kind: Vec<&Logged> = log.iter().filter(|l| l.kind == kind).collect();
    of_kind
        .windows(2)
        .map(|w| w[1].start_ms - w[0].end_ms)
        .collect()
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` (the log's format) as Unix milliseconds.
fn unix_ms(t: &str) -> f64 {
    let n = |r: std::ops::Range<usize>| -> i64 {
        t.get(r)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("bad time {t}"))
    };
    let (y, m, d) = (n(0..4), n(5..7), n(8..10));
    let secs = n(11..13) * 3600 + n(14..16) * 60 + n(17..19);
    let millis = n(20..23);
    // Days since the epoch (Howard Hinnant's days_from_civil).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let days = era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468;
    ((days * 86_400 + secs) * 1000 + millis) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_gaps() {
        assert_eq!(unix_ms("1970-01-01T00:00:01.500Z"), 1500.0);
        assert_eq!(unix_ms("2024-03-01T00:00:00.000Z"), 1_709_251_200_000.0);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.jsonl");
        std::fs::write(
            &path,
            concat!(
                r#"{"time":"1970-01-01T00:00:01.000Z","kind":"A","status":429,"ms":10.0}"#,
                "\n",
                r#"{"time":"1970-01-01T00:00:01.500Z","kind":"B","status":200,"ms":1.0}"#,
                "\n",
                r#"{"time":"1970-01-01T00:00:02.100Z","kind":"A","status":200,"ms":50.0}"#,
                "\n"
            ),
        )
        .unwrap();
        let log = read(&path);
        assert_eq!(log.len(), 3);
        assert_eq!((log[0].status, log[0].start_ms), (429, 990.0));
        assert_eq!(gaps(&log, "A"), [1050.0]);
        assert!(gaps(&log, "B").is_empty());
    }
}
