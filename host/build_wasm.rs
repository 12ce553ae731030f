// Shared by `host/build.rs` and `tests/build.rs` (via `include!`): builds a
// workspace crate for `wasm32-wasip2` with a nested cargo into `target/plugin`
// (its own target dir, so it never contends for the outer build's lock).

/// Builds `package` as a component and returns the path of `<file_stem>.wasm`.
fn build_wasm_component(root: &std::path::Path, package: &str, file_stem: &str) -> std::path::PathBuf {
    let target_dir = root.join("target").join("plugin");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = std::process::Command::new(cargo);
    cmd.current_dir(root)
        .args(["build", "-p", package, "--target", "wasm32-wasip2", "--profile", "plugin", "--target-dir"])
        .arg(&target_dir);
    // Do not leak the outer build's settings into the guest build.
    for (k, _) in std::env::vars() {
        if (k.starts_with("CARGO_") && k != "CARGO_HOME") || k == "RUSTFLAGS" || k == "RUSTC_WRAPPER" || k == "RUSTC_WORKSPACE_WRAPPER" {
            cmd.env_remove(&k);
        }
    }
    let out = cmd.output().unwrap_or_else(|e| panic!("failed to run cargo for `{package}`: {e}"));
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        if stderr.contains("E0463") || stderr.contains("target may not be installed") {
            panic!(
                "\n\nThe wasm32-wasip2 target is not installed for this toolchain.\n\
                 Run: rustup target add wasm32-wasip2\n\
                 (rustup does not add a toolchain file's targets to an already-installed toolchain.)\n\n{stderr}"
            );
        }
        panic!("building the `{package}` component failed:\n{stderr}");
    }
    let wasm = target_dir.join("wasm32-wasip2").join("plugin").join(format!("{file_stem}.wasm"));
    assert!(wasm.is_file(), "the `{package}` build succeeded but {} is missing", wasm.display());
    wasm
}
