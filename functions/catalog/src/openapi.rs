//! `GET /v1/openapi.json`: the OpenAPI 3.1 description of the management API, generated
//! from the route table and the request/response types (JSON Schema 2020-12 via schemars),
//! built once per process.

use std::sync::OnceLock;

use latchkey_api::{
    AccountView, ActivationLinkView, ApiKeyView, ConnectionView, ConsumerView, CreatedApiKeyView,
    CredentialsView, InstalledView, IntegrationView, Listed, WebhookDeliveryView,
};
use latchkey_core::App;
use latchkey_domain::{
    AccountPatch, ConnectionPatch, ConsumerPatch, InstallConnection as InstallConnectionInput,
    IntegrationInput, IntegrationStatus, Logo, NewActivation, NewApiKey, NewConsumer,
    SigningSecret,
};
use latchkey_web::{Operation, ROUTES, Response, StatusCode, json};
use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde_json::{Map, Value, json};

static DOCUMENT: OnceLock<Value> = OnceLock::new();

pub fn document(app: &App) -> Response {
    json(
        StatusCode::OK,
        DOCUMENT.get_or_init(|| build(app.public_url().as_str())),
    )
}

/// The methods an `ANY` route is described with.
const ANY_METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// What the route table does not say about an operation.
struct Doc {
    summary: &'static str,
    request: Option<Schema>,
    status: u16,
    response: Option<Schema>,
    /// Query parameters beyond `limit`/`cursor`, which every list operation has.
    query: &'static [(&'static str, &'static str)],
    list: bool,
    public: bool,
    /// The answer's `ETag` is the version it shows.
    etag: bool,
    /// Written only over the version `If-Match` names, if given (412 otherwise).
    if_match: bool,
}

fn doc(summary: &'static str, status: u16, response: Option<Schema>) -> Doc {
    Doc {
        summary,
        request: None,
        status,
        response,
        query: &[],
        list: false,
        public: false,
        etag: false,
        if_match: false,
    }
}

fn schema<T: JsonSchema>(generator: &mut SchemaGenerator) -> Option<Schema> {
    Some(generator.subschema_for::<T>())
}

/// Exhaustive on purpose: a new operation does not compile until it is described.
fn describe(operation: Operation, g: &mut SchemaGenerator) -> Option<Doc> {
    use Operation::*;
    Some(match operation {
        ListIntegrations => Doc {
            query: &[
                ("status", "active or inactive"),
                (
                    "key",
                    "only the integration with this key (e.g. github), if there is one",
                ),
            ],
            list: true,
            ..doc(
                "List the account's integrations",
                200,
                schema::<Listed<IntegrationView>>(g),
            )
        },
        GetIntegration => Doc {
            etag: true,
            ..doc("Get an integration", 200, schema::<IntegrationView>(g))
        },
        GetIntegrationLogo => doc(
            "Get an integration's logo as base64",
            200,
            schema::<Logo>(g),
        ),
        CreateIntegration => Doc {
            request: schema::<IntegrationInput>(g),
            etag: true,
            ..doc(
                "Create a custom integration",
                201,
                schema::<IntegrationView>(g),
            )
        },
        ReplaceIntegration => Doc {
            request: schema::<IntegrationInput>(g),
            etag: true,
            if_match: true,
            ..doc(
                "Replace an integration (its key cannot change)",
                200,
                schema::<IntegrationView>(g),
            )
        },
        PatchIntegration => Doc {
            request: Some(json_schema_patch(g)),
            etag: true,
            if_match: true,
            ..doc(
                "Change status, name, logo or OAuth app (enables a built-in)",
                200,
                schema::<IntegrationView>(g),
            )
        },
        DeleteIntegration => Doc {
            query: &[(
                "cascade",
                "true: disconnect the integration's connections first (revoked at the provider, credentials deleted, connection.deleted sent); without it, 409 has_connections while any exist",
            )],
            ..doc("Delete an integration", 204, None)
        },
        OpenApi => Doc {
            public: true,
            ..doc(
                "This document",
                200,
                Some(schemars::json_schema!({"type": "object"})),
            )
        },
        CreateConsumer => Doc {
            request: schema::<NewConsumer>(g),
            etag: true,
            ..doc("Create a consumer", 201, schema::<ConsumerView>(g))
        },
        ListConsumers => Doc {
            query: &[(
                "internal_reference",
                "only the consumer with this reference",
            )],
            list: true,
            ..doc("List consumers", 200, schema::<Listed<ConsumerView>>(g))
        },
        GetConsumer => Doc {
            etag: true,
            ..doc("Get a consumer", 200, schema::<ConsumerView>(g))
        },
        PatchConsumer => Doc {
            request: schema::<ConsumerPatch>(g),
            etag: true,
            if_match: true,
            ..doc(
                "Change a consumer (null clears a field)",
                200,
                schema::<ConsumerView>(g),
            )
        },
        DeleteConsumer => doc("Delete a consumer", 204, None),
        GetAccount => doc("Get the account's settings", 200, schema::<AccountView>(g)),
        PatchAccount => Doc {
            request: schema::<AccountPatch>(g),
            ..doc(
                "Change the account's settings",
                200,
                schema::<AccountView>(g),
            )
        },
        ListApiKeys => doc(
            "List the account's API keys (never the keys themselves)",
            200,
            schema::<Listed<ApiKeyView>>(g),
        ),
        CreateApiKey => Doc {
            request: schema::<NewApiKey>(g),
            ..doc(
                "Create an API key (`full` or `connect` scope, optional expiry); the key is shown once",
                201,
                schema::<CreatedApiKeyView>(g),
            )
        },
        DeleteApiKey => Doc {
            query: &[(
                "force",
                "true: revoke even the account's last full-scope key (409 last_full_key otherwise)",
            )],
            ..doc(
                "Revoke an API key, effective on the next request",
                204,
                None,
            )
        },
        RotateJwtSecret => doc(
            "Rotate the HS256 secret for workspace tokens (shown once)",
            201,
            schema::<SigningSecret>(g),
        ),
        CreateActivation => Doc {
            request: schema::<NewActivation>(g),
            ..doc(
                "Create an activation link (valid 30 minutes)",
                201,
                schema::<ActivationLinkView>(g),
            )
        },
        CreateActivationByReference => Doc {
            request: schema::<NewActivation>(g),
            ..doc(
                "Create an activation link for the consumer with this internal reference, creating the consumer (from `consumer`) when the account has `auto_create_consumers`",
                201,
                schema::<ActivationLinkView>(g),
            )
        },
        ListConsumerConnections => Doc {
            list: true,
            ..doc(
                "List a consumer's connections",
                200,
                schema::<Listed<ConnectionView>>(g),
            )
        },
        RotateWebhookSecret => doc(
            "Rotate the webhook signing secret (shown once); webhooks are sent only once it is set",
            201,
            schema::<SigningSecret>(g),
        ),
        ListWebhookDeliveries => Doc {
            list: true,
            ..doc(
                "List the account's recent webhook deliveries (the last three days), newest first: status pending, delivered or failed (given up), attempts, the receiver's last HTTP status, the next attempt",
                200,
                schema::<Listed<WebhookDeliveryView>>(g),
            )
        },
        SendTestWebhook => doc(
            "Send a webhook.test event to webhook_url now (signed like every event, retried like every event): the delivery after its first attempt; 422 naming webhook_url when no URL or signing secret is set",
            201,
            schema::<WebhookDeliveryView>(g),
        ),
        InstallConnection => Doc {
            request: schema::<InstallConnectionInput>(g),
            ..doc(
                "Install a connection from known credentials (API key, username:password, OAuth tokens); `authenticated` says whether the verification call succeeded",
                201,
                schema::<InstalledView>(g),
            )
        },
        PatchConnection => Doc {
            request: schema::<ConnectionPatch>(g),
            ..doc(
                "Rename a connection or set its metadata (a JSON object of at most 8 KiB); sends connection.updated",
                200,
                schema::<ConnectionView>(g),
            )
        },
        RefreshConnection => doc(
            "Refresh the connection's credentials now (under the same lease as the schedule): the connection with its new expiry, or 502 refresh_failed with the provider's code",
            200,
            schema::<ConnectionView>(g),
        ),
        ListConnections => Doc {
            query: &[
                (
                    "status",
                    "active, needs_reauth or error: only connections in this status",
                ),
                ("integration_id", "only connections to this integration"),
                ("consumer_id", "only this consumer's connections"),
            ],
            list: true,
            ..doc(
                "Every connection of the account, newest first, narrowed by the filters given (all must match); pending installs are not listed",
                200,
                schema::<Listed<ConnectionView>>(g),
            )
        },
        GetConnection => doc(
            "Get a connection (no secrets)",
            200,
            schema::<ConnectionView>(g),
        ),
        GetConnectionCredentials => doc(
            "Usable credentials, refreshed first when the token is within its refresh margin (never the refresh token)",
            200,
            schema::<CredentialsView>(g),
        ),
        ProxyConnection => doc(
            "Call the integration's API as this connection: the answer is the provider's (refreshed and retried once on 401/403)",
            200,
            None,
        ),
        DeleteConnection => doc(
            "Disconnect: revoke at the provider when it has a revoke endpoint, delete the credentials",
            204,
            None,
        ),
        // Browser-facing routes are not part of the management API.
        ConnectLanding | ConnectSubmit | PopupStart | PopupSubmit | ConnectScript
        | OAuthCallback | ReminderReconnect | ReminderOptOutOffer | ReminderOptOut => return None,
        ConsoleHome
        | ConsoleSignInForm
        | ConsoleSignIn
        | ConsoleSignOut
        | ConsoleIntegrations
        | ConsoleIntegrationNew
        | ConsoleIntegrationCreate
        | ConsoleIntegration
        | ConsoleIntegrationSave
        | ConsoleConsumers
        | ConsoleConsumerCreate
        | ConsoleConsumer
        | ConsoleConsumerSave
        | ConsoleConsumerLink
        | ConsoleConnections
        | ConsoleConnection
        | ConsoleConnectionAction
        | ConsoleApiKeys
        | ConsoleApiKeyCreate
        | ConsoleApiKeyRevoke
        | ConsoleSettings
        | ConsoleSettingsSave => {
            return None;
        }
    })
}

fn json_schema_patch(g: &mut SchemaGenerator) -> Schema {
    let status = g.subschema_for::<IntegrationStatus>();
    let logo = g.subschema_for::<Option<Logo>>();
    schemars::json_schema!({
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "status": status,
            "name": {"type": "string"},
            "logo": logo,
            "client": {
                "type": "object",
                "required": ["client_id"],
                "properties": {"client_id": {"type": "string"}, "client_secret": {"type": "string", "writeOnly": true}}
            }
        }
    })
}

fn operation_id(operation: Operation) -> String {
    let name = format!("{operation:?}");
    let mut chars = name.chars();
    chars
        .next()
        .map(|c| c.to_ascii_lowercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

fn build(server_url: &str) -> Value {
    let mut settings = SchemaSettings::draft2020_12();
    settings.definitions_path = "#/components/schemas/".into();
    settings.meta_schema = None;
    let mut generator = settings.into_generator();
    let mut paths = Map::new();
    for route in ROUTES {
        let Some(d) = describe(route.operation, &mut generator) else {
            continue;
        };
        let mut parameters: Vec<Value> = route
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}'))
            .map(|name| name.trim_end_matches('+'))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        if d.list {
            parameters.push(json!({"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 50}}));
            parameters.push(json!({"name": "cursor", "in": "query", "description": "next_cursor of the previous page", "schema": {"type": "string"}}));
        }
        for (name, description) in d.query {
            parameters.push(json!({"name": name, "in": "query", "description": description, "schema": {"type": "string"}}));
        }
        if d.if_match {
            parameters.push(json!({"name": "If-Match", "in": "header", "description": "the ETag of the version read: the write happens only over it (412 precondition_failed otherwise); * or absent: over any", "schema": {"type": "string"}}));
        }
        let mut success = match &d.response {
            Some(s) => json!({"description": "OK", "content": {"application/json": {"schema": s}}}),
            None => json!({"description": "Done"}),
        };
        if d.etag {
            success["headers"] = json!({"ETag": {"description": "the version shown, for If-Match", "schema": {"type": "string"}}});
        }
        let mut responses = Map::new();
        responses.insert(d.status.to_string(), success);
        for code in ["400", "401", "404", "409", "412", "422"] {
            if (d.public && code == "401") || (!d.if_match && code == "412") {
                continue;
            }
            responses.insert(
                code.into(),
                json!({"$ref": "#/components/responses/Problem"}),
            );
        }
        let mut op = json!({
            "operationId": operation_id(route.operation),
            "summary": d.summary,
            "tags": [route.function.name()],
            "parameters": parameters,
            "responses": responses,
        });
        if let Some(request) = d.request {
            op["requestBody"] =
                json!({"required": true, "content": {"application/json": {"schema": request}}});
        }
        if d.public {
            op["security"] = json!([]);
        }
        // OpenAPI has neither greedy parameters nor ANY.
        let item = paths
            .entry(route.path.replace("+}", "}"))
            .or_insert_with(|| json!({}));
        if route.method == "ANY" {
            for method in ANY_METHODS {
                let mut each = op.clone();
                each["operationId"] = json!(format!(
                    "{}{}",
                    operation_id(route.operation),
                    method.to_ascii_uppercase()
                ));
                item[method] = each;
            }
        } else {
            item[route.method.to_ascii_lowercase()] = op;
        }
    }
    let mut schemas = generator.take_definitions(true);
    schemas.insert(
        "Problem".into(),
        json!({
            "type": "object",
            "description": "RFC 9457 problem details; `code` is stable, `field` names the offending input.",
            "required": ["type", "title", "status", "code", "detail"],
            "properties": {
                "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
                "code": {"type": "string"}, "detail": {"type": "string"}, "field": {"type": "string"}
            }
        }),
    );
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Latchkey management API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Server-to-server API of a Latchkey deployment. Timestamps are RFC 3339 UTC."
        },
        "servers": [{"url": server_url.trim_end_matches('/')}],
        "security": [{"apiKey": []}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer", "description": "An account API key"}},
            "responses": {"Problem": {
                "description": "The request was refused",
                "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
            }}
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_described_once() {
        let document = build("https://api.example.test");
        let paths = document["paths"].as_object().unwrap();
        let operations: usize = paths.values().map(|p| p.as_object().unwrap().len()).sum();
        let expected: usize = ROUTES
            .iter()
            .filter(|r| r.path.starts_with("/v1/"))
            .map(|r| {
                if r.method == "ANY" {
                    ANY_METHODS.len()
                } else {
                    1
                }
            })
            .sum();
        assert_eq!(operations, expected);
        let consumer = &document["components"]["schemas"]["Consumer"];
        assert_eq!(consumer["properties"]["created_at"]["format"], "date-time");
        assert!(consumer["properties"].get("account_id").is_none());
        let integration = &document["components"]["schemas"]["Integration"];
        assert!(integration["properties"].get("logo").is_none());
        assert!(integration["properties"].get("logo_url").is_some());
        for (path, writes) in [
            ("/v1/integrations/{id}", &["put", "patch"][..]),
            ("/v1/consumers/{id}", &["patch"][..]),
        ] {
            let one = &paths[path];
            assert!(one["get"]["responses"]["200"]["headers"]["ETag"].is_object());
            for write in writes {
                let parameters = one[write]["parameters"].as_array().unwrap();
                assert!(parameters.iter().any(|p| p["name"] == "If-Match"));
                assert!(one[write]["responses"]["412"].is_object());
            }
        }
    }
}
