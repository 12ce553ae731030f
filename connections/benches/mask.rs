//! Masker benchmark (not a test): how long adding one secret takes (the masker rebuilds its
//! matcher on every add) and how long masking a log line takes, for secrets of the sizes
//! tasks meet: a client secret, a PEM private key, a 6 KB JSON file granted to the task,
//! and 6 KB of non-ASCII text. Run with `cargo bench -p airflow-connections --bench mask`.
//! Reports medians.

use std::time::{Duration, Instant};

use airflow_connections::mask::{LineMasker, Masker};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn fmt(d: Duration) -> String {
    if d < Duration::from_millis(1) {
        format!("{:.1} µs", d.as_secs_f64() * 1e6)
    } else {
        format!("{:.2} ms", d.as_secs_f64() * 1e3)
    }
}

/// A PEM private key's shape: 1,700 base64 characters in 64-character lines.
fn pem() -> String {
    let body: String = (0..1700)
        .map(|i| (b'A' + (i * 7 % 26) as u8) as char)
        .collect();
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).expect("ASCII"))
        .collect();
    format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----",
        lines.join("\n")
    )
}

fn main() {
    let secrets = [
        (
            "client secret (40 B)",
            "Zx8~Qm.Jq3-Vb7_Lr2Tn9Wd4Kf6Hs1Pc5Gy0Ae8".to_string(),
        ),
        ("PEM private key (1.8 KB)", pem()),
        (
            "granted JSON file (6 KB)",
            (0..6000)
                .map(|i| (b' ' + (i * 7 % 90) as u8) as char)
                .collect(),
        ),
        ("2,000 × € (6 KB)", "€".repeat(2000)),
    ];
    let line = "2026-11-30T05:00:00.123456789Z step 41 of 90: copied 1,024 rows into staging";
    println!("| secret | add (median of 5) | mask one line (median of 5 × 10,000) |");
    println!("|---|---|---|");
    for (name, secret) in &secrets {
        let adds: Vec<Duration> = (0..5)
            .map(|_| {
                let m = Masker::new();
                let start = Instant::now();
                m.add(secret);
                start.elapsed()
            })
            .collect();
        let m = Masker::new();
        m.add(secret);
        let mut lines = LineMasker::new(m);
        let masks: Vec<Duration> = (0..5)
            .map(|_| {
                let start = Instant::now();
                for _ in 0..10_000 {
                    std::hint::black_box(lines.mask_line(std::hint::black_box(line)));
                }
                start.elapsed() / 10_000
            })
            .collect();
        println!(
            "| {name} | {} | {} |",
            fmt(median(adds)),
            fmt(median(masks))
        );
    }
}
