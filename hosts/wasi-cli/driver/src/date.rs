//! Logical dates without a date library: now, and a date given as `YYYY-MM-DD`.

/// The current UTC time, RFC 3339 (`2026-11-23T10:20:30+00:00`).
pub fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format_utc(secs)
}

/// `YYYY-MM-DD` as midnight UTC; any other text is taken as the RFC 3339
/// date-time it should be (the operator checks it).
pub fn normalize(date: &str) -> Result<String, String> {
    let d = date.trim();
    let bytes = d.as_bytes();
    let is_date = d.len() == 10
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && d.chars()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if is_date {
        return Ok(format!("{d}T00:00:00+00:00"));
    }
    if d.len() >= 19 && bytes.get(10) == Some(&b'T') {
        return Ok(d.to_string());
    }
    Err("`logical_date` must be a date or an RFC 3339 date-time (e.g. 2026-11-23 or 2026-11-23T00:00:00Z)".into())
}

/// Seconds since the Unix epoch as `YYYY-MM-DDTHH:MM:SS+00:00`.
fn format_utc(secs: u64) -> String {
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}+00:00",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Howard Hinnant's `civil_from_days`: days since 1970-01-01 to (year, month, day).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(format_utc(0), "1970-01-01T00:00:00+00:00");
        assert_eq!(format_utc(951_782_400), "2000-02-29T00:00:00+00:00");
        assert_eq!(format_utc(1_795_429_230), "2026-11-23T10:20:30+00:00");
    }

    #[test]
    fn dates_become_midnight_utc() {
        assert_eq!(
            normalize("2026-11-23").unwrap(),
            "2026-11-23T00:00:00+00:00"
        );
        assert_eq!(
            normalize("2026-11-23T01:02:03Z").unwrap(),
            "2026-11-23T01:02:03Z"
        );
        assert!(normalize("yesterday").is_err());
    }
}
