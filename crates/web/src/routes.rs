//! The one route table: method + path → function and operation. The local gateway serves
//! it, each Lambda answers its own slice, and `infra/template.yaml` must declare the same.

use lambda_http::http::Method;

use crate::ApiError;
use latchkey_domain::KeyScope;

/// The Lambda functions that answer HTTP routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Function {
    Catalog,
    Consumers,
    Links,
    Connections,
    Popup,
    Callback,
    Console,
}

impl Function {
    pub fn name(self) -> &'static str {
        match self {
            Function::Catalog => "catalog",
            Function::Consumers => "consumers",
            Function::Links => "links",
            Function::Connections => "connections",
            Function::Popup => "popup",
            Function::Callback => "callback",
            Function::Console => "console",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    ListIntegrations,
    GetIntegration,
    GetIntegrationLogo,
    CreateIntegration,
    ReplaceIntegration,
    PatchIntegration,
    DeleteIntegration,
    OpenApi,
    CreateConsumer,
    ListConsumers,
    GetConsumer,
    PatchConsumer,
    DeleteConsumer,
    GetAccount,
    PatchAccount,
    RotateJwtSecret,
    RotateWebhookSecret,
    ListWebhookDeliveries,
    SendTestWebhook,
    ListApiKeys,
    CreateApiKey,
    DeleteApiKey,
    CreateActivation,
    CreateActivationByReference,
    ListConsumerConnections,
    ListConnections,
    InstallConnection,
    GetConnection,
    PatchConnection,
    RefreshConnection,
    DeleteConnection,
    GetConnectionCredentials,
    ProxyConnection,
    ConnectLanding,
    ConnectSubmit,
    PopupStart,
    PopupSubmit,
    ConnectScript,
    OAuthCallback,
    ReminderReconnect,
    ReminderOptOutOffer,
    ReminderOptOut,
    ConsoleHome,
    ConsoleSignInForm,
    ConsoleSignIn,
    ConsoleSignOut,
    ConsoleIntegrations,
    ConsoleIntegrationNew,
    ConsoleIntegrationCreate,
    ConsoleIntegration,
    ConsoleIntegrationSave,
    ConsoleConsumers,
    ConsoleConsumerCreate,
    ConsoleConsumer,
    ConsoleConsumerSave,
    ConsoleConsumerLink,
    ConsoleConnections,
    ConsoleConnection,
    ConsoleConnectionAction,
    ConsoleApiKeys,
    ConsoleApiKeyCreate,
    ConsoleApiKeyRevoke,
    ConsoleSettings,
    ConsoleSettingsSave,
}

impl Operation {
    /// The scope an API key needs for this operation: `connect` for what a vendor's web
    /// tier does to let its users connect, `full` for everything else (credentials, the
    /// proxy, installs, deletes, the catalog's and the account's settings, API keys).
    pub fn scope(self) -> KeyScope {
        match self {
            ListIntegrations
            | GetIntegration
            | GetIntegrationLogo
            | OpenApi
            | CreateConsumer
            | ListConsumers
            | GetConsumer
            | PatchConsumer
            | CreateActivation
            | CreateActivationByReference
            | ListConsumerConnections
            | ListConnections
            | GetConnection => KeyScope::Connect,
            _ => KeyScope::Full,
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Route {
    /// An HTTP method, or `ANY`.
    pub method: &'static str,
    /// `{name}` segments match one non-empty path segment; a final `{name+}` matches the
    /// rest of the path (one segment or more).
    pub path: &'static str,
    pub function: Function,
    pub operation: Operation,
}

const fn route(
    method: &'static str,
    path: &'static str,
    function: Function,
    operation: Operation,
) -> Route {
    Route {
        method,
        path,
        function,
        operation,
    }
}

use Function::*;
use Operation::*;

pub const ROUTES: &[Route] = &[
    route("GET", "/v1/integrations", Catalog, ListIntegrations),
    route("POST", "/v1/integrations", Catalog, CreateIntegration),
    route("GET", "/v1/integrations/{id}", Catalog, GetIntegration),
    route("PUT", "/v1/integrations/{id}", Catalog, ReplaceIntegration),
    route("PATCH", "/v1/integrations/{id}", Catalog, PatchIntegration),
    // Served with the connections: deleting may disconnect them (`cascade=true`).
    route(
        "DELETE",
        "/v1/integrations/{id}",
        Connections,
        DeleteIntegration,
    ),
    route(
        "GET",
        "/v1/integrations/{id}/logo",
        Catalog,
        GetIntegrationLogo,
    ),
    route("GET", "/v1/openapi.json", Catalog, OpenApi),
    route("POST", "/v1/consumers", Consumers, CreateConsumer),
    route("GET", "/v1/consumers", Consumers, ListConsumers),
    route("GET", "/v1/consumers/{id}", Consumers, GetConsumer),
    route("PATCH", "/v1/consumers/{id}", Consumers, PatchConsumer),
    route("DELETE", "/v1/consumers/{id}", Consumers, DeleteConsumer),
    route("GET", "/v1/account", Consumers, GetAccount),
    route("PATCH", "/v1/account", Consumers, PatchAccount),
    route(
        "POST",
        "/v1/consumers/{id}/connections",
        Links,
        CreateActivation,
    ),
    route(
        "GET",
        "/v1/consumers/{id}/connections",
        Links,
        ListConsumerConnections,
    ),
    route(
        "POST",
        "/v1/consumers/by-reference/{reference}/connections",
        Links,
        CreateActivationByReference,
    ),
    route("POST", "/v1/account/jwt-secret", Consumers, RotateJwtSecret),
    route("GET", "/v1/api-keys", Consumers, ListApiKeys),
    route("POST", "/v1/api-keys", Consumers, CreateApiKey),
    route("DELETE", "/v1/api-keys/{id}", Consumers, DeleteApiKey),
    route(
        "POST",
        "/v1/account/webhook-secret",
        Consumers,
        RotateWebhookSecret,
    ),
    route(
        "GET",
        "/v1/account/webhooks/deliveries",
        Consumers,
        ListWebhookDeliveries,
    ),
    route(
        "POST",
        "/v1/account/webhooks/test",
        Consumers,
        SendTestWebhook,
    ),
    route(
        "POST",
        "/v1/consumers/{id}/connections/install",
        Connections,
        InstallConnection,
    ),
    route("GET", "/v1/connections", Connections, ListConnections),
    route("GET", "/v1/connections/{id}", Connections, GetConnection),
    route(
        "PATCH",
        "/v1/connections/{id}",
        Connections,
        PatchConnection,
    ),
    route(
        "POST",
        "/v1/connections/{id}/refresh",
        Connections,
        RefreshConnection,
    ),
    route(
        "DELETE",
        "/v1/connections/{id}",
        Connections,
        DeleteConnection,
    ),
    route(
        "GET",
        "/v1/connections/{id}/credentials",
        Connections,
        GetConnectionCredentials,
    ),
    route(
        "ANY",
        "/v1/connections/{id}/proxy/{path+}",
        Connections,
        ProxyConnection,
    ),
    route("GET", "/connect/{token}", Popup, ConnectLanding),
    route("POST", "/connect/{token}", Popup, ConnectSubmit),
    route("GET", "/connection-popup", Popup, PopupStart),
    route("POST", "/connection-popup", Popup, PopupSubmit),
    route("GET", "/sdk/connect.js", Popup, ConnectScript),
    route("GET", "/oauth/callback/{id}", Callback, OAuthCallback),
    route("GET", "/reminders/{token}", Callback, ReminderReconnect),
    route(
        "GET",
        "/reminders/{token}/opt-out",
        Callback,
        ReminderOptOutOffer,
    ),
    route(
        "POST",
        "/reminders/{token}/opt-out",
        Callback,
        ReminderOptOut,
    ),
    route("GET", "/console", Console, ConsoleHome),
    route("GET", "/console/sign-in", Console, ConsoleSignInForm),
    route("POST", "/console/sign-in", Console, ConsoleSignIn),
    route("POST", "/console/sign-out", Console, ConsoleSignOut),
    route("GET", "/console/integrations", Console, ConsoleIntegrations),
    route(
        "POST",
        "/console/integrations",
        Console,
        ConsoleIntegrationCreate,
    ),
    // Before `{id}`: the first match wins (API Gateway prefers the literal path too).
    route(
        "GET",
        "/console/integrations/new",
        Console,
        ConsoleIntegrationNew,
    ),
    route(
        "GET",
        "/console/integrations/{id}",
        Console,
        ConsoleIntegration,
    ),
    route(
        "POST",
        "/console/integrations/{id}",
        Console,
        ConsoleIntegrationSave,
    ),
    route("GET", "/console/consumers", Console, ConsoleConsumers),
    route("POST", "/console/consumers", Console, ConsoleConsumerCreate),
    route("GET", "/console/consumers/{id}", Console, ConsoleConsumer),
    route(
        "POST",
        "/console/consumers/{id}",
        Console,
        ConsoleConsumerSave,
    ),
    route(
        "POST",
        "/console/consumers/{id}/links",
        Console,
        ConsoleConsumerLink,
    ),
    route("GET", "/console/connections", Console, ConsoleConnections),
    route(
        "GET",
        "/console/connections/{id}",
        Console,
        ConsoleConnection,
    ),
    route(
        "POST",
        "/console/connections/{id}",
        Console,
        ConsoleConnectionAction,
    ),
    route("GET", "/console/api-keys", Console, ConsoleApiKeys),
    route("POST", "/console/api-keys", Console, ConsoleApiKeyCreate),
    route(
        "POST",
        "/console/api-keys/{id}/revoke",
        Console,
        ConsoleApiKeyRevoke,
    ),
    route("GET", "/console/settings", Console, ConsoleSettings),
    route("POST", "/console/settings", Console, ConsoleSettingsSave),
];

/// Values of a route's `{name}` segments.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PathParams(Vec<(&'static str, String)>);

impl PathParams {
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(n, _)| *n == name)
            .map_or("", |(_, v)| v.as_str())
    }
}

fn matches(pattern: &'static str, path: &str) -> Option<PathParams> {
    let mut params = Vec::new();
    let mut want = pattern.trim_matches('/').split('/');
    let mut got = path
        .trim_end_matches('/')
        .trim_start_matches('/')
        .split('/');
    loop {
        match (want.next(), got.next()) {
            (None, None) => return Some(PathParams(params)),
            (Some(w), Some(g)) if w.ends_with("+}") && !g.is_empty() => {
                let mut rest = std::iter::once(g).chain(got).collect::<Vec<_>>().join("/");
                if path.ends_with('/') {
                    rest.push('/');
                }
                params.push((&w[1..w.len() - 2], rest));
                return Some(PathParams(params));
            }
            (Some(w), Some(g)) if w.starts_with('{') && !g.is_empty() => {
                params.push((&w[1..w.len() - 1], g.to_owned()));
            }
            (Some(w), Some(g)) if w == g => {}
            _ => return None,
        }
    }
}

/// The route for a request: 404 when no path matches, 405 when only the method is wrong.
pub fn find(method: &Method, path: &str) -> Result<(&'static Route, PathParams), ApiError> {
    let mut path_matched = false;
    for route in ROUTES {
        if let Some(params) = matches(route.path, path) {
            if route.method == method.as_str() || route.method == "ANY" {
                return Ok((route, params));
            }
            path_matched = true;
        }
    }
    Err(if path_matched {
        ApiError::MethodNotAllowed
    } else {
        ApiError::NotFound("route")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_routes_and_params() {
        let (r, p) = find(&Method::GET, "/v1/integrations/int_1/logo").unwrap();
        assert_eq!(r.operation, GetIntegrationLogo);
        assert_eq!(p.get("id"), "int_1");
        let (r, _) = find(&Method::GET, "/v1/integrations").unwrap();
        assert_eq!(r.operation, ListIntegrations);
        assert!(matches!(
            find(&Method::POST, "/v1/account"),
            Err(ApiError::MethodNotAllowed)
        ));
        assert!(matches!(
            find(&Method::GET, "/v1/nope"),
            Err(ApiError::NotFound(_))
        ));
        assert!(matches!(
            find(&Method::GET, "/v1/consumers//connections"),
            Err(ApiError::NotFound(_))
        ));
        let (r, p) = find(&Method::PATCH, "/v1/connections/con_1/proxy/a/b/").unwrap();
        assert_eq!((r.operation, p.get("path")), (ProxyConnection, "a/b/"));
        assert!(find(&Method::GET, "/v1/connections/con_1/proxy").is_err());
        let (r, _) = find(&Method::GET, "/v1/connections/con_1/credentials").unwrap();
        assert_eq!(r.operation, GetConnectionCredentials);
    }

    #[test]
    fn every_route_is_unique() {
        for (i, a) in ROUTES.iter().enumerate() {
            for b in &ROUTES[i + 1..] {
                assert!(
                    !(a.method == b.method && a.path == b.path),
                    "{} {}",
                    a.method,
                    a.path
                );
            }
        }
    }
}
