//! Builds the ACI plugin component (`plugin/`, target `wasm32-wasip2`) so the
//! host embeds it: `cargo build`/`cargo test` always carry a fresh component,
//! and no `.wasm` is ever committed. `ACI_PLUGIN_WASM=path` embeds a prebuilt
//! component instead.

use std::path::PathBuf;

include!("build_wasm.rs");

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest_dir.parent().unwrap().to_path_buf();
    for p in ["plugin/src", "plugin/Cargo.toml", "wit", "Cargo.lock", "host/build_wasm.rs"] {
        println!("cargo:rerun-if-changed={}", root.join(p).display());
    }
    println!("cargo:rerun-if-env-changed=ACI_PLUGIN_WASM");
    let dest = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("aci_plugin.wasm");
    let source = match std::env::var("ACI_PLUGIN_WASM") {
        Ok(path) => PathBuf::from(path),
        Err(_) => build_plugin_or_last_good(&root),
    };
    std::fs::copy(&source, &dest).unwrap_or_else(|e| panic!("copying {}: {e}", source.display()));
}

/// DEV-ONLY (remove before release): while several people edit the plugin at
/// once, a broken plugin build must not block host work. Outside CI, fall back
/// to the last component that built, with a loud warning. In CI it fails hard.
fn build_plugin_or_last_good(root: &std::path::Path) -> PathBuf {
    let last_good = root.join("target").join("plugin").join("last-good-aci_plugin.wasm");
    let ci = std::env::var_os("CI").is_some();
    let result = std::panic::catch_unwind(|| build_wasm_component(root, "aci-plugin", "aci_plugin"));
    match result {
        Ok(path) => {
            let _ = std::fs::copy(&path, &last_good);
            path
        }
        Err(e) if !ci && last_good.is_file() => {
            let msg = e.downcast_ref::<String>().cloned().unwrap_or_default();
            let first = msg.lines().find(|l| l.contains("error")).unwrap_or("").to_string();
            println!("cargo:warning=plugin build FAILED, embedding the last good component instead: {first}");
            last_good
        }
        Err(e) => std::panic::resume_unwind(e),
    }
}
