//! Everything a handler needs, built once per process (Lambda init or gateway start) and
//! never per request: the store, the vault, the public URL, the outbound HTTP client.
//! Built by the composition root (`latchkey_web::setup`), or from parts in tests.

use std::sync::Arc;

use latchkey_domain::{Clock, is_internal_ip};
use latchkey_store::{Store, Table};
use latchkey_vault::Vault;
use url::Url;

pub struct App {
    pub store: Store,
    /// The one clock: use-cases read it through [`App::now`], the store checks expiry
    /// against it.
    clock: Arc<dyn Clock>,
    pub vault: Arc<Vault>,
    /// Base of the links Latchkey hands out (activation links, OAuth redirect URI); `None`
    /// on a deployment without `PublicBaseUrl`, where each request names its own
    /// ([`App::public_url`]).
    configured_url: Option<Url>,
    /// One HTTP client for every outbound call (token endpoints, proxy, webhooks), built
    /// on first use: it loads the system's root certificates, milliseconds that a cold
    /// start of a function making no outbound call should not pay. See [`App::http`].
    http: std::sync::OnceLock<reqwest::Client>,
    /// Test mode: integrations may point at loopback/private addresses (the local
    /// gateway and the tests; never a deployment).
    pub allow_loopback: bool,
    /// When a new webhook's first attempt runs (the outbox retries either way).
    pub webhook_first_attempt: FirstAttempt,
}

tokio::task_local! {
    static REQUEST_BASE: Url;
}

/// The outbound client's resolver outside test mode: the system's answers without any
/// internal address ([`is_internal_ip`]); a name with only those fails to connect.
pub struct PublicAddresses;

impl reqwest::dns::Resolve for PublicAddresses {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        Box::pin(async move {
            let found = tokio::net::lookup_host((name.as_str(), 0)).await?;
            let public: Vec<std::net::SocketAddr> =
                found.filter(|a| !is_internal_ip(a.ip())).collect();
            if public.is_empty() {
                let refused = format!("{} resolves to no public address", name.as_str());
                return Err(refused.into());
            }
            Ok(Box::new(public.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// Runs `work` with [`App::public_url`] answering `base` where nothing is configured.
pub async fn serving_at<F: Future>(base: Url, work: F) -> F::Output {
    REQUEST_BASE.scope(base, work).await
}

/// When a new webhook's first delivery attempt runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirstAttempt {
    /// In a task after the caller moves on: a long-lived process (the local gateway).
    Background,
    /// Before the caller goes on, within this budget: on Lambda, where the process is
    /// frozen once the response is sent and a background task would wait for the next
    /// invocation. An attempt cut short stays in the outbox for the refresh run.
    Inline(std::time::Duration),
}

impl App {
    /// An app over its parts: the composition root's, or a test's own table and vault.
    pub fn from_parts(
        table: Arc<dyn Table>,
        clock: Arc<dyn Clock>,
        vault: Vault,
        public_url: Option<Url>,
    ) -> Self {
        Self {
            store: Store::new(table, clock.clone()),
            clock,
            vault: Arc::new(vault),
            configured_url: public_url,
            http: std::sync::OnceLock::new(),
            allow_loopback: false,
            webhook_first_attempt: FirstAttempt::Background,
        }
    }

    /// Base of the links Latchkey hands out: the configured one, else the one the current
    /// request arrived at ([`serving_at`]), so a first deploy works before anyone knows
    /// the API's address.
    pub fn public_url(&self) -> Url {
        if let Some(url) = &self.configured_url {
            return url.clone();
        }
        REQUEST_BASE.try_with(Url::clone).unwrap_or_else(|_| {
            tracing::error!("no public URL configured and no request to derive one from");
            Url::parse("https://public-url.invalid/").expect("static URL")
        })
    }

    /// The redirect URI an integration's OAuth app registers with its provider (OAuth 1.0a
    /// sends it as `oauth_callback`). One per integration, so an answer can only finish a
    /// flow of the integration it was issued for (RFC 9700 §4.4 mix-up defence).
    pub fn callback_url(&self, integration_id: &str) -> Url {
        let mut url = self.public_url();
        url.path_segments_mut()
            .expect("the public URL is a base")
            .pop_if_empty()
            .extend(["oauth", "callback", integration_id]);
        url
    }

    /// Whether links need the request's own address ([`serving_at`]).
    pub fn derives_public_url(&self) -> bool {
        self.configured_url.is_none()
    }

    /// The current time, epoch seconds: the one clock every use-case reads.
    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    /// The one outbound HTTP client. It never follows redirects: a token endpoint or API
    /// that redirects is answered as it is, not chased to another host.
    pub fn http(&self) -> &reqwest::Client {
        self.http.get_or_init(|| {
            let builder = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none());
            // Outside test mode a name is checked by what it resolves to, not its text: a
            // public-looking name pointing at a private address is refused too.
            let builder = if self.allow_loopback {
                builder
            } else {
                builder.dns_resolver(Arc::new(PublicAddresses))
            };
            builder.build().expect("the HTTP client builds")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::dns::Resolve;

    #[tokio::test]
    async fn names_are_refused_by_the_internal_addresses_they_resolve_to() {
        for internal in ["localhost", "10.0.0.7", "198.18.0.1", "100.64.1.1", "::1"] {
            let name = internal.parse().unwrap();
            assert!(PublicAddresses.resolve(name).await.is_err(), "{internal}");
        }
        let public = PublicAddresses
            .resolve("93.184.216.34".parse().unwrap())
            .await;
        let addrs: Vec<_> = public.expect("a public address").collect();
        assert_eq!(addrs[0].ip().to_string(), "93.184.216.34");
    }
}
