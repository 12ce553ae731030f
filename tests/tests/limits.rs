//! `aci-host run` under process limits: a 4 GB address-space limit
//! (`ulimit -v 4000000`, where a pool of 4 GiB memory slots used to fail in
//! `mmap`), `--max-parallel` far beyond what a pool could hold, and a low
//! soft limit on open files (raised to the hard limit at start).

use std::process::{Command, Output};

use aci_e2e::cli::{aci_host, root, text};

/// `aci-host ARGS` started by `sh -c 'LIMITS; exec aci-host ARGS'`.
fn under_limits(limits: &str, args: &[&str], state: &std::path::Path) -> Output {
    let direct = aci_host(args, state);
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(format!("{limits}; exec \"$0\" \"$@\""))
        .arg(direct.get_program())
        .args(direct.get_args())
        .current_dir(root());
    for (k, v) in direct.get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    cmd.output().expect("run sh")
}

fn assert_succeeded(out: &Output) {
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let v: serde_json::Value = serde_json::from_str(text(&out.stdout).trim()).unwrap();
    assert_eq!(v["state"], "success", "{v}");
}

#[test]
fn the_defaults_run_under_a_4_gb_address_space_limit() {
    let state = tempfile::tempdir().unwrap();
    let out = under_limits(
        "ulimit -v 4000000",
        &["run", "examples/hello.toml", "--local", "--json", "-vv"],
        state.path(),
    );
    assert_succeeded(&out);
    assert!(
        text(&out.stderr).contains("OnDemand"),
        "the pool would not fit, so instances are allocated on demand: {}",
        text(&out.stderr)
    );
}

#[test]
fn huge_max_parallel_values_do_not_overflow() {
    let state = tempfile::tempdir().unwrap();
    for n in ["20000", &usize::MAX.to_string()] {
        let out = aci_host(
            &[
                "run",
                "examples/hello.toml",
                "--local",
                "--json",
                "--max-parallel",
                n,
            ],
            state.path(),
        )
        .output()
        .unwrap();
        assert_succeeded(&out);
    }
}

#[test]
fn a_low_open_file_limit_is_raised_to_the_hard_one() {
    let state = tempfile::tempdir().unwrap();
    let out = under_limits(
        "ulimit -Sn 256",
        &["run", "examples/hello.toml", "--local", "--json", "-v"],
        state.path(),
    );
    assert_succeeded(&out);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("raised the open-file limit from 256 to"),
        "{stderr}"
    );
}
