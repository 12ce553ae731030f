//! `hook METHOD [FLAGS]`: the hook's methods, with `aci-host hook`'s flags
//! and output (the answer as JSON on stdout, a JSON document parsed; an
//! error on stderr with its exit status).

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::bindings::aci::cli::session;
use crate::bindings::aci::container_instance::container_instance_hook as hook;
use crate::bindings::orchestrator::task::task_operator as operator;
use crate::report::classify;
use crate::{fail, EXIT_USAGE};

use hook::{GroupRef, SweepOptions, TaskError};

/// The methods and the flags each takes (`target` = `--conn-id`,
/// `--resource-group`, `--name`).
const METHODS: &[(&str, &str)] = &[
    ("create-or-update", "target --container-group FILE [--wait]"),
    ("get-state", "target"),
    ("get-logs", "target [--tail N]"),
    ("delete", "target [--wait]"),
    ("exists", "target"),
    ("test-connection", "[--conn-id ID]"),
    ("get-state-exitcode-details", "target"),
    ("get-messages", "target"),
    ("stop", "target"),
    ("start", "target"),
    ("restart", "target"),
    ("list", "[--conn-id ID] [--resource-group RG]"),
    (
        "sweep",
        "[--conn-id ID] [--resource-group RG] [--older-than-secs N] [--dry-run] [--machine M] [--live-processes JSON]",
    ),
];

/// Flags that take no value.
const SWITCHES: &[&str] = &["wait", "dry-run"];
/// Flags that take a value.
const VALUED: &[&str] = &[
    "conn-id",
    "resource-group",
    "name",
    "tail",
    "container-group",
    "older-than-secs",
    "machine",
    "live-processes",
];

/// Runs `hook METHOD [FLAGS]` (`args` starts at the method).
pub fn command(args: &[String]) -> i32 {
    let Some(method) = args.first().map(String::as_str) else {
        return usage("a method is required");
    };
    if matches!(method, "help" | "--help" | "-h") {
        println!("{}", help());
        return 0;
    }
    if !METHODS.iter().any(|(m, _)| *m == method) {
        return usage(&format!("unknown hook method `{method}`"));
    }
    let flags = match Flags::parse(&args[1..]) {
        Ok(f) => f,
        Err(e) => return usage(&e),
    };
    crate::grant::hook(&operator::describe(), flags.conn_id());
    match call(method, &flags) {
        Ok(Ok(answer)) => {
            println!("{}", session::mask(&answer.to_string()));
            0
        }
        Ok(Err(e)) => {
            let c = classify(&e);
            eprintln!("error: {}", session::mask(&c.message));
            c.exit_status
        }
        Err(e) => fail(&e),
    }
}

/// Calls the method; the outer error is a flag or input problem.
fn call(method: &str, f: &Flags) -> Result<Result<Value, TaskError>, String> {
    let conn = f.conn_id();
    Ok(match method {
        "test-connection" => {
            let (ok, message) = hook::test_connection(conn);
            Ok(json!([ok, message]))
        }
        "list" => hook::list(conn, f.get("resource-group")).map(|s| document(&s)),
        "create-or-update" => {
            let body = read_document(f.required("container-group")?)?;
            hook::create_or_update(&f.target()?, &body, f.switch("wait")).map(|s| document(&s))
        }
        "get-state" => hook::get_state(&f.target()?).map(|s| document(&s)),
        "get-logs" => {
            let tail = f
                .get("tail")
                .map(|t| {
                    t.parse::<u32>()
                        .map_err(|_| format!("--tail: `{t}` is not a number"))
                })
                .transpose()?;
            hook::get_logs(&f.target()?, tail).map(|lines| json!(lines))
        }
        "delete" => hook::delete(&f.target()?, f.switch("wait")).map(|b| json!(b)),
        "exists" => hook::exists(&f.target()?).map(|b| json!(b)),
        "get-state-exitcode-details" => hook::get_state_exitcode_details(&f.target()?)
            .map(|(state, code, detail)| json!([state, code, detail])),
        "get-messages" => hook::get_messages(&f.target()?).map(|m| json!(m)),
        "stop" => hook::stop(&f.target()?).map(|()| Value::Null),
        "start" => hook::start(&f.target()?).map(|()| Value::Null),
        "restart" => hook::restart(&f.target()?).map(|()| Value::Null),
        "sweep" => hook::sweep(&f.sweep_options()?).map(|s| document(&s)),
        other => return Err(format!("unknown hook method `{other}`")),
    })
}

/// A string answer holding a JSON object or array, parsed; else the string.
fn document(s: &str) -> Value {
    serde_json::from_str::<Value>(s)
        .ok()
        .filter(|d| d.is_object() || d.is_array())
        .unwrap_or_else(|| Value::String(s.to_string()))
}

/// A JSON document from a file (`-`: stdin).
fn read_document(path: &str) -> Result<String, String> {
    let text = if path == "-" {
        std::io::read_to_string(std::io::stdin()).map_err(|e| format!("stdin: {e}"))?
    } else {
        std::fs::read_to_string(path).map_err(|e| {
            format!("cannot read {path}: {e} (the component sees only the directories given to the runtime, e.g. `wasmtime run --dir .`)")
        })?
    };
    serde_json::from_str::<Value>(&text).map_err(|e| format!("{path} is not JSON: {e}"))?;
    Ok(text)
}

/// The parsed flags of one call.
struct Flags(BTreeMap<String, Option<String>>);

impl Flags {
    /// `--flag value`, `--flag=value` and switches.
    fn parse(args: &[String]) -> Result<Flags, String> {
        let mut out = BTreeMap::new();
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            let Some(flag) = arg.strip_prefix("--") else {
                return Err(format!("unexpected argument `{arg}`"));
            };
            let (name, inline) = match flag.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (flag, None),
            };
            let value = if SWITCHES.contains(&name) {
                None
            } else if VALUED.contains(&name) {
                Some(match inline {
                    Some(v) => v,
                    None => it
                        .next()
                        .cloned()
                        .ok_or(format!("--{name} needs a value"))?,
                })
            } else {
                return Err(format!("unknown flag `--{name}`"));
            };
            out.insert(name.to_string(), value);
        }
        Ok(Flags(out))
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(|v| v.as_deref())
    }

    fn switch(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    fn required(&self, name: &str) -> Result<&str, String> {
        self.get(name).ok_or(format!("--{name} is required"))
    }

    /// `--conn-id`, Airflow's default Azure connection when not given.
    fn conn_id(&self) -> &str {
        self.get("conn-id").unwrap_or("azure_default")
    }

    /// `sweep`'s options, as `aci-host hook sweep` takes them (a stock
    /// runtime cannot see the machine's processes: pass `--machine` and
    /// `--live-processes` to let it judge owners).
    fn sweep_options(&self) -> Result<SweepOptions, String> {
        let older_than_secs = self
            .get("older-than-secs")
            .map(|t| {
                t.parse::<u64>()
                    .map_err(|_| format!("--older-than-secs: `{t}` is not a number"))
            })
            .transpose()?;
        let live_processes = self
            .get("live-processes")
            .map(|t| {
                serde_json::from_str::<Vec<String>>(t)
                    .map_err(|_| format!("--live-processes: `{t}` is not a JSON list of strings"))
            })
            .transpose()?;
        Ok(SweepOptions {
            conn_id: self.conn_id().to_string(),
            resource_group: self.get("resource-group").map(String::from),
            older_than_secs,
            dry_run: self.switch("dry-run"),
            machine: self.get("machine").map(String::from),
            live_processes,
        })
    }

    fn target(&self) -> Result<GroupRef, String> {
        Ok(GroupRef {
            conn_id: self.conn_id().to_string(),
            resource_group: self.required("resource-group")?.to_string(),
            name: self.required("name")?.to_string(),
        })
    }
}

/// A usage error: the message and the methods, exit status 2.
fn usage(message: &str) -> i32 {
    eprintln!("error: {message}\n\n{}", help());
    EXIT_USAGE
}

/// The methods and their flags.
fn help() -> String {
    let mut out = String::from(
        "usage: aci-cli hook METHOD [FLAGS]  (target = --resource-group RG --name NAME [--conn-id ID], default conn azure_default)\n\nmethods:\n",
    );
    for (m, flags) in METHODS {
        out.push_str(&format!("  {m:<28} {flags}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn flags_take_values_switches_and_equals() {
        let f = Flags::parse(&args("--resource-group rg --name=n --wait --tail 5")).unwrap();
        assert_eq!(
            (f.get("resource-group"), f.get("name"), f.get("tail")),
            (Some("rg"), Some("n"), Some("5"))
        );
        assert!(f.switch("wait"));
        assert_eq!(f.conn_id(), "azure_default");
        let t = f.target().unwrap();
        assert_eq!((t.resource_group.as_str(), t.name.as_str()), ("rg", "n"));
    }

    #[test]
    fn bad_flags_are_named() {
        for (a, want) in [
            ("--nope 1", "unknown flag `--nope`"),
            ("--name", "--name needs a value"),
            ("stray", "unexpected argument `stray`"),
        ] {
            assert_eq!(Flags::parse(&args(a)).err().unwrap(), want);
        }
        assert_eq!(
            Flags::parse(&[]).unwrap().target().err().unwrap(),
            "--resource-group is required"
        );
    }

    #[test]
    fn sweep_takes_aci_hosts_flags() {
        let f = Flags::parse(&args(
            r#"--resource-group rg --older-than-secs 60 --dry-run --live-processes ["1:2"]"#,
        ))
        .unwrap();
        let o = f.sweep_options().unwrap();
        assert_eq!(
            (o.resource_group.as_deref(), o.older_than_secs, o.dry_run),
            (Some("rg"), Some(60), true)
        );
        assert_eq!(o.live_processes, Some(vec!["1:2".to_string()]));
        assert_eq!((o.conn_id.as_str(), o.machine), ("azure_default", None));
        let bad = Flags::parse(&args("--older-than-secs soon")).unwrap();
        assert!(bad.sweep_options().is_err());
    }

    #[test]
    fn documents_are_parsed_other_strings_kept() {
        assert_eq!(document(r#"{"a": 1}"#), json!({"a": 1}));
        assert_eq!(document("[1]"), json!([1]));
        assert_eq!(document("12"), json!("12"));
    }
}
