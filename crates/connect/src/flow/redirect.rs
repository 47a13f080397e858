//! Where the browser goes when a connection attempt ends (docs/ARCHITECTURE.md §4).

use serde_json::json;
use url::Url;

use latchkey_domain::FlowError;
use latchkey_domain::{Account, ConnectionId, Consumer, validate_origin, validate_public_url};

/// Which redirect targets and `targetOrigin`s an account accepts: absolute https URLs
/// (http only on loopback) whose exact origin is in the account's allowlist or is the
/// origin of a redirect URL the vendor configured through the API.
pub struct RedirectPolicy<'a> {
    pub account: &'a Account,
    pub consumer: &'a Consumer,
}

fn origin_of(url: &Url) -> String {
    url.origin().ascii_serialization()
}

impl RedirectPolicy<'_> {
    fn configured(&self) -> impl Iterator<Item = Url> + '_ {
        [
            self.consumer.redirect_url.as_deref(),
            self.account.redirect_url.as_deref(),
        ]
        .into_iter()
        .flatten()
        .filter_map(|raw| validate_public_url("redirect_url", raw).ok())
    }

    fn origin_allowed(&self, origin: &str) -> bool {
        self.account
            .allowed_redirect_origins
            .iter()
            .any(|o| o == origin)
            || self.configured().any(|u| origin_of(&u) == origin)
    }

    /// A requested URL, if it may be redirected to.
    pub fn allows(&self, raw: &str) -> Option<Url> {
        let url = validate_public_url("redirectUri", raw).ok()?;
        self.origin_allowed(&origin_of(&url)).then_some(url)
    }

    /// The request's `redirectUri` if allowed, else the consumer's, else the account's.
    pub fn target(&self, requested: Option<&str>) -> Option<Url> {
        requested
            .and_then(|r| self.allows(r))
            .or_else(|| self.configured().next())
    }

    /// A `targetOrigin` for `postMessage`, if allowed (never `*`).
    pub fn target_origin(&self, requested: &str) -> Option<String> {
        let origin = validate_origin("targetOrigin", requested).ok()?;
        self.origin_allowed(&origin).then_some(origin)
    }
}

/// How an attempt ended.
#[derive(Debug)]
pub enum Outcome {
    Connected { connection_id: ConnectionId },
    Failed(FlowError),
}

/// What the start asked for, carried to the end of the flow.
#[derive(Debug, Clone, Default)]
pub struct Ending {
    pub target: Option<Url>,
    pub target_origin: Option<String>,
    pub custom_state: Option<String>,
    pub is_update: bool,
    pub redirect: bool,
    /// The start offered a choice of integrations (activation link without one).
    pub from_marketplace: bool,
    pub append_result_params: bool,
}

/// What to send the browser.
#[derive(Debug)]
pub enum Next {
    Redirect(Url),
    /// A local result page; `back` is the vendor target for "Back to …", `retry` says
    /// whether to offer trying again, `marketplace` whether to link back to the choice.
    Page {
        back: Option<Url>,
        retry: bool,
        marketplace: bool,
    },
    /// Post the result to `window.opener` at exactly this origin, then close; fall back to
    /// `fallback` when there is no opener.
    Message {
        origin: String,
        payload: serde_json::Value,
        fallback: Option<Url>,
    },
}

impl Ending {
    fn with_result(&self, target: &Url, outcome: &Outcome) -> Url {
        let mut url = target.clone();
        if self.append_result_params {
            let mut q = url.query_pairs_mut();
            match outcome {
                Outcome::Connected { connection_id } => {
                    q.append_pair("connectionId", connection_id)
                        .append_pair("connectionStatus", "active");
                }
                Outcome::Failed(e) => {
                    q.append_pair("error", e.code())
                        .append_pair("errorData", &e.data().to_string())
                        .append_pair("connectionStatus", "error");
                }
            }
            if let Some(state) = &self.custom_state {
                q.append_pair("customState", state);
            }
        }
        url
    }

    /// The create/update × success/error rules of docs/ARCHITECTURE.md §4.
    pub fn next(&self, outcome: &Outcome) -> Next {
        let success = matches!(outcome, Outcome::Connected { .. });
        let redirects = match (self.is_update, self.from_marketplace) {
            (true, _) => success && self.redirect,
            (false, false) => true,
            (false, true) => success && self.redirect,
        };
        if let Some(origin) = &self.target_origin {
            let payload = match outcome {
                Outcome::Connected { connection_id } => {
                    json!({"connectionId": connection_id, "connectionStatus": "active", "customState": self.custom_state})
                }
                Outcome::Failed(e) => {
                    json!({"error": e.code(), "errorData": e.data(), "connectionStatus": "error", "customState": self.custom_state})
                }
            };
            let fallback = self
                .target
                .as_ref()
                .filter(|_| redirects)
                .map(|t| self.with_result(t, outcome));
            return Next::Message {
                origin: origin.clone(),
                payload,
                fallback,
            };
        }
        match (&self.target, redirects) {
            (Some(target), true) => Next::Redirect(self.with_result(target, outcome)),
            _ => Next::Page {
                back: self.target.clone(),
                retry: !success,
                marketplace: self.from_marketplace || (self.is_update && success),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account() -> Account {
        let mut a = Account::new("acc".into(), "Acme".into(), 0);
        a.redirect_url = Some("https://app.acme.test/integrations".into());
        a.allowed_redirect_origins = vec!["https://partner.acme.test".into()];
        a
    }

    fn consumer(redirect: Option<&str>) -> Consumer {
        Consumer {
            id: "csm".into(),
            account_id: "acc".into(),
            name: "Globex".into(),
            redirect_url: redirect.map(Into::into),
            internal_reference: None,
            email: None,
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn target_precedence_and_allowlist() {
        let a = account();
        let c = consumer(Some("https://globex.acme.test/back"));
        let p = RedirectPolicy {
            account: &a,
            consumer: &c,
        };
        assert_eq!(
            p.target(None).unwrap().as_str(),
            "https://globex.acme.test/back",
            "consumer wins"
        );
        assert_eq!(
            p.target(Some("https://partner.acme.test/x"))
                .unwrap()
                .as_str(),
            "https://partner.acme.test/x"
        );
        for evil in [
            "javascript:alert(1)",
            "//evil.test/x",
            "https://partner.acme.test@evil.test/",
            "https://partner.acme.test.evil.test/",
            "https://partner.acme.tesT.evil/",
            "http://partner.acme.test/",
            "https://partner.acme.test\t/",
        ] {
            assert!(p.allows(evil).is_none(), "{evil}");
            assert_eq!(
                p.target(Some(evil)).unwrap().as_str(),
                "https://globex.acme.test/back",
                "{evil}"
            );
        }
        let nobody = consumer(None);
        let p = RedirectPolicy {
            account: &a,
            consumer: &nobody,
        };
        assert_eq!(
            p.target(None).unwrap().as_str(),
            "https://app.acme.test/integrations"
        );
        assert_eq!(
            p.target_origin("https://partner.acme.test").as_deref(),
            Some("https://partner.acme.test")
        );
        assert!(p.target_origin("*").is_none());
        assert!(p.target_origin("https://evil.test").is_none());
    }

    #[test]
    fn create_update_success_error_table() {
        let target = Url::parse("https://app.acme.test/done").unwrap();
        let ok = Outcome::Connected {
            connection_id: "con_1".into(),
        };
        let err = Outcome::Failed(FlowError::provider("access_denied"));
        let ending = |is_update, redirect, from_marketplace| Ending {
            target: Some(target.clone()),
            is_update,
            redirect,
            from_marketplace,
            append_result_params: true,
            custom_state: Some("s 1".into()),
            ..Default::default()
        };
        let redirected = |n: Next| match n {
            Next::Redirect(u) => Some(u.to_string()),
            _ => None,
        };
        // New connection with an integration: always back to the vendor.
        let u = redirected(ending(false, false, false).next(&ok)).unwrap();
        assert_eq!(
            u,
            "https://app.acme.test/done?connectionId=con_1&connectionStatus=active&customState=s+1"
        );
        let u = redirected(ending(false, false, false).next(&err)).unwrap();
        assert!(
            u.contains("error=access_denied") && u.contains("connectionStatus=error"),
            "{u}"
        );
        // Marketplace: redirect=true → redirect after success; redirect=false → stay.
        assert!(redirected(ending(false, true, true).next(&ok)).is_some());
        assert!(matches!(
            ending(false, false, true).next(&ok),
            Next::Page {
                marketplace: true,
                ..
            }
        ));
        // Update: success follows `redirect`; errors stay with a retry.
        assert!(redirected(ending(true, true, false).next(&ok)).is_some());
        assert!(matches!(
            ending(true, false, false).next(&ok),
            Next::Page {
                marketplace: true,
                retry: false,
                ..
            }
        ));
        for redirect in [true, false] {
            match ending(true, redirect, false).next(&err) {
                Next::Page {
                    retry: true,
                    back: Some(b),
                    ..
                } => assert_eq!(b, target),
                other => panic!("{other:?}"),
            }
        }
        // No target: a local page, never a redirect.
        let mut none = ending(false, false, false);
        none.target = None;
        assert!(matches!(none.next(&ok), Next::Page { .. }));
    }
}
