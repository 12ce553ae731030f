//! `aci:container-instance/container-instance-hook` export.

use super::Component;
use crate::bindings::exports::aci::container_instance::container_instance_hook::{Guest, GroupRef, StateExitDetails};
use crate::bindings::orchestrator::task::types::TaskError;

fn todo<T>() -> Result<T, TaskError> {
    Err(TaskError::Internal("not yet implemented".into()))
}

impl Guest for Component {
    fn create_or_update(_t: GroupRef, _cg: String, _wait: bool) -> Result<String, TaskError> { todo() }
    fn get_state(_t: GroupRef) -> Result<String, TaskError> { todo() }
    fn get_logs(_t: GroupRef, _tail: Option<u32>) -> Result<Vec<String>, TaskError> { todo() }
    fn delete(_t: GroupRef, _wait: bool) -> Result<bool, TaskError> { todo() }
    fn exists(_t: GroupRef) -> Result<bool, TaskError> { todo() }
    fn test_connection(_c: String) -> (bool, String) { (false, "not yet implemented".into()) }
    fn get_state_exitcode_details(_t: GroupRef) -> Result<StateExitDetails, TaskError> { todo() }
    fn get_messages(_t: GroupRef) -> Result<Vec<String>, TaskError> { todo() }
    fn stop(_t: GroupRef) -> Result<(), TaskError> { todo() }
    fn start(_t: GroupRef) -> Result<(), TaskError> { todo() }
    fn restart(_t: GroupRef) -> Result<(), TaskError> { todo() }
    fn list(_c: String, _rg: Option<String>) -> Result<String, TaskError> { todo() }
}
