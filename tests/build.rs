//! Builds the test guests (`tests/guests/*`) and the guest SDK's example
//! operator as components for the end-to-end tests and exposes their paths as
//! `env!` constants.

use std::path::{Path, PathBuf};

include!("../host/build_wasm.rs");

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest_dir.parent().unwrap().to_path_buf();
    for p in ["tests/guests", "sdk", "wit", "host/build_wasm.rs"] {
        println!("cargo:rerun-if-changed={}", root.join(p).display());
    }
    let probe = build_wasm_component(&root, "http-probe", "http_probe");
    publish(&probe, "http_probe.wasm", "HTTP_PROBE_COMPONENT");
    let hostile = build_wasm_component(&root, "hostile", "hostile");
    publish(&hostile, "hostile.wasm", "HOSTILE_COMPONENT");
    let echo = build_wasm_example(&root, "task-plugin-sdk", "echo_operator");
    publish(&echo, "echo_operator.wasm", "ECHO_OPERATOR_COMPONENT");
}

/// Copies a built component into `OUT_DIR` and names it in env var `var`.
fn publish(built: &Path, file_name: &str, var: &str) {
    let dest = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join(file_name);
    std::fs::copy(built, &dest).unwrap_or_else(|e| panic!("copying {}: {e}", built.display()));
    println!("cargo:rustc-env={var}={}", dest.display());
}
