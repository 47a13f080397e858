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

    /// A `targetOrigin`, if allowed (never `*`). Cyclr's bare-host form (`example.com`)
    /// names the allowed https origin on that host; it is matched, never trusted.
    pub fn target_origin(&self, requested: &str) -> Option<String> {
        if !requested.contains("://") {
            let host = requested.trim_end_matches('/').to_ascii_lowercase();
            let https = Url::parse(&format!("https://{host}/")).ok()?;
            let origin = origin_of(&https);
            // Only a bare host: a port, a path or credentials change the origin's meaning.
            return (https.host_str() == Some(host.as_str()) && self.origin_allowed(&origin))
                .then_some(origin);
        }
        let origin = validate_origin("targetOrigin", requested).ok()?;
        self.origin_allowed(&origin).then_some(origin)
    }
}

/// How an attempt ended.
#[derive(Debug)]
pub enum Outcome {
    Connected {
        connection_id: ConnectionId,
    },
    Failed(FlowError),
    /// The user chose "Cancel / Back to …": its own outcome, `error=cancelled`.
    Cancelled,
}

impl Outcome {
    /// `connectionStatus` as the vendor receives it.
    fn status(&self) -> &'static str {
        match self {
            Outcome::Connected { .. } => "active",
            Outcome::Failed(_) => "error",
            Outcome::Cancelled => "cancelled",
        }
    }

    /// The result as posted to the opener (`postMessage`) or Cyclr's `callbackMessage`.
    pub fn payload(&self, custom_state: Option<&str>) -> serde_json::Value {
        let status = self.status();
        match self {
            Outcome::Connected { connection_id } => {
                json!({"connectionId": connection_id, "connectionStatus": status, "customState": custom_state})
            }
            Outcome::Failed(e) => {
                json!({"error": e.code(), "errorData": e.data(), "connectionStatus": status, "customState": custom_state})
            }
            Outcome::Cancelled => {
                json!({"error": "cancelled", "connectionStatus": status, "customState": custom_state})
            }
        }
    }
}

/// What the start asked for, carried to the end of the flow.
#[derive(Debug, Clone, Default)]
pub struct Ending {
    pub target: Option<Url>,
    pub target_origin: Option<String>,
    pub callback_message: Option<String>,
    pub custom_state: Option<String>,
    pub is_update: bool,
    pub redirect: bool,
    /// The start offered a choice of integrations (activation link without one).
    pub from_marketplace: bool,
    pub append_result_params: bool,
}

/// The popup's own links on a page where an attempt ended.
#[derive(Debug, Clone)]
pub struct Links {
    /// "Try again": the same start again.
    pub retry: String,
    /// "Cancel / Back to …": ends the attempt as cancelled (see [`Outcome::Cancelled`]).
    pub cancel: String,
    /// "Back to the list": the start's marketplace.
    pub marketplace: String,
}

/// What to send the browser.
#[derive(Debug)]
pub enum Next {
    Redirect(Url),
    /// Chift's marketplace, showing the consumer's connections, after a success that does
    /// not redirect; `back` ("Back to …") carries the result to the vendor's target.
    Marketplace {
        back: Option<Url>,
    },
    /// A local result page: `back` is "Back to …" after a success (with the result),
    /// `retry` offers trying again, `cancel` offers "Cancel / Back to …" (its own
    /// outcome, so the vendor learns of it), `marketplace` links back to the choice.
    Page {
        back: Option<Url>,
        retry: bool,
        cancel: bool,
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
                    q.append_pair("connectionId", connection_id);
                }
                Outcome::Failed(e) => {
                    q.append_pair("error", e.code())
                        .append_pair("errorData", &e.data().to_string());
                }
                Outcome::Cancelled => {
                    q.append_pair("error", "cancelled");
                }
            }
            q.append_pair("connectionStatus", outcome.status());
            if let Some(state) = &self.custom_state {
                q.append_pair("customState", state);
            }
        }
        url
    }

    /// The create/update × success/error/cancel rules of docs/ARCHITECTURE.md §4 (Chift's
    /// redirect tables): a cancel always goes back to the vendor.
    pub fn next(&self, outcome: &Outcome) -> Next {
        let success = matches!(outcome, Outcome::Connected { .. });
        let cancelled = matches!(outcome, Outcome::Cancelled);
        let redirects = cancelled
            || match (self.is_update, self.from_marketplace) {
                (true, _) => success && self.redirect,
                (false, false) => true,
                (false, true) => success && self.redirect,
            };
        // Cyclr: with a `callbackMessage` it is posted to the opener at `targetOrigin`;
        // "if the callback message is null we will redirect to the targetOrigin".
        if let Some(origin) = &self.target_origin {
            match &self.callback_message {
                Some(message) => {
                    let mut payload = outcome.payload(self.custom_state.as_deref());
                    payload["callbackMessage"] = json!(message);
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
                // An allowed origin always parses: no panic on the way out of a flow.
                None => {
                    if let Ok(at_origin) = Url::parse(origin) {
                        return Next::Redirect(self.with_result(&at_origin, outcome));
                    }
                }
            }
        }
        let back = || self.target.as_ref().map(|t| self.with_result(t, outcome));
        match (&self.target, redirects) {
            (Some(target), true) => Next::Redirect(self.with_result(target, outcome)),
            // "redirect = false and success: redirects the user to the Marketplace page".
            _ if success && (self.is_update || self.from_marketplace) => {
                Next::Marketplace { back: back() }
            }
            _ => Next::Page {
                back: back().filter(|_| success),
                retry: !success,
                cancel: !success && !cancelled && self.target.is_some(),
                marketplace: self.from_marketplace && !success,
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
            metadata: Default::default(),
            reminders_opted_out_at: None,
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
        // Cyclr's bare host names the allowed https origin on it, nothing else.
        assert_eq!(
            p.target_origin("partner.acme.test").as_deref(),
            Some("https://partner.acme.test")
        );
        for evil in [
            "evil.test",
            "partner.acme.test:8443",
            "partner.acme.test.evil.test",
            "partner.acme.test/x",
            "user@partner.acme.test",
        ] {
            assert!(p.target_origin(evil).is_none(), "{evil}");
        }
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
        // Marketplace: redirect=true → redirect after success; redirect=false → back to
        // the marketplace, whose "Back to …" carries the result.
        assert!(redirected(ending(false, true, true).next(&ok)).is_some());
        match ending(false, false, true).next(&ok) {
            Next::Marketplace { back: Some(b) } => {
                assert!(b.as_str().contains("connectionId=con_1"), "{b}")
            }
            other => panic!("{other:?}"),
        }
        // Update: success follows `redirect` (else the marketplace); errors stay with a
        // retry and a cancel.
        assert!(redirected(ending(true, true, false).next(&ok)).is_some());
        assert!(matches!(
            ending(true, false, false).next(&ok),
            Next::Marketplace { back: Some(_) }
        ));
        for redirect in [true, false] {
            assert!(
                matches!(
                    ending(true, redirect, false).next(&err),
                    Next::Page {
                        retry: true,
                        cancel: true,
                        back: None,
                        ..
                    }
                ),
                "redirect={redirect}"
            );
        }
        // A cancel goes back to the vendor, whatever the start, as its own outcome.
        for (update, redirect, market) in [(true, false, false), (false, false, true)] {
            let u = redirected(ending(update, redirect, market).next(&Outcome::Cancelled)).unwrap();
            assert_eq!(
                u,
                "https://app.acme.test/done?error=cancelled&connectionStatus=cancelled&customState=s+1"
            );
        }
        // No target: a local page, never a redirect.
        let mut none = ending(false, false, false);
        none.target = None;
        assert!(matches!(
            none.next(&ok),
            Next::Page {
                back: None,
                cancel: false,
                ..
            }
        ));
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        const ALLOWED: [&str; 3] = [
            "https://globex.acme.test",
            "https://app.acme.test",
            "https://partner.acme.test",
        ];

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(1024))]

            /// Any requested `redirectUri` or `targetOrigin` either falls back to what the
            /// vendor configured or stays on an allowed origin: no string sends the
            /// browser, or posts the result, anywhere else.
            #[test]
            fn requested_targets_fall_back_or_stay_on_allowed_origins(
                raw in prop_oneof![
                    "\\PC{0,60}",
                    "(https?|javascript|data)://[a-z.@:%0-9]{0,30}(acme\\.test)?[/?#a-z]{0,10}",
                    "[a-z.]{0,20}acme\\.test[/:@a-z0-9]{0,10}",
                ],
            ) {
                let a = account();
                let c = consumer(Some("https://globex.acme.test/back"));
                let p = RedirectPolicy { account: &a, consumer: &c };
                let target = p.target(Some(&raw)).expect("something is configured");
                let origin = target.origin().ascii_serialization();
                prop_assert!(ALLOWED.contains(&origin.as_str()), "{} from {:?}", target, raw);
                prop_assert!(target.username().is_empty() && target.password().is_none());
                if let Some(origin) = p.target_origin(&raw) {
                    prop_assert!(ALLOWED.contains(&origin.as_str()), "{} from {:?}", origin, raw);
                }
            }
        }
    }
}
