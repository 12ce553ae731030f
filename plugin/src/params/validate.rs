//! Airflow's validation rules with its exact messages
//! (`AzureContainerInstancesOperator.__init__`, `_ensure_identity`,
//! `_check_name`), plus the "did you mean" helper for misspelt keys.
//!
//! Airflow checks, in this order: `os_type`, `restart_policy`, identity
//! normalisation, `priority` (constructor), then the name (at the start of
//! `execute`, after templating). [`super::parse`] applies them in that order.

use serde_json::Value;

use super::value::python_str;
use task_plugin_sdk::{Error, Result};

/// Values Airflow accepts for `os_type`.
pub const OS_TYPES: [&str; 2] = ["Linux", "Windows"];
/// Values Airflow accepts for `restart_policy`.
pub const RESTART_POLICIES: [&str; 3] = ["Always", "OnFailure", "Never"];
/// Values Airflow accepts for `priority`.
pub const PRIORITIES: [&str; 2] = ["Regular", "Spot"];
/// Longest container group name ACI accepts.
pub const MAX_NAME_LEN: usize = 63;

/// Airflow's message when the name does not match the pattern.
pub const NAME_PATTERN_MESSAGE: &str =
    r#"ACI name must match regex [a-z0-9]([-a-z0-9]*[a-z0-9])? (like "my-name")"#;
/// Airflow's message when the name is longer than 63 characters.
pub const NAME_LENGTH_MESSAGE: &str = "ACI name cannot be longer than 63 characters";
/// Airflow's message for an identity dict without `type`.
pub const IDENTITY_TYPE_MESSAGE: &str =
    "identity dict must include 'type' key with value 'UserAssigned' or 'SystemAssigned'";
/// Airflow's message for `resource_ids` that is not a list.
pub const IDENTITY_RESOURCE_IDS_MESSAGE: &str =
    "identity['resource_ids'] must be a list of resource id strings";

fn invalid(msg: impl Into<String>) -> Error {
    Error::InvalidParams(msg.into())
}

/// Checks `os_type` (given value, or `None` for "not given" = `Linux`).
pub fn check_os_type(v: Option<&Value>) -> Result<String> {
    match v {
        None => Ok("Linux".into()),
        Some(Value::String(s)) if OS_TYPES.contains(&s.as_str()) => Ok(s.clone()),
        Some(other) => Err(invalid(format!(
            "Invalid value for the os_type argument. Please set 'Linux' or 'Windows' as the os_type. Found `{}`.",
            python_str(other)
        ))),
    }
}

/// Checks `restart_policy` (`None` = not given = `Never`).
pub fn check_restart_policy(v: Option<&Value>) -> Result<String> {
    match v {
        None => Ok("Never".into()),
        Some(Value::String(s)) if RESTART_POLICIES.contains(&s.as_str()) => Ok(s.clone()),
        Some(other) => Err(invalid(format!(
            "Invalid value for the restart_policy argument. Please set one of 'Always', 'OnFailure','Never' as the restart_policy. Found `{}`",
            python_str(other)
        ))),
    }
}

/// Checks `priority` (`None` = not given = `Regular`; an explicit `null` is
/// rejected, as in Airflow).
pub fn check_priority(v: Option<&Value>) -> Result<String> {
    match v {
        None => Ok("Regular".into()),
        Some(Value::String(s)) if PRIORITIES.contains(&s.as_str()) => Ok(s.clone()),
        Some(other) => Err(invalid(format!(
            "Invalid value for the priority argument. Please set 'Regular' or 'Spot' as the priority. Found `{}`.",
            python_str(other)
        ))),
    }
}

/// Airflow's `_check_name`: full match of `[a-z0-9]([-a-z0-9]*[a-z0-9])?`,
/// then at most 63 characters. Returns the name unchanged when valid.
pub fn check_name(name: &str) -> Result<&str> {
    if !matches_name_pattern(name) {
        return Err(invalid(NAME_PATTERN_MESSAGE));
    }
    if name.chars().count() > MAX_NAME_LEN {
        return Err(invalid(NAME_LENGTH_MESSAGE));
    }
    Ok(name)
}

/// True when the whole of `name` matches `[a-z0-9]([-a-z0-9]*[a-z0-9])?`.
fn matches_name_pattern(name: &str) -> bool {
    let bytes = name.as_bytes();
    let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => {
            alnum(first) && alnum(last) && bytes.iter().all(|b| alnum(b) || *b == b'-')
        }
        _ => false,
    }
}

/// Maps the identity `type` strings Airflow normalises to ARM's spelling;
/// others pass through verbatim (as in `_ensure_identity`).
pub fn normalise_identity_type(t: &str) -> String {
    match t {
        "SystemAssigned" => "SystemAssigned".into(),
        "UserAssigned" => "UserAssigned".into(),
        "SystemAssigned,UserAssigned" | "SystemAssigned, UserAssigned" => {
            "SystemAssigned, UserAssigned".into()
        }
        other => other.into(),
    }
}

/// Checks a resource group name the way ARM does (1–90 letters, digits,
/// `-_.()`, not ending with `.`), so it is safe to put in a URL path.
pub fn check_resource_group(rg: &str) -> Result<()> {
    let ok_chars = rg
        .chars()
        .all(|c| c.is_alphanumeric() || "-_.()".contains(c));
    let len = rg.chars().count();
    if !ok_chars || len == 0 || len > 90 || rg.ends_with('.') {
        return Err(invalid(format!(
            "resource_group must be 1-90 characters of letters, digits, '-', '_', '.', '(' or ')', not ending with '.'; found `{rg}`"
        )));
    }
    Ok(())
}

/// Suggests the candidate closest to `key` (same letters ignoring case and
/// `_`/`-`, or within a small edit distance), if any is close enough.
pub fn did_you_mean<'a>(key: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let norm = |s: &str| {
        s.chars()
            .filter(|c| *c != '_' && *c != '-')
            .flat_map(char::to_lowercase)
            .collect::<String>()
    };
    let k = norm(key);
    if let Some(c) = candidates.iter().find(|c| norm(c) == k) {
        return Some(c);
    }
    if k.chars().count() >= 3 {
        if let Some(c) = candidates.iter().find(|c| norm(c).starts_with(&k)) {
            return Some(c);
        }
    }
    let limit = if k.chars().count() > 10 { 3 } else { 2 };
    candidates
        .iter()
        .map(|c| (levenshtein(&k, &norm(c)), *c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Edit distance (insertions, deletions, substitutions) between two strings.
fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    // Airflow test_name_checker.
    #[test]
    fn name_checker_accepts_airflow_valid_names() {
        assert_eq!(check_name("test-dash").unwrap(), "test-dash");
        let name63 = "name-with-length---63".repeat(3);
        assert_eq!(name63.len(), 63);
        assert_eq!(check_name(&name63).unwrap(), name63);
        assert!(check_name("a").is_ok());
        assert!(check_name("0").is_ok());
    }

    #[test]
    fn name_checker_rejects_airflow_invalid_names_with_exact_messages() {
        for bad in [
            "test_underscore",
            "name-ending-with-dash-",
            "-name-starting-with-dash",
            "",
            "Upper",
            "a b",
            "ä",
        ] {
            assert_eq!(
                check_name(bad).unwrap_err(),
                Error::InvalidParams(NAME_PATTERN_MESSAGE.into()),
                "{bad:?}"
            );
        }
        let name84 = "name-with-length---84".repeat(4);
        assert_eq!(name84.len(), 84);
        assert_eq!(
            check_name(&name84).unwrap_err(),
            Error::InvalidParams(NAME_LENGTH_MESSAGE.into())
        );
        assert_eq!(
            NAME_PATTERN_MESSAGE,
            "ACI name must match regex [a-z0-9]([-a-z0-9]*[a-z0-9])? (like \"my-name\")"
        );
    }

    #[test]
    fn os_type_message_is_airflows() {
        assert_eq!(
            check_os_type(Some(&json!("MacOs"))).unwrap_err().to_string(),
            "Invalid value for the os_type argument. Please set 'Linux' or 'Windows' as the os_type. Found `MacOs`."
        );
        assert_eq!(check_os_type(None).unwrap(), "Linux");
        assert_eq!(check_os_type(Some(&json!("Windows"))).unwrap(), "Windows");
        // Case matters, as in Airflow.
        assert!(check_os_type(Some(&json!("linux"))).is_err());
        assert!(check_os_type(Some(&json!(null)))
            .unwrap_err()
            .to_string()
            .ends_with("Found `None`."));
    }

    #[test]
    fn restart_policy_message_is_airflows() {
        assert_eq!(
            check_restart_policy(Some(&json!("Everyday"))).unwrap_err().to_string(),
            "Invalid value for the restart_policy argument. Please set one of 'Always', 'OnFailure','Never' as the restart_policy. Found `Everyday`"
        );
        assert_eq!(check_restart_policy(None).unwrap(), "Never");
        for ok in RESTART_POLICIES {
            assert_eq!(check_restart_policy(Some(&json!(ok))).unwrap(), ok);
        }
    }

    #[test]
    fn priority_message_is_airflows() {
        assert_eq!(
            check_priority(Some(&json!("Low"))).unwrap_err().to_string(),
            "Invalid value for the priority argument. Please set 'Regular' or 'Spot' as the priority. Found `Low`."
        );
        assert_eq!(
            check_priority(Some(&json!(null))).unwrap_err().to_string(),
            "Invalid value for the priority argument. Please set 'Regular' or 'Spot' as the priority. Found `None`."
        );
        assert_eq!(check_priority(None).unwrap(), "Regular");
        assert_eq!(check_priority(Some(&json!("Spot"))).unwrap(), "Spot");
    }

    #[test]
    fn identity_types_normalise_as_airflow() {
        assert_eq!(
            normalise_identity_type("SystemAssigned,UserAssigned"),
            "SystemAssigned, UserAssigned"
        );
        assert_eq!(
            normalise_identity_type("SystemAssigned, UserAssigned"),
            "SystemAssigned, UserAssigned"
        );
        assert_eq!(normalise_identity_type("UserAssigned"), "UserAssigned");
        assert_eq!(normalise_identity_type("Custom"), "Custom");
    }

    #[test]
    fn resource_group_names() {
        for ok in ["rg", "my_rg-1.(x)", "groupé"] {
            assert!(check_resource_group(ok).is_ok(), "{ok}");
        }
        for bad in ["", "a/b", "rg.", "a?b", &"x".repeat(91)] {
            assert!(check_resource_group(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn suggestions() {
        let c = [
            "memory_in_gb",
            "cpu",
            "restart_policy",
            "environment_variables",
        ];
        assert_eq!(did_you_mean("memroy_in_gb", &c), Some("memory_in_gb"));
        assert_eq!(did_you_mean("memoryInGB", &c), Some("memory_in_gb"));
        assert_eq!(did_you_mean("restartPolicy", &c), Some("restart_policy"));
        assert_eq!(did_you_mean("env_vars", &c), None);
        assert_eq!(did_you_mean("zzz", &c), None);
        assert_eq!(did_you_mean("restart", &c), Some("restart_policy"));
        assert_eq!(levenshtein("kitten", "sitting"), 3);
    }

    #[test]
    fn resource_group_length_boundary() {
        for (len, ok) in [(1, true), (89, true), (90, true), (91, false)] {
            assert_eq!(check_resource_group(&"r".repeat(len)).is_ok(), ok, "{len}");
            // Characters, not bytes.
            assert_eq!(
                check_resource_group(&"é".repeat(len)).is_ok(),
                ok,
                "é x {len}"
            );
        }
        for ok in ["a.b", "x)", "(x", "_", "-"] {
            assert!(check_resource_group(ok).is_ok(), "{ok}");
        }
        for bad in ["a b", "a%2Fb", "a#", ".", "..", "a\n"] {
            let e = check_resource_group(bad).unwrap_err().to_string();
            assert!(e.contains("1-90 characters"), "{e}");
            assert!(e.ends_with(&format!("found `{bad}`")), "{e}");
        }
    }

    #[test]
    fn did_you_mean_thresholds() {
        let c = ["memory_in_gb"];
        // Normalised equality: case, '_' and '-' ignored.
        assert_eq!(did_you_mean("MEMORY-IN-GB", &c), Some("memory_in_gb"));
        // A prefix needs at least three characters.
        assert_eq!(did_you_mean("mem", &c), Some("memory_in_gb"));
        assert_eq!(did_you_mean("me", &c), None);
        // Up to ten characters: at most two edits; longer keys: three.
        assert_eq!(did_you_mean("mexoryingb", &c), Some("memory_in_gb"));
        assert_eq!(did_you_mean("mexoryxxgb", &c), None);
        assert_eq!(did_you_mean("mxmoryxngbx", &c), Some("memory_in_gb"));
        assert_eq!(did_you_mean("mxmoryxxgbxx", &c), None);
        assert_eq!(did_you_mean("anything", &[]), None);
    }

    #[test]
    fn did_you_mean_prefers_exact_then_prefix_then_closest() {
        // The exact (normalised) match wins over an earlier prefix match.
        assert_eq!(did_you_mean("CPU", &["cpu_count", "cpu"]), Some("cpu"));
        // A prefix match wins over a closer edit.
        assert_eq!(
            did_you_mean("cpu", &["gpu", "cpu_count"]),
            Some("cpu_count")
        );
        // Otherwise the fewest edits, whatever the order.
        assert_eq!(did_you_mean("cpux", &["gpu", "cpu"]), Some("cpu"));
        assert_eq!(did_you_mean("gpux", &["gpu", "cpu"]), Some("gpu"));
        assert_eq!(
            did_you_mean("xpux", &["gpu", "cpu"]),
            Some("gpu"),
            "ties: the first"
        );
    }

    #[test]
    fn edit_distances() {
        for (a, b, d) in [
            ("", "", 0),
            ("", "abc", 3),
            ("abc", "", 3),
            ("abc", "abc", 0),
            ("ab", "ba", 2),
            ("flaw", "lawn", 2),
            ("abc", "abxc", 1),
            ("ä", "a", 1),
        ] {
            assert_eq!(levenshtein(a, b), d, "{a} {b}");
            assert_eq!(levenshtein(b, a), d, "{b} {a}");
        }
    }
}
