//! Dates and times in templates, shaped like Python's: `logical_date` renders
//! like Airflow's pendulum `DateTime` (`2026-11-23T00:00:00+00:00`) and has
//! `strftime`, `isoformat`, `add`/`subtract`, `replace`, ...;
//! `macros.datetime` and `macros.timedelta` build values like Python's
//! `datetime.datetime` and `datetime.timedelta`; `macros.ds_add` and
//! `macros.ds_format` are Airflow's.
//!
//! Python's `+`/`-` operators on dates are not available (MiniJinja has no
//! operator overloading): write `logical_date.add(days=1)` or
//! `logical_date.subtract(macros.timedelta(hours=2))`.

use std::cmp::Ordering;
use std::fmt::{self, Write as _};
use std::sync::Arc;

use chrono::format::{Item, Parsed, StrftimeItems};
use chrono::{
    DateTime, Datelike, Duration, FixedOffset, Months, NaiveDate, NaiveDateTime, Timelike, Utc,
};
use minijinja::value::{DynObject, Object, ObjectRepr, Rest, Value};
use minijinja::Error;

use super::pyargs::{bind, fail, int, number, required, required_string, string};

/// Python's `datetime` fields, in the order `datetime(...)` and `.replace(...)` take them.
const FIELDS: &[&str] = &[
    "year",
    "month",
    "day",
    "hour",
    "minute",
    "second",
    "microsecond",
];

/// How a date-time renders as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    /// Airflow's pendulum values: ISO 8601 with `T`.
    Pendulum,
    /// Python's `datetime.datetime`: ISO 8601 with a space.
    DateTime,
    /// Python's `datetime.date`: `YYYY-MM-DD`.
    Date,
}

/// A date-time value in templates.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PyDateTime {
    /// Wall-clock time (in `offset` when there is one).
    pub naive: NaiveDateTime,
    /// The UTC offset; `None` for a naive value.
    pub offset: Option<FixedOffset>,
    /// How it renders.
    pub style: Style,
}

impl PyDateTime {
    /// A pendulum-style UTC value, as Airflow gives `logical_date`.
    pub fn pendulum(dt: DateTime<Utc>) -> Self {
        PyDateTime {
            naive: dt.naive_utc(),
            offset: Some(FixedOffset::east_opt(0).expect("zero offset")),
            style: Style::Pendulum,
        }
    }

    /// As a template value.
    pub fn value(self) -> Value {
        Value::from_object(self)
    }

    fn with(self, naive: NaiveDateTime) -> Self {
        PyDateTime { naive, ..self }
    }

    /// The instant, treating naive values as UTC.
    fn instant(&self) -> NaiveDateTime {
        match self.offset {
            Some(o) => self.naive - Duration::seconds(o.local_minus_utc() as i64),
            None => self.naive,
        }
    }

    fn micros(&self) -> u32 {
        self.naive.nanosecond() / 1000
    }

    /// Python's `isoformat(sep)`.
    pub fn isoformat(&self, sep: &str) -> String {
        if self.style == Style::Date {
            return self.naive.format("%Y-%m-%d").to_string();
        }
        let mut s = format!(
            "{}{sep}{}",
            self.naive.format("%Y-%m-%d"),
            self.naive.format("%H:%M:%S")
        );
        if self.micros() != 0 {
            let _ = write!(s, ".{:06}", self.micros());
        }
        if let Some(o) = self.offset {
            s.push_str(&offset_text(o, true));
        }
        s
    }

    /// Python's `strftime`, with Python's `%f` (microseconds), `%z` and `%Z`
    /// (empty for naive values).
    pub fn strftime(&self, fmt: &str) -> Result<String, Error> {
        let mut translated = String::with_capacity(fmt.len());
        let mut chars = fmt.chars().peekable();
        while let Some(c) = chars.next() {
            if c != '%' {
                translated.push(c);
                continue;
            }
            let mut spec = String::from("%");
            if let Some(&flag) = chars.peek() {
                if matches!(flag, '-' | '_' | '0') {
                    spec.push(flag);
                    chars.next();
                }
            }
            let colon = chars.peek() == Some(&':');
            if colon {
                chars.next();
            }
            let Some(kind) = chars.next() else {
                return Err(fail(format!(
                    "strftime(): format `{fmt}` ends with a lone `%`"
                )));
            };
            match (kind, self.offset) {
                ('f', _) => {
                    let _ = write!(translated, "{:06}", self.micros());
                }
                ('z', Some(o)) => translated.push_str(&offset_text(o, colon)),
                ('Z', Some(o)) => translated.push_str(&tz_name(o)),
                ('z' | 'Z', None) => {}
                ('%', _) => translated.push_str("%%"),
                (other, _) => {
                    if colon {
                        spec.push(':');
                    }
                    spec.push(other);
                    translated.push_str(&spec);
                }
            }
        }
        let items: Vec<Item<'_>> = StrftimeItems::new(&translated).collect();
        if items.iter().any(|i| matches!(i, Item::Error)) {
            return Err(fail(format!("strftime(): invalid format `{fmt}`")));
        }
        let mut out = String::new();
        write!(out, "{}", self.naive.format_with_items(items.into_iter())).map_err(|_| {
            fail(format!(
                "strftime(): format `{fmt}` cannot be applied to this value"
            ))
        })?;
        Ok(out)
    }

    fn shift(&self, func: &str, args: &[Value], sign: i64) -> Result<Value, Error> {
        const NAMES: &[&str] = &[
            "delta",
            "years",
            "months",
            "weeks",
            "days",
            "hours",
            "minutes",
            "seconds",
            "microseconds",
        ];
        let a = bind(func, args, NAMES)?;
        let mut naive = self.naive;
        let months = a[1]
            .as_ref()
            .map(|v| int(func, v, "years"))
            .transpose()?
            .unwrap_or(0)
            * 12
            + a[2]
                .as_ref()
                .map(|v| int(func, v, "months"))
                .transpose()?
                .unwrap_or(0);
        let months = months * sign;
        let shifted = if months >= 0 {
            naive.checked_add_months(Months::new(
                months.unsigned_abs().min(u32::MAX as u64) as u32
            ))
        } else {
            naive.checked_sub_months(Months::new(
                months.unsigned_abs().min(u32::MAX as u64) as u32
            ))
        };
        naive = shifted.ok_or_else(|| fail(format!("{func}(): date out of range")))?;
        let mut micros: f64 = 0.0;
        if let Some(delta) = &a[0] {
            let td = delta.downcast_object_ref::<PyTimeDelta>().ok_or_else(|| {
                fail(format!(
                    "{func}(): the positional argument must be a timedelta"
                ))
            })?;
            micros += td.micros as f64;
        }
        for (i, per) in [
            (3, 604_800e6),
            (4, 86_400e6),
            (5, 3_600e6),
            (6, 60e6),
            (7, 1e6),
            (8, 1.0),
        ] {
            if let Some(v) = &a[i] {
                micros += number(func, v, NAMES[i])? * per;
            }
        }
        let delta = Duration::microseconds((micros * sign as f64).round() as i64);
        let naive = naive
            .checked_add_signed(delta)
            .ok_or_else(|| fail(format!("{func}(): date out of range")))?;
        Ok(self.with(naive).value())
    }

    fn replace(&self, args: &[Value]) -> Result<Value, Error> {
        let a = bind("replace", args, FIELDS)?;
        let get = |i: usize, current: i64| -> Result<i64, Error> {
            a[i].as_ref()
                .map_or(Ok(current), |v| int("replace", v, FIELDS[i]))
        };
        let n = self.naive;
        let naive = build(
            get(0, n.year() as i64)?,
            get(1, n.month() as i64)?,
            get(2, n.day() as i64)?,
            get(3, n.hour() as i64)?,
            get(4, n.minute() as i64)?,
            get(5, n.second() as i64)?,
            get(6, self.micros() as i64)?,
        )?;
        Ok(self.with(naive).value())
    }

    fn attribute(&self, name: &str) -> Option<Value> {
        let n = self.naive;
        Some(match name {
            "year" => Value::from(n.year()),
            "month" => Value::from(n.month()),
            "day" => Value::from(n.day()),
            "hour" => Value::from(n.hour()),
            "minute" => Value::from(n.minute()),
            "second" => Value::from(n.second()),
            "microsecond" => Value::from(self.micros()),
            "tzinfo" | "tz" | "timezone_name" => match self.offset {
                Some(o) => Value::from(tz_name(o)),
                None => Value::from(()),
            },
            "int_timestamp" => Value::from(self.instant().and_utc().timestamp()),
            _ => return None,
        })
    }
}

/// Python's fixed-offset text: `+HH:MM` (or `+HHMM`), seconds when needed.
fn offset_text(o: FixedOffset, colon: bool) -> String {
    let secs = o.local_minus_utc();
    let sign = if secs < 0 { '-' } else { '+' };
    let secs = secs.unsigned_abs();
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    let sep = if colon { ":" } else { "" };
    if s != 0 {
        format!("{sign}{h:02}{sep}{m:02}{sep}{s:02}")
    } else {
        format!("{sign}{h:02}{sep}{m:02}")
    }
}

/// `%Z`: `UTC` for UTC, else `UTC+HH:MM` as Python's `timezone` names itself.
fn tz_name(o: FixedOffset) -> String {
    if o.local_minus_utc() == 0 {
        "UTC".to_string()
    } else {
        format!("UTC{}", offset_text(o, true))
    }
}

fn build(
    y: i64,
    mo: i64,
    d: i64,
    h: i64,
    mi: i64,
    s: i64,
    us: i64,
) -> Result<NaiveDateTime, Error> {
    let date = i32::try_from(y)
        .ok()
        .zip(u32::try_from(mo).ok())
        .zip(u32::try_from(d).ok())
        .and_then(|((y, mo), d)| NaiveDate::from_ymd_opt(y, mo, d))
        .ok_or_else(|| fail(format!("day is out of range for month ({y}-{mo}-{d})")))?;
    let time = u32::try_from(h)
        .ok()
        .zip(u32::try_from(mi).ok())
        .zip(u32::try_from(s).ok())
        .zip(u32::try_from(us).ok().filter(|us| *us < 1_000_000))
        .and_then(|(((h, mi), s), us)| date.and_hms_micro_opt(h, mi, s, us))
        .ok_or_else(|| fail(format!("time is out of range ({h}:{mi}:{s}.{us})")))?;
    Ok(time)
}

/// A bound method: a function value that calls `f` on `this`.
pub(super) fn method<T: Send + Sync + 'static>(
    this: Arc<T>,
    f: fn(&T, &[Value]) -> Result<Value, Error>,
) -> Value {
    Value::from_function(move |args: Rest<Value>| f(&this, &args))
}

fn no_args(func: &str, args: &[Value]) -> Result<(), Error> {
    bind(func, args, &[]).map(|_| ())
}

impl Object for PyDateTime {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let name = key.as_str()?;
        if let Some(v) = self.attribute(name) {
            return Some(v);
        }
        let this = self.clone();
        Some(match name {
            "strftime" => method(this, |d, a| {
                let a = bind("strftime", a, &["format"])?;
                let fmt = required_string("strftime", &a[0], "format")?;
                d.strftime(&fmt).map(Value::from)
            }),
            "isoformat" => method(this, |d, a| {
                let a = bind("isoformat", a, &["sep"])?;
                let sep = a[0]
                    .as_ref()
                    .map(|v| string("isoformat", v, "sep"))
                    .transpose()?;
                Ok(Value::from(d.isoformat(sep.as_deref().unwrap_or("T"))))
            }),
            "timestamp" => method(this, |d, a| {
                no_args("timestamp", a)?;
                let i = d.instant().and_utc();
                Ok(Value::from(
                    i.timestamp() as f64 + i.timestamp_subsec_micros() as f64 / 1e6,
                ))
            }),
            "date" => method(this, |d, a| {
                no_args("date", a)?;
                let naive = d.naive.date().and_hms_opt(0, 0, 0).expect("midnight");
                Ok(PyDateTime {
                    naive,
                    offset: None,
                    style: Style::Date,
                }
                .value())
            }),
            "weekday" => method(this, |d, a| {
                no_args("weekday", a)?;
                Ok(Value::from(d.naive.weekday().num_days_from_monday()))
            }),
            "isoweekday" => method(this, |d, a| {
                no_args("isoweekday", a)?;
                Ok(Value::from(d.naive.weekday().number_from_monday()))
            }),
            "add" => method(this, |d, a| d.shift("add", a, 1)),
            "subtract" => method(this, |d, a| d.shift("subtract", a, -1)),
            "replace" => method(this, |d, a| d.replace(a)),
            "to_date_string" => method(this, |d, a| {
                no_args("to_date_string", a)?;
                Ok(Value::from(d.naive.format("%Y-%m-%d").to_string()))
            }),
            "to_datetime_string" => method(this, |d, a| {
                no_args("to_datetime_string", a)?;
                Ok(Value::from(d.naive.format("%Y-%m-%d %H:%M:%S").to_string()))
            }),
            "to_iso8601_string" => method(this, |d, a| {
                no_args("to_iso8601_string", a)?;
                let s = d.isoformat("T");
                Ok(Value::from(match s.strip_suffix("+00:00") {
                    Some(utc) if d.offset.is_some() => format!("{utc}Z"),
                    _ => s,
                }))
            }),
            _ => return None,
        })
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sep = match self.style {
            Style::Pendulum => "T",
            Style::DateTime | Style::Date => " ",
        };
        f.write_str(&self.isoformat(sep))
    }

    fn custom_cmp(self: &Arc<Self>, other: &DynObject) -> Option<Ordering> {
        let other = other.downcast_ref::<PyDateTime>()?;
        Some(self.instant().cmp(&other.instant()))
    }
}

/// Python's `datetime.timedelta`, normalised to microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PyTimeDelta {
    /// The duration in microseconds.
    pub micros: i64,
}

impl PyTimeDelta {
    /// Python's `(days, seconds, microseconds)` normal form.
    fn parts(&self) -> (i64, i64, i64) {
        let days = self.micros.div_euclid(86_400_000_000);
        let rest = self.micros.rem_euclid(86_400_000_000);
        (days, rest / 1_000_000, rest % 1_000_000)
    }

    fn construct(args: &[Value]) -> Result<Value, Error> {
        const NAMES: &[&str] = &[
            "days",
            "seconds",
            "microseconds",
            "milliseconds",
            "minutes",
            "hours",
            "weeks",
        ];
        const PER: &[f64] = &[86_400e6, 1e6, 1.0, 1e3, 60e6, 3_600e6, 604_800e6];
        let a = bind("timedelta", args, NAMES)?;
        let mut micros = 0.0;
        for (i, v) in a.iter().enumerate() {
            if let Some(v) = v {
                micros += number("timedelta", v, NAMES[i])? * PER[i];
            }
        }
        if !micros.is_finite() || micros.abs() > 1e17 {
            return Err(fail("timedelta(): value out of range"));
        }
        Ok(Value::from_object(PyTimeDelta {
            micros: micros.round() as i64,
        }))
    }
}

impl Object for PyTimeDelta {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let (days, seconds, micros) = self.parts();
        Some(match key.as_str()? {
            "days" => Value::from(days),
            "seconds" => Value::from(seconds),
            "microseconds" => Value::from(micros),
            "total_seconds" => method(self.clone(), |d, a| {
                no_args("total_seconds", a)?;
                Ok(Value::from(d.micros as f64 / 1e6))
            }),
            _ => return None,
        })
    }

    /// Python's `str(timedelta)`: `[-]D day[s], H:MM:SS[.ffffff]`.
    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (days, seconds, micros) = self.parts();
        if days != 0 {
            write!(f, "{days} day{}, ", if days.abs() == 1 { "" } else { "s" })?;
        }
        write!(
            f,
            "{}:{:02}:{:02}",
            seconds / 3600,
            seconds / 60 % 60,
            seconds % 60
        )?;
        if micros != 0 {
            write!(f, ".{micros:06}")?;
        }
        Ok(())
    }

    fn custom_cmp(self: &Arc<Self>, other: &DynObject) -> Option<Ordering> {
        Some(
            self.micros
                .cmp(&other.downcast_ref::<PyTimeDelta>()?.micros),
        )
    }
}

/// `macros.timedelta`: a function building [`PyTimeDelta`] values.
pub(super) fn timedelta_function() -> Value {
    Value::from_function(|args: Rest<Value>| PyTimeDelta::construct(&args))
}

/// `macros.datetime`: callable like Python's `datetime.datetime(...)`, with
/// `now()`, `utcnow()`, `today()`, `strptime()`, `fromisoformat()` and
/// `fromtimestamp()`.
#[derive(Debug)]
pub(super) struct DateTimeClass;

impl Object for DateTimeClass {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn call(
        self: &Arc<Self>,
        _state: &minijinja::State<'_, '_>,
        args: &[Value],
    ) -> Result<Value, Error> {
        let a = bind("datetime", args, FIELDS)?;
        let mut n = [0i64; 7];
        for (i, slot) in n.iter_mut().enumerate() {
            *slot = match (&a[i], i) {
                (Some(v), _) => int("datetime", v, FIELDS[i])?,
                (None, 0..=2) => {
                    return Err(Error::new(
                        minijinja::ErrorKind::MissingArgument,
                        format!("datetime() missing required argument '{}'", FIELDS[i]),
                    ))
                }
                (None, _) => 0,
            };
        }
        let naive = build(n[0], n[1], n[2], n[3], n[4], n[5], n[6])?;
        Ok(PyDateTime {
            naive,
            offset: None,
            style: Style::DateTime,
        }
        .value())
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        fn naive_value(naive: NaiveDateTime) -> Value {
            PyDateTime {
                naive,
                offset: None,
                style: Style::DateTime,
            }
            .value()
        }
        Some(match key.as_str()? {
            "now" => Value::from_function(|args: Rest<Value>| {
                no_args("now", &args)?;
                Ok::<_, Error>(naive_value(chrono::Local::now().naive_local()))
            }),
            "today" => Value::from_function(|args: Rest<Value>| {
                no_args("today", &args)?;
                Ok::<_, Error>(naive_value(chrono::Local::now().naive_local()))
            }),
            "utcnow" => Value::from_function(|args: Rest<Value>| {
                no_args("utcnow", &args)?;
                Ok::<_, Error>(naive_value(Utc::now().naive_utc()))
            }),
            "strptime" => Value::from_function(|args: Rest<Value>| {
                let a = bind("strptime", &args, &["date_string", "format"])?;
                let s = required_string("strptime", &a[0], "date_string")?;
                let fmt = required_string("strptime", &a[1], "format")?;
                strptime(&s, &fmt).map(|d| {
                    PyDateTime {
                        style: Style::DateTime,
                        ..d
                    }
                    .value()
                })
            }),
            "fromisoformat" => Value::from_function(|args: Rest<Value>| {
                let a = bind("fromisoformat", &args, &["date_string"])?;
                let s = required_string("fromisoformat", &a[0], "date_string")?;
                fromisoformat(&s).map(PyDateTime::value)
            }),
            "fromtimestamp" => Value::from_function(|args: Rest<Value>| {
                let a = bind("fromtimestamp", &args, &["timestamp"])?;
                let ts = number(
                    "fromtimestamp",
                    &required("fromtimestamp", &a[0], "timestamp")?,
                    "timestamp",
                )?;
                let micros = (ts * 1e6).round() as i64;
                let utc = DateTime::<Utc>::from_timestamp_micros(micros)
                    .ok_or_else(|| fail("fromtimestamp(): timestamp out of range"))?;
                Ok::<_, Error>(naive_value(utc.with_timezone(&chrono::Local).naive_local()))
            }),
            _ => return None,
        })
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<class 'datetime.datetime'>")
    }
}

/// Python's `datetime.strptime`: fields missing from the format default to
/// 1900-01-01 00:00:00; `%z` makes an aware value.
pub(crate) fn strptime(s: &str, fmt: &str) -> Result<PyDateTime, Error> {
    let translated = fmt.replace("%f", "%6f");
    let items: Vec<Item<'_>> = StrftimeItems::new(&translated).collect();
    if items.iter().any(|i| matches!(i, Item::Error)) {
        return Err(fail(format!("strptime(): invalid format `{fmt}`")));
    }
    let mut p = Parsed::new();
    chrono::format::parse(&mut p, s, items.into_iter()).map_err(|e| {
        fail(format!(
            "strptime(): `{s}` does not match format `{fmt}` ({e})"
        ))
    })?;
    if p.timestamp().is_none() {
        if p.year().is_none() && p.year_mod_100().is_none() && p.isoyear().is_none() {
            let _ = p.set_year(1900);
        }
        let has_week =
            p.week_from_sun().is_some() || p.week_from_mon().is_some() || p.isoweek().is_some();
        if p.month().is_none() && p.ordinal().is_none() && !has_week {
            let _ = p.set_month(1);
        }
        if p.day().is_none() && p.ordinal().is_none() && !has_week {
            let _ = p.set_day(1);
        }
        if p.hour_div_12().is_none() && p.hour_mod_12().is_none() {
            let _ = p.set_hour(0);
        }
        if p.minute().is_none() {
            let _ = p.set_minute(0);
        }
        if p.second().is_none() {
            let _ = p.set_second(0);
        }
    }
    let naive = p.to_naive_datetime_with_offset(0).map_err(|e| {
        fail(format!(
            "strptime(): `{s}` does not match format `{fmt}` ({e})"
        ))
    })?;
    let offset = p.offset().and_then(FixedOffset::east_opt);
    let naive = match (p.timestamp(), offset) {
        // A timestamp is an instant; show it at the parsed offset.
        (Some(_), Some(o)) => naive + Duration::seconds(o.local_minus_utc() as i64),
        _ => naive,
    };
    Ok(PyDateTime {
        naive,
        offset,
        style: Style::DateTime,
    })
}

/// Python's `datetime.fromisoformat` (dates, date-times, with or without offset).
fn fromisoformat(s: &str) -> Result<PyDateTime, Error> {
    let t = s.trim();
    let normalized = t.replacen(' ', "T", 1).replace('z', "Z");
    if let Ok(dt) = DateTime::parse_from_rfc3339(&normalized) {
        return Ok(PyDateTime {
            naive: dt.naive_local(),
            offset: Some(*dt.offset()),
            style: Style::DateTime,
        });
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f%:z",
        "%Y-%m-%dT%H:%M:%S%.f%z",
        "%Y-%m-%dT%H:%M%:z",
    ] {
        if let Ok(dt) = DateTime::parse_from_str(&normalized, fmt) {
            return Ok(PyDateTime {
                naive: dt.naive_local(),
                offset: Some(*dt.offset()),
                style: Style::DateTime,
            });
        }
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H"] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(&normalized, fmt) {
            return Ok(PyDateTime {
                naive,
                offset: None,
                style: Style::DateTime,
            });
        }
    }
    if let Ok(date) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        let naive = date.and_hms_opt(0, 0, 0).expect("midnight");
        return Ok(PyDateTime {
            naive,
            offset: None,
            style: Style::DateTime,
        });
    }
    Err(fail(format!(
        "fromisoformat(): invalid isoformat string: `{t}`"
    )))
}

/// Airflow's `macros.ds_add(ds, days)`: `ds` (`YYYY-MM-DD`) plus `days`.
pub(super) fn ds_add(args: Rest<Value>) -> Result<Value, Error> {
    let a = bind("ds_add", &args, &["ds", "days"])?;
    let ds = required_string("ds_add", &a[0], "ds")?;
    let days = int("ds_add", &required("ds_add", &a[1], "days")?, "days")?;
    let date = NaiveDate::parse_from_str(&ds, "%Y-%m-%d")
        .map_err(|_| fail(format!("ds_add(): `{ds}` is not a YYYY-MM-DD date")))?;
    let shifted = date
        .checked_add_signed(Duration::days(days))
        .ok_or_else(|| fail("ds_add(): date out of range"))?;
    Ok(Value::from(shifted.format("%Y-%m-%d").to_string()))
}

/// Airflow's `macros.ds_format(ds, input_format, output_format)`.
pub(super) fn ds_format(args: Rest<Value>) -> Result<Value, Error> {
    let a = bind("ds_format", &args, &["ds", "input_format", "output_format"])?;
    let ds = required_string("ds_format", &a[0], "ds")?;
    let input = required_string("ds_format", &a[1], "input_format")?;
    let output = required_string("ds_format", &a[2], "output_format")?;
    strptime(&ds, &input)?.strftime(&output).map(Value::from)
}

/// A value as a date-time: one of ours, or a string Python would parse.
fn coerce(value: &Value, filter: &str) -> Result<PyDateTime, Error> {
    if let Some(d) = value.downcast_object_ref::<PyDateTime>() {
        return Ok(*d);
    }
    if let Some(s) = value.as_str() {
        return fromisoformat(s);
    }
    Err(fail(format!(
        "the `{filter}` filter needs a date-time, not {}",
        value.kind()
    )))
}

/// Airflow's template filters on date-times (`{{ logical_date | ds }}`):
/// `ds`, `ds_nodash`, `ts`, `ts_nodash`, `ts_nodash_with_tz`.
pub(super) fn add_filters(env: &mut minijinja::Environment<'_>) {
    env.add_filter("ds", |v: Value| -> Result<String, Error> {
        coerce(&v, "ds")?.strftime("%Y-%m-%d")
    });
    env.add_filter("ds_nodash", |v: Value| -> Result<String, Error> {
        coerce(&v, "ds_nodash")?.strftime("%Y%m%d")
    });
    env.add_filter("ts", |v: Value| -> Result<String, Error> {
        Ok(coerce(&v, "ts")?.isoformat("T"))
    });
    env.add_filter("ts_nodash", |v: Value| -> Result<String, Error> {
        coerce(&v, "ts_nodash")?.strftime("%Y%m%dT%H%M%S")
    });
    env.add_filter("ts_nodash_with_tz", |v: Value| -> Result<String, Error> {
        Ok(ts_nodash_with_tz(&coerce(&v, "ts_nodash_with_tz")?))
    });
}

/// Airflow's `ts_nodash_with_tz`: `ts` without `-` and `:`.
pub(super) fn ts_nodash_with_tz(d: &PyDateTime) -> String {
    d.isoformat("T").replace(['-', ':'], "")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> PyDateTime {
        PyDateTime::pendulum(DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc))
    }

    #[test]
    fn isoformat_like_python() {
        assert_eq!(
            utc("2026-11-23T00:00:00Z").isoformat("T"),
            "2026-11-23T00:00:00+00:00"
        );
        assert_eq!(
            utc("2026-11-23T01:02:03.5Z").isoformat(" "),
            "2026-11-23 01:02:03.500000+00:00"
        );
        let naive = PyDateTime {
            naive: utc("2026-01-02T03:04:05Z").naive,
            offset: None,
            style: Style::DateTime,
        };
        assert_eq!(naive.isoformat("T"), "2026-01-02T03:04:05");
    }

    #[test]
    fn strftime_python_codes() {
        let d = utc("2026-11-23T01:02:03.000042Z");
        assert_eq!(
            d.strftime("%Y%m%d %H:%M:%S.%f %z %Z %%").unwrap(),
            "20261123 01:02:03.000042 +0000 UTC %"
        );
        assert_eq!(
            d.strftime("%-d/%-m %a %b %j %:z").unwrap(),
            "23/11 Mon Nov 327 +00:00"
        );
        let naive = PyDateTime { offset: None, ..d };
        assert_eq!(naive.strftime("[%z%Z]").unwrap(), "[]");
        assert!(d.strftime("%Q").is_err());
        assert!(d.strftime("abc%").is_err());
    }

    #[test]
    fn timedelta_renders_like_python() {
        let td = |m: i64| Value::from_object(PyTimeDelta { micros: m }).to_string();
        assert_eq!(td(86_400_000_000), "1 day, 0:00:00");
        assert_eq!(td(2 * 86_400_000_000 + 3_723_000_000), "2 days, 1:02:03");
        assert_eq!(td(1_500_000), "0:00:01.500000");
        assert_eq!(td(-1_000_000), "-1 day, 23:59:59");
        assert_eq!(td(0), "0:00:00");
    }

    #[test]
    fn strptime_defaults_and_offsets() {
        let d = strptime("2026-11-23", "%Y-%m-%d").unwrap();
        assert_eq!(d.isoformat("T"), "2026-11-23T00:00:00");
        let d = strptime("23/11/26 14h", "%d/%m/%y %Hh").unwrap();
        assert_eq!(d.isoformat(" "), "2026-11-23 14:00:00");
        let d = strptime("2026-11-23T01:00:00+0200", "%Y-%m-%dT%H:%M:%S%z").unwrap();
        assert_eq!(d.isoformat("T"), "2026-11-23T01:00:00+02:00");
        let d = strptime("12:30", "%H:%M").unwrap();
        assert_eq!(d.isoformat(" "), "1900-01-01 12:30:00");
        assert!(strptime("nope", "%Y-%m-%d").is_err());
    }

    #[test]
    fn fromisoformat_forms() {
        assert_eq!(
            fromisoformat("2026-11-23").unwrap().isoformat("T"),
            "2026-11-23T00:00:00"
        );
        assert_eq!(
            fromisoformat("2026-11-23T05:06:07+01:00")
                .unwrap()
                .isoformat("T"),
            "2026-11-23T05:06:07+01:00"
        );
        assert_eq!(
            fromisoformat("2026-11-23 05:06").unwrap().isoformat("T"),
            "2026-11-23T05:06:00"
        );
        assert!(fromisoformat("23.11.2026").is_err());
    }

    #[test]
    fn comparisons_use_the_instant() {
        let a = Value::from_object(utc("2026-11-23T00:00:00Z"));
        let b = Value::from_object(
            strptime("2026-11-23T01:00:00+0200", "%Y-%m-%dT%H:%M:%S%z").unwrap(),
        );
        assert!(b < a);
    }
}
