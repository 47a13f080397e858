use serde::Serialize;
use std::borrow::Cow;

use crate::Timestamp;
use latchkey_domain::{
    ApiDefinition, AuthOption, Category, ClientSecret, Integration, IntegrationStatus,
    ParameterSpec, Secret,
};

/// An integration as clients see it: OAuth client secrets masked, the logo behind its own
/// URL, no account id.
#[derive(Debug, Serialize, schemars::JsonSchema)]
#[schemars(rename = "Integration")]
pub struct IntegrationView<'a> {
    pub id: &'a str,
    pub key: &'a str,
    pub name: &'a str,
    pub description: Option<&'a str>,
    pub version: Option<&'a str>,
    pub status: IntegrationStatus,
    /// The built-in this integration was seeded from.
    pub builtin: Option<&'a str>,
    /// `GET` it for the logo: the account's own, else the built-in's (`null` for a custom
    /// integration without one).
    pub logo_url: Option<String>,
    pub categories: &'a [Category],
    pub docs_url: Option<&'a str>,
    pub parameters: &'a [ParameterSpec],
    /// Borrowed unless a client secret has to be masked.
    pub auth_options: Vec<Cow<'a, AuthOption>>,
    /// The redirect URI to register with the provider's OAuth app (OAuth 1.0a sends it as
    /// `oauth_callback`): this integration's own, absent when no option redirects.
    pub redirect_uri: Option<String>,
    pub api: &'a ApiDefinition,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// What a set client secret shows as: that it is set, never what it is.
const MASK: &str = "********";

fn masked(option: &AuthOption) -> Cow<'_, AuthOption> {
    let has_secret = option
        .method
        .client()
        .is_some_and(|c| c.client_secret.is_some());
    if !has_secret {
        return Cow::Borrowed(option);
    }
    let mut option = option.clone();
    if let Some(Some(client)) = option.method.client_mut() {
        client.client_secret = Some(ClientSecret::Plain(Secret::new(MASK)));
    }
    Cow::Owned(option)
}

impl<'a> IntegrationView<'a> {
    /// `callback_url(id)` is the deployment's redirect URI for an integration.
    pub fn new(i: &'a Integration, callback_url: impl FnOnce(&str) -> String) -> Self {
        let redirects = i.auth_options.iter().any(|o| o.method.redirects());
        Self {
            id: &i.id,
            key: &i.key,
            name: &i.name,
            description: i.description.as_deref(),
            version: i.version.as_deref(),
            status: i.status,
            builtin: i.builtin.as_deref(),
            logo_url: (i.logo.is_some() || i.builtin.is_some())
                .then(|| format!("/v1/integrations/{}/logo", i.id)),
            categories: &i.categories,
            docs_url: i.docs_url.as_deref(),
            parameters: &i.parameters,
            auth_options: i.auth_options.iter().map(masked).collect(),
            redirect_uri: redirects.then(|| callback_url(&i.id)),
            api: &i.api,
            created_at: i.created_at.into(),
            updated_at: i.updated_at.into(),
        }
    }
}
