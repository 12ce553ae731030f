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

/// Exit status 0 and `n` successful `--json` results.
fn assert_succeeded(out: &Output, n: usize) {
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let stdout = text(&out.stdout);
    let results: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(results.len(), n, "{stdout}");
    for v in results {
        assert_eq!(v["state"], "success", "{v}");
    }
}

/// As many one-second tasks as run at once by default (16).
fn sixteen_tasks(dir: &std::path::Path) -> String {
    for i in 0..16 {
        let task = format!(
            "task_id = \"t{i}\"\n[params]\nci_conn_id = \"azure_default\"\nresource_group = \"rg\"\n\
             name = \"limits-{i}\"\nimage = \"busybox\"\nregion = \"westeurope\"\n\
             command = [\"sh\", \"-c\", \"sleep 1; echo ok\"]\n"
        );
        std::fs::write(dir.join(format!("t{i:02}.toml")), task).unwrap();
    }
    dir.to_str().unwrap().to_string()
}

#[test]
fn the_defaults_run_under_a_4_gb_address_space_limit() {
    let state = tempfile::tempdir().unwrap();
    let tasks = tempfile::tempdir().unwrap();
    let out = under_limits(
        "ulimit -v 4000000",
        &[
            "run",
            &sixteen_tasks(tasks.path()),
            "--local",
            "--json",
            "-vv",
        ],
        state.path(),
    );
    assert_succeeded(&out, 16);
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
        assert_succeeded(&out, 1);
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
    assert_succeeded(&out, 1);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("raised the open-file limit from 256 to"),
        "{stderr}"
    );
}
