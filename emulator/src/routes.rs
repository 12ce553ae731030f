//! The route table: which path is which operation. Fixed path segments compare
//! case-insensitively, as ARM does.

use hyper::Method;

/// A container group address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct GroupRef {
    pub sub: String,
    pub rg: String,
    pub name: String,
}

/// Actions posted to a container group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Action {
    Stop,
    Start,
    Restart,
}

/// Per-container operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ContainerOp {
    Logs,
    Exec,
    Attach,
}

/// Location-scoped collections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LocationList {
    Usages,
    Capabilities,
    CachedImages,
}

/// Every route the emulator serves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Route {
    /// `POST /{tenant}/oauth2/v2.0/token`
    Token { tenant: String },
    /// `GET /metadata/identity/oauth2/token`
    Imds,
    /// `GET /{tenant}/v2.0/.well-known/openid-configuration` (`v2`) or
    /// `/{tenant}/.well-known/openid-configuration`.
    OpenIdConfig { tenant: String, v2: bool },
    /// `GET /{tenant}/discovery/instance` (MSAL instance discovery).
    InstanceDiscovery { tenant: String },
    /// `GET /{tenant}/discovery[/v2.0]/keys`.
    DiscoveryKeys { tenant: String },
    /// `GET /metadata/endpoints` (the cloud's endpoints, no token needed).
    CloudMetadata,
    /// `GET /subscriptions`
    Subscriptions,
    /// `GET /subscriptions/{sub}`
    Subscription { sub: String },
    /// `GET /tenants`
    Tenants,
    /// `GET /subscriptions/{sub}/resourcegroups/{rg}`
    ResourceGroup { sub: String, rg: String },
    /// `GET /_emulator/stats`
    EmuStats,
    /// `POST /_emulator/reset`
    EmuReset,
    /// WebSocket endpoint handed out by attach / exec.
    EmuStream { session: String },
    /// `GET /subscriptions/{sub}/providers/Microsoft.ContainerInstance/containerGroups`
    ListAll { sub: String },
    /// `GET …/resourceGroups/{rg}/providers/Microsoft.ContainerInstance/containerGroups`
    ListByRg { sub: String, rg: String },
    /// `PUT|GET|PATCH|DELETE {CG}`
    Group(GroupRef),
    /// `POST {CG}/stop|start|restart`
    GroupAction(GroupRef, Action),
    /// `GET {CG}/outboundNetworkDependenciesEndpoints`
    OutboundDeps(GroupRef),
    /// `{CG}/containers/{name}/logs|exec|attach`
    Container(GroupRef, String, ContainerOp),
    /// `GET /subscriptions/{sub}/providers/Microsoft.ContainerInstance/locations/{loc}/…`
    Location {
        sub: String,
        location: String,
        list: LocationList,
    },
    /// Async operation status (`…/locations/{loc}/operations/{id}`).
    OperationStatus { sub: String, id: String },
    /// Async operation result (`…/locations/{loc}/operationResults/{id}`), the `Location` header.
    OperationResult { sub: String, id: String },
    /// `GET /providers/Microsoft.ContainerInstance/operations`
    OperationsList,
    /// `POST …/Microsoft.ContainerRegistry/registries/{name}/listCredentials`
    AcrCredentials {
        sub: String,
        rg: String,
        registry: String,
    },
    /// `POST …/Microsoft.Storage/storageAccounts/{name}/listKeys`
    StorageKeys {
        sub: String,
        rg: String,
        account: String,
    },
    /// Anything else.
    Unknown,
}

const ACI: &str = "Microsoft.ContainerInstance";
const CG: &str = "containerGroups";

/// Matches `segs` against `pattern`; `*` captures a segment, other entries must be equal
/// (ASCII case-insensitively).
fn capture(segs: &[String], pattern: &[&str]) -> Option<Vec<String>> {
    if segs.len() != pattern.len() {
        return None;
    }
    let mut out = Vec::new();
    for (s, p) in segs.iter().zip(pattern) {
        if *p == "*" {
            out.push(s.clone());
        } else if !s.eq_ignore_ascii_case(p) {
            return None;
        }
    }
    Some(out)
}

/// The path of a container group (`{CG}`), its three captures being `sub`, `rg` and `name`.
const CG_PATH: [&str; 8] = [
    "subscriptions",
    "*",
    "resourceGroups",
    "*",
    "providers",
    ACI,
    CG,
    "*",
];

fn group(c: &[String]) -> GroupRef {
    GroupRef {
        sub: c[0].clone(),
        rg: c[1].clone(),
        name: c[2].clone(),
    }
}

impl Route {
    /// Finds the route of a path.
    pub fn parse(segs: &[String]) -> Route {
        Route::service(segs)
            .or_else(|| Route::container_groups(segs))
            .or_else(|| Route::location_scoped(segs))
            .or_else(|| Route::key_helpers(segs))
            .or_else(|| Route::resources(segs))
            .unwrap_or(Route::Unknown)
    }

    /// Subscriptions, tenants, resource groups and the cloud's metadata.
    fn resources(segs: &[String]) -> Option<Route> {
        if capture(segs, &["metadata", "endpoints"]).is_some() {
            return Some(Route::CloudMetadata);
        }
        if capture(segs, &["subscriptions"]).is_some() {
            return Some(Route::Subscriptions);
        }
        if capture(segs, &["tenants"]).is_some() {
            return Some(Route::Tenants);
        }
        if let Some(c) = capture(segs, &["subscriptions", "*"]) {
            return Some(Route::Subscription { sub: c[0].clone() });
        }
        let c = capture(segs, &["subscriptions", "*", "resourceGroups", "*"])?;
        Some(Route::ResourceGroup {
            sub: c[0].clone(),
            rg: c[1].clone(),
        })
    }

    /// Entra ID, IMDS, the emulator's own routes and the operations list.
    fn service(segs: &[String]) -> Option<Route> {
        if let Some(c) = capture(segs, &["*", "oauth2", "v2.0", "token"]) {
            return Some(Route::Token {
                tenant: c[0].clone(),
            });
        }
        if capture(segs, &["metadata", "identity", "oauth2", "token"]).is_some() {
            return Some(Route::Imds);
        }
        if capture(segs, &["_emulator", "stats"]).is_some() {
            return Some(Route::EmuStats);
        }
        if capture(segs, &["_emulator", "reset"]).is_some() {
            return Some(Route::EmuReset);
        }
        if let Some(c) = capture(segs, &["_emulator", "stream", "*"]) {
            return Some(Route::EmuStream {
                session: c[0].clone(),
            });
        }
        if capture(segs, &["providers", ACI, "operations"]).is_some() {
            return Some(Route::OperationsList);
        }
        Route::discovery(segs)
    }

    /// Entra ID discovery documents under `/{tenant}/…`.
    fn discovery(segs: &[String]) -> Option<Route> {
        let tenant = || segs[0].clone();
        if capture(segs, &["*", "v2.0", ".well-known", "openid-configuration"]).is_some() {
            return Some(Route::OpenIdConfig {
                tenant: tenant(),
                v2: true,
            });
        }
        if capture(segs, &["*", ".well-known", "openid-configuration"]).is_some() {
            return Some(Route::OpenIdConfig {
                tenant: tenant(),
                v2: false,
            });
        }
        if capture(segs, &["*", "discovery", "instance"]).is_some() {
            return Some(Route::InstanceDiscovery { tenant: tenant() });
        }
        if capture(segs, &["*", "discovery", "v2.0", "keys"]).is_some()
            || capture(segs, &["*", "discovery", "keys"]).is_some()
        {
            return Some(Route::DiscoveryKeys { tenant: tenant() });
        }
        None
    }

    /// Lists, a group, its actions and its containers' operations (`Unknown` for an unknown
    /// action or operation under a group).
    fn container_groups(segs: &[String]) -> Option<Route> {
        if let Some(c) = capture(segs, &["subscriptions", "*", "providers", ACI, CG]) {
            return Some(Route::ListAll { sub: c[0].clone() });
        }
        if let Some(c) = capture(segs, &CG_PATH[..7]) {
            return Some(Route::ListByRg {
                sub: c[0].clone(),
                rg: c[1].clone(),
            });
        }
        if let Some(c) = capture(segs, &CG_PATH) {
            return Some(Route::Group(group(&c)));
        }
        let c = capture(segs.get(..8)?, &CG_PATH)?;
        match segs.len() {
            9 => Some(match segs[8].to_ascii_lowercase().as_str() {
                "stop" => Route::GroupAction(group(&c), Action::Stop),
                "start" => Route::GroupAction(group(&c), Action::Start),
                "restart" => Route::GroupAction(group(&c), Action::Restart),
                "outboundnetworkdependenciesendpoints" => Route::OutboundDeps(group(&c)),
                _ => Route::Unknown,
            }),
            11 if segs[8].eq_ignore_ascii_case("containers") => {
                let op = match segs[10].to_ascii_lowercase().as_str() {
                    "logs" => ContainerOp::Logs,
                    "exec" => ContainerOp::Exec,
                    "attach" => ContainerOp::Attach,
                    _ => return Some(Route::Unknown),
                };
                Some(Route::Container(group(&c), segs[9].clone(), op))
            }
            _ => None,
        }
    }

    /// Location-scoped routes, with or without a resource group in front of `providers`.
    fn location_scoped(segs: &[String]) -> Option<Route> {
        let sub = capture(segs.get(..2)?, &["subscriptions", "*"])?.remove(0);
        let rest = &segs[2..];
        let rest = if rest.len() >= 2 && rest[0].eq_ignore_ascii_case("resourceGroups") {
            &rest[2..]
        } else {
            rest
        };
        if let Some(c) = capture(rest, &["providers", ACI, "locations", "*", "*"]) {
            let list = match c[1].to_ascii_lowercase().as_str() {
                "usages" => LocationList::Usages,
                "capabilities" => LocationList::Capabilities,
                "cachedimages" => LocationList::CachedImages,
                _ => return Some(Route::Unknown),
            };
            return Some(Route::Location {
                sub,
                location: c[0].clone(),
                list,
            });
        }
        let operation = ["providers", ACI, "locations", "*", "operations", "*"];
        if let Some(c) = capture(rest, &operation) {
            return Some(Route::OperationStatus {
                sub,
                id: c[1].clone(),
            });
        }
        let result = ["providers", ACI, "locations", "*", "operationResults", "*"];
        if let Some(c) = capture(rest, &result) {
            return Some(Route::OperationResult {
                sub,
                id: c[1].clone(),
            });
        }
        None
    }

    /// The ACR credentials and Storage keys helpers.
    fn key_helpers(segs: &[String]) -> Option<Route> {
        let resource = |provider: &str, kind: &str, action: &str| {
            let mut pattern = CG_PATH[..5].to_vec();
            pattern.extend([provider, kind, "*", action]);
            capture(segs, &pattern)
        };
        if let Some(c) = resource(
            "Microsoft.ContainerRegistry",
            "registries",
            "listCredentials",
        ) {
            return Some(Route::AcrCredentials {
                sub: c[0].clone(),
                rg: c[1].clone(),
                registry: c[2].clone(),
            });
        }
        if let Some(c) = resource("Microsoft.Storage", "storageAccounts", "listKeys") {
            return Some(Route::StorageKeys {
                sub: c[0].clone(),
                rg: c[1].clone(),
                account: c[2].clone(),
            });
        }
        None
    }

    /// True for routes that need a bearer token and an `api-version` (the ARM surface).
    pub fn is_arm(&self) -> bool {
        !matches!(
            self,
            Route::Token { .. }
                | Route::Imds
                | Route::OpenIdConfig { .. }
                | Route::InstanceDiscovery { .. }
                | Route::DiscoveryKeys { .. }
                | Route::CloudMetadata
                | Route::EmuStats
                | Route::EmuReset
                | Route::EmuStream { .. }
                | Route::Unknown
        )
    }

    /// True for the Entra ID token endpoint and IMDS.
    pub fn is_auth(&self) -> bool {
        matches!(self, Route::Token { .. } | Route::Imds)
    }

    /// True for the emulator's own control routes (never faulted, never counted).
    pub fn is_control(&self) -> bool {
        matches!(
            self,
            Route::EmuStats | Route::EmuReset | Route::EmuStream { .. }
        )
    }

    /// True for the Entra ID discovery documents and the cloud's metadata (public, never
    /// faulted).
    pub fn is_discovery(&self) -> bool {
        matches!(
            self,
            Route::OpenIdConfig { .. }
                | Route::InstanceDiscovery { .. }
                | Route::DiscoveryKeys { .. }
                | Route::CloudMetadata
        )
    }

    /// The operation name used in statistics, or `None` when the method is not allowed here.
    pub fn operation(&self, method: &Method) -> Option<&'static str> {
        let m = method.as_str();
        let op = match (self, m) {
            (Route::Token { .. }, "POST") => "Token_Issue",
            (Route::Imds, "GET") => "Imds_Token",
            (Route::OpenIdConfig { .. }, "GET") => "OpenId_Configuration",
            (Route::InstanceDiscovery { .. }, "GET") => "Instance_Discovery",
            (Route::DiscoveryKeys { .. }, "GET") => "Discovery_Keys",
            (Route::CloudMetadata, "GET") => "Metadata_Endpoints",
            (Route::Subscriptions, "GET") => "Subscriptions_List",
            (Route::Subscription { .. }, "GET") => "Subscriptions_Get",
            (Route::Tenants, "GET") => "Tenants_List",
            (Route::ResourceGroup { .. }, "GET") => "ResourceGroups_Get",
            (Route::EmuStats, "GET") => "Emulator_Stats",
            (Route::EmuReset, "POST") => "Emulator_Reset",
            (Route::EmuStream { .. }, "GET") => "Emulator_Stream",
            (Route::ListAll { .. }, "GET") => "ContainerGroups_List",
            (Route::ListByRg { .. }, "GET") => "ContainerGroups_ListByResourceGroup",
            (Route::Group(_), "PUT") => "ContainerGroups_CreateOrUpdate",
            (Route::Group(_), "GET") => "ContainerGroups_Get",
            (Route::Group(_), "PATCH") => "ContainerGroups_Update",
            (Route::Group(_), "DELETE") => "ContainerGroups_Delete",
            (Route::GroupAction(_, Action::Stop), "POST") => "ContainerGroups_Stop",
            (Route::GroupAction(_, Action::Start), "POST") => "ContainerGroups_Start",
            (Route::GroupAction(_, Action::Restart), "POST") => "ContainerGroups_Restart",
            (Route::OutboundDeps(_), "GET") => {
                "ContainerGroups_GetOutboundNetworkDependenciesEndpoints"
            }
            (Route::Container(_, _, ContainerOp::Logs), "GET") => "Containers_ListLogs",
            (Route::Container(_, _, ContainerOp::Exec), "POST") => "Containers_ExecuteCommand",
            (Route::Container(_, _, ContainerOp::Attach), "POST") => "Containers_Attach",
            (
                Route::Location {
                    list: LocationList::Usages,
                    ..
                },
                "GET",
            ) => "Location_ListUsage",
            (
                Route::Location {
                    list: LocationList::Capabilities,
                    ..
                },
                "GET",
            ) => "Location_ListCapabilities",
            (
                Route::Location {
                    list: LocationList::CachedImages,
                    ..
                },
                "GET",
            ) => "Location_ListCachedImages",
            (Route::OperationStatus { .. }, "GET") => "AsyncOperation_Get",
            (Route::OperationResult { .. }, "GET") => "OperationResult_Get",
            (Route::OperationsList, "GET") => "Operations_List",
            (Route::AcrCredentials { .. }, "POST") => "Registries_ListCredentials",
            (Route::StorageKeys { .. }, "POST") => "StorageAccounts_ListKeys",
            _ => return None,
        };
        Some(op)
    }
}

/// The ARM throttling bucket of a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OpKind {
    Read,
    Write,
    Delete,
}

impl OpKind {
    /// Reads are GET/HEAD, deletes are DELETE, everything else writes.
    pub fn of(method: &Method) -> OpKind {
        match *method {
            Method::GET | Method::HEAD => OpKind::Read,
            Method::DELETE => OpKind::Delete,
            _ => OpKind::Write,
        }
    }

    /// `reads`, `writes` or `deletes` as in the rate-limit header names.
    pub fn plural(self) -> &'static str {
        match self {
            OpKind::Read => "reads",
            OpKind::Write => "writes",
            OpKind::Delete => "deletes",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(path: &str) -> Route {
        let segs: Vec<String> = path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect();
        Route::parse(&segs)
    }

    #[test]
    fn parses_service_and_group_routes() {
        let g = GroupRef {
            sub: "s".into(),
            rg: "rg".into(),
            name: "cg".into(),
        };
        let base = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerInstance/containerGroups/cg";
        assert_eq!(
            p("/t/oauth2/v2.0/token"),
            Route::Token { tenant: "t".into() }
        );
        assert_eq!(p("/metadata/identity/oauth2/token"), Route::Imds);
        assert_eq!(
            p("/t/v2.0/.well-known/openid-configuration"),
            Route::OpenIdConfig {
                tenant: "t".into(),
                v2: true
            }
        );
        assert_eq!(
            p("/t/.well-known/openid-configuration"),
            Route::OpenIdConfig {
                tenant: "t".into(),
                v2: false
            }
        );
        assert_eq!(
            p("/common/discovery/instance"),
            Route::InstanceDiscovery {
                tenant: "common".into()
            }
        );
        assert_eq!(
            p("/t/discovery/v2.0/keys"),
            Route::DiscoveryKeys { tenant: "t".into() }
        );
        assert!(p("/t/discovery/keys").is_discovery());
        assert!(!p("/t/discovery/keys").is_arm());
        assert_eq!(p("/_emulator/stats"), Route::EmuStats);
        assert_eq!(p("/_emulator/reset"), Route::EmuReset);
        assert_eq!(
            p("/_emulator/stream/abc"),
            Route::EmuStream {
                session: "abc".into()
            }
        );
        assert_eq!(p(base), Route::Group(g.clone()));
        assert_eq!(
            p(&base.to_ascii_lowercase()),
            Route::Group(GroupRef {
                sub: "s".into(),
                rg: "rg".into(),
                name: "cg".into()
            }),
            "fixed segments are case-insensitive"
        );
        assert_eq!(
            p(&format!("{base}/stop")),
            Route::GroupAction(g.clone(), Action::Stop)
        );
        assert_eq!(
            p(&format!("{base}/start")),
            Route::GroupAction(g.clone(), Action::Start)
        );
        assert_eq!(
            p(&format!("{base}/restart")),
            Route::GroupAction(g.clone(), Action::Restart)
        );
        assert_eq!(
            p(&format!("{base}/outboundNetworkDependenciesEndpoints")),
            Route::OutboundDeps(g.clone())
        );
        assert_eq!(
            p(&format!("{base}/containers/c1/logs")),
            Route::Container(g.clone(), "c1".into(), ContainerOp::Logs)
        );
        assert_eq!(
            p(&format!("{base}/containers/c1/exec")),
            Route::Container(g.clone(), "c1".into(), ContainerOp::Exec)
        );
        assert_eq!(
            p(&format!("{base}/containers/c1/attach")),
            Route::Container(g.clone(), "c1".into(), ContainerOp::Attach)
        );
        assert_eq!(p(&format!("{base}/bogus")), Route::Unknown);
        assert_eq!(p(&format!("{base}/containers/c1/bogus")), Route::Unknown);
        assert_eq!(p(&format!("{base}/containers/c1")), Route::Unknown);
    }

    #[test]
    fn parses_list_location_and_helper_routes() {
        assert_eq!(
            p("/subscriptions/s/providers/Microsoft.ContainerInstance/containerGroups"),
            Route::ListAll { sub: "s".into() }
        );
        assert_eq!(
            p("/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerInstance/containerGroups"),
            Route::ListByRg { sub: "s".into(), rg: "rg".into() }
        );
        assert_eq!(
            p("/subscriptions/s/providers/Microsoft.ContainerInstance/locations/eastus/usages"),
            Route::Location {
                sub: "s".into(),
                location: "eastus".into(),
                list: LocationList::Usages
            }
        );
        assert_eq!(
            p("/subscriptions/s/providers/Microsoft.ContainerInstance/locations/eastus/operations/op1"),
            Route::OperationStatus { sub: "s".into(), id: "op1".into() }
        );
        assert_eq!(
            p("/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerInstance/locations/eastus/operations/op1"),
            Route::OperationStatus { sub: "s".into(), id: "op1".into() }
        );
        assert_eq!(
            p("/subscriptions/s/providers/Microsoft.ContainerInstance/locations/eastus/operationResults/op1"),
            Route::OperationResult { sub: "s".into(), id: "op1".into() }
        );
        assert_eq!(
            p("/providers/Microsoft.ContainerInstance/operations"),
            Route::OperationsList
        );
        assert_eq!(
            p("/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/r/listCredentials"),
            Route::AcrCredentials { sub: "s".into(), rg: "rg".into(), registry: "r".into() }
        );
        assert_eq!(
            p("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/a/listKeys"),
            Route::StorageKeys { sub: "s".into(), rg: "rg".into(), account: "a".into() }
        );
        assert_eq!(
            p("/subscriptions/s/providers/Microsoft.ContainerInstance/locations/eastus/bogus"),
            Route::Unknown
        );
        assert_eq!(p("/nothing/here"), Route::Unknown);
        assert_eq!(p("/metadata/endpoints"), Route::CloudMetadata);
        assert_eq!(p("/subscriptions"), Route::Subscriptions);
        assert_eq!(p("/tenants"), Route::Tenants);
        assert_eq!(
            p("/subscriptions/s"),
            Route::Subscription { sub: "s".into() }
        );
        assert_eq!(
            p("/subscriptions/s/resourcegroups/rg"),
            Route::ResourceGroup {
                sub: "s".into(),
                rg: "rg".into()
            }
        );
        assert!(Route::Subscriptions.is_arm() && !Route::CloudMetadata.is_arm());
        assert_eq!(p("/"), Route::Unknown);
    }

    #[test]
    fn operations_by_method() {
        let g = Route::Group(GroupRef {
            sub: "s".into(),
            rg: "r".into(),
            name: "n".into(),
        });
        assert_eq!(
            g.operation(&Method::PUT),
            Some("ContainerGroups_CreateOrUpdate")
        );
        assert_eq!(g.operation(&Method::DELETE), Some("ContainerGroups_Delete"));
        assert_eq!(g.operation(&Method::POST), None);
        assert!(g.is_arm());
        assert!(!Route::Imds.is_arm());
        assert!(Route::Imds.is_auth());
        assert!(Route::EmuStats.is_control());
        assert_eq!(OpKind::of(&Method::PATCH), OpKind::Write);
        assert_eq!(OpKind::of(&Method::DELETE).plural(), "deletes");
    }
}
