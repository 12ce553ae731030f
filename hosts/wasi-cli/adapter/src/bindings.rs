//! Generated bindings of the `aci:cli/adapter` world.

wit_bindgen::generate!({
    world: "aci:cli/adapter",
    path: ["../../../wit", "../../../wit/cli"],
    generate_all,
});
