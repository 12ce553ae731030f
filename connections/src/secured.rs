//! Airflow's `secured_variables`: which of a task's environment variables
//! hold secrets.

/// The values of `environment_variables` whose names `secured_variables`
/// lists: what a host masks like connection secrets (Airflow's operator
/// passes them as secure values).
///
/// `secured_variables` is a list of names or, as Airflow's `key in
/// secured_variables` allows, a string (then any name that is a substring of
/// it counts). Non-string values are returned as their JSON text.
pub fn secured_values(params: &serde_json::Map<String, serde_json::Value>) -> Vec<String> {
    use serde_json::Value as J;
    let Some(J::Object(env)) = params.get("environment_variables") else {
        return Vec::new();
    };
    let secured = |name: &str| match params.get("secured_variables") {
        Some(J::Array(names)) => names.iter().any(|n| n.as_str() == Some(name)),
        Some(J::String(s)) => s.contains(name),
        _ => false,
    };
    env.iter()
        .filter(|(name, _)| secured(name))
        .filter_map(|(_, v)| match v {
            J::String(s) => Some(s.clone()),
            J::Null => None,
            other => Some(other.to_string()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_name_variables_strings_contain_them() {
        let p = serde_json::json!({"environment_variables": {"TOKEN": "t-1", "N": 5, "X": "x", "NONE": null},
                                   "secured_variables": ["TOKEN", "N", "NONE", "ABSENT"]});
        assert_eq!(secured_values(p.as_object().unwrap()), ["t-1", "5"]);
        let p = serde_json::json!({"environment_variables": {"TOKEN": "t-1", "TOK": "t2", "X": "x"}, "secured_variables": "TOKEN"});
        assert_eq!(secured_values(p.as_object().unwrap()), ["t-1", "t2"]);
        assert!(secured_values(serde_json::json!({}).as_object().unwrap()).is_empty());
    }
}
