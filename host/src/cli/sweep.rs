//! `aci-host sweep`: a thin CLI over the hook's `sweep` method.
//!
//! The host adds what only it knows: this machine and the processes running
//! on it (see [`crate::owner`]), so the plugin can tell a group whose owner
//! process still runs from one left behind by a process that was killed.
//! Output: one line per group of ours (`deleted`, `would delete`, `kept`,
//! `delete failed`, with the reason) and a summary, or with `--json` the
//! plugin's report as one JSON object. Exit status `0`, or `125` when a
//! deletion (or the sweep) failed.

use std::sync::Arc;

use serde_json::{json, Value};

use crate::runner::{classify_error, Runner, EXIT_OTHER};

use super::args::SweepArgs;
use super::hook::hook_env;
use super::Ui;

/// The hook method this command calls.
const METHOD: &str = "sweep";

/// Sweeps and prints the report.
pub async fn sweep_command(runner: &Arc<Runner>, args: SweepArgs, ui: &Ui) -> i32 {
    if runner
        .hook_interface()
        .and_then(|h| h.method(METHOD))
        .is_none()
    {
        return ui.fail("this plugin's hook has no `sweep` method");
    }
    let env = match hook_env(&args.conn, ui) {
        Ok(env) => env,
        Err(e) => return ui.fail(&e),
    };
    let masker = env.masker.clone();
    let options = json!({
        "conn_id": args.conn_id,
        "resource_group": args.resource_group,
        "older_than_secs": args.older_than,
        "dry_run": args.dry_run,
        "machine": crate::owner::this_machine(),
        "live_processes": crate::owner::this_machine().map(|_| crate::owner::live_processes()),
    });
    let report = match runner
        .hook(METHOD, json!({ "options": options }), env)
        .await
    {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => return ui.fail(&masker.mask(&classify_error(&e).message)),
        Err(trap) => return ui.fail(&masker.mask(&format!("plugin trapped: {trap:#}"))),
    };
    if args.json {
        ui.console.out_line(&masker.mask(&report.to_string()));
    } else {
        for line in report_lines(&report) {
            ui.console.line(&masker.mask(&line));
        }
    }
    match report["failed"].as_u64() {
        Some(0) => 0,
        _ => EXIT_OTHER,
    }
}

/// `deleted  rg/name: reason` per group, then the counts.
pub fn report_lines(report: &Value) -> Vec<String> {
    let mut lines: Vec<String> = report["groups"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|g| {
            format!(
                "{:<13} {}/{}: {}",
                g["action"].as_str().unwrap_or("?"),
                g["resource_group"].as_str().unwrap_or("?"),
                g["name"].as_str().unwrap_or("?"),
                g["reason"].as_str().unwrap_or("")
            )
        })
        .collect();
    let n = |k: &str| report[k].as_u64().unwrap_or(0);
    let verb = if report["dry_run"] == true {
        "would delete"
    } else {
        "deleted"
    };
    let mut summary = format!("{verb} {}, kept {}", n("deleted"), n("kept"));
    if n("failed") > 0 {
        summary.push_str(&format!(", {} failed", n("failed")));
    }
    summary.push_str(&format!(
        "; {} group(s) without our tags left alone",
        n("not_ours")
    ));
    lines.push(summary);
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::args::parse_duration;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("90"), Ok(90));
        assert_eq!(parse_duration("90s"), Ok(90));
        assert_eq!(parse_duration("30m"), Ok(1800));
        assert_eq!(parse_duration("1h30m"), Ok(5400));
        assert_eq!(parse_duration("2d"), Ok(172_800));
        for bad in ["", "h", "1x", "1h30", "-1", "99999999999999999999d"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_report_reads_as_lines() {
        let report = json!({
            "dry_run": true, "deleted": 1, "kept": 1, "failed": 0, "not_ours": 2,
            "groups": [
                {"action": "would delete", "resource_group": "rg", "name": "a", "reason": "gone"},
                {"action": "kept", "resource_group": "rg", "name": "b", "reason": "running"},
            ]
        });
        assert_eq!(
            report_lines(&report),
            [
                "would delete  rg/a: gone",
                "kept          rg/b: running",
                "would delete 1, kept 1; 2 group(s) without our tags left alone",
            ]
        );
    }
}
