//! Whose page it is: the account's name, logo, colour and support link.

use latchkey_domain::{Account, Branding};
use maud::{Markup, PreEscaped, html};

#[derive(Clone, Copy)]
pub struct Brand<'a> {
    pub name: &'a str,
    pub branding: Option<&'a Branding>,
}

impl<'a> From<&'a Account> for Brand<'a> {
    fn from(account: &'a Account) -> Self {
        Self {
            name: account.display_name(),
            branding: Some(&account.branding),
        }
    }
}

/// The relative luminance of `#rrggbb` (WCAG 2.x).
fn luminance(hex: &str) -> Option<f64> {
    let hex = hex.strip_prefix('#')?;
    let channel = |i: usize| -> Option<f64> {
        let c = f64::from(u8::from_str_radix(hex.get(i..i + 2)?, 16).ok()?) / 255.0;
        Some(if c <= 0.039_28 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        })
    };
    Some(0.2126 * channel(0)? + 0.7152 * channel(2)? + 0.0722 * channel(4)?)
}

impl<'a> Brand<'a> {
    /// A page with no account behind it (an unusable link).
    pub fn named(name: &'a str) -> Self {
        Self {
            name,
            branding: None,
        }
    }

    /// The account's colour as CSS, with whichever of white or near-black text reads
    /// better on it. The colour is validated `#rrggbb`, so it cannot break out of CSS.
    pub(crate) fn style(&self) -> Option<String> {
        let color = self.branding?.primary_color.as_deref()?;
        let l = luminance(color)?;
        let on_white = 1.05 / (l + 0.05);
        let on_dark = (l + 0.05) / 0.05;
        let text = if on_white >= on_dark { "#fff" } else { "#111" };
        Some(format!(":root{{--accent:{color};--on-accent:{text}}}"))
    }

    pub(crate) fn header(&self) -> Markup {
        let logo = self.branding.and_then(|b| b.logo.as_ref());
        html! {
            header.brand {
                @match logo {
                    Some(logo) => img src={ "data:" (logo.content_type) ";base64," (logo.data_base64) } alt="";,
                    // Decorative: the name follows.
                    None => span aria-hidden="true" { (PreEscaped(latchkey_core::catalog::monogram(self.name))) },
                }
                span { (self.name) }
            }
        }
    }

    pub(crate) fn footer(&self) -> Markup {
        let support = self.branding.and_then(|b| b.support_url.as_deref());
        html! {
            footer {
                @if let Some(url) = support {
                    a href=(url) rel="noopener" target="_blank" { "Get help from " (self.name) }
                }
                span { "Connections are secured by Latchkey" }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_on_the_accent_is_whichever_reads_better() {
        let brand = |color: &str| Branding {
            primary_color: Some(color.into()),
            ..Branding::default()
        };
        let dark = brand("#1f2328");
        let light = brand("#ffd33d");
        let style = |b: &Branding| {
            Brand {
                name: "Acme",
                branding: Some(b),
            }
            .style()
            .unwrap()
        };
        assert!(style(&dark).contains("--on-accent:#fff"));
        assert!(style(&light).contains("--on-accent:#111"));
        assert!(Brand::named("Acme").style().is_none());
    }
}
