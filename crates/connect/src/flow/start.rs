//! The start of a connection attempt: what the browser asked for (an activation link or a
//! workspace token, plus Integration.App's popup parameters) resolved into the account,
//! consumer and integration it may connect, and how the attempt will end.

use latchkey_store::{Accounts, Consumers, Integrations, Links};
use std::collections::BTreeMap;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer};

use super::workspace_token;
use super::{Ending, RedirectPolicy};
use latchkey_core::App;
use latchkey_domain::token::token_hash;
use latchkey_domain::{
    Account, AccountId, Activation, ConnectionId, Consumer, FlowError, Integration, IntegrationId,
    IntegrationStatus, NewActivation,
};
use latchkey_domain::{FieldError, optional_text};

/// The start parameters, with Integration.App's names. Values are taken as text wherever
/// they come from (a number or a boolean in JSON counts as its text; anything else as
/// absent), and `connectionParameters` is an object, or a JSON string in a query string.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct StartRequest {
    #[serde(deserialize_with = "text")]
    pub integration_id: Option<String>,
    #[serde(deserialize_with = "text")]
    pub integration_key: Option<String>,
    #[serde(deserialize_with = "parameters")]
    pub connection_parameters: BTreeMap<String, String>,
    #[serde(deserialize_with = "text")]
    pub connection_id: Option<String>,
    #[serde(deserialize_with = "text")]
    pub name: Option<String>,
    #[serde(deserialize_with = "text")]
    pub auth_option_key: Option<String>,
    #[serde(deserialize_with = "flag")]
    pub allow_multiple_connections: bool,
    #[serde(deserialize_with = "text")]
    pub custom_state: Option<String>,
    #[serde(deserialize_with = "text")]
    pub token: Option<String>,
    #[serde(deserialize_with = "text")]
    pub redirect_uri: Option<String>,
    #[serde(deserialize_with = "text")]
    pub target_origin: Option<String>,
    /// Cyclr: a message posted to the opener with the result; without one, the browser
    /// goes to `targetOrigin` instead.
    #[serde(deserialize_with = "text")]
    pub callback_message: Option<String>,
    /// "Cancel / Back to …" was chosen: end the attempt as cancelled.
    #[serde(deserialize_with = "flag")]
    pub cancel: bool,
}

/// Any value, kept as text when it reads as text: a string (not empty), a number or a
/// boolean; anything else is absent. An object is taken as `connectionParameters`.
/// One visitor instead of `#[serde(untagged)]` enums, which buffer every value and were
/// most of the popup's added bytes.
enum Loose {
    Text(Option<String>),
    Object(BTreeMap<String, String>),
}

impl<'de> Deserialize<'de> for Loose {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(LooseVisitor)
    }
}

struct LooseVisitor;

impl<'de> Visitor<'de> for LooseVisitor {
    type Value = Loose;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any value")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Loose, E> {
        Ok(Loose::Text(Some(v.to_owned()).filter(|s| !s.is_empty())))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Loose, E> {
        Ok(Loose::Text(Some(v.to_string())))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Loose, E> {
        Ok(Loose::Text(Some(v.to_string())))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Loose, E> {
        Ok(Loose::Text(Some(v.to_string())))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Loose, E> {
        Ok(Loose::Text(Some(v.to_string())))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Loose, E> {
        Ok(Loose::Text(None))
    }

    fn visit_none<E: de::Error>(self) -> Result<Loose, E> {
        Ok(Loose::Text(None))
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Loose, D::Error> {
        Loose::deserialize(d)
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Loose, A::Error> {
        while seq.next_element::<de::IgnoredAny>()?.is_some() {}
        Ok(Loose::Text(None))
    }

    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Loose, A::Error> {
        let mut object = BTreeMap::new();
        while let Some((key, value)) = map.next_entry::<String, Loose>()? {
            if let Loose::Text(Some(text)) = value {
                object.insert(key, text);
            }
        }
        Ok(Loose::Object(object))
    }
}

fn text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Loose::deserialize(d)? {
        Loose::Text(text) => text,
        Loose::Object(_) => None,
    })
}

fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(text(d)?.is_some_and(|t| t == "true"))
}

/// An object, or (in a query string) the same object as JSON text.
fn parameters<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, String>, D::Error> {
    Ok(match Loose::deserialize(d)? {
        Loose::Object(object) => object,
        Loose::Text(Some(json)) => match serde_json::from_str::<Loose>(&json) {
            Ok(Loose::Object(object)) => object,
            _ => BTreeMap::new(),
        },
        Loose::Text(None) => BTreeMap::new(),
    })
}

/// What the start's token grants.
#[derive(Debug, Clone)]
pub struct Grant {
    /// Set for activation links: consumed when a connection completes.
    pub activation_hash: Option<String>,
    pub name: String,
    pub redirect: bool,
    pub integration_id: Option<IntegrationId>,
    pub connection_id: Option<ConnectionId>,
    /// Chift's marketplace: an activation link that names no integration lets the consumer
    /// choose, and a failure then stays in the popup. A workspace token's popup is the
    /// vendor's own, so it always ends at the vendor's `redirectUri` (Integration.App:
    /// "redirected … after the connection process is completed (successfully or not)").
    pub from_marketplace: bool,
    /// Opened by a (single-use) workspace token: the vendor's app asked for the
    /// connection, so one that needs nothing typed is made at once (Integration.App: "the
    /// connection may be created immediately"). An activation link asks for a click first.
    pub workspace: bool,
}

impl From<Activation> for Grant {
    fn from(a: Activation) -> Self {
        Self {
            from_marketplace: a.integration_id.is_none() && !a.workspace,
            activation_hash: Some(a.token_hash),
            name: a.name,
            redirect: a.redirect,
            integration_id: a.integration_id,
            connection_id: a.connection_id,
            workspace: a.workspace,
        }
    }
}

/// Everything a start resolved from its token and its request.
#[derive(Debug)]
pub struct Start {
    pub token: String,
    pub grant: Grant,
    pub account: Account,
    pub consumer: Consumer,
    /// `None`: the consumer chooses in the marketplace.
    pub integration: Option<Integration>,
    pub ending: Ending,
    pub request: StartRequest,
    /// The original query string, kept on links and the form action so nothing is lost.
    pub query: String,
    /// A text input that was too long or not printable (and was dropped): the attempt
    /// ends as `invalid_parameters` naming it.
    pub invalid_input: Option<FieldError>,
}

/// What reaches connection names, redirects and webhooks is bounded and printable: a text
/// that is not is dropped (so it is echoed nowhere) and answered as the first error.
fn bounded_texts(request: &mut StartRequest) -> Option<FieldError> {
    let mut first = None;
    let texts = [
        ("name", &mut request.name, 200),
        ("customState", &mut request.custom_state, 2048),
        ("callbackMessage", &mut request.callback_message, 2048),
    ];
    for (field, value, max) in texts {
        if let Some(text) = value.as_deref()
            && let Err(e) = optional_text(field, text, max)
        {
            *value = None;
            first.get_or_insert(e);
        }
    }
    first
}

impl Start {
    /// The landing page of this start, with `extra` query parameters set.
    pub fn landing_url(&self, extra: &[(&str, &str)]) -> String {
        let mut pairs: Vec<(String, String)> = url::form_urlencoded::parse(self.query.as_bytes())
            .into_owned()
            .filter(|(k, _)| !extra.iter().any(|(e, _)| e == k))
            .collect();
        pairs.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        format!(
            "/connect/{}{}{}",
            self.token,
            if query.is_empty() { "" } else { "?" },
            query
        )
    }

    /// The connection this attempt re-authorises, if any: only ever the one its link (or
    /// the workspace token it was minted from) names, never one from the query.
    pub fn connection_id(&self) -> Option<ConnectionId> {
        self.grant.connection_id.clone()
    }

    /// The new connection's name.
    pub fn name(&self) -> &str {
        self.request.name.as_deref().unwrap_or(&self.grant.name)
    }
}

/// The integration a start names: the grant's own wins over the request's id or key.
async fn find_integration(
    app: &App,
    account_id: &AccountId,
    grant: &Grant,
    request: &StartRequest,
) -> Result<Option<Integration>, FlowError> {
    let named = grant
        .integration_id
        .clone()
        .or_else(|| request.integration_id.as_deref().map(IntegrationId::from));
    let found = match (named, &request.integration_key) {
        (Some(id), _) => app.store.integration(account_id, &id).await?,
        (None, Some(key)) => app.store.integration_by_key(account_id, key).await?,
        (None, None) => None,
    };
    Ok(found.map(|v| v.value))
}

/// Resolves a start: the token (activation link or workspace JWT) names the account and
/// consumer; the link's own integration wins over anything the request names.
pub async fn resolve(
    app: &App,
    token: &str,
    request: StartRequest,
    query: &str,
) -> Result<Start, FlowError> {
    if token.is_empty() || token.len() > 2048 {
        return Err(FlowError::InvalidLink);
    }
    let mut request = request;
    let invalid_input = bounded_texts(&mut request);
    let mut query = query.to_owned();
    let mut token = token.to_owned();
    let (grant, account, consumer, integration) = if workspace_token::looks_like_jwt(&token) {
        let (account, consumer, signed) = workspace_token::verify(app, &token).await?;
        // What the token signed wins; a connection to re-authorise is taken from it only.
        if signed.integration_id.is_some() || signed.integration_key.is_some() {
            request.integration_id = signed.integration_id;
            request.integration_key = signed.integration_key;
        }
        request.connection_id = signed.connection_id;
        if let Some(multiple) = signed.allow_multiple_connections {
            request.allow_multiple_connections = multiple;
        }
        let integration_id = match (&request.integration_id, &request.integration_key) {
            (Some(id), _) => Some(IntegrationId::from(id.as_str())),
            (None, Some(key)) => app
                .store
                .integration_by_key(&account.id, key)
                .await?
                .map(|i| i.value.id),
            (None, None) => None,
        };
        let input = NewActivation {
            name: request.name.clone().unwrap_or_else(|| "Connection".into()),
            integration_id,
            // Integration.App semantics: a popup the vendor's app opened returns to it.
            redirect: true,
            connection_id: request.connection_id.as_deref().map(ConnectionId::from),
            consumer: None,
        };
        // The token is used up: the rest of the popup runs on an activation of its own.
        let (minted, activation) =
            latchkey_core::activation::mint(app, &account.id, &consumer.id, input, true).await?;
        token = minted.expose().to_owned();
        query = workspace_query(&query, &request);
        let grant = Grant::from(activation);
        let integration = find_integration(app, &account.id, &grant, &request).await?;
        (grant, account, consumer, integration)
    } else {
        let activation = app
            .store
            .activation(&token_hash(&token))
            .await?
            .ok_or(FlowError::InvalidLink)?;
        // A link for a new connection stays one: a `connectionId` in its query would turn
        // it into re-authorising another connection of the consumer.
        request.connection_id = None;
        let (account_id, consumer_id) = (
            activation.account_id.clone(),
            activation.consumer_id.clone(),
        );
        let grant = Grant::from(activation);
        // Independent reads, at once: one round trip instead of three.
        let (account, consumer, integration) = tokio::try_join!(
            async { Ok::<_, FlowError>(app.store.account(&account_id).await?) },
            async { Ok(app.store.consumer(&account_id, &consumer_id).await?) },
            find_integration(app, &account_id, &grant, &request),
        )?;
        let account = account.ok_or(FlowError::InvalidLink)?.value;
        let consumer = consumer.ok_or(FlowError::InvalidLink)?.value;
        (grant, account, consumer, integration)
    };
    if let Some(i) = &integration
        && i.status != IntegrationStatus::Active
    {
        return Err(FlowError::IntegrationUnavailable);
    }
    let policy = RedirectPolicy {
        account: &account,
        consumer: &consumer,
    };
    let ending = Ending {
        target: policy.target(request.redirect_uri.as_deref()),
        target_origin: request
            .target_origin
            .as_deref()
            .and_then(|o| policy.target_origin(o)),
        callback_message: request.callback_message.clone(),
        custom_state: request.custom_state.clone(),
        is_update: grant.connection_id.is_some(),
        redirect: grant.redirect,
        from_marketplace: grant.from_marketplace,
        append_result_params: account.append_result_params,
    };
    Ok(Start {
        invalid_input,
        token,
        grant,
        account,
        consumer,
        integration,
        ending,
        request,
        query,
    })
}

/// The query later links of a workspace-token popup carry: without the token and what it
/// signed (now in its activation), with the multiplicity the token decided.
fn workspace_query(query: &str, request: &StartRequest) -> String {
    const SIGNED: [&str; 5] = [
        "token",
        "connectionId",
        "integrationId",
        "integrationKey",
        "allowMultipleConnections",
    ];
    let mut pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .filter(|(k, _)| !SIGNED.contains(&k.as_str()))
        .collect();
    if request.allow_multiple_connections {
        pairs.push(("allowMultipleConnections".into(), "true".into()));
    }
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from_json(json: &str) -> StartRequest {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn values_are_read_as_text_and_anything_else_is_absent() {
        let r = from_json(
            r#"{"integrationId": 42, "name": "", "authOptionKey": ["x"],
                "allowMultipleConnections": true, "customState": {"a": 1}}"#,
        );
        assert_eq!(r.integration_id.as_deref(), Some("42"));
        assert_eq!(r.name, None);
        assert_eq!(r.auth_option_key, None);
        assert!(r.allow_multiple_connections);
        assert_eq!(r.custom_state, None);
    }

    #[test]
    fn connection_parameters_come_as_an_object_or_as_json_text() {
        let object =
            from_json(r#"{"connectionParameters": {"subdomain": "acme", "n": 3, "x": null}}"#);
        let text = from_json(r#"{"connectionParameters": "{\"subdomain\": \"acme\", \"n\": 3}"}"#);
        let expected = BTreeMap::from([
            ("n".into(), "3".into()),
            ("subdomain".into(), "acme".into()),
        ]);
        assert_eq!(object.connection_parameters, expected);
        assert_eq!(text.connection_parameters, expected);
        assert!(
            from_json(r#"{"connectionParameters": "not json"}"#)
                .connection_parameters
                .is_empty()
        );
    }

    #[test]
    fn a_query_string_deserializes_the_same_way() {
        let pairs = [
            ("integrationKey", "hubspot"),
            ("allowMultipleConnections", "false"),
            ("connectionParameters", r#"{"region":"eu"}"#),
        ];
        let r = StartRequest::deserialize(serde::de::value::MapDeserializer::<
            _,
            serde::de::value::Error,
        >::new(pairs.into_iter()))
        .unwrap();
        assert_eq!(r.integration_key.as_deref(), Some("hubspot"));
        assert!(!r.allow_multiple_connections);
        assert_eq!(r.connection_parameters["region"], "eu");
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn json_value() -> impl Strategy<Value = serde_json::Value> {
            let leaf = prop_oneof![
                Just(serde_json::Value::Null),
                any::<bool>().prop_map(serde_json::Value::from),
                any::<f64>().prop_map(serde_json::Value::from),
                any::<i64>().prop_map(serde_json::Value::from),
                "\\PC{0,16}".prop_map(serde_json::Value::from),
            ];
            leaf.prop_recursive(3, 24, 4, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
                    prop::collection::btree_map("\\PC{0,8}", inner, 0..4)
                        .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
                ]
            })
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]

            /// Whatever JSON a page or a vendor's backend sends as popup input, it is read
            /// (each field as text or absent) without panicking, and the texts that reach
            /// names and redirects are then bounded and printable.
            #[test]
            fn any_popup_input_is_coerced_and_bounded(
                fields in prop::collection::btree_map(
                    prop::sample::select(vec![
                        "integrationId", "integrationKey", "connectionParameters", "connectionId",
                        "name", "authOptionKey", "allowMultipleConnections", "customState",
                        "redirectUri", "targetOrigin", "callbackMessage", "cancel", "other",
                    ]),
                    json_value(),
                    0..8,
                ),
            ) {
                let input = serde_json::Value::Object(
                    fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
                );
                if let Ok(mut request) = serde_json::from_value::<StartRequest>(input) {
                    let _ = bounded_texts(&mut request);
                    for text in [&request.name, &request.custom_state, &request.callback_message]
                        .into_iter()
                        .flatten()
                    {
                        prop_assert!(text.chars().count() <= 2048 && !text.chars().any(char::is_control));
                    }
                }
            }
        }
    }
}
