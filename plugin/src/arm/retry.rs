//! Retry policy (pure): which answers are worth retrying, how long to wait before the next
//! attempt (exponential backoff with jitter, or the server's `Retry-After`), and when to
//! give up (a bound on attempts *and* on total time).

/// Bounds and pacing of retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in total, the first one included (at least 1).
    pub max_attempts: u32,
    /// Backoff before the first retry; doubles on every retry.
    pub base_delay_ms: u64,
    /// Largest single backoff.
    pub max_delay_ms: u64,
    /// Total time budget for all attempts and waits of one call.
    pub total_budget_ms: u64,
    /// Timeout of one attempt (connect, answer and body): a slower answer is a retryable
    /// timeout.
    pub request_timeout_ms: u64,
}

/// Default timeout of one request.
pub const DEFAULT_REQUEST_TIMEOUT_MS: u64 = 60_000;
/// The range the connection extra `request_timeout_ms` may set.
pub const REQUEST_TIMEOUT_RANGE_MS: std::ops::RangeInclusive<u64> = 100..=600_000;

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            base_delay_ms: 500,
            max_delay_ms: 30_000,
            total_budget_ms: 120_000,
            request_timeout_ms: DEFAULT_REQUEST_TIMEOUT_MS,
        }
    }
}

/// Upper bound on the attempts a connection may configure.
pub const MAX_ATTEMPTS_LIMIT: u32 = 11;

impl RetryPolicy {
    /// The default policy adjusted by the connection extras `max_retries` (0–10),
    /// `retry_backoff_ms` (base delay, 1–60000) and `request_timeout_ms` (timeout of each
    /// attempt, 100–600000), when present and valid.
    pub fn from_extras(extras: &serde_json::Map<String, serde_json::Value>) -> RetryPolicy {
        let mut p = RetryPolicy::default();
        let num = |k: &str| -> Option<u64> {
            match extras.get(k)? {
                serde_json::Value::Number(n) => n.as_u64(),
                serde_json::Value::String(s) => s.trim().parse().ok(),
                _ => None,
            }
        };
        if let Some(n) = num("max_retries") {
            p.max_attempts = (n.min(u64::from(MAX_ATTEMPTS_LIMIT - 1)) as u32) + 1;
        }
        if let Some(b) = num("retry_backoff_ms").filter(|b| (1..=60_000).contains(b)) {
            p.base_delay_ms = b;
        }
        if let Some(t) = num("request_timeout_ms").filter(|t| REQUEST_TIMEOUT_RANGE_MS.contains(t))
        {
            p.request_timeout_ms = t;
        }
        p
    }

    /// The exponential backoff before retry number `retry` (0 = first retry), with "equal
    /// jitter": half the nominal delay fixed, the other half scaled by `jitter` ∈ [0, 1).
    pub fn backoff_ms(&self, retry: u32, jitter: f64) -> u64 {
        let nominal = self
            .base_delay_ms
            .saturating_mul(1u64 << retry.min(30))
            .min(self.max_delay_ms);
        let half = nominal / 2;
        let j = jitter.clamp(0.0, 1.0);
        half + ((nominal - half) as f64 * j) as u64
    }

    /// What to do after attempt number `attempt` (1-based) failed retryably, `elapsed_ms`
    /// into the call, with the server's suggestion `retry_after_ms` (if any).
    pub fn decide(
        &self,
        attempt: u32,
        elapsed_ms: u64,
        retry_after_ms: Option<u64>,
        jitter: f64,
    ) -> Decision {
        if attempt >= self.max_attempts.max(1) {
            return Decision::GiveUp(GiveUpReason::Attempts);
        }
        let wait = match retry_after_ms {
            Some(ms) => ms,
            None => self.backoff_ms(attempt - 1, jitter),
        };
        if elapsed_ms.saturating_add(wait) > self.total_budget_ms {
            return Decision::GiveUp(if retry_after_ms.is_some() {
                GiveUpReason::RetryAfterTooLong
            } else {
                GiveUpReason::Time
            });
        }
        Decision::RetryAfter(wait)
    }
}

/// Outcome of [`RetryPolicy::decide`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Wait this many milliseconds, then try again.
    RetryAfter(u64),
    /// Stop and report the last error.
    GiveUp(GiveUpReason),
}

/// Why retrying stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GiveUpReason {
    /// The attempt bound was reached.
    Attempts,
    /// The next backoff would exceed the time budget.
    Time,
    /// The server asked to wait longer than the remaining budget.
    RetryAfterTooLong,
}

/// Whether an ARM answer with this status and error code is worth retrying.
pub fn is_retryable_status(status: u16, code: &str) -> bool {
    match status {
        408 | 429 => true,
        409 => code == "ContainerGroupTransitioning",
        500..=599 => status != 501 && status != 505,
        _ => false,
    }
}

/// Parses the server's wait hint: `retry-after-ms` / `x-ms-retry-after-ms` (milliseconds), or
/// `Retry-After` as delta-seconds or an HTTP date (`now_unix` is the current wall-clock time).
/// Hints are capped at one hour.
pub fn retry_after_ms(header: impl Fn(&str) -> Option<String>, now_unix: u64) -> Option<u64> {
    const CAP_MS: u64 = 3_600_000;
    for name in ["retry-after-ms", "x-ms-retry-after-ms"] {
        if let Some(v) = header(name) {
            if let Ok(ms) = v.trim().parse::<f64>() {
                if ms.is_finite() && ms >= 0.0 {
                    return Some((ms as u64).min(CAP_MS));
                }
            }
        }
    }
    let v = header("retry-after")?;
    let v = v.trim();
    if let Ok(secs) = v.parse::<f64>() {
        if secs.is_finite() && secs >= 0.0 {
            return Some(((secs * 1000.0) as u64).min(CAP_MS));
        }
        return None;
    }
    let when = parse_http_date(v)?;
    Some(
        when.saturating_sub(now_unix)
            .saturating_mul(1000)
            .min(CAP_MS),
    )
}

/// Parses an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) to Unix seconds. Years outside
/// 1970–9999 are rejected (a huge year would overflow the arithmetic).
pub fn parse_http_date(s: &str) -> Option<u64> {
    let parts: Vec<&str> = s.split_whitespace().collect();
    if parts.len() != 6 || !parts[5].eq_ignore_ascii_case("GMT") {
        return None;
    }
    let day: u64 = parts[1].parse().ok()?;
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let month = MONTHS
        .iter()
        .position(|m| m.eq_ignore_ascii_case(parts[2]))? as u64
        + 1;
    let year: u64 = parts[3].parse().ok()?;
    let hms: Vec<u64> = parts[4]
        .split(':')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    if hms.len() != 3
        || !(1..=31).contains(&day)
        || !(1970..=9999).contains(&year)
        || hms[0] > 23
        || hms[1] > 59
        || hms[2] > 60
    {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + hms[0] * 3600 + hms[1] * 60 + hms[2])
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: u64, m: u64, d: u64) -> u64 {
    let y = if m <= 2 { y - 1 } else { y } as i64;
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097 + doe - 719_468) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_schedule() {
        let p = RetryPolicy::default();
        // Nominal delays 500, 1000, 2000, 4000, 8000, ... capped at 30 s.
        let nominal = [500u64, 1000, 2000, 4000, 8000, 16000, 30000, 30000];
        for (i, n) in nominal.iter().enumerate() {
            assert_eq!(p.backoff_ms(i as u32, 0.0), n / 2, "retry {i} lower bound");
            assert_eq!(
                p.backoff_ms(i as u32, 0.999_999),
                n - 1,
                "retry {i} upper bound"
            );
            let mid = p.backoff_ms(i as u32, 0.5);
            assert!(mid >= n / 2 && mid < *n);
        }
        assert_eq!(p.backoff_ms(63, 1.0), 30_000);
    }

    #[test]
    fn decide_respects_attempts_and_budget() {
        let p = RetryPolicy {
            max_attempts: 3,
            base_delay_ms: 1000,
            max_delay_ms: 10_000,
            total_budget_ms: 5_000,
            ..RetryPolicy::default()
        };
        assert_eq!(p.decide(1, 0, None, 0.0), Decision::RetryAfter(500));
        assert_eq!(p.decide(2, 0, None, 0.0), Decision::RetryAfter(1000));
        assert_eq!(
            p.decide(3, 0, None, 0.0),
            Decision::GiveUp(GiveUpReason::Attempts)
        );
        assert_eq!(
            p.decide(1, 4_800, None, 0.0),
            Decision::GiveUp(GiveUpReason::Time)
        );
        assert_eq!(
            p.decide(1, 0, Some(2_000), 0.9),
            Decision::RetryAfter(2_000)
        );
        assert_eq!(
            p.decide(1, 0, Some(6_000), 0.0),
            Decision::GiveUp(GiveUpReason::RetryAfterTooLong)
        );
    }

    #[test]
    fn default_policy_total_backoff_fits_budget() {
        let p = RetryPolicy::default();
        let worst: u64 = (0..p.max_attempts - 1)
            .map(|r| p.backoff_ms(r, 0.999_999))
            .sum();
        assert!(worst < p.total_budget_ms, "{worst}");
        assert_eq!(worst, 499 + 999 + 1999 + 3999 + 7999);
    }

    #[test]
    fn policy_from_extras() {
        let e = serde_json::json!({"max_retries": 2, "retry_backoff_ms": "50"});
        let p = RetryPolicy::from_extras(e.as_object().unwrap());
        assert_eq!(p.max_attempts, 3);
        assert_eq!(p.base_delay_ms, 50);
        let e = serde_json::json!({"max_retries": 999, "retry_backoff_ms": 0});
        let p = RetryPolicy::from_extras(e.as_object().unwrap());
        assert_eq!(p.max_attempts, MAX_ATTEMPTS_LIMIT);
        assert_eq!(p.base_delay_ms, 500);
        let p = RetryPolicy::from_extras(&serde_json::Map::new());
        assert_eq!(p, RetryPolicy::default());
    }

    #[test]
    fn retryable_statuses() {
        assert!(is_retryable_status(429, "TooManyRequests"));
        assert!(is_retryable_status(500, "InternalServerError"));
        assert!(is_retryable_status(503, ""));
        assert!(is_retryable_status(409, "ContainerGroupTransitioning"));
        assert!(!is_retryable_status(409, "Conflict"));
        assert!(!is_retryable_status(404, "ResourceNotFound"));
        assert!(!is_retryable_status(400, "InaccessibleImage"));
        assert!(!is_retryable_status(401, "InvalidAuthenticationToken"));
        assert!(!is_retryable_status(501, ""));
    }

    fn hdrs(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |n| {
            pairs
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(n))
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn retry_after_parsing() {
        assert_eq!(retry_after_ms(hdrs(&[("Retry-After", "7")]), 0), Some(7000));
        assert_eq!(retry_after_ms(hdrs(&[("Retry-After", " 0 ")]), 0), Some(0));
        assert_eq!(
            retry_after_ms(hdrs(&[("Retry-After", "1.5")]), 0),
            Some(1500)
        );
        assert_eq!(
            retry_after_ms(hdrs(&[("retry-after-ms", "250"), ("Retry-After", "7")]), 0),
            Some(250)
        );
        assert_eq!(
            retry_after_ms(hdrs(&[("x-ms-retry-after-ms", "40")]), 0),
            Some(40)
        );
        assert_eq!(retry_after_ms(hdrs(&[("Retry-After", "-3")]), 0), None);
        assert_eq!(retry_after_ms(hdrs(&[("Retry-After", "soon")]), 0), None);
        assert_eq!(retry_after_ms(hdrs(&[]), 0), None);
        assert_eq!(
            retry_after_ms(hdrs(&[("Retry-After", "999999")]), 0),
            Some(3_600_000)
        );
        // HTTP date: 784111777 = Sun, 06 Nov 1994 08:49:37 GMT.
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777)
        );
        assert_eq!(
            retry_after_ms(
                hdrs(&[("Retry-After", "Sun, 06 Nov 1994 08:49:37 GMT")]),
                784_111_770
            ),
            Some(7000)
        );
        assert_eq!(
            retry_after_ms(
                hdrs(&[("Retry-After", "Sun, 06 Nov 1994 08:49:37 GMT")]),
                784_111_999
            ),
            Some(0)
        );
        assert_eq!(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(
            parse_http_date("Wed, 29 Feb 2024 12:00:00 GMT"),
            Some(1_709_208_000)
        );
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 PST"), None);
    }

    #[test]
    fn http_date_field_bounds() {
        let at = |h: u64, m: u64, s: u64| {
            parse_http_date(&format!("Fri, 02 Jan 1970 {h:02}:{m:02}:{s:02} GMT"))
        };
        for h in 0..100 {
            assert_eq!(
                at(h, 0, 0),
                (h <= 23).then_some(86_400 + h * 3600),
                "hour {h}"
            );
        }
        for m in 0..100 {
            assert_eq!(
                at(0, m, 0),
                (m <= 59).then_some(86_400 + m * 60),
                "minute {m}"
            );
        }
        for s in 0..100 {
            assert_eq!(at(0, 0, s), (s <= 60).then_some(86_400 + s), "second {s}");
        }
        assert_eq!(at(23, 59, 59), Some(2 * 86_400 - 1));
        for (day, ok) in [(0, false), (1, true), (31, true), (32, false)] {
            let got = parse_http_date(&format!("Thu, {day:02} Jan 1970 00:00:00 GMT"));
            assert_eq!(got.is_some(), ok, "day {day}");
        }
        // Every month, lower or upper case, lands on its first day (2024 is a leap year).
        let ends = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
        let names = [
            "jan", "FEB", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        let mut secs = 1_704_067_200; // 2024-01-01T00:00:00Z
        for (name, len) in names.iter().zip(ends) {
            assert_eq!(
                parse_http_date(&format!("Mon, 01 {name} 2024 00:00:00 gmt")),
                Some(secs),
                "{name}"
            );
            secs += len * 86_400;
        }
        assert_eq!(parse_http_date("Wed, 01 Jan 2025 00:00:00 GMT"), Some(secs));
        assert_eq!(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(
            parse_http_date("Fri, 31 Dec 9999 23:59:59 GMT"),
            Some(253_402_300_799)
        );
    }

    #[test]
    fn malformed_http_dates_are_rejected_without_panicking() {
        for bad in [
            "Sun, 06 Nov 1994 08:49 GMT",
            "Sun, 06 Nov 1994 08 GMT",
            "Sun, 06 Nov 1994 08:49:37:00 GMT",
            "Sun, 06 Nov 1994 08::37 GMT",
            "Sun, 06 Nov 1994 :: GMT",
            "Sun, 06 Nov 1994 08:49:-1 GMT",
            "Sun, 06 Nov 1994 08:49:37",
            "Sun, 06 Nov 1994 08:49:37 GMT extra",
            "06 Nov 1994 08:49:37 GMT",
            "Sun, 06 Foo 1994 08:49:37 GMT",
            "Sun, xx Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 19x4 08:49:37 GMT",
            "Sun, 06 Nov 1969 08:49:37 GMT",
            "Thu, 01 Jan 0000 00:00:00 GMT",
            "Sun, 06 Nov 10000 08:49:37 GMT",
            "Sun, 06 Nov 18446744073709551615 08:49:37 GMT",
            "Sun, 06 Nov 1994 99999999999999999999:00:00 GMT",
            "",
        ] {
            assert_eq!(parse_http_date(bad), None, "{bad:?}");
        }
        assert_eq!(
            retry_after_ms(hdrs(&[("Retry-After", "Sun, 06 Nov 1994 08:49 GMT")]), 0),
            None
        );
    }

    #[test]
    fn millisecond_hints_must_be_finite_and_non_negative() {
        // An unusable millisecond hint falls through to the next header.
        for bad in ["-5", "inf", "-inf", "NaN", "soon", ""] {
            let h = move |n: &str| match n {
                "retry-after-ms" => Some(bad.to_string()),
                "retry-after" => Some("7".to_string()),
                _ => None,
            };
            assert_eq!(retry_after_ms(h, 0), Some(7000), "{bad:?}");
            let only = move |n: &str| (n == "x-ms-retry-after-ms").then(|| bad.to_string());
            assert_eq!(retry_after_ms(only, 0), None, "{bad:?}");
        }
        assert_eq!(retry_after_ms(hdrs(&[("retry-after-ms", "0")]), 0), Some(0));
        assert_eq!(
            retry_after_ms(hdrs(&[("retry-after-ms", "1.9")]), 0),
            Some(1)
        );
        assert_eq!(
            retry_after_ms(hdrs(&[("x-ms-retry-after-ms", "3600001")]), 0),
            Some(3_600_000)
        );
        assert_eq!(
            retry_after_ms(hdrs(&[("retry-after-ms", "-0.0"), ("Retry-After", "2")]), 0),
            Some(0)
        );
        for bad in ["inf", "NaN", "-0.5"] {
            let h = move |n: &str| (n == "retry-after").then(|| bad.to_string());
            assert_eq!(retry_after_ms(h, 0), None, "{bad:?}");
        }
        assert_eq!(
            retry_after_ms(hdrs(&[("Retry-After", "3600")]), 0),
            Some(3_600_000)
        );
        assert_eq!(
            retry_after_ms(hdrs(&[("Retry-After", "3601")]), 0),
            Some(3_600_000)
        );
        // A date two hours ahead is capped at one hour too.
        assert_eq!(
            retry_after_ms(hdrs(&[("Retry-After", "Thu, 01 Jan 1970 02:00:00 GMT")]), 0),
            Some(3_600_000)
        );
        assert_eq!(
            retry_after_ms(hdrs(&[("Retry-After", "Thu, 01 Jan 1970 00:00:03 GMT")]), 1),
            Some(2000)
        );
    }

    #[test]
    fn budget_and_attempt_boundaries() {
        let p = RetryPolicy {
            max_attempts: 3,
            base_delay_ms: 1000,
            max_delay_ms: 10_000,
            total_budget_ms: 5_000,
            ..RetryPolicy::default()
        };
        // Exactly the budget is allowed; one millisecond more is not.
        assert_eq!(p.decide(1, 4_500, None, 0.0), Decision::RetryAfter(500));
        assert_eq!(
            p.decide(1, 4_501, None, 0.0),
            Decision::GiveUp(GiveUpReason::Time)
        );
        assert_eq!(
            p.decide(2, 0, Some(5_000), 0.0),
            Decision::RetryAfter(5_000)
        );
        assert_eq!(
            p.decide(2, 1, Some(5_000), 0.0),
            Decision::GiveUp(GiveUpReason::RetryAfterTooLong)
        );
        assert_eq!(
            p.decide(1, u64::MAX, Some(1), 0.0),
            Decision::GiveUp(GiveUpReason::RetryAfterTooLong)
        );
        // The backoff grows with the attempt: attempt 2 waits for retry number 1.
        assert_eq!(p.decide(2, 0, None, 0.999_999), Decision::RetryAfter(1_999));
        assert_eq!(
            p.decide(4, 0, None, 0.0),
            Decision::GiveUp(GiveUpReason::Attempts)
        );
        // Zero attempts configured still means one attempt, no retry.
        let once = RetryPolicy {
            max_attempts: 0,
            ..p
        };
        assert_eq!(
            once.decide(1, 0, None, 0.0),
            Decision::GiveUp(GiveUpReason::Attempts)
        );
        let twice = RetryPolicy {
            max_attempts: 2,
            ..p
        };
        assert_eq!(twice.decide(1, 0, None, 0.0), Decision::RetryAfter(500));
    }

    #[test]
    fn backoff_jitter_and_shift_bounds() {
        let p = RetryPolicy {
            max_attempts: 3,
            base_delay_ms: 1,
            max_delay_ms: u64::MAX,
            total_budget_ms: u64::MAX,
            ..RetryPolicy::default()
        };
        assert_eq!(p.backoff_ms(0, 0.0), 0);
        assert_eq!(p.backoff_ms(1, 0.0), 1);
        assert_eq!(p.backoff_ms(1, 1.0), 2);
        assert_eq!(p.backoff_ms(30, 0.0), 1 << 29);
        assert_eq!(p.backoff_ms(31, 0.0), 1 << 29, "the shift stops at 30");
        assert_eq!(p.backoff_ms(200, 1.0), 1 << 30);
        let d = RetryPolicy::default();
        assert_eq!(d.backoff_ms(0, -3.0), 250, "jitter below 0 counts as 0");
        assert_eq!(d.backoff_ms(0, 7.0), 500, "jitter above 1 counts as 1");
        assert_eq!(d.backoff_ms(0, 0.5), 375);
    }

    #[test]
    fn extras_bounds() {
        let p = |v: serde_json::Value| RetryPolicy::from_extras(v.as_object().unwrap());
        assert_eq!(p(serde_json::json!({"max_retries": 0})).max_attempts, 1);
        assert_eq!(p(serde_json::json!({"max_retries": 10})).max_attempts, 11);
        assert_eq!(p(serde_json::json!({"max_retries": 11})).max_attempts, 11);
        assert_eq!(p(serde_json::json!({"max_retries": " 4 "})).max_attempts, 5);
        assert_eq!(p(serde_json::json!({"max_retries": true})).max_attempts, 6);
        assert_eq!(p(serde_json::json!({"max_retries": -1})).max_attempts, 6);
        assert_eq!(
            p(serde_json::json!({"retry_backoff_ms": 1})).base_delay_ms,
            1
        );
        assert_eq!(
            p(serde_json::json!({"retry_backoff_ms": 60_000})).base_delay_ms,
            60_000
        );
        assert_eq!(
            p(serde_json::json!({"retry_backoff_ms": 60_001})).base_delay_ms,
            500
        );
        let timeout = |v| p(serde_json::json!({ "request_timeout_ms": v })).request_timeout_ms;
        assert_eq!(timeout(serde_json::json!(100)), 100);
        assert_eq!(timeout(serde_json::json!("600000")), 600_000);
        assert_eq!(timeout(serde_json::json!(99)), DEFAULT_REQUEST_TIMEOUT_MS);
        assert_eq!(
            timeout(serde_json::json!(600_001)),
            DEFAULT_REQUEST_TIMEOUT_MS
        );
        assert_eq!(timeout(serde_json::json!(null)), DEFAULT_REQUEST_TIMEOUT_MS);
    }

    #[test]
    fn retryable_status_edges() {
        for s in [408, 429, 500, 502, 503, 504, 599] {
            assert!(is_retryable_status(s, ""), "{s}");
        }
        for s in [200, 400, 407, 409, 430, 499, 501, 505, 600] {
            assert!(!is_retryable_status(s, ""), "{s}");
        }
    }
}
