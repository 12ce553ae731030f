//! What a call needs from the host, declared before it runs: the connections a task
//! reads ([`connection_ids`]) and the origins and files each of them makes it contact
//! ([`task_plan`], [`hook_plan`]), and ARM's shared request budgets of each subscription
//! it calls ARM in ([`crate::arm::budget`]). The host grants exactly this and nothing else.
//!
//! Every decision is the one the plugin makes when it runs, taken from the same
//! functions, on the connections as the host shows them to `plan` (password and secret
//! extras replaced by `***`, their presence kept):
//!
//! | role | needs |
//! |---|---|
//! | ACI (`ci_conn_id`; every hook connection) | ARM, and where its credential's tokens come from ([`credential::choose`]): the Entra ID authority (client secret, `key_json`, certificate, workload identity), or IMDS over `http` (managed identity); the certificate file or federated token file it reads |
//! | ACI with `key_path` | the file, ARM and the authority of the connection's cloud (and overrides): the file's own endpoints are known only once it is read, so a file naming other endpoints needs them as `resource_manager_url` / `authority_host` extras (or `--allow-host`) |
//! | registry (`registry_conn_id`) | nothing with a password; else what ACR `listCredentials` needs (workload or managed identity, its ARM and token origins) |
//! | volume (each volume's connection) | what Storage `listKeys` needs whenever the connection names `subscription_id` and `resource_group` (even when its `connection_string` holds a key: the plan sees that redacted); else nothing |
//!
//! Cloud endpoints come from `cloud_environment` (ARM and authority of the public, US
//! Government or China cloud) and the `resource_manager_url`, `authority_host` and
//! `imds_endpoint` overrides ([`crate::arm::cloud`]); workload identity reads
//! `AZURE_FEDERATED_TOKEN_FILE`, `AZURE_CLIENT_ID`, `AZURE_TENANT_ID` and
//! `AZURE_AUTHORITY_HOST`, which the operator declares as its environment.

use serde_json::{Map, Value};

use crate::arm::budget;
use crate::auth::credential::{self, AuthSetup, Choice};
use crate::hook::{registry, volume};
use crate::params::Params;
use task_plugin_sdk::http::redact_query;
use task_plugin_sdk::{runtime, Connection, Error, Result, TaskPlan};

/// Reads an environment variable (the WASI environment in the component, a table in
/// tests).
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The connections a task reads: `ci_conn_id`, `registry_conn_id` (when given) and each
/// volume's connection, in that order, without repeats.
pub fn connection_ids(p: &Params) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    let all = std::iter::once(&p.ci_conn_id)
        .chain(p.registry_conn_id.as_ref())
        .chain(p.volumes.iter().map(|v| &v.conn_id));
    for id in all {
        if !ids.contains(id) {
            ids.push(id.clone());
        }
    }
    ids
}

/// What `execute`/`on-kill` of a task with params `p` needs, given its connections.
pub fn task_plan(p: &Params, connections: &[Connection], env: Env<'_>) -> Result<TaskPlan> {
    let mut plan = TaskPlan::default();
    let conn = |id: &str| {
        connections
            .iter()
            .find(|c| c.conn_id == id)
            .ok_or_else(|| Error::Internal(format!("the host did not pass connection `{id}`")))
    };
    add_aci(&mut plan, conn(&p.ci_conn_id)?, env)?;
    if let Some(id) = &p.registry_conn_id {
        add_registry(&mut plan, conn(id)?, env)?;
    }
    for v in &p.volumes {
        add_volume(&mut plan, conn(&v.conn_id)?, env)?;
    }
    Ok(plan)
}

/// What a hook call needs: each connection is an ACI connection.
pub fn hook_plan(connections: &[Connection], env: Env<'_>) -> Result<TaskPlan> {
    let mut plan = TaskPlan::default();
    for c in connections {
        add_aci(&mut plan, c, env)?;
    }
    Ok(plan)
}

/// An ACI connection: ARM and its credential's token endpoint and files.
fn add_aci(plan: &mut TaskPlan, conn: &Connection, env: Env<'_>) -> Result<()> {
    let extras = runtime::extras(conn);
    match credential::choose(conn, &extras, env).map_err(Error::Connection)? {
        Choice::Ready(setup) => add_setup(plan, conn, &setup),
        Choice::KeyPath {
            path,
            endpoints,
            subscription_id,
            ..
        } => {
            plan.add_file(&path);
            // The file's subscription wins when it names one; known only later.
            budget::add_to_plan(plan, subscription_id.as_deref());
            add_urls(
                plan,
                conn,
                &[&endpoints.resource_manager, &endpoints.authority],
            )
        }
    }
}

/// A registry connection: nothing with a password, else ACR `listCredentials`.
fn add_registry(plan: &mut TaskPlan, conn: &Connection, env: Env<'_>) -> Result<()> {
    if registry::static_credential(conn)?.is_some() {
        return Ok(());
    }
    let extras = runtime::extras(conn);
    registry::list_credentials_group(conn, &extras)?;
    add_default_credential(plan, conn, &extras, env)
}

/// A volume connection: Storage `listKeys` when it names a subscription and a group.
fn add_volume(plan: &mut TaskPlan, conn: &Connection, env: Env<'_>) -> Result<()> {
    let extras = runtime::extras(conn);
    match volume::list_keys_target(&extras) {
        Some(_) => add_default_credential(plan, conn, &extras, env),
        None => Ok(()),
    }
}

/// The registry's and volume's ARM fallback: `DefaultAzureCredential`.
fn add_default_credential(
    plan: &mut TaskPlan,
    conn: &Connection,
    extras: &Map<String, Value>,
    env: Env<'_>,
) -> Result<()> {
    let setup = credential::select_default(conn, extras, env).map_err(Error::Connection)?;
    add_setup(plan, conn, &setup)
}

fn add_setup(plan: &mut TaskPlan, conn: &Connection, setup: &AuthSetup) -> Result<()> {
    for f in setup.credential.files() {
        plan.add_file(f);
    }
    budget::add_to_plan(plan, setup.subscription_id.as_deref());
    add_urls(plan, conn, &setup.urls())
}

fn add_urls(plan: &mut TaskPlan, conn: &Connection, urls: &[&str]) -> Result<()> {
    for url in urls {
        plan.add_url(url).map_err(|e| {
            Error::Connection(format!(
                "connection `{}`: endpoint `{}`: {e}",
                conn.conn_id,
                redact_query(url)
            ))
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
