//! Typed ARM models for `Microsoft.ContainerInstance` (and the two helper calls the hooks
//! make to ACR and Storage), in ARM's JSON shape (camelCase).
//!
//! Every struct keeps the fields it does not know in `extra` (`#[serde(flatten)]`), so a
//! document read from ARM and written back loses nothing, and optional fields are omitted
//! when `None`. Secret fields (`secureValue`, `password`, `storageAccountKey`,
//! `workspaceKey`, secret-volume contents) are [`Secret`]s: serialised as plain strings, but
//! never shown by `Debug`.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Unknown JSON members of a model, kept as they came.
pub type Extra = Map<String, Value>;

/// A secret string: serialised transparently, redacted in `Debug`.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret itself. Only for putting it on the wire; never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True for an empty secret.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Secret {
        Secret(s)
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Secret {
        Secret(s.to_string())
    }
}

/// `Microsoft.ContainerInstance/containerGroups` resource.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerGroup {
    /// Resource id (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Resource name (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Resource type (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r#type: Option<String>,
    /// Azure region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Resource tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<BTreeMap<String, String>>,
    /// Availability zones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zones: Option<Vec<String>>,
    /// Managed identities of the group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<ContainerGroupIdentity>,
    /// The group's properties.
    #[serde(default)]
    pub properties: ContainerGroupProperties,
    /// Unknown members, preserved.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `properties` of a container group.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerGroupProperties {
    /// Outcome of the last operation (read-only): `Pending`, `Creating`, `Succeeded`, `Failed`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioning_state: Option<String>,
    /// The containers.
    #[serde(default)]
    pub containers: Vec<Container>,
    /// Init containers, run before the containers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init_containers: Option<Vec<InitContainer>>,
    /// Private registry credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_registry_credentials: Option<Vec<ImageRegistryCredential>>,
    /// `Always`, `OnFailure` or `Never`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart_policy: Option<String>,
    /// Public or private IP address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_address: Option<IpAddress>,
    /// `Linux` or `Windows`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_type: Option<String>,
    /// Volumes the containers can mount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volumes: Option<Vec<Volume>>,
    /// Runtime state of the group (read-only, GET only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_view: Option<GroupInstanceView>,
    /// Log Analytics settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diagnostics: Option<ContainerGroupDiagnostics>,
    /// Subnets for a VNet-injected group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subnet_ids: Option<Vec<ContainerGroupSubnetId>>,
    /// DNS settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_config: Option<DnsConfiguration>,
    /// `NotSpecified`, `Standard`, `Dedicated` or `Confidential`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
    /// `Regular` or `Spot`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<String>,
    /// Customer-managed key encryption settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption_properties: Option<Value>,
    /// Confidential compute (CCE policy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidential_compute_properties: Option<Value>,
    /// Extensions (e.g. for virtual nodes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extensions: Option<Vec<Value>>,
    /// Key Vault secret references (2025-09-01+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_references: Option<Vec<Value>>,
    /// Container group profile reference (2025-09-01+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_group_profile: Option<Value>,
    /// Unknown members, preserved (e.g. `provisioningTimeoutInSeconds`).
    #[serde(flatten)]
    pub extra: Extra,
}

/// One container.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Container {
    /// Container name.
    pub name: String,
    /// Container properties.
    #[serde(default)]
    pub properties: ContainerProperties,
    /// Unknown members, preserved.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `properties` of a container.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerProperties {
    /// Image reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Exec-form command (replaces the image entrypoint).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// Exposed ports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ports: Option<Vec<ContainerPort>>,
    /// Environment variables.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment_variables: Option<Vec<EnvironmentVariable>>,
    /// CPU / memory / GPU.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
    /// Volume mounts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_mounts: Option<Vec<VolumeMount>>,
    /// Liveness probe (kept as JSON).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub liveness_probe: Option<Value>,
    /// Readiness probe (kept as JSON).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readiness_probe: Option<Value>,
    /// Security context (kept as JSON).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_context: Option<Value>,
    /// Runtime state (read-only, GET only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_view: Option<ContainerInstanceView>,
    /// Unknown members, preserved (e.g. `configMap`).
    #[serde(flatten)]
    pub extra: Extra,
}

/// An init container.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InitContainer {
    /// Name.
    pub name: String,
    /// Properties.
    #[serde(default)]
    pub properties: InitContainerProperties,
    /// Unknown members, preserved.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `properties` of an init container.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InitContainerProperties {
    /// Image reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Exec-form command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// Environment variables.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment_variables: Option<Vec<EnvironmentVariable>>,
    /// Volume mounts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_mounts: Option<Vec<VolumeMount>>,
    /// Runtime state (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_view: Option<ContainerInstanceView>,
    /// Unknown members, preserved.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A container port.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerPort {
    /// Port number.
    pub port: u16,
    /// `TCP` or `UDP`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// Unknown members, preserved.
    #[serde(flatten)]
    pub extra: Extra,
}

/// An environment variable (plain or secure).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvironmentVariable {
    /// Variable name.
    pub name: String,
    /// Plain value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Secure value (never returned by ARM, never shown by `Debug`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secure_value: Option<Secret>,
    /// Unknown members, preserved (e.g. `secureValueReference`).
    #[serde(flatten)]
    pub extra: Extra,
}

/// Requests and limits.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceRequirements {
    /// What the container asks for (billed).
    #[serde(default)]
    pub requests: ResourceRequests,
    /// Optional upper limits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<ResourceLimits>,
    /// Unknown members, preserved.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Requested resources.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceRequests {
    /// CPU cores.
    #[serde(default)]
    pub cpu: f64,
    /// Memory in GB.
    #[serde(default, rename = "memoryInGB")]
    pub memory_in_gb: f64,
    /// GPUs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu: Option<GpuResource>,
    /// Unknown members, preserved.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Resource limits.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceLimits {
    /// CPU cores.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<f64>,
    /// Memory in GB.
    #[serde(
        default,
        rename = "memoryInGB",
        skip_serializing_if = "Option::is_none"
    )]
    pub memory_in_gb: Option<f64>,
    /// GPUs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu: Option<GpuResource>,
    /// Unknown members, preserved.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A GPU request.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GpuResource {
    /// Number of GPUs.
    pub count: u32,
    /// `K80`, `P100`, `V100`, ...
    pub sku: String,
    /// Unknown members, preserved.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A volume mount.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VolumeMount {
    /// Volume name.
    pub name: String,
    /// Mount path inside the container.
    pub mount_path: String,
    /// Read-only mount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
    /// Unknown members, preserved.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A volume: exactly one of the kinds is set.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Volume {
    /// Volume name.
    pub name: String,
    /// Azure Files share.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azure_file: Option<AzureFileVolume>,
    /// Empty directory (send `{}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub empty_dir: Option<Value>,
    /// Secret files: name → base64 content (never returned by ARM, never shown by `Debug`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<BTreeMap<String, Secret>>,
    /// Git repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_repo: Option<GitRepoVolume>,
    /// Unknown members, preserved (e.g. `secretReference`).
    #[serde(flatten)]
    pub extra: Extra,
}

/// An Azure Files volume.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AzureFileVolume {
    /// Share name.
    pub share_name: String,
    /// Storage account name.
    pub storage_account_name: String,
    /// Read-only share.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
    /// Storage account key (never returned by ARM, never shown by `Debug`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_account_key: Option<Secret>,
    /// Unknown members, preserved.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A git repository volume.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GitRepoVolume {
    /// Repository URL.
    pub repository: String,
    /// Target directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directory: Option<String>,
    /// Commit hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// Unknown members, preserved.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Credentials for a private registry.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageRegistryCredential {
    /// Registry host, without scheme.
    pub server: String,
    /// User name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Password (never returned by ARM, never shown by `Debug`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<Secret>,
    /// User-assigned identity (resource id) to pull with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    /// Identity URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_url: Option<String>,
    /// Unknown members, preserved (e.g. `passwordReference`).
    #[serde(flatten)]
    pub extra: Extra,
}

/// The group's IP address.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IpAddress {
    /// Exposed ports.
    #[serde(default)]
    pub ports: Vec<ContainerPort>,
    /// `Public` or `Private`.
    #[serde(default)]
    pub r#type: String,
    /// The address (read-only in practice).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// DNS label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_name_label: Option<String>,
    /// Fully-qualified domain name (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fqdn: Option<String>,
    /// Unknown members, preserved (e.g. `autoGeneratedDomainNameLabelScope`).
    #[serde(flatten)]
    pub extra: Extra,
}

/// DNS configuration.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DnsConfiguration {
    /// Name servers.
    #[serde(default)]
    pub name_servers: Vec<String>,
    /// Space-separated search domains.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search_domains: Option<String>,
    /// resolv.conf options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<String>,
    /// Unknown members, preserved.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Diagnostics settings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerGroupDiagnostics {
    /// Log Analytics workspace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_analytics: Option<LogAnalytics>,
    /// Unknown members, preserved.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Log Analytics workspace settings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogAnalytics {
    /// Workspace id.
    pub workspace_id: String,
    /// Workspace key (never returned by ARM, never shown by `Debug`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace_key: Option<Secret>,
    /// `ContainerInsights` or `ContainerInstanceLogs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_type: Option<String>,
    /// Metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BTreeMap<String, String>>,
    /// Workspace resource id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace_resource_id: Option<String>,
    /// Unknown members, preserved.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A subnet reference.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerGroupSubnetId {
    /// Subnet resource id.
    pub id: String,
    /// Subnet name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Unknown members, preserved.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Managed identities of a group.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerGroupIdentity {
    /// `SystemAssigned`, `UserAssigned`, `SystemAssigned, UserAssigned` or `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r#type: Option<String>,
    /// User-assigned identity resource ids → `{}` (ARM fills principal/client ids).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_assigned_identities: Option<Map<String, Value>>,
    /// System identity principal id (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal_id: Option<String>,
    /// System identity tenant id (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// Unknown members, preserved.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Group-level runtime state.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupInstanceView {
    /// `Pending`, `Running`, `Stopped`, `Succeeded`, `Failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Group events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<Event>>,
    /// Unknown members, preserved.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Container-level runtime state.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerInstanceView {
    /// Number of restarts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart_count: Option<i32>,
    /// Current state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_state: Option<ContainerState>,
    /// Previous state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_state: Option<ContainerState>,
    /// Container events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<Event>>,
    /// Unknown members, preserved.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A container state.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerState {
    /// `Waiting`, `Running` or `Terminated`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Start time (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    /// Exit code, once terminated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// Finish time (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_time: Option<String>,
    /// `Completed`, `Error`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail_status: Option<String>,
    /// Unknown members, preserved.
    #[serde(flatten)]
    pub extra: Extra,
}

/// An event of a group or container.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// How often it happened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<i32>,
    /// First time (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_timestamp: Option<String>,
    /// Last time (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_timestamp: Option<String>,
    /// Event name (`Pulling`, `Started`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Event message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// `Normal` or `Warning`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r#type: Option<String>,
    /// Unknown members, preserved.
    #[serde(flatten)]
    pub extra: Extra,
}

/// ARM's error envelope.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CloudError {
    /// The error.
    #[serde(default)]
    pub error: CloudErrorBody,
    /// Unknown members, preserved.
    #[serde(flatten)]
    pub extra: Extra,
}

/// ARM error details (recursive).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CloudErrorBody {
    /// Error code (`ResourceNotFound`, ...).
    #[serde(default)]
    pub code: String,
    /// Human-readable message.
    #[serde(default)]
    pub message: String,
    /// What the error is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Nested errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Vec<CloudErrorBody>>,
    /// Unknown members, preserved (e.g. `additionalInfo`).
    #[serde(flatten)]
    pub extra: Extra,
}

/// `Containers_ListLogs` result.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Logs {
    /// The log text (all lines joined with `\n`), if any.
    #[serde(default)]
    pub content: Option<String>,
    /// Unknown members, preserved.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A page of container groups.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerGroupListResult {
    /// The groups on this page (without instance views).
    #[serde(default)]
    pub value: Vec<ContainerGroup>,
    /// Absolute URL of the next page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_link: Option<String>,
    /// Unknown members, preserved.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Status resource of an asynchronous operation (`Azure-AsyncOperation`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OperationStatus {
    /// Operation or resource id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Operation name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `InProgress`, `Pending`, `Creating`, `Succeeded`, `Failed`, `Canceled`, ...
    #[serde(default)]
    pub status: String,
    /// Start time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    /// End time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<String>,
    /// The error, when the operation failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<CloudErrorBody>,
    /// Operation properties (ACI puts `events` here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<Value>,
    /// Unknown members, preserved.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `Registries_ListCredentials` result.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RegistryCredentials {
    /// Admin user name.
    #[serde(default)]
    pub username: Option<String>,
    /// The two passwords.
    #[serde(default)]
    pub passwords: Vec<RegistryPassword>,
}

/// One ACR admin password.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RegistryPassword {
    /// `password` or `password2`.
    #[serde(default)]
    pub name: Option<String>,
    /// The password.
    #[serde(default)]
    pub value: Secret,
}

/// `StorageAccounts_ListKeys` result.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StorageAccountKeys {
    /// The account keys.
    #[serde(default)]
    pub keys: Vec<StorageAccountKey>,
}

/// One storage account key.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StorageAccountKey {
    /// `key1`, `key2`, ...
    #[serde(default)]
    pub key_name: Option<String>,
    /// The key.
    #[serde(default)]
    pub value: Secret,
    /// `Read` or `Full`.
    #[serde(default)]
    pub permissions: Option<String>,
}

/// Terminal provisioning / operation states.
pub fn is_terminal_state(state: &str) -> bool {
    ["Succeeded", "Failed", "Canceled", "Cancelled"]
        .iter()
        .any(|s| s.eq_ignore_ascii_case(state))
}

impl ContainerGroup {
    /// The group's provisioning state, if ARM reported one.
    pub fn provisioning_state(&self) -> Option<&str> {
        self.properties.provisioning_state.as_deref()
    }

    /// The group-level runtime state (`instanceView.state`), if any.
    pub fn instance_state(&self) -> Option<&str> {
        self.properties
            .instance_view
            .as_ref()
            .and_then(|v| v.state.as_deref())
    }

    /// The first container's current state, if it has an instance view.
    pub fn first_container_state(&self) -> Option<&ContainerState> {
        self.properties
            .containers
            .first()?
            .properties
            .instance_view
            .as_ref()?
            .current_state
            .as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Numbers compared as f64 (`1` and `1.0` are the same to ARM).
    fn normalize(v: &Value) -> Value {
        match v {
            Value::Number(n) => json!(n.as_f64().unwrap()),
            Value::Array(a) => Value::Array(a.iter().map(normalize).collect()),
            Value::Object(o) => {
                Value::Object(o.iter().map(|(k, v)| (k.clone(), normalize(v))).collect())
            }
            other => other.clone(),
        }
    }

    fn example(name: &str) -> Value {
        let text = match name {
            "create" => {
                include_str!("../../../testdata/arm-examples/ContainerGroupsCreateOrUpdate.json")
            }
            "secretref" => include_str!(
                "../../../testdata/arm-examples/ContainerGroupsCreateOrUpdateSecretReference.json"
            ),
            "get_ok" => {
                include_str!("../../../testdata/arm-examples/ContainerGroupsGet_Succeeded.json")
            }
            "get_failed" => {
                include_str!("../../../testdata/arm-examples/ContainerGroupsGet_Failed.json")
            }
            "list" => include_str!("../../../testdata/arm-examples/ContainerGroupsList.json"),
            "logs" => include_str!("../../../testdata/arm-examples/ContainerListLogs.json"),
            _ => unreachable!(),
        };
        serde_json::from_str(text).unwrap()
    }

    fn round_trip<T: serde::de::DeserializeOwned + Serialize>(doc: &Value) -> T {
        let typed: T = serde_json::from_value(doc.clone()).unwrap();
        let back = serde_json::to_value(&typed).unwrap();
        assert_eq!(
            normalize(&back),
            normalize(doc),
            "round trip changed the document"
        );
        typed
    }

    #[test]
    fn create_example_round_trips() {
        let ex = example("create");
        let cg: ContainerGroup = round_trip(&ex["parameters"]["containerGroup"]);
        let c = &cg.properties.containers[0];
        assert_eq!(c.name, "demo1");
        let req = &c.properties.resources.as_ref().unwrap().requests;
        assert_eq!(req.cpu, 1.0);
        assert_eq!(req.memory_in_gb, 1.5);
        assert_eq!(req.gpu.as_ref().unwrap().sku, "K80");
        let vols = cg.properties.volumes.as_ref().unwrap();
        assert_eq!(
            vols[0]
                .azure_file
                .as_ref()
                .unwrap()
                .storage_account_key
                .as_ref()
                .unwrap()
                .expose(),
            "accountKey"
        );
        assert!(vols[1].empty_dir.is_some());
        assert_eq!(vols[2].secret.as_ref().unwrap().len(), 2);
        assert_eq!(cg.properties.ip_address.as_ref().unwrap().r#type, "Public");
        assert!(cg
            .properties
            .ip_address
            .as_ref()
            .unwrap()
            .extra
            .contains_key("autoGeneratedDomainNameLabelScope"));
        assert_eq!(
            cg.identity.as_ref().unwrap().r#type.as_deref(),
            Some("SystemAssigned, UserAssigned")
        );
        assert_eq!(
            cg.properties.dns_config.as_ref().unwrap().name_servers,
            vec!["1.1.1.1"]
        );
        let la = cg
            .properties
            .diagnostics
            .as_ref()
            .unwrap()
            .log_analytics
            .as_ref()
            .unwrap();
        assert_eq!(la.workspace_key.as_ref().unwrap().expose(), "workspaceKey");
        for (code, resp) in ex["responses"].as_object().unwrap() {
            let _: ContainerGroup = round_trip(&resp["body"]);
            assert!(code == "200" || code == "201");
        }
    }

    #[test]
    fn secret_reference_example_round_trips() {
        let ex = example("secretref");
        let cg: ContainerGroup = round_trip(&ex["parameters"]["containerGroup"]);
        assert!(cg.properties.secret_references.is_some());
        for resp in ex["responses"].as_object().unwrap().values() {
            let _: ContainerGroup = round_trip(&resp["body"]);
        }
    }

    #[test]
    fn get_examples_round_trip_and_expose_state() {
        let ok: ContainerGroup = round_trip(&example("get_ok")["responses"]["200"]["body"]);
        assert_eq!(ok.provisioning_state(), Some("Succeeded"));
        let failed: ContainerGroup = round_trip(&example("get_failed")["responses"]["200"]["body"]);
        assert_eq!(failed.provisioning_state(), Some("Failed"));
        assert_eq!(failed.instance_state(), Some("Pending"));
        let st = failed.first_container_state().unwrap();
        assert_eq!(st.state.as_deref(), Some("Waiting"));
        let view = failed.properties.containers[0]
            .properties
            .instance_view
            .as_ref()
            .unwrap();
        assert_eq!(view.restart_count, Some(0));
        assert_eq!(
            view.events.as_ref().unwrap()[1].message.as_deref(),
            Some("Successfully pulled image \"nginx\"")
        );
        let ev = &failed
            .properties
            .instance_view
            .as_ref()
            .unwrap()
            .events
            .as_ref()
            .unwrap()[0];
        assert_eq!(ev.name.as_deref(), Some("FailedMount"));
        assert_eq!(ev.r#type.as_deref(), Some("Normal"));
    }

    #[test]
    fn list_and_logs_examples() {
        let list: ContainerGroupListResult =
            round_trip(&example("list")["responses"]["200"]["body"]);
        assert!(!list.value.is_empty());
        let logs: Logs = round_trip(&example("logs")["responses"]["200"]["body"]);
        assert!(logs.content.is_some());
    }

    #[test]
    fn unknown_fields_are_preserved() {
        let doc = json!({
            "location": "eastus",
            "futureTopLevel": {"a": 1},
            "properties": {
                "osType": "Linux",
                "provisioningTimeoutInSeconds": 1800,
                "containers": [{"name": "c", "properties": {"image": "x", "configMap": {"keyValuePairs": {"k": "v"}},
                    "resources": {"requests": {"cpu": 0.5, "memoryInGB": 1, "futureReq": true}}}}]
            }
        });
        let cg: ContainerGroup = round_trip(&doc);
        assert_eq!(cg.extra["futureTopLevel"], json!({"a": 1}));
        assert_eq!(
            cg.properties.extra["provisioningTimeoutInSeconds"],
            json!(1800)
        );
    }

    #[test]
    fn none_fields_are_omitted() {
        let cg = ContainerGroup {
            location: Some("eastus".into()),
            ..Default::default()
        };
        let v = serde_json::to_value(&cg).unwrap();
        assert_eq!(
            v,
            json!({"location": "eastus", "properties": {"containers": []}})
        );
    }

    #[test]
    fn secrets_are_not_in_debug() {
        let cg = ContainerGroup {
            properties: ContainerGroupProperties {
                containers: vec![Container {
                    name: "c".into(),
                    properties: ContainerProperties {
                        environment_variables: Some(vec![EnvironmentVariable {
                            name: "TOKEN".into(),
                            secure_value: Some("s3cr3t-env".into()),
                            ..Default::default()
                        }]),
                        ..Default::default()
                    },
                    ..Default::default()
                }],
                image_registry_credentials: Some(vec![ImageRegistryCredential {
                    server: "r.azurecr.io".into(),
                    username: Some("u".into()),
                    password: Some("s3cr3t-pw".into()),
                    ..Default::default()
                }]),
                volumes: Some(vec![
                    Volume {
                        name: "v".into(),
                        azure_file: Some(AzureFileVolume {
                            share_name: "s".into(),
                            storage_account_name: "a".into(),
                            storage_account_key: Some("s3cr3t-key".into()),
                            ..Default::default()
                        }),
                        ..Default::default()
                    },
                    Volume {
                        name: "sv".into(),
                        secret: Some(
                            [("f".to_string(), Secret::new("s3cr3t-file"))]
                                .into_iter()
                                .collect(),
                        ),
                        ..Default::default()
                    },
                ]),
                diagnostics: Some(ContainerGroupDiagnostics {
                    log_analytics: Some(LogAnalytics {
                        workspace_id: "w".into(),
                        workspace_key: Some("s3cr3t-ws".into()),
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            },
            ..Default::default()
        };
        let dbg = format!("{cg:?} {:#?}", cg);
        assert!(!dbg.contains("s3cr3t"), "secret in Debug output: {dbg}");
        // ...but they do go on the wire.
        let wire = serde_json::to_string(&cg).unwrap();
        for s in [
            "s3cr3t-env",
            "s3cr3t-pw",
            "s3cr3t-key",
            "s3cr3t-file",
            "s3cr3t-ws",
        ] {
            assert!(wire.contains(s), "{s} missing from the request body");
        }
        assert!(wire.contains("\"secureValue\":\"s3cr3t-env\""));
        assert!(wire.contains("\"storageAccountKey\""));
    }

    #[test]
    fn helper_results_parse() {
        let acr: RegistryCredentials = serde_json::from_value(
            json!({"username":"myuser","passwords":[{"name":"password","value":"pw"}]}),
        )
        .unwrap();
        assert_eq!(acr.passwords[0].value.expose(), "pw");
        assert!(!format!("{acr:?}").contains("pw\""));
        let keys: StorageAccountKeys = serde_json::from_value(
            json!({"keys":[{"keyName":"key1","value":"value","permissions":"FULL","creationTime":"2023-07-13T16:16:10.474107Z"}]}),
        )
        .unwrap();
        assert_eq!(keys.keys[0].value.expose(), "value");
        let err: CloudError = serde_json::from_value(
            json!({"error":{"code":"ResourceNotFound","message":"gone","details":[{"code":"x","message":"y"}],"additionalInfo":[]}}),
        )
        .unwrap();
        assert_eq!(err.error.code, "ResourceNotFound");
        assert_eq!(err.error.details.as_ref().unwrap()[0].code, "x");
    }

    #[test]
    fn terminal_states() {
        for s in ["Succeeded", "failed", "Canceled"] {
            assert!(is_terminal_state(s));
        }
        for s in [
            "Pending",
            "Creating",
            "Running",
            "InProgress",
            "Deleting",
            "",
        ] {
            assert!(!is_terminal_state(s));
        }
    }
}
