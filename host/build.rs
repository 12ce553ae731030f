//! Builds the ACI plugin component (`plugin/`, target `wasm32-wasip2`) so the
//! host embeds it: `cargo build`/`cargo test` always carry a fresh component,
//! and no `.wasm` is ever committed. `ACI_PLUGIN_WASM=path` embeds a prebuilt
//! component instead.

use std::path::PathBuf;

include!("build_wasm.rs");

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest_dir.parent().unwrap().to_path_buf();
    for p in [
        "plugin/src",
        "plugin/Cargo.toml",
        "sdk/src",
        "sdk/Cargo.toml",
        "wit",
        "Cargo.lock",
        "host/build_wasm.rs",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(p).display());
    }
    println!("cargo:rerun-if-env-changed=ACI_PLUGIN_WASM");
    let dest = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("aci_plugin.wasm");
    let source = match std::env::var("ACI_PLUGIN_WASM") {
        Ok(path) => PathBuf::from(path),
        Err(_) => build_wasm_component(&root, "aci-plugin", "aci_plugin"),
    };
    std::fs::copy(&source, &dest).unwrap_or_else(|e| panic!("copying {}: {e}", source.display()));
}
