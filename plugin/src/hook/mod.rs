//! Airflow's `AzureContainerInstanceHook` over ARM, plus the registry and volume hooks it
//! works with ([`registry`], [`volume`]).
//!
//! One [`AciHook`] per connection: it holds the ARM client and its token cache, so every
//! method after the first reuses the token. Requests per call (with a cached token, no
//! retries): `get_state`, `exists`, `get_logs`, `stop`, `start`, `restart`: 1;
//! `create_or_update`: 1 (+ polls and a final GET with `wait`); `delete`: 1 (+ polls with
//! `wait` on a `202`); `list`: 1 per page; `test_connection`: 1. The first call also makes
//! one token request.

pub mod logs;
pub mod registry;
pub mod setup;
pub mod state;
pub mod sweep;
pub mod volume;

use std::cell::Cell;
use std::rc::Rc;

use crate::arm::client::parse_json;
use crate::arm::errors::remote_error;
use crate::arm::lro::{self, PollPolicy};
use crate::arm::models::{is_terminal_state, ContainerGroup, ContainerGroupListResult, Logs};
use crate::arm::ArmClient;
use crate::auth::credential;
use task_plugin_sdk::http::{self, Method, Response};
use task_plugin_sdk::{runtime, Connection};
use task_plugin_sdk::{Error, Result};

/// ARM provider path of container groups.
pub const CONTAINER_GROUPS: &str = "Microsoft.ContainerInstance/containerGroups";
/// What `test_connection` answers on success (Airflow's wording).
pub const CONNECTION_OK: &str = "Successfully connected to Azure Container Instance.";
/// Default `tail` of `get_logs` (Airflow's).
pub const DEFAULT_TAIL: u32 = 1000;
/// Most pages `list` follows.
pub const MAX_LIST_PAGES: usize = 100;

/// The ACI hook for one connection.
#[derive(Debug)]
pub struct AciHook {
    client: ArmClient,
    poll: PollPolicy,
}

impl AciHook {
    /// Resolves connection `conn_id` through the host and picks its credential (Airflow's
    /// `get_conn` order). Makes no network request.
    pub fn new(conn_id: &str) -> Result<AciHook> {
        let conn = runtime::connection(conn_id)?;
        AciHook::from_connection(&conn)
    }

    /// Like [`AciHook::new`] for an already resolved connection.
    pub fn from_connection(conn: &Connection) -> Result<AciHook> {
        let extras = runtime::extras(conn);
        let setup = credential::select(conn, &extras, &setup::env_var, &setup::read_file)
            .map_err(Error::Connection)?;
        setup::log_setup(&setup);
        let client = setup::client(
            conn,
            &setup,
            setup.subscription_id.as_deref(),
            "subscriptionId",
            Rc::new(Cell::new(0)),
        )?;
        Ok(AciHook {
            client,
            poll: PollPolicy::default(),
        })
    }

    /// The subscription the hook works in.
    pub fn subscription_id(&self) -> &str {
        self.client.subscription_id()
    }

    /// The ARM client (endpoints, token provider).
    pub fn client(&self) -> &ArmClient {
        &self.client
    }

    /// Changes how long-running operations are polled.
    pub fn set_poll_policy(&mut self, poll: PollPolicy) {
        self.poll = poll;
    }

    /// HTTP requests this hook made (ARM and token, retries included).
    pub fn request_count(&self) -> u64 {
        self.client.request_count()
    }

    fn api_version(&self) -> &str {
        &self.client.endpoints().api_version
    }

    fn group_path(&self, resource_group: &str, name: &str) -> String {
        format!(
            "{}/{}",
            self.client.provider_path(resource_group, CONTAINER_GROUPS),
            http::encode_component(name)
        )
    }

    /// URL of a container group (or one of its sub-resources, `suffix` starting with `/`).
    fn group_url(
        &self,
        resource_group: &str,
        name: &str,
        suffix: &str,
        query: &[(&str, &str)],
    ) -> String {
        self.client.url(
            &format!("{}{suffix}", self.group_path(resource_group, name)),
            self.api_version(),
            query,
        )
    }

    /// Creates or updates a group (PUT). With `wait`, follows the operation until it is
    /// terminal and returns the group as a final GET reads it (failed provisioning is an
    /// error); otherwise returns ARM's answer to the PUT.
    pub fn create_or_update(
        &self,
        resource_group: &str,
        name: &str,
        group: &ContainerGroup,
        wait: bool,
    ) -> Result<ContainerGroup> {
        let url = self.group_url(resource_group, name, "", &[]);
        let body = serde_json::to_vec(group)
            .map_err(|e| Error::Internal(format!("cannot serialise the container group: {e}")))?;
        let resp = self.client.send(Method::Put, &url, Some(&body))?;
        let accepted: ContainerGroup = parse_json(&resp, &url)?;
        if !wait {
            return Ok(accepted);
        }
        match accepted.provisioning_state() {
            Some(s) if s.eq_ignore_ascii_case("Succeeded") => {}
            Some(s) if is_terminal_state(s) => return Err(lro::provisioning_error(&accepted)),
            _ => lro::wait(
                &self.client,
                &resp,
                &url,
                false,
                self.poll,
                &format!("creation of container group `{name}`"),
            )?,
        }
        self.get_state(resource_group, name)
    }

    /// Reads a group with its instance views (one GET).
    pub fn get_state(&self, resource_group: &str, name: &str) -> Result<ContainerGroup> {
        let url = self.group_url(resource_group, name, "", &[]);
        self.client.send_json(Method::Get, &url, None)
    }

    /// The last `tail` lines (default 1000) of the container named like the group, each
    /// with its line ending; no content gives no lines (Airflow's `get_logs`).
    pub fn get_logs(
        &self,
        resource_group: &str,
        name: &str,
        tail: Option<u32>,
    ) -> Result<Vec<String>> {
        let content = self.get_logs_raw(
            resource_group,
            name,
            name,
            Some(tail.unwrap_or(DEFAULT_TAIL)),
            false,
        )?;
        Ok(logs::split_lines(content.as_deref()))
    }

    /// The raw log content of `container` (`None` when ARM has none): the last `tail` lines
    /// (all when `None`), with timestamps when asked. `409 ContainerGroupTransitioning`
    /// (logs asked for while the group is provisioning) is returned at once, not retried.
    pub fn get_logs_raw(
        &self,
        resource_group: &str,
        name: &str,
        container: &str,
        tail: Option<u32>,
        timestamps: bool,
    ) -> Result<Option<String>> {
        let tail_s = tail.map(|t| t.to_string());
        let mut query: Vec<(&str, &str)> = Vec::new();
        if let Some(t) = &tail_s {
            query.push(("tail", t));
        }
        if timestamps {
            query.push(("timestamps", "true"));
        }
        let url = self.group_url(
            resource_group,
            name,
            &format!("/containers/{}/logs", http::encode_component(container)),
            &query,
        );
        // While the group is provisioning ARM answers 409 ContainerGroupTransitioning; log
        // readers poll anyway, so that is reported at once rather than retried here.
        let resp = self
            .client
            .send_fail_fast_on_transition(Method::Get, &url)?;
        let logs: Logs = parse_json(&resp, &url)?;
        Ok(logs.content)
    }

    /// Deletes a group: `true` when it existed (`200`/`202`), `false` when it did not
    /// (`204`/`404`). With `wait`, returns only once ARM reports it gone.
    pub fn delete(&self, resource_group: &str, name: &str, wait: bool) -> Result<bool> {
        let url = self.group_url(resource_group, name, "", &[]);
        let sent = self.client.send_raw(Method::Delete, &url, None)?;
        let note = sent.give_up_note();
        let resp = sent.response;
        match resp.status {
            204 | 404 => Ok(false),
            200..=202 => {
                if wait {
                    self.wait_deleted(&resp, &url, name)?;
                }
                Ok(true)
            }
            _ => Err(remote_error(&resp, &note)),
        }
    }

    fn wait_deleted(&self, resp: &Response, url: &str, name: &str) -> Result<()> {
        let what = format!("deletion of container group `{name}`");
        let still_deleting = |r: &Response| {
            r.status == 202
                || r.json::<ContainerGroup>()
                    .ok()
                    .and_then(|g| g.properties.provisioning_state)
                    .is_some_and(|s| s.eq_ignore_ascii_case("Deleting"))
        };
        if !still_deleting(resp) {
            return Ok(());
        }
        if resp.status == 202 {
            lro::wait(&self.client, resp, url, true, self.poll, &what)?;
        }
        // Confirm with GET → 404 (polling the resource).
        if !self.exists_at(url)? {
            return Ok(());
        }
        let poll_resource = Response {
            status: 202,
            headers: Vec::new(),
            body: Vec::new(),
        };
        lro::wait(&self.client, &poll_resource, url, true, self.poll, &what)
    }

    /// One GET: `true` when the group exists, `false` on `404`; other errors propagate.
    pub fn exists(&self, resource_group: &str, name: &str) -> Result<bool> {
        self.exists_at(&self.group_url(resource_group, name, "", &[]))
    }

    fn exists_at(&self, url: &str) -> Result<bool> {
        let sent = self.client.send_raw(Method::Get, url, None)?;
        match sent.response.status {
            200..=299 => Ok(true),
            404 => Ok(false),
            _ => Err(remote_error(&sent.response, &sent.give_up_note())),
        }
    }

    fn post_action(&self, resource_group: &str, name: &str, action: &str) -> Result<()> {
        let url = self.group_url(resource_group, name, &format!("/{action}"), &[]);
        self.client.send(Method::Post, &url, None).map(|_| ())
    }

    /// Stops the group's containers (`POST …/stop`).
    pub fn stop(&self, resource_group: &str, name: &str) -> Result<()> {
        self.post_action(resource_group, name, "stop")
    }

    /// Starts a stopped group (`POST …/start`; does not wait for the operation).
    pub fn start(&self, resource_group: &str, name: &str) -> Result<()> {
        self.post_action(resource_group, name, "start")
    }

    /// Restarts the group's containers in place (`POST …/restart`).
    pub fn restart(&self, resource_group: &str, name: &str) -> Result<()> {
        self.post_action(resource_group, name, "restart")
    }

    fn list_url(&self, resource_group: Option<&str>) -> String {
        let path = match resource_group {
            Some(rg) => self.client.provider_path(rg, CONTAINER_GROUPS),
            None => format!(
                "/subscriptions/{}/providers/{CONTAINER_GROUPS}",
                http::encode_component(self.subscription_id())
            ),
        };
        self.client.url(&path, self.api_version(), &[])
    }

    /// All container groups of a resource group, or of the subscription (follows `nextLink`,
    /// at most [`MAX_LIST_PAGES`] pages). List results carry no instance views.
    pub fn list(&self, resource_group: Option<&str>) -> Result<Vec<ContainerGroup>> {
        let mut url = self.list_url(resource_group);
        let mut out = Vec::new();
        for _ in 0..MAX_LIST_PAGES {
            let page: ContainerGroupListResult = self.client.send_json(Method::Get, &url, None)?;
            out.extend(page.value);
            match page.next_link.filter(|l| !l.trim().is_empty()) {
                Some(next) => {
                    self.client.check_followable(&next)?;
                    url = next;
                }
                None => return Ok(out),
            }
        }
        Err(Error::remote(
            0,
            "TooManyPages",
            format!("the list did not end within {MAX_LIST_PAGES} pages"),
        ))
    }

    /// Lists the subscription's groups once (first page): Airflow's `test_connection`.
    pub fn test_connection(&self) -> (bool, String) {
        let url = self.list_url(None);
        match self
            .client
            .send_json::<ContainerGroupListResult>(Method::Get, &url, None)
        {
            Ok(_) => (true, CONNECTION_OK.to_string()),
            Err(e) => (false, e.to_string()),
        }
    }
}

/// Airflow's `test_connection` for a connection id: `(true, "Successfully connected to
/// Azure Container Instance.")` or `(false, reason)`, including when the connection
/// cannot be resolved or has no usable credential.
pub fn test_connection(conn_id: &str) -> (bool, String) {
    match AciHook::new(conn_id) {
        Ok(hook) => hook.test_connection(),
        Err(e) => (false, e.to_string()),
    }
}
