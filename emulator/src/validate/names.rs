//! Name rules (groups, containers, environment variables, volumes, DNS labels) and location
//! normalisation.

use std::ops::RangeInclusive;

/// `len` characters of `[a-z0-9-]`, not starting or ending with a hyphen.
fn lowercase_hyphenated(name: &str, len: RangeInclusive<usize>) -> bool {
    len.contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

/// Container group names: 1–63 of `[a-z0-9-]`, no leading/trailing hyphen, no `--`.
pub(crate) fn valid_group_name(name: &str) -> bool {
    lowercase_hyphenated(name, 1..=63) && !name.contains("--")
}

/// Container names: 1–63 of `[a-z0-9-]`, no leading/trailing hyphen.
pub(crate) fn valid_container_name(name: &str) -> bool {
    lowercase_hyphenated(name, 1..=63)
}

/// Environment variable names: 1–63 of `[A-Za-z0-9_]`, not starting with a digit.
pub(super) fn valid_env_name(name: &str) -> bool {
    let b = name.as_bytes();
    (1..=63).contains(&b.len())
        && (b[0].is_ascii_alphabetic() || b[0] == b'_')
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

/// Volume names: 5–63 of `[a-z0-9-]`, no leading/trailing hyphen.
pub(super) fn valid_volume_name(name: &str) -> bool {
    lowercase_hyphenated(name, 5..=63)
}

/// DNS name labels: 5–63 of `[a-z0-9-]`, starting with a letter, ending with a letter or digit.
pub(super) fn valid_dns_label(label: &str) -> bool {
    let b = label.as_bytes();
    (5..=63).contains(&b.len())
        && b[0].is_ascii_lowercase()
        && (b[b.len() - 1].is_ascii_lowercase() || b[b.len() - 1].is_ascii_digit())
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
}

/// `West US` → `westus`.
pub(crate) fn normalize_location(loc: &str) -> String {
    loc.chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase()
}
