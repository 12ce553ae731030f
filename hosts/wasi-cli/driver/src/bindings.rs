//! Generated bindings of the `aci:cli/driver` world.

wit_bindgen::generate!({
    world: "aci:cli/driver",
    path: ["../../../wit", "../../../wit/cli"],
    generate_all,
});
