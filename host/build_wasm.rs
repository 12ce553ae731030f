// Shared by `host/build.rs` and `tests/build.rs` (via `include!`): builds a
// workspace crate (or one of its examples) for `wasm32-wasip2` with a nested
// cargo into `target/plugin` (its own target dir, so it never contends for the
// outer build's lock).

/// Builds `package` as a component and returns the path of `<file_stem>.wasm`.
fn build_wasm_component(root: &std::path::Path, package: &str, file_stem: &str) -> std::path::PathBuf {
    run_wasm_build(root, package, &[]);
    wasm_output(root, package, &format!("{file_stem}.wasm"))
}

/// Builds example `example` of `package` (a `cdylib` example) as a component
/// and returns its path.
#[allow(dead_code)] // host/build.rs builds no example
fn build_wasm_example(root: &std::path::Path, package: &str, example: &str) -> std::path::PathBuf {
    run_wasm_build(root, package, &["--example", example]);
    wasm_output(root, package, &format!("examples/{example}.wasm"))
}

/// Runs the nested `cargo build -p package [extra…]` for `wasm32-wasip2`.
fn run_wasm_build(root: &std::path::Path, package: &str, extra: &[&str]) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = std::process::Command::new(cargo);
    cmd.current_dir(root)
        .args(["build", "-p", package])
        .args(extra)
        .args(["--target", "wasm32-wasip2", "--profile", "plugin", "--target-dir"])
        .arg(plugin_target_dir(root));
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
}

/// The nested build's target dir.
fn plugin_target_dir(root: &std::path::Path) -> std::path::PathBuf {
    root.join("target").join("plugin")
}

/// The path of a built component (`relative` to the profile's output dir), checked to exist.
fn wasm_output(root: &std::path::Path, package: &str, relative: &str) -> std::path::PathBuf {
    let wasm = plugin_target_dir(root).join("wasm32-wasip2").join("plugin").join(relative);
    assert!(wasm.is_file(), "the `{package}` build succeeded but {} is missing", wasm.display());
    wasm
}
