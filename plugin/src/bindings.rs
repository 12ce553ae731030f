//! Generated bindings for the plugin's own export, `aci:container-instance/container-instance-hook`
//! (world `hook-exports`). Everything of the generic `orchestrator:task` package,
//! including the `task-error` the hook returns, is the guest SDK's. Private.

wit_bindgen::generate!({
    world: "aci:container-instance/hook-exports",
    path: "../wit",
    with: {
        "orchestrator:task/types@0.1.0": task_plugin_sdk::wit,
    },
});
