//! A bucket's size and refill rate, and the `--budget CLASS=CAPACITY/RATE`
//! override.

use std::fmt;
use std::str::FromStr;

/// A token bucket: at most `capacity` requests at once, refilled at
/// `refill_per_sec` tokens per second.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Limit {
    /// Tokens the bucket holds when full (the largest burst).
    pub capacity: f64,
    /// Tokens added per second.
    pub refill_per_sec: f64,
}

/// A limit, share or override that makes no sense.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LimitError(pub String);

impl fmt::Display for LimitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for LimitError {}

impl Limit {
    /// A limit; the capacity must be at least 1 and the rate positive (both finite).
    pub fn new(capacity: f64, refill_per_sec: f64) -> Result<Limit, LimitError> {
        if !(capacity.is_finite() && capacity >= 1.0) {
            return Err(LimitError(format!(
                "a budget's capacity must be at least 1, got {capacity}"
            )));
        }
        if !(refill_per_sec.is_finite() && refill_per_sec > 0.0) {
            return Err(LimitError(format!(
                "a budget's refill rate must be positive, got {refill_per_sec}"
            )));
        }
        Ok(Limit {
            capacity,
            refill_per_sec,
        })
    }

    /// This limit times `share` (the capacity never below one token).
    pub fn scaled(self, share: f64) -> Limit {
        Limit {
            capacity: (self.capacity * share).max(1.0),
            refill_per_sec: self.refill_per_sec * share,
        }
    }
}

/// `CAPACITY/RATE`, e.g. `250/25`.
impl FromStr for Limit {
    type Err = LimitError;

    fn from_str(s: &str) -> Result<Limit, LimitError> {
        let (cap, rate) = s
            .split_once('/')
            .ok_or_else(|| LimitError(format!("`{s}` is not CAPACITY/RATE (e.g. 250/25)")))?;
        let num = |t: &str, what: &str| {
            t.trim()
                .parse::<f64>()
                .map_err(|_| LimitError(format!("`{t}` is not a number ({what} in `{s}`)")))
        };
        Limit::new(num(cap, "capacity")?, num(rate, "rate")?)
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.capacity, self.refill_per_sec)
    }
}

/// A user's limit for one class: `CLASS=CAPACITY/RATE` (`--budget`).
#[derive(Clone, Debug, PartialEq)]
pub struct BudgetOverride {
    /// The class it configures.
    pub class: String,
    /// What this host may use of it.
    pub limit: Limit,
}

impl FromStr for BudgetOverride {
    type Err = LimitError;

    fn from_str(s: &str) -> Result<BudgetOverride, LimitError> {
        let (class, limit) = s
            .split_once('=')
            .filter(|(c, _)| !c.trim().is_empty())
            .ok_or_else(|| {
                LimitError(format!(
                    "`{s}` is not CLASS=CAPACITY/RATE (e.g. arm-reads=250/25)"
                ))
            })?;
        Ok(BudgetOverride {
            class: class.trim().to_string(),
            limit: limit.parse()?,
        })
    }
}
