//! The reminder a consumer gets when one of their connections broke: who asks (the
//! vendor's account name), what broke, one button to reconnect, one link to opt out.

use maud::{DOCTYPE, html};

use crate::Email;

/// What a reminder says; every string is shown escaped.
#[derive(Debug, Clone)]
pub struct ReminderEmail<'a> {
    pub account_name: &'a str,
    pub consumer_name: &'a str,
    pub integration_name: &'a str,
    pub to: &'a str,
    pub reconnect_url: &'a str,
    pub opt_out_url: &'a str,
}

pub fn reminder(r: &ReminderEmail<'_>) -> Email {
    let subject = format!("Reconnect {} to {}", r.integration_name, r.account_name);
    let why = format!(
        "Your {} connection in {} has stopped working: {} cannot reach your {} data until you sign in to {} again.",
        r.integration_name, r.account_name, r.account_name, r.integration_name, r.integration_name
    );
    let footer = format!(
        "You get this email because {} uses this address for reminders about your connections.",
        r.account_name
    );
    let text = format!(
        "Hello {},\n\n{why}\n\nReconnect {}: {}\n\nThe link opens {}'s connection page; it works for 30 days.\n\n--\n{footer}\nStop these reminders: {}\n",
        r.consumer_name, r.integration_name, r.reconnect_url, r.account_name, r.opt_out_url
    );
    let html = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (subject) }
            }
            body style="margin:0;padding:24px;background:#f4f5f7;font-family:-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;color:#1f2328" {
                div style="max-width:520px;margin:0 auto;background:#ffffff;border-radius:8px;padding:28px" {
                    p style="margin:0 0 8px;font-size:13px;color:#57606a" { (r.account_name) }
                    h1 style="margin:0 0 16px;font-size:20px" { (r.integration_name) " needs you to sign in again" }
                    p style="margin:0 0 12px;line-height:1.5" { "Hello " (r.consumer_name) "," }
                    p style="margin:0 0 20px;line-height:1.5" { (why) }
                    p style="margin:0 0 20px" {
                        a href=(r.reconnect_url) style="display:inline-block;background:#1f6feb;color:#ffffff;text-decoration:none;padding:10px 18px;border-radius:6px;font-weight:600" {
                            "Reconnect " (r.integration_name)
                        }
                    }
                    p style="margin:0;font-size:13px;line-height:1.5;color:#57606a" {
                        "The button opens " (r.account_name) "'s connection page; it works for 30 days."
                    }
                }
                p style="max-width:520px;margin:16px auto 0;font-size:12px;line-height:1.5;color:#57606a" {
                    (footer) " "
                    a href=(r.opt_out_url) style="color:#57606a" { "Stop these reminders" } "."
                }
            }
        }
    };
    Email {
        from_name: r.account_name.to_owned(),
        to: r.to.to_owned(),
        subject,
        text,
        html: html.into_string(),
        unsubscribe: Some(r.opt_out_url.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_escaped_in_html_and_links_are_in_both_parts() {
        let email = reminder(&ReminderEmail {
            account_name: "Acme <script>",
            consumer_name: "Globex",
            integration_name: "Books",
            to: "it@globex.example",
            reconnect_url: "https://c.test/reminders/lkr_1",
            opt_out_url: "https://c.test/reminders/lkr_1/opt-out",
        });
        assert_eq!(email.subject, "Reconnect Books to Acme <script>");
        assert!(!email.html.contains("<script>"), "{}", email.html);
        assert!(email.html.contains("Acme &lt;script&gt;"));
        assert!(
            email
                .text
                .contains("Reconnect Books: https://c.test/reminders/lkr_1\n")
        );
        assert!(
            email
                .html
                .contains(r#"href="https://c.test/reminders/lkr_1""#)
        );
        assert!(
            email
                .text
                .contains("Stop these reminders: https://c.test/reminders/lkr_1/opt-out")
        );
        assert!(
            email
                .html
                .contains(r#"href="https://c.test/reminders/lkr_1/opt-out""#)
        );
        assert_eq!(
            email.unsubscribe.as_deref(),
            Some("https://c.test/reminders/lkr_1/opt-out")
        );
    }
}
