//! What one call of a plugin may use, fixed before it runs: a [`Grant`].
//!
//! A grant is derived from the operator's own declaration (see
//! `crate::runner`): the connection ids the call reads, the origins, files
//! and shared rate budgets its plan needs, the environment variables the
//! operator reads; plus the
//! origins the user added with `--allow-host`. The host enforces it at three
//! places: `runtime.get-connection` (any other id is `denied`), the wasi-http
//! send hook (any other origin is denied, see [`crate::policy`]) and
//! `runtime.read-granted-file` (any other path is `denied`); only the declared
//! variables that are set reach the plugin's environment.
//!
//! # JSON form
//!
//! What `aci-host validate TASK --explain --json` prints and `--grant FILE`
//! reads; another host enforces the same policy from it. Every list is sorted
//! and without repeats; origins are written `scheme://host:port` (IPv6 hosts in
//! brackets):
//!
//! ```json
//! {"connections": ["my_conn"],
//!  "origins": ["https://login.example.com:443", "https://api.example.com:443"],
//!  "allow_hosts": [],
//!  "files": [],
//!  "environment": ["HOME_REGION"],
//!  "budgets": [{"key": "api/reads", "class": "api-reads", "capacity": 250, "refill_per_second": 25.0}]}
//! ```
//!
//! - `origins`: what the operator declared; `allow_hosts`: what the user added
//!   (`--allow-host`). A request may go to an origin of either list.
//! - `files`: paths the plugin may read through the host.
//! - `environment`: variable names the plugin may see (their values are not
//!   part of the grant; the host passes those that are set).
//! - `budgets`: the shared rate budgets the plugin may draw on through
//!   `runtime.acquire-budget` / `pause-budget` (sorted by key), with the
//!   remote service's limits as declared (the host takes its share of them,
//!   or the user's `--budget` for the class; see [`crate::budget`]).
//!
//! Missing fields read as empty lists; unknown fields are ignored.
//!
//! # Pinning a reviewed grant
//!
//! [`Grant::covers`] / [`Grant::beyond`] compare a task's grant with a grant a
//! user reviewed (`--grant FILE`): the declared parts (connections, origins,
//! files, environment) must all be within the reviewed grant (its origins or
//! allow-hosts). The task's own `allow_hosts` are not compared: they are the
//! user's choice on the command line, not the plugin's; nor are `budgets`:
//! a budget limits the call's requests and reaches nothing.

use std::collections::BTreeSet;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::policy::{AllowRule, OutboundPolicy};

/// A shared rate budget a call may draw on, as its plan declared it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GrantedBudget {
    /// The shared bucket's key.
    pub key: String,
    /// Its class (what `--budget CLASS=…` configures).
    pub class: String,
    /// The remote bucket's capacity.
    pub capacity: u32,
    /// The remote bucket's refill rate, tokens per second.
    pub refill_per_second: f64,
}

/// What one call of a plugin may use (see [the module docs](self)).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Grant {
    /// Connection ids the call may read.
    pub connections: BTreeSet<String>,
    /// Origins the operator declared.
    pub origins: BTreeSet<AllowRule>,
    /// Origins the user added (`--allow-host`).
    pub allow_hosts: BTreeSet<AllowRule>,
    /// Files the call may read.
    pub files: BTreeSet<String>,
    /// Names of the host environment variables the call may see.
    pub environment: BTreeSet<String>,
    /// Shared rate budgets the call may draw on, sorted by key, one per key.
    pub budgets: Vec<GrantedBudget>,
}

impl Grant {
    /// The outbound policy of this grant: its origins and allow-hosts.
    pub fn policy(&self) -> OutboundPolicy {
        OutboundPolicy::allowing(self.origins.iter().chain(&self.allow_hosts).cloned())
    }

    /// True when everything `other` declares is within this grant (see
    /// [the module docs](self#pinning-a-reviewed-grant)).
    pub fn covers(&self, other: &Grant) -> bool {
        self.beyond(other).is_empty()
    }

    /// What `other` declares beyond this grant, one item per line
    /// (`connection \`pg\``, `origin \`https://evil.example:443\``, ...).
    pub fn beyond(&self, other: &Grant) -> Vec<String> {
        let mut out = Vec::new();
        let missing = |kind: &str, items: Vec<String>, out: &mut Vec<String>| {
            out.extend(items.into_iter().map(|i| format!("{kind} `{i}`")));
        };
        missing(
            "connection",
            other
                .connections
                .difference(&self.connections)
                .cloned()
                .collect(),
            &mut out,
        );
        let reviewed: BTreeSet<&AllowRule> = self.origins.iter().chain(&self.allow_hosts).collect();
        missing(
            "origin",
            other
                .origins
                .iter()
                .filter(|o| !reviewed.contains(o))
                .map(|o| o.to_string())
                .collect(),
            &mut out,
        );
        missing(
            "file",
            other.files.difference(&self.files).cloned().collect(),
            &mut out,
        );
        missing(
            "environment variable",
            other
                .environment
                .difference(&self.environment)
                .cloned()
                .collect(),
            &mut out,
        );
        out
    }

    /// Why a call with grant `declared` may not run under this reviewed grant,
    /// or `None` when it may.
    pub fn refusal(&self, declared: &Grant) -> Option<String> {
        let beyond = self.beyond(declared);
        (!beyond.is_empty()).then(|| {
            format!(
                "the task's grant goes beyond the pinned grant (--grant): {}; review it with `validate --explain` and pin it again if intended",
                beyond.join(", ")
            )
        })
    }

    /// The JSON form.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    /// Parses the JSON form.
    pub fn from_json(text: &str) -> Result<Grant, String> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("not a grant: {e}"))?;
        if !value.is_object() {
            return Err("not a grant: expected a JSON object".into());
        }
        let mut grant: Grant =
            serde_json::from_value(value).map_err(|e| format!("not a grant: {e}"))?;
        grant.budgets = sorted_budgets(std::mem::take(&mut grant.budgets))?;
        Ok(grant)
    }

    /// Reads a grant file (the JSON form).
    pub fn load(path: &Path) -> Result<Grant, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Grant::from_json(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// The text form, one line per item, for people:
    ///
    /// ```text
    /// connections: my_conn
    /// origin:      https://login.example.com:443
    /// origin:      http://127.0.0.1:8080 (--allow-host)
    /// files:       none
    /// environment: HOME_REGION (passed when set)
    /// ```
    pub fn lines(&self) -> Vec<String> {
        let list = |items: Vec<String>| match items.is_empty() {
            true => "none".to_string(),
            false => items.join(", "),
        };
        let mut out = vec![format!(
            "connections: {}",
            list(self.connections.iter().cloned().collect())
        )];
        let declared = self.origins.iter().map(|o| o.to_string());
        let added = self
            .allow_hosts
            .iter()
            .filter(|o| !self.origins.contains(o))
            .map(|o| format!("{o} (--allow-host)"));
        let origins: Vec<String> = declared.chain(added).collect();
        if origins.is_empty() {
            out.push("origins:     none".into());
        }
        out.extend(origins.iter().map(|o| format!("origin:      {o}")));
        out.push(format!(
            "files:       {}",
            list(self.files.iter().cloned().collect())
        ));
        let env = list(self.environment.iter().cloned().collect());
        let note = if self.environment.is_empty() {
            ""
        } else {
            " (passed when set)"
        };
        out.push(format!("environment: {env}{note}"));
        if self.budgets.is_empty() {
            out.push("budgets:     none".into());
        }
        out.extend(self.budgets.iter().map(|b| {
            format!(
                "budget:      {} ({}, {}/{} per s)",
                b.key, b.class, b.capacity, b.refill_per_second
            )
        }));
        out
    }
}

/// `budgets` sorted by key, one per key, each with a usable limit.
pub fn sorted_budgets(mut budgets: Vec<GrantedBudget>) -> Result<Vec<GrantedBudget>, String> {
    budgets.sort_by(|a, b| a.key.cmp(&b.key));
    budgets.dedup_by(|a, b| a.key == b.key);
    for b in &budgets {
        if b.key.trim().is_empty() || b.class.trim().is_empty() {
            return Err(format!("budget `{}`: empty key or class", b.key));
        }
        if b.capacity == 0 || !(b.refill_per_second.is_finite() && b.refill_per_second > 0.0) {
            return Err(format!(
                "budget `{}`: capacity {} / rate {} is not a usable limit",
                b.key, b.capacity, b.refill_per_second
            ));
        }
    }
    Ok(budgets)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(s: &str) -> AllowRule {
        AllowRule::parse(s).unwrap()
    }

    fn sample() -> Grant {
        Grant {
            connections: ["b_conn".to_string(), "a_conn".to_string()].into(),
            origins: [
                origin("https://login.example.com"),
                origin("https://api.example.com"),
                origin("http://10.0.0.9"),
            ]
            .into(),
            allow_hosts: [origin("http://127.0.0.1:8080")].into(),
            files: ["/var/run/token".to_string()].into(),
            environment: ["HOME_REGION".to_string()].into(),
            budgets: vec![GrantedBudget {
                key: "api/reads".into(),
                class: "api-reads".into(),
                capacity: 250,
                refill_per_second: 25.0,
            }],
        }
    }

    #[test]
    fn json_round_trip_sorted_and_deduplicated() {
        let g = sample();
        let json = g.to_json();
        assert_eq!(
            json,
            serde_json::json!({
                "connections": ["a_conn", "b_conn"],
                "origins": ["http://10.0.0.9:80", "https://api.example.com:443", "https://login.example.com:443"],
                "allow_hosts": ["http://127.0.0.1:8080"],
                "files": ["/var/run/token"],
                "environment": ["HOME_REGION"],
                "budgets": [{"key": "api/reads", "class": "api-reads", "capacity": 250, "refill_per_second": 25.0}],
            })
        );
        assert_eq!(Grant::from_json(&json.to_string()).unwrap(), g);
        // Repeats collapse; missing fields are empty; unknown ones ignored.
        let g = Grant::from_json(
            r#"{"connections": ["x", "x"], "origins": ["https://h", "https://h:443"], "later": 1}"#,
        )
        .unwrap();
        assert_eq!(g.connections.len(), 1);
        assert_eq!(g.origins.len(), 1);
        assert!(g.files.is_empty() && g.environment.is_empty() && g.allow_hosts.is_empty());
        assert!(g.budgets.is_empty());
        let g = Grant::from_json(
            r#"{"budgets": [{"key": "b", "class": "c", "capacity": 1, "refill_per_second": 1},
                            {"key": "a", "class": "c", "capacity": 2, "refill_per_second": 0.5},
                            {"key": "b", "class": "c", "capacity": 3, "refill_per_second": 1}]}"#,
        )
        .unwrap();
        let keys: Vec<&str> = g.budgets.iter().map(|b| b.key.as_str()).collect();
        assert_eq!(keys, ["a", "b"]);
        for bad in [
            r#"{"budgets": [{"key": "a", "class": "c", "capacity": 0, "refill_per_second": 1}]}"#,
            r#"{"budgets": [{"key": "a", "class": "c", "capacity": 1, "refill_per_second": 0}]}"#,
            r#"{"budgets": [{"key": "", "class": "c", "capacity": 1, "refill_per_second": 1}]}"#,
            r#"{"budgets": [{"key": "a"}]}"#,
        ] {
            assert!(Grant::from_json(bad).is_err(), "{bad}");
        }
        for bad in [
            r#"{"origins": ["api.example.com"]}"#,
            r#"{"origins": ["ftp://h"]}"#,
            r#"{"origins": ["https://*.example.com"]}"#,
            r#"{"connections": "x"}"#,
            "[]",
        ] {
            assert!(Grant::from_json(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn covers_compares_the_declared_parts() {
        let reviewed = sample();
        assert!(reviewed.covers(&reviewed));
        assert!(reviewed.covers(&Grant::default()));
        // An origin the reviewed grant allowed through --allow-host is covered.
        let mut g = Grant::default();
        g.origins.insert(origin("http://127.0.0.1:8080"));
        assert!(reviewed.covers(&g));
        // The task's own --allow-host entries are not the plugin's reach.
        let mut g = Grant::default();
        g.allow_hosts.insert(origin("https://other.example"));
        assert!(reviewed.covers(&g));
        // Each part can exceed on its own.
        let wider = |f: &dyn Fn(&mut Grant)| {
            let mut g = reviewed.clone();
            f(&mut g);
            reviewed.beyond(&g)
        };
        assert_eq!(
            wider(&|g| {
                g.connections.insert("pg".into());
            }),
            ["connection `pg`"]
        );
        assert_eq!(
            wider(&|g| {
                g.origins.insert(origin("https://evil.example"));
            }),
            ["origin `https://evil.example:443`"]
        );
        assert_eq!(
            wider(&|g| {
                g.origins.insert(origin("https://api.example.com:8443"));
            }),
            ["origin `https://api.example.com:8443`"]
        );
        assert_eq!(
            wider(&|g| {
                g.files.insert("/etc/passwd".into());
            }),
            ["file `/etc/passwd`"]
        );
        assert_eq!(
            wider(&|g| {
                g.environment.insert("HOME".into());
            }),
            ["environment variable `HOME`"]
        );
        let refusal = reviewed
            .refusal(&Grant {
                connections: ["pg".to_string()].into(),
                ..Grant::default()
            })
            .unwrap();
        assert!(
            refusal.contains("connection `pg`") && refusal.contains("--grant"),
            "{refusal}"
        );
        assert_eq!(reviewed.refusal(&reviewed), None);
    }

    #[test]
    fn policy_allows_origins_and_allow_hosts_only() {
        use crate::policy::{Decision, RequestFacts};
        let p = sample().policy();
        let facts = |scheme, authority| RequestFacts {
            scheme,
            authority,
            credential_header: false,
            may_have_body: false,
        };
        assert_eq!(p.check(&facts("https", "api.example.com")), Decision::Allow);
        assert_eq!(p.check(&facts("http", "127.0.0.1:8080")), Decision::Allow);
        assert!(matches!(
            p.check(&facts("https", "evil.example")),
            Decision::Deny(_)
        ));
    }

    #[test]
    fn text_form_marks_what_the_user_added() {
        assert_eq!(
            sample().lines(),
            [
                "connections: a_conn, b_conn",
                "origin:      http://10.0.0.9:80",
                "origin:      https://api.example.com:443",
                "origin:      https://login.example.com:443",
                "origin:      http://127.0.0.1:8080 (--allow-host)",
                "files:       /var/run/token",
                "environment: HOME_REGION (passed when set)",
                "budget:      api/reads (api-reads, 250/25 per s)",
            ]
        );
        assert_eq!(
            Grant::default().lines(),
            [
                "connections: none",
                "origins:     none",
                "files:       none",
                "environment: none",
                "budgets:     none"
            ]
        );
    }
}
