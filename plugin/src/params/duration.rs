//! `container_timeout`: how long the container group may take from creation
//! to exit. Accepted forms (all must be greater than zero, at most 365 days):
//!
//! - a number of seconds: `3600`, `90.5`, or the same as a string (`"3600"`);
//! - unit form: `"1h30m"`, `"90s"`, `"2.5h"`, `"1d 2h"`, `"500ms"` (units `d`, `h`, `m`, `s`, `ms`);
//! - ISO 8601 duration: `"PT1H30M"`, `"P1DT2H"`, `"PT0.5S"`, `"P1W"` (no years or months);
//! - Python's `str(timedelta)`: `"1:30:00"`, `"2 days, 0:00:30"`.
//!
//! `null` (or leaving it out) means no limit.

use std::time::Duration;

use serde_json::Value;

use super::value::describe;
use task_plugin_sdk::{Error, Result};

const MAX_SECS: f64 = 365.0 * 86_400.0;

/// Parses `container_timeout`; `None` for `null`.
pub fn parse_timeout(v: &Value) -> Result<Option<Duration>> {
    let secs = match v {
        Value::Null => return Ok(None),
        Value::Number(n) => n.as_f64().ok_or_else(|| bad(v))?,
        Value::String(s) => parse_text(s.trim()).ok_or_else(|| bad(v))?,
        other => return Err(bad(other)),
    };
    if !(secs.is_finite() && secs > 0.0) {
        return Err(Error::InvalidParams(format!(
            "container_timeout must be greater than 0, found {}",
            describe(v)
        )));
    }
    if secs > MAX_SECS {
        return Err(Error::InvalidParams(format!(
            "container_timeout must be at most 365 days, found {}",
            describe(v)
        )));
    }
    Ok(Some(Duration::from_secs_f64(secs)))
}

fn bad(v: &Value) -> Error {
    Error::InvalidParams(format!(
        "container_timeout must be a number of seconds or a duration such as \"1h30m\", \"PT1H30M\" or \"1:30:00\", found {}",
        describe(v)
    ))
}

/// Seconds for one of the textual forms, `None` when it is none of them.
fn parse_text(s: &str) -> Option<f64> {
    if s.is_empty() {
        return None;
    }
    if let Ok(n) = s.parse::<f64>() {
        return Some(n);
    }
    if s.starts_with(['P', 'p']) {
        return parse_iso8601(&s[1..]);
    }
    if s.contains(':') {
        return parse_timedelta_str(s);
    }
    parse_units(s)
}

/// `1h30m`, `90s`, `1d 2h`, `500ms`.
fn parse_units(s: &str) -> Option<f64> {
    let mut total = 0.0;
    let mut rest = s.trim();
    let mut any = false;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_len == 0 {
            return None;
        }
        let n: f64 = rest[..num_len].parse().ok()?;
        rest = rest[num_len..].trim_start();
        let unit_len = rest
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(rest.len());
        let factor = match rest[..unit_len].to_ascii_lowercase().as_str() {
            "d" => 86_400.0,
            "h" => 3_600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 0.001,
            _ => return None,
        };
        rest = rest[unit_len..].trim_start();
        total += n * factor;
        any = true;
    }
    any.then_some(total)
}

/// The part of an ISO 8601 duration after `P`: `[nW][nD][T[nH][nM][nS]]`.
fn parse_iso8601(s: &str) -> Option<f64> {
    let upper = s.to_ascii_uppercase();
    let (date, time) = match upper.split_once('T') {
        Some((d, t)) => (d.to_string(), Some(t.to_string())),
        None => (upper.clone(), None),
    };
    let mut total = 0.0;
    let mut any = false;
    let mut take = |part: &str, units: &[(char, f64)]| -> Option<()> {
        let mut rest = part;
        let mut unit_idx = 0;
        while !rest.is_empty() {
            let num_len = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == ','))
                .unwrap_or(rest.len());
            if num_len == 0 || num_len == rest.len() {
                return None;
            }
            let n: f64 = rest[..num_len].replace(',', ".").parse().ok()?;
            let unit = rest[num_len..].chars().next()?;
            // Units must appear in order, each at most once.
            let pos = units[unit_idx..].iter().position(|(u, _)| *u == unit)? + unit_idx;
            total += n * units[pos].1;
            unit_idx = pos + 1;
            any = true;
            rest = &rest[num_len + 1..];
        }
        Some(())
    };
    take(&date, &[('W', 604_800.0), ('D', 86_400.0)])?;
    if let Some(t) = time {
        if t.is_empty() {
            return None;
        }
        take(&t, &[('H', 3_600.0), ('M', 60.0), ('S', 1.0)])?;
    }
    any.then_some(total)
}

/// Python's `str(timedelta)`: `[N day[s], ]H:MM:SS[.ffffff]`.
fn parse_timedelta_str(s: &str) -> Option<f64> {
    let (days, clock) = match s.split_once(',') {
        Some((d, c)) => {
            let d = d.trim();
            let n = d
                .strip_suffix("days")
                .or_else(|| d.strip_suffix("day"))?
                .trim();
            (n.parse::<f64>().ok()?, c.trim())
        }
        None => (0.0, s),
    };
    let parts: Vec<&str> = clock.split(':').collect();
    if parts.len() != 3 {
        return None;
    }
    let h: f64 = parts[0].parse().ok()?;
    let m: f64 = parts[1].parse().ok()?;
    let sec: f64 = parts[2].parse().ok()?;
    if m >= 60.0 || sec >= 60.0 || h < 0.0 || m < 0.0 || sec < 0.0 {
        return None;
    }
    Some(days * 86_400.0 + h * 3_600.0 + m * 60.0 + sec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn secs(v: Value) -> f64 {
        parse_timeout(&v).unwrap().unwrap().as_secs_f64()
    }

    #[test]
    fn numbers_are_seconds() {
        assert_eq!(secs(json!(3600)), 3600.0);
        assert_eq!(secs(json!(0.5)), 0.5);
        assert_eq!(secs(json!("90")), 90.0);
        assert!(parse_timeout(&json!(null)).unwrap().is_none());
    }

    #[test]
    fn unit_form() {
        assert_eq!(secs(json!("1h30m")), 5400.0);
        assert_eq!(secs(json!("90s")), 90.0);
        assert_eq!(secs(json!("2.5h")), 9000.0);
        assert_eq!(secs(json!("1d 2h")), 93600.0);
        assert_eq!(secs(json!("500ms")), 0.5);
        assert_eq!(secs(json!("10M")), 600.0);
    }

    #[test]
    fn iso8601_form() {
        assert_eq!(secs(json!("PT1H30M")), 5400.0);
        assert_eq!(secs(json!("P1DT2H")), 93600.0);
        assert_eq!(secs(json!("PT0.5S")), 0.5);
        assert_eq!(secs(json!("P1W")), 604800.0);
        assert_eq!(secs(json!("pt45s")), 45.0);
    }

    #[test]
    fn timedelta_form() {
        assert_eq!(secs(json!("1:30:00")), 5400.0);
        assert_eq!(secs(json!("2 days, 0:00:30")), 172830.0);
        assert_eq!(secs(json!("1 day, 1:00:00.5")), 90000.5);
    }

    #[test]
    fn rejects_nonsense_and_non_positive() {
        for bad in [
            json!("soon"),
            json!("1y"),
            json!("P1Y"),
            json!("PT"),
            json!("P"),
            json!("1:99:00"),
            json!(true),
            json!([1]),
            json!("PT1M1H"),
        ] {
            let e = parse_timeout(&bad).unwrap_err().to_string();
            assert!(
                e.starts_with("container_timeout must be a number of seconds"),
                "{bad}: {e}"
            );
        }
        assert_eq!(
            parse_timeout(&json!(0)).unwrap_err().to_string(),
            "container_timeout must be greater than 0, found number 0"
        );
        assert!(parse_timeout(&json!(-5)).is_err());
        assert!(parse_timeout(&json!("400d"))
            .unwrap_err()
            .to_string()
            .contains("at most 365 days"));
    }
}
