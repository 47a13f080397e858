//! Email: messages built once as MIME (plain text and HTML alternatives, RFC 8058 one-click
//! unsubscribe headers) and sent by SMTP locally (feature `smtp`) or by Amazon SES in a
//! deployment (feature `ses`, `SendEmail` with the raw message, so both paths send the
//! same bytes). docs/ARCHITECTURE.md §5.

mod reminder;

pub use reminder::{ReminderEmail, reminder};

use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};

/// One message, before it is addressed from the deployment's sender.
#[derive(Debug, Clone, PartialEq)]
pub struct Email {
    /// The display name shown as the sender (the vendor's account name).
    pub from_name: String,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// The one-click opt-out URL (`List-Unsubscribe`, `List-Unsubscribe-Post`).
    pub unsubscribe: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("email address {0:?} is not valid")]
    Address(String),
    #[error("the message could not be built")]
    Build(#[source] lettre::error::Error),
    #[error("the mail server refused or could not be reached")]
    Send(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Sends email from one sender address (the deployment's verified identity).
pub struct Mailer {
    from: lettre::Address,
    transport: Transport,
}

enum Transport {
    #[cfg(feature = "smtp")]
    Smtp(lettre::AsyncSmtpTransport<lettre::Tokio1Executor>),
    #[cfg(feature = "ses")]
    Ses(aws_sdk_sesv2::Client),
}

fn address(raw: &str) -> Result<lettre::Address, MailError> {
    raw.parse().map_err(|_| MailError::Address(raw.to_owned()))
}

impl Mailer {
    /// Plain SMTP (no TLS, no auth) to `relay` (`HOST:PORT`): a local relay or test sink.
    #[cfg(feature = "smtp")]
    pub fn smtp(relay: &str, from: &str) -> Result<Self, MailError> {
        let (host, port) = relay
            .rsplit_once(':')
            .and_then(|(h, p)| Some((h, p.parse::<u16>().ok()?)))
            .ok_or_else(|| MailError::Address(relay.to_owned()))?;
        let transport =
            lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::builder_dangerous(host)
                .port(port)
                .timeout(Some(std::time::Duration::from_secs(10)))
                .build();
        Ok(Self {
            from: address(from)?,
            transport: Transport::Smtp(transport),
        })
    }

    /// Amazon SES v2 from `from`, an address of a verified identity.
    #[cfg(feature = "ses")]
    pub fn ses(sdk: &aws_config::SdkConfig, from: &str) -> Result<Self, MailError> {
        Ok(Self {
            from: address(from)?,
            transport: Transport::Ses(aws_sdk_sesv2::Client::new(sdk)),
        })
    }

    /// The sender address.
    pub fn from(&self) -> &str {
        self.from.as_ref()
    }

    /// Sends `email`; an error means it was not accepted (retry later).
    pub async fn send(&self, email: &Email) -> Result<(), MailError> {
        let message = compose(email, &self.from)?;
        match self.transport {
            #[cfg(feature = "smtp")]
            Transport::Smtp(ref smtp) => {
                use lettre::AsyncTransport;
                smtp.send(message)
                    .await
                    .map(drop)
                    .map_err(|e| MailError::Send(Box::new(e)))
            }
            #[cfg(feature = "ses")]
            Transport::Ses(ref client) => {
                use aws_sdk_sesv2::primitives::Blob;
                use aws_sdk_sesv2::types::{EmailContent, RawMessage};
                let raw = RawMessage::builder()
                    .data(Blob::new(message.formatted()))
                    .build()
                    .map_err(|e| MailError::Send(Box::new(e)))?;
                client
                    .send_email()
                    .from_email_address(self.from.to_string())
                    // Recipients come from the message's own headers.
                    .content(EmailContent::builder().raw(raw).build())
                    .send()
                    .await
                    .map(drop)
                    .map_err(|e| MailError::Send(Box::new(e)))
            }
        }
    }
}

/// The message as it goes on the wire, from `from` shown as the account's name.
fn compose(email: &Email, from: &lettre::Address) -> Result<lettre::Message, MailError> {
    let mut builder = lettre::Message::builder()
        .from(Mailbox::new(Some(email.from_name.clone()), from.clone()))
        .to(Mailbox::new(None, address(&email.to)?))
        .subject(&email.subject);
    if let Some(url) = &email.unsubscribe {
        builder = builder
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe"),
                format!("<{url}>"),
            ))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                "List-Unsubscribe=One-Click".to_owned(),
            ));
    }
    builder
        .multipart(MultiPart::alternative_plain_html(
            email.text.clone(),
            email.html.clone(),
        ))
        .map_err(MailError::Build)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_has_both_alternatives_and_one_click_unsubscribe() {
        let email = Email {
            from_name: "Acme, Inc.".into(),
            to: "it@globex.example".into(),
            subject: "Reconnect Books".into(),
            text: "plain words".into(),
            html: "<p>html words</p>".into(),
            unsubscribe: Some("https://connect.acme.test/reminders/lkr_x/opt-out".into()),
        };
        let from = address("reminders@acme.example").unwrap();
        let wire = String::from_utf8(compose(&email, &from).unwrap().formatted()).unwrap();
        // A name with a comma is encoded (RFC 2047): base64("Acme, Inc.").
        assert!(
            wire.contains("From: =?utf-8?b?QWNtZSwgSW5jLg==?= <reminders@acme.example>"),
            "{wire}"
        );
        assert!(wire.contains("To: it@globex.example"), "{wire}");
        assert!(
            wire.contains("List-Unsubscribe: <https://connect.acme.test/reminders/lkr_x/opt-out>"),
            "{wire}"
        );
        assert!(
            wire.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"),
            "{wire}"
        );
        assert!(wire.contains("multipart/alternative"), "{wire}");
        assert!(
            wire.contains("text/plain") && wire.contains("plain words"),
            "{wire}"
        );
        assert!(
            wire.contains("text/html") && wire.contains("<p>html words</p>"),
            "{wire}"
        );
        assert!(matches!(
            compose(
                &Email {
                    to: "nope".into(),
                    ..email
                },
                &from
            ),
            Err(MailError::Address(_))
        ));
    }
}
