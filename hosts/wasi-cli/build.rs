//! Builds the three components (the ACI plugin, the `wasi:cli` adapter and
//! the driver, target `wasm32-wasip2`, with the nested cargo of
//! `host/build_wasm.rs`) and composes them into `aci-cli.wasm` in `OUT_DIR`
//! with `wasm-compose`: the driver's imports of `task-operator`,
//! `container-instance-hook` and `aci:cli/session` are satisfied by the
//! plugin and the adapter, the plugin's `orchestrator:task/runtime` by the
//! adapter; only standard WASI 0.2 imports remain.

use std::path::{Path, PathBuf};

include!("../../host/build_wasm.rs");

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest_dir
        .parent()
        .and_then(Path::parent)
        .unwrap()
        .to_path_buf();
    for p in [
        "plugin/src",
        "plugin/Cargo.toml",
        "sdk/src",
        "sdk/Cargo.toml",
        "connections/src",
        "connections/Cargo.toml",
        "hosts/wasi-cli/adapter",
        "hosts/wasi-cli/driver",
        "wit",
        "Cargo.lock",
        "host/build_wasm.rs",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(p).display());
    }
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    // The plugin alone, as host/build.rs builds it (same features, same file);
    // the adapter and the driver together.
    let plugin = build_wasm_component(&root, "aci-plugin", "aci_plugin");
    run_wasm_build(&root, "aci-cli-adapter", &["-p", "aci-cli-driver"]);
    let adapter = wasm_output(&root, "aci-cli-adapter", "aci_cli_adapter.wasm");
    let driver = wasm_output(&root, "aci-cli-driver", "aci-cli-driver.wasm");
    // wasm-compose names each definition's instance after its file stem,
    // which must be kebab case.
    let plugin = stage(&plugin, &out.join("aci-plugin.wasm"));
    let adapter = stage(&adapter, &out.join("aci-cli-adapter.wasm"));
    let composed = compose(&driver, &[&plugin, &adapter]);
    let dest = out.join("aci-cli.wasm");
    std::fs::write(&dest, composed).unwrap_or_else(|e| panic!("writing {}: {e}", dest.display()));
    println!("cargo:rustc-env=ACI_CLI_WASM={}", dest.display());
    println!("cargo:rustc-env=ACI_CLI_ADAPTER_WASM={}", adapter.display());
    println!("cargo:rustc-env=ACI_PLUGIN_WASM_PATH={}", plugin.display());
}

/// Copies a built component to `dest`; returns `dest`.
fn stage(built: &Path, dest: &Path) -> PathBuf {
    std::fs::copy(built, dest).unwrap_or_else(|e| panic!("copying {}: {e}", built.display()));
    dest.to_path_buf()
}

/// The driver with its imports satisfied by `definitions`' exports.
fn compose(driver: &Path, definitions: &[&Path]) -> Vec<u8> {
    let config = wasm_compose::config::Config {
        definitions: definitions.iter().map(|p| p.to_path_buf()).collect(),
        ..Default::default()
    };
    wasm_compose::composer::ComponentComposer::new(driver, &config)
        .compose()
        .unwrap_or_else(|e| panic!("composing aci-cli.wasm failed: {e:?}"))
}
