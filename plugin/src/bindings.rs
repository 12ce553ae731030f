//! Generated bindings for the `aci:container-instance/operator` world. Private:
//! the rest of the plugin uses the Rust-shaped wrappers in `runtime` and `http`.

wit_bindgen::generate!({
    world: "operator",
    path: "../wit",
    with: {
        "wasi:http/outgoing-handler@0.2.12": wasi::http::outgoing_handler,
        "wasi:http/types@0.2.12": wasi::http::types,
        "wasi:io/poll@0.2.12": wasi::io::poll,
        "wasi:io/streams@0.2.12": wasi::io::streams,
        "wasi:io/error@0.2.12": wasi::io::error,
        "wasi:clocks/monotonic-clock@0.2.12": wasi::clocks::monotonic_clock,
    },
    generate_all,
});
