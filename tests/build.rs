//! Builds the test guests (`tests/guests/*`) as components for the
//! end-to-end tests and exposes their paths as `env!` constants.

use std::path::PathBuf;

include!("../host/build_wasm.rs");

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest_dir.parent().unwrap().to_path_buf();
    for p in ["tests/guests", "wit", "host/build_wasm.rs"] {
        println!("cargo:rerun-if-changed={}", root.join(p).display());
    }
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    let probe = build_wasm_component(&root, "http-probe", "http_probe");
    let dest = out.join("http_probe.wasm");
    std::fs::copy(&probe, &dest).unwrap_or_else(|e| panic!("copying {}: {e}", probe.display()));
    println!("cargo:rustc-env=HTTP_PROBE_COMPONENT={}", dest.display());
}
