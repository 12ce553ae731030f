//! Generated bindings of the generic `orchestrator:task/operator-plugin`
//! world. Not part of the SDK's API: it is public (and hidden) only so that
//! [`export_operator!`](crate::export_operator) can name it from the plugin
//! crate. Operators use the Rust-shaped items of the crate root, [`runtime`](crate::runtime)
//! and [`http`](crate::http).

wit_bindgen::generate!({
    world: "orchestrator:task/operator-plugin",
    path: "../wit/deps/task",
    // The export macro is expanded in the plugin crate, which then carries the
    // world's exports; this crate carries only its imports.
    pub_export_macro: true,
});
