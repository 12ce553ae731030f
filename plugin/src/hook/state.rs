//! Readings of a container group used by the deprecated hook methods
//! `get_state_exitcode_details` and `get_messages` (pure).

use crate::arm::models::ContainerGroup;

/// The first container's `(state, exit code, detail status)`. Without an instance view the
/// state is the group's provisioning state (or `Unknown`) and the detail status is empty.
pub fn exitcode_details(group: &ContainerGroup) -> (String, Option<i32>, String) {
    match group.first_container_state() {
        Some(s) => (
            s.state.clone().unwrap_or_else(|| "Unknown".into()),
            s.exit_code,
            s.detail_status.clone().unwrap_or_default(),
        ),
        None => (
            group.provisioning_state().unwrap_or("Unknown").to_string(),
            None,
            String::new(),
        ),
    }
}

/// The messages of the first container's events (none when it has no instance view).
pub fn messages(group: &ContainerGroup) -> Vec<String> {
    group
        .properties
        .containers
        .first()
        .and_then(|c| c.properties.instance_view.as_ref())
        .and_then(|v| v.events.as_ref())
        .map(|events| events.iter().filter_map(|e| e.message.clone()).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn group(v: serde_json::Value) -> ContainerGroup {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn terminated_container() {
        let g = group(
            json!({"properties": {"provisioningState": "Succeeded", "containers": [{"name": "c", "properties": {
            "instanceView": {"currentState": {"state": "Terminated", "exitCode": 2, "detailStatus": "Error"},
                "events": [{"message": "pulling image"}, {"name": "no message"}, {"message": "Started container"}]}}}]}}),
        );
        assert_eq!(
            exitcode_details(&g),
            ("Terminated".into(), Some(2), "Error".into())
        );
        assert_eq!(messages(&g), vec!["pulling image", "Started container"]);
    }

    #[test]
    fn no_instance_view() {
        let g = group(
            json!({"properties": {"provisioningState": "Creating", "containers": [{"name": "c", "properties": {}}]}}),
        );
        assert_eq!(
            exitcode_details(&g),
            ("Creating".into(), None, String::new())
        );
        assert!(messages(&g).is_empty());
        let empty = ContainerGroup::default();
        assert_eq!(exitcode_details(&empty).0, "Unknown");
    }
}
