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
    let composed = compose(&driver, &plugin, &adapter);
    let dest = out.join("aci-cli.wasm");
    std::fs::write(&dest, composed).unwrap_or_else(|e| panic!("writing {}: {e}", dest.display()));
    println!("cargo:rustc-env=ACI_CLI_WASM={}", dest.display());
    println!("cargo:rustc-env=ACI_CLI_ADAPTER_WASM={}", adapter.display());
    println!("cargo:rustc-env=ACI_PLUGIN_WASM_PATH={}", plugin.display());
}

/// The driver's imports wired to the plugin's and the adapter's exports,
/// and the plugin's `runtime` import to the adapter's. (wasm-compose's
/// `definitions` would not do: a definition's own imports are never
/// satisfied from another definition.) What is left is WASI and the
/// type-only `orchestrator:task/types` instance, which needs no
/// implementation.
fn compose(driver: &Path, plugin: &Path, adapter: &Path) -> Vec<u8> {
    use wasm_compose::config::{Config, Dependency, Instantiation, InstantiationArg};

    let arg = |instance: &str, export: &str| InstantiationArg {
        instance: instance.to_string(),
        export: Some(export.to_string()),
    };
    let mut config = Config::default();
    for (name, path) in [("plugin", plugin), ("adapter", adapter)] {
        let dependency = Dependency {
            path: path.to_path_buf(),
        };
        config.dependencies.insert(name.to_string(), dependency);
    }
    let mut root = Instantiation::default();
    for (import, instance) in [
        ("orchestrator:task/task-operator@0.1.0", "plugin"),
        (
            "aci:container-instance/container-instance-hook@0.1.0",
            "plugin",
        ),
        ("aci:cli/session@0.1.0", "adapter"),
    ] {
        root.arguments
            .insert(import.to_string(), arg(instance, import));
    }
    let mut plugin = Instantiation::default();
    let runtime = "orchestrator:task/runtime@0.1.0";
    plugin
        .arguments
        .insert(runtime.to_string(), arg("adapter", runtime));
    config.instantiations.insert("root".to_string(), root);
    config.instantiations.insert("plugin".to_string(), plugin);
    wasm_compose::composer::ComponentComposer::new(driver, &config)
        .compose()
        .unwrap_or_else(|e| panic!("composing aci-cli.wasm failed: {e:?}"))
}
