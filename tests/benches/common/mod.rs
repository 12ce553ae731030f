//! Shared pieces of the `aci-e2e` benchmarks: the `--bench` guard, settings
//! from environment variables, summary statistics and plain-text tables.

use std::time::{SystemTime, UNIX_EPOCH};

/// True when the binary was started by `cargo bench` (which passes `--bench`).
///
/// `cargo test --benches` / `--all-targets` runs bench binaries without it;
/// the benchmarks take minutes, so they then print a note and do nothing.
pub fn bench_mode(name: &str) -> bool {
    if std::env::args().skip(1).any(|a| a == "--bench") {
        return true;
    }
    println!("{name}: benchmark skipped (run it with `cargo bench -p aci-e2e --profile dev --bench {name}`)");
    false
}

/// A positive integer setting from the environment, or `default`.
///
/// Exits with a clear message when the variable is set to something else.
pub fn env_usize(var: &str, default: usize) -> usize {
    match std::env::var(var) {
        Err(_) => default,
        Ok(v) => match v.trim().parse::<usize>() {
            Ok(n) => n,
            Err(_) => fail(&format!("{var}={v:?} is not a non-negative integer")),
        },
    }
}

/// Prints `message` to stderr and exits with status 2 (bad settings).
pub fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    std::process::exit(2)
}

/// The system load average (`/proc/loadavg`), to judge how noisy a run was:
/// the timings assume an otherwise idle machine.
pub fn load_average() -> String {
    match std::fs::read_to_string("/proc/loadavg") {
        Ok(s) => s.split_whitespace().take(3).collect::<Vec<_>>().join(" "),
        Err(_) => "n/a".into(),
    }
}

/// Wall-clock time now, in nanoseconds since the Unix epoch.
pub fn now_ns() -> i128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_nanos() as i128
}

/// Median, 95th percentile and extremes of a sample.
#[derive(Clone, Copy, Debug)]
pub struct Summary {
    /// Smallest value.
    pub min: f64,
    /// Median (mean of the two middle values for an even count).
    pub median: f64,
    /// 95th percentile, nearest-rank (so never a value that was not observed;
    /// for fewer than 20 values it is the maximum).
    pub p95: f64,
    /// Largest value.
    pub max: f64,
}

impl Summary {
    /// The summary of `values`, or `None` when there are none.
    pub fn of(values: &[f64]) -> Option<Summary> {
        if values.is_empty() {
            return None;
        }
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let median = if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        };
        let rank = ((0.95 * n as f64).ceil() as usize).clamp(1, n);
        Some(Summary {
            min: v[0],
            median,
            p95: v[rank - 1],
            max: v[n - 1],
        })
    }
}

/// Formats an optional summary field with `decimals` decimals (`-` when absent).
pub fn fmt_opt(s: Option<Summary>, field: fn(&Summary) -> f64, decimals: usize) -> String {
    match s {
        Some(s) => format!("{:.*}", decimals, field(&s)),
        None => "-".into(),
    }
}

/// A plain-text table with right-aligned columns (the first one left-aligned).
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column titles.
    pub fn new(header: &[&str]) -> Table {
        Table {
            header: header.iter().map(|s| s.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row (missing cells are left empty, extra ones are dropped).
    pub fn row(&mut self, cells: Vec<String>) {
        let mut cells = cells;
        cells.resize(self.header.len(), String::new());
        self.rows.push(cells);
    }

    /// Prints the table to stdout.
    pub fn print(&self) {
        let widths: Vec<usize> = (0..self.header.len())
            .map(|c| {
                self.rows
                    .iter()
                    .map(|r| r[c].chars().count())
                    .chain([self.header[c].chars().count()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |cells: &[String]| {
            let parts: Vec<String> = cells
                .iter()
                .enumerate()
                .map(|(c, s)| {
                    if c == 0 {
                        format!("{s:<w$}", w = widths[c])
                    } else {
                        format!("{s:>w$}", w = widths[c])
                    }
                })
                .collect();
            println!("| {} |", parts.join(" | "));
        };
        line(&self.header);
        println!(
            "|{}|",
            widths
                .iter()
                .enumerate()
                .map(|(c, w)| if c == 0 {
                    format!(":{}", "-".repeat(w + 1))
                } else {
                    format!("{}:", "-".repeat(w + 1))
                })
                .collect::<Vec<_>>()
                .join("|")
        );
        for r in &self.rows {
            line(r);
        }
    }
}
