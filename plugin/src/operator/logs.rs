//! Container logs, every line exactly once.
//!
//! ACI has no log stream: `listLogs` returns the last `tail` lines (or the
//! whole log up to 4 MB) as one string. With `timestamps=true` each line is
//! prefixed by its RFC 3339 timestamp. [`LogCursor`] remembers the greatest
//! timestamp shown and how many lines carried exactly that timestamp; a new
//! fetch shows only lines after that point. Identical lines are therefore kept
//! (they differ by timestamp or by position among equal timestamps), unlike
//! Airflow's "compare with the last line" which swallows repeats.
//!
//! A tail fetch is only trusted when it provably reaches back past the last
//! shown position: it returned fewer lines than asked for (so it is the whole
//! log), or its first line is older than the last shown timestamp. Otherwise
//! the cursor answers [`Fetched::Incomplete`] and the caller fetches the whole
//! log, so a burst of 3,000 lines between two polls is shown in full.

use std::cmp::Ordering;

/// A timestamp as (seconds since the Unix epoch, nanoseconds).
pub type Stamp = (i64, u32);

/// The result of offering one fetched log to the cursor.
#[derive(Debug, PartialEq)]
pub enum Fetched<'a> {
    /// The lines not shown before, timestamp prefixes removed, in order.
    New(Vec<&'a str>),
    /// The fetch may have cut lines that were never shown: fetch the whole log
    /// (no tail) and offer that instead.
    Incomplete,
}

/// Where the log has been shown up to.
#[derive(Debug, Default, Clone)]
pub struct LogCursor {
    /// Greatest timestamp shown so far.
    last: Option<Stamp>,
    /// How many lines carrying exactly `last` have been shown.
    at_last: usize,
    /// Lines shown in total.
    shown: u64,
}

/// Lines fetched on every live poll beyond those sharing the last timestamp.
pub const BASE_TAIL: u32 = 1000;

impl LogCursor {
    /// A cursor that has shown nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Lines shown so far.
    pub fn shown(&self) -> u64 {
        self.shown
    }

    /// The tail to ask for on the next live poll: large enough to reach back
    /// before the lines sharing the last timestamp, so the fetch can be trusted.
    pub fn suggested_tail(&self) -> u32 {
        u32::try_from(self.at_last)
            .unwrap_or(u32::MAX)
            .saturating_add(BASE_TAIL)
    }

    /// Offers one fetched log (`content` from `listLogs` with timestamps;
    /// `tail` as requested, `None` for the whole log).
    pub fn ingest<'a>(&mut self, content: &'a str, tail: Option<u32>) -> Fetched<'a> {
        let lines = parse_lines(content);
        let complete = match tail {
            None => true,
            Some(t) => (lines.len() as u64) < u64::from(t),
        };
        if !complete {
            let reaches_back = match (self.last, lines.first()) {
                (Some(last), Some((first, _))) => *first < last,
                _ => false,
            };
            if !reaches_back {
                return Fetched::Incomplete;
            }
        }
        let mut new = Vec::new();
        let mut seen_at_last = 0usize;
        for (stamp, text) in &lines {
            let fresh = match self.last.map(|l| stamp.cmp(&l)) {
                None | Some(Ordering::Greater) => true,
                Some(Ordering::Less) => false,
                Some(Ordering::Equal) => {
                    seen_at_last += 1;
                    seen_at_last > self.at_last
                }
            };
            if fresh {
                new.push(*text);
            }
        }
        if let Some(max) = lines.iter().map(|(s, _)| *s).max() {
            if self.last.is_none_or(|l| max >= l) {
                self.at_last = lines.iter().filter(|(s, _)| *s == max).count().max(
                    if Some(max) == self.last {
                        self.at_last
                    } else {
                        0
                    },
                );
                self.last = Some(max);
            }
        }
        self.shown += new.len() as u64;
        Fetched::New(new)
    }
}

/// Splits `listLogs` content into `(timestamp, text)` lines. A line without a
/// parseable timestamp takes the previous line's (continuations stay in order).
pub fn parse_lines(content: &str) -> Vec<(Stamp, &str)> {
    let mut out = Vec::new();
    let mut prev: Stamp = (i64::MIN, 0);
    for line in split_lines(content) {
        let (stamp, text) = match split_timestamp(line) {
            Some((s, t)) => (s, t),
            None => (prev, line),
        };
        prev = stamp;
        out.push((stamp, text));
    }
    out
}

/// Splits on `\n`, without a trailing empty line when the content ends with one.
pub fn split_lines(content: &str) -> impl Iterator<Item = &str> {
    let body = content.strip_suffix('\n').unwrap_or(content);
    let empty = content.is_empty();
    body.split('\n').filter(move |_| !empty)
}

/// Separates a leading RFC 3339 timestamp (and the one space after it) from
/// the line's text.
pub fn split_timestamp(line: &str) -> Option<(Stamp, &str)> {
    let (token, rest) = match line.find(' ') {
        Some(i) => (&line[..i], &line[i + 1..]),
        None => (line, ""),
    };
    parse_rfc3339(token).map(|s| (s, rest))
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` into a [`Stamp`].
pub fn parse_rfc3339(s: &str) -> Option<Stamp> {
    let b = s.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !(b[10] == b'T' || b[10] == b't' || b[10] == b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        if t.bytes().all(|c| c.is_ascii_digit()) {
            t.parse().ok()
        } else {
            None
        }
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, min, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || min > 59 || sec > 60 {
        return None;
    }
    let mut i = 19;
    let mut nanos: u32 = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let frac = &s[start..i];
        if frac.is_empty() {
            return None;
        }
        let digits: String = frac.chars().chain(std::iter::repeat('0')).take(9).collect();
        nanos = digits.parse().ok()?;
    }
    let offset_secs = match &s[i..] {
        "Z" | "z" => 0,
        tz if tz.len() == 6
            && (tz.starts_with('+') || tz.starts_with('-'))
            && tz.as_bytes()[3] == b':' =>
        {
            // Digits only (`parse` alone would take "+-5:00"), in RFC 3339's ranges.
            let (h, m) = (num(i + 1..i + 3)?, num(i + 4..i + 6)?);
            if h > 23 || m > 59 {
                return None;
            }
            let sign = if tz.starts_with('-') { -1 } else { 1 };
            sign * (h * 3600 + m * 60)
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    Some((
        days * 86_400 + hour * 3600 + min * 60 + sec - offset_secs,
        nanos,
    ))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Splits log content into lines the way Python's `str.splitlines(keepends=True)`
/// does (what Airflow's `get_logs` returns), for XCom.
pub fn python_splitlines_keepends(content: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = content.chars().peekable();
    while let Some(c) = chars.next() {
        cur.push(c);
        let is_break = matches!(
            c,
            '\n' | '\r'
                | '\x0b'
                | '\x0c'
                | '\x1c'
                | '\x1d'
                | '\x1e'
                | '\u{85}'
                | '\u{2028}'
                | '\u{2029}'
        );
        if is_break {
            if c == '\r' && chars.peek() == Some(&'\n') {
                cur.push(chars.next().unwrap_or('\n'));
            }
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(sec: u32, nanos: u32) -> String {
        format!("2026-05-01T10:{:02}:{:02}.{nanos:09}Z", sec / 60, sec % 60)
    }

    fn log(lines: &[(u32, u32, &str)]) -> String {
        lines
            .iter()
            .map(|(s, n, t)| format!("{} {t}\n", ts(*s, *n)))
            .collect()
    }

    fn new(f: Fetched<'_>) -> Vec<String> {
        match f {
            Fetched::New(v) => v.into_iter().map(String::from).collect(),
            Fetched::Incomplete => panic!("unexpected Incomplete"),
        }
    }

    #[test]
    fn parses_timestamps() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some((0, 0)));
        assert_eq!(
            parse_rfc3339("1970-01-01T00:00:01.5Z"),
            Some((1, 500_000_000))
        );
        assert_eq!(
            parse_rfc3339("2000-03-01T00:00:00Z"),
            Some((951_868_800, 0))
        );
        assert_eq!(parse_rfc3339("1970-01-01T01:00:00+01:00"), Some((0, 0)));
        // Trimmed fractions order numerically, not lexically.
        assert!(
            parse_rfc3339("2026-01-01T00:00:01.12345Z").unwrap()
                < parse_rfc3339("2026-01-01T00:00:01.123456789Z").unwrap()
        );
        for bad in [
            "hello",
            "2026-13-01T00:00:00Z",
            "2026-01-01T00:00:00",
            "2026-01-01T00:00:00.Z",
            "",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn strips_only_the_timestamp_and_one_space() {
        assert_eq!(
            split_timestamp("2026-01-01T00:00:00Z   indented")
                .unwrap()
                .1,
            "  indented"
        );
        assert_eq!(split_timestamp("2026-01-01T00:00:00Z").unwrap().1, "");
        assert_eq!(split_timestamp("no timestamp here"), None);
    }

    #[test]
    fn repeated_identical_lines_are_kept() {
        let mut c = LogCursor::new();
        // Same text, same timestamp, three times; then two more arrive.
        let first = log(&[(1, 0, "tick"), (1, 0, "tick"), (1, 0, "tick")]);
        assert_eq!(new(c.ingest(&first, Some(1000))), ["tick", "tick", "tick"]);
        let second = log(&[
            (1, 0, "tick"),
            (1, 0, "tick"),
            (1, 0, "tick"),
            (1, 0, "tick"),
            (2, 0, "tick"),
        ]);
        assert_eq!(new(c.ingest(&second, Some(1000))), ["tick", "tick"]);
        // Same content again: nothing new.
        assert_eq!(new(c.ingest(&second, Some(1000))), Vec::<String>::new());
        assert_eq!(c.shown(), 5);
    }

    #[test]
    fn distinct_timestamps_identical_text() {
        let mut c = LogCursor::new();
        let a = log(&[(1, 0, "same"), (2, 0, "same")]);
        assert_eq!(new(c.ingest(&a, Some(1000))), ["same", "same"]);
        let b = log(&[(1, 0, "same"), (2, 0, "same"), (3, 0, "same")]);
        assert_eq!(new(c.ingest(&b, Some(1000))), ["same"]);
    }

    #[test]
    fn three_thousand_lines_at_once_arrive_exactly_once() {
        let all: Vec<(u32, u32, String)> = (0..3000)
            .map(|i| (5, i * 1000, format!("line {i}")))
            .collect();
        let full: String = all
            .iter()
            .map(|(s, n, t)| format!("{} {t}\n", ts(*s, *n)))
            .collect();
        let tail_of = |n: usize| -> String {
            all[all.len() - n..]
                .iter()
                .map(|(s, n, t)| format!("{} {t}\n", ts(*s, *n)))
                .collect()
        };
        let mut c = LogCursor::new();
        // The live poll asks for 1000 and gets 1000: it cannot be trusted.
        assert_eq!(c.ingest(&tail_of(1000), Some(1000)), Fetched::Incomplete);
        // The whole log is.
        let got = new(c.ingest(&full, None));
        assert_eq!(got.len(), 3000);
        for (i, l) in got.iter().enumerate() {
            assert_eq!(l, &format!("line {i}"));
        }
        // Later polls show nothing again.
        assert_eq!(
            new(c.ingest(&tail_of(1000), Some(c.suggested_tail()))),
            Vec::<String>::new()
        );
        assert_eq!(new(c.ingest(&full, None)), Vec::<String>::new());
        assert_eq!(c.shown(), 3000);
    }

    #[test]
    fn burst_after_some_lines_needs_a_full_fetch() {
        let mut c = LogCursor::new();
        let early = log(&[(1, 0, "a"), (2, 0, "b")]);
        assert_eq!(new(c.ingest(&early, Some(1000))), ["a", "b"]);
        let mut lines = vec![(1, 0, "a".to_string()), (2, 0, "b".to_string())];
        lines.extend((0..3000).map(|i| (3, i, format!("x{i}"))));
        let full: String = lines
            .iter()
            .map(|(s, n, t)| format!("{} {t}\n", ts(*s, *n)))
            .collect();
        let tail: String = lines[lines.len() - 1000..]
            .iter()
            .map(|(s, n, t)| format!("{} {t}\n", ts(*s, *n)))
            .collect();
        assert_eq!(c.ingest(&tail, Some(1000)), Fetched::Incomplete);
        let got = new(c.ingest(&full, None));
        assert_eq!(got.len(), 3000);
        assert_eq!(got[0], "x0");
        assert_eq!(got[2999], "x2999");
    }

    #[test]
    fn a_tail_that_reaches_back_is_trusted() {
        let mut c = LogCursor::new();
        assert_eq!(
            new(c.ingest(&log(&[(1, 0, "a"), (2, 0, "b")]), Some(1000))),
            ["a", "b"]
        );
        // Exactly `tail` lines, but the first is older than what was shown: trusted.
        let window = log(&[(2, 0, "b"), (3, 0, "c"), (4, 0, "d")]);
        assert_eq!(
            c.ingest(&window, Some(3)),
            Fetched::Incomplete,
            "first line equals the last shown: not provably complete"
        );
        let window = log(&[(1, 0, "a"), (2, 0, "b"), (3, 0, "c")]);
        assert_eq!(new(c.ingest(&window, Some(3))), ["c"]);
    }

    #[test]
    fn many_lines_sharing_one_timestamp_enlarge_the_tail() {
        let mut c = LogCursor::new();
        let same: String = (0..1500).map(|i| format!("{} l{i}\n", ts(7, 0))).collect();
        assert_eq!(new(c.ingest(&same, None)).len(), 1500);
        assert_eq!(c.suggested_tail(), 2500);
        // With the suggested tail the whole (short) log comes back: trusted, nothing new.
        assert_eq!(
            new(c.ingest(&same, Some(c.suggested_tail()))),
            Vec::<String>::new()
        );
        let more = format!("{same}{} l1500\n{} after\n", ts(7, 0), ts(8, 0));
        assert_eq!(
            new(c.ingest(&more, Some(c.suggested_tail()))),
            ["l1500", "after"]
        );
    }

    #[test]
    fn empty_and_untimestamped_lines() {
        let mut c = LogCursor::new();
        let content = format!(
            "{}\n{} \n{} text\ncontinuation\n",
            ts(1, 0),
            ts(1, 1),
            ts(1, 2)
        );
        assert_eq!(
            new(c.ingest(&content, None)),
            ["", "", "text", "continuation"]
        );
        assert_eq!(new(c.ingest("", Some(1000))), Vec::<String>::new());
        assert_eq!(new(c.ingest(&content, None)), Vec::<String>::new());
    }

    #[test]
    fn a_newer_timestamp_shared_by_fewer_lines_than_the_older_one() {
        let mut c = LogCursor::new();
        let a = log(&[(1, 0, "a1"), (1, 0, "a2"), (1, 0, "a3")]);
        assert_eq!(new(c.ingest(&a, Some(1000))), ["a1", "a2", "a3"]);
        assert_eq!(c.suggested_tail(), BASE_TAIL + 3);
        // One line at a newer timestamp: the count at the last timestamp restarts at 1.
        let b = format!("{a}{}", log(&[(2, 0, "b1")]));
        assert_eq!(new(c.ingest(&b, Some(1000))), ["b1"]);
        assert_eq!(c.suggested_tail(), BASE_TAIL + 1);
        // Two more lines sharing that newer timestamp are new, not swallowed by the
        // three lines the older timestamp had.
        let b3 = format!("{a}{}", log(&[(2, 0, "b1"), (2, 0, "b2"), (2, 0, "b3")]));
        assert_eq!(new(c.ingest(&b3, Some(1000))), ["b2", "b3"]);
        assert_eq!(new(c.ingest(&b3, Some(1000))), Vec::<String>::new());
        assert_eq!(c.shown(), 6);
    }

    #[test]
    fn lines_added_at_the_last_timestamp_are_shown_once() {
        let mut c = LogCursor::new();
        let one = log(&[(1, 0, "x")]);
        assert_eq!(new(c.ingest(&one, Some(1000))), ["x"]);
        let two = log(&[(1, 0, "x"), (1, 0, "y")]);
        assert_eq!(new(c.ingest(&two, Some(1000))), ["y"]);
        assert_eq!(c.suggested_tail(), BASE_TAIL + 2);
        // The same fetch again shows nothing: the count at the last timestamp grew.
        assert_eq!(new(c.ingest(&two, Some(1000))), Vec::<String>::new());
        assert_eq!(c.shown(), 2);
    }

    #[test]
    fn a_fetch_with_fewer_lines_at_the_last_timestamp_does_not_rewind() {
        let mut c = LogCursor::new();
        let three = log(&[(1, 0, "a"), (1, 0, "b"), (1, 0, "c")]);
        assert_eq!(new(c.ingest(&three, None)).len(), 3);
        // A (complete) fetch that has lost lines at that timestamp shows nothing and
        // keeps the count, so the full log afterwards does not repeat a line.
        assert_eq!(
            new(c.ingest(&log(&[(1, 0, "a")]), None)),
            Vec::<String>::new()
        );
        assert_eq!(c.suggested_tail(), BASE_TAIL + 3);
        let four = format!("{three}{}", log(&[(1, 0, "d")]));
        assert_eq!(new(c.ingest(&four, None)), ["d"]);
        // An older-only fetch does not move the cursor back either.
        assert_eq!(
            new(c.ingest(&log(&[(0, 5, "old")]), None)),
            Vec::<String>::new()
        );
        assert_eq!(new(c.ingest(&four, None)), Vec::<String>::new());
        assert_eq!(c.shown(), 4);
    }

    #[test]
    fn a_tail_with_exactly_or_fewer_lines_than_asked() {
        // Fewer lines than the tail: the whole log, trusted even on the first fetch.
        let mut c = LogCursor::new();
        let two = log(&[(1, 0, "a"), (2, 0, "b")]);
        assert_eq!(new(c.ingest(&two, Some(3))), ["a", "b"]);
        // Exactly the tail on a fresh cursor: cannot be trusted.
        let mut c = LogCursor::new();
        assert_eq!(c.ingest(&two, Some(2)), Fetched::Incomplete);
        assert_eq!(c.shown(), 0);
        // A huge count at one timestamp saturates the suggested tail instead of wrapping.
        let c = LogCursor {
            last: Some((1, 0)),
            at_last: usize::MAX,
            shown: 0,
        };
        assert_eq!(c.suggested_tail(), u32::MAX);
    }

    #[test]
    fn parser_field_bounds() {
        let at =
            |h: u32, m: u32, s: u32| parse_rfc3339(&format!("1970-01-02T{h:02}:{m:02}:{s:02}Z"));
        for h in 0..100 {
            let want = (h <= 23).then(|| (86_400 + i64::from(h) * 3600, 0));
            assert_eq!(at(h, 0, 0), want, "hour {h}");
        }
        for m in 0..100 {
            let want = (m <= 59).then(|| (86_400 + i64::from(m) * 60, 0));
            assert_eq!(at(0, m, 0), want, "minute {m}");
        }
        for s in 0..100 {
            // Second 60 is a leap second: the first second of the next minute.
            let want = (s <= 60).then(|| (86_400 + i64::from(s), 0));
            assert_eq!(at(0, 0, s), want, "second {s}");
        }
        assert_eq!(at(23, 59, 60), Some((2 * 86_400, 0)));
        for (date, ok) in [
            ("1970-00-01", false),
            ("1970-01-01", true),
            ("1970-12-01", true),
            ("1970-13-01", false),
            ("1970-01-00", false),
            ("1970-01-31", true),
            ("1970-01-32", false),
        ] {
            let got = parse_rfc3339(&format!("{date}T00:00:00Z"));
            assert_eq!(got.is_some(), ok, "{date}");
        }
        // Months and leap years land on the right day (end of each month of 2024).
        let ends = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
        let mut day = parse_rfc3339("2024-01-01T00:00:00Z").unwrap().0 / 86_400;
        for (m, len) in ends.iter().enumerate() {
            let first = parse_rfc3339(&format!("2024-{:02}-01T00:00:00Z", m + 1)).unwrap();
            assert_eq!(first, (day * 86_400, 0), "month {}", m + 1);
            day += len;
        }
        assert_eq!(
            parse_rfc3339("2025-01-01T00:00:00Z").unwrap().0,
            day * 86_400
        );
        assert_eq!(parse_rfc3339("1969-12-31T23:59:59Z"), Some((-1, 0)));
        assert_eq!(
            parse_rfc3339("1600-03-01T00:00:00Z"),
            Some((-11_670_912_000, 0))
        );
        // January and February of year 0 fall in the era before (negative years).
        assert_eq!(
            parse_rfc3339("0000-01-01T00:00:00Z"),
            Some((-62_167_219_200, 0))
        );
        assert_eq!(
            parse_rfc3339("0000-03-01T00:00:00Z"),
            Some((-62_162_035_200, 0))
        );
    }

    #[test]
    fn parser_fractions_offsets_and_separators() {
        let base = 1_777_629_600; // 2026-05-01T10:00:00Z
        assert_eq!(parse_rfc3339("2026-05-01T10:00:00Z"), Some((base, 0)));
        assert_eq!(parse_rfc3339("2026-05-01t10:00:00z"), Some((base, 0)));
        assert_eq!(parse_rfc3339("2026-05-01 10:00:00Z"), Some((base, 0)));
        assert_eq!(
            parse_rfc3339("2026-05-01T10:00:00.123456789Z"),
            Some((base, 123_456_789))
        );
        assert_eq!(
            parse_rfc3339("2026-05-01T10:00:00.1Z"),
            Some((base, 100_000_000))
        );
        // More than nine digits: the rest is dropped.
        assert_eq!(
            parse_rfc3339("2026-05-01T10:00:00.1234567891Z"),
            Some((base, 123_456_789))
        );
        assert_eq!(parse_rfc3339("2026-05-01T15:30:00+05:30"), Some((base, 0)));
        assert_eq!(parse_rfc3339("2026-05-01T04:30:00-05:30"), Some((base, 0)));
        assert_eq!(
            parse_rfc3339("2026-05-01T15:30:00.25+05:30"),
            Some((base, 250_000_000))
        );
        assert_eq!(parse_rfc3339("2026-05-01T10:00:00+00:00"), Some((base, 0)));
        assert_eq!(parse_rfc3339("2026-05-02T09:59:00+23:59"), Some((base, 0)));
        for bad in [
            // Fractions or times without a zone.
            "2026-05-01T10:00:00.5",
            "2026-05-01T10:00:00.123456789",
            "2026-05-01T10:00:00",
            // Malformed separators and fields.
            "2026/05/01T10:00:00Z",
            "2026-05/01T10:00:00Z",
            "2026-05-01X10:00:00Z",
            "2026-05-01T10-00:00Z",
            "2026-05-01T10:00-00Z",
            "2026-05-01T10:00:00,5Z",
            "+026-05-01T10:00:00Z",
            "2026-+5-01T10:00:00Z",
            "2026-05-01T1a:00:00Z",
            // Offsets: wrong shape, signs inside, out of range.
            "2026-05-01T10:00:00+0530",
            "2026-05-01T10:00:00+05:3",
            "2026-05-01T10:00:00 05:30",
            "2026-05-01T10:00:00+05-30",
            "2026-05-01T10:00:00+-5:00",
            "2026-05-01T10:00:00+05:+3",
            "2026-05-01T10:00:00+24:00",
            "2026-05-01T10:00:00+05:60",
            "2026-05-01T10:00:00ZZ",
            "2026-05-01T10:00:00Z ",
            "2026-05-01T10:00:00.Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn parser_never_panics() {
        // Every prefix of real timestamps, and every position replaced by characters that
        // break the shape (multi-byte ones included).
        let samples = [
            "2026-05-01T10:00:00.123456789Z",
            "2026-05-01T15:30:00+05:30",
            "2026-05-01T10:00:00Z text",
        ];
        for s in samples {
            for end in 0..=s.len() {
                let _ = parse_rfc3339(&s[..end]);
                let _ = split_timestamp(&s[..end]);
            }
            let chars: Vec<char> = s.chars().collect();
            for i in 0..chars.len() {
                for r in ['é', '€', '𝄞', ' ', '+', '-', ':', '.', 'Z', '9', '\0'] {
                    let mut v = chars.clone();
                    v[i] = r;
                    let t: String = v.iter().collect();
                    let _ = parse_rfc3339(&t);
                    let _ = split_timestamp(&t);
                    v.insert(i, r);
                    let t: String = v.iter().collect();
                    let _ = parse_rfc3339(&t);
                }
            }
        }
    }

    #[test]
    fn python_splitlines() {
        assert_eq!(
            python_splitlines_keepends("line1\nline2\n"),
            ["line1\n", "line2\n"]
        );
        assert_eq!(
            python_splitlines_keepends("a\r\nb\rc"),
            ["a\r\n", "b\r", "c"]
        );
        assert!(python_splitlines_keepends("").is_empty());
    }
}
