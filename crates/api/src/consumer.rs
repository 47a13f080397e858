use serde::Serialize;

use crate::Timestamp;
use latchkey_domain::{Consumer, Metadata};

/// A consumer (the vendor's customer) as the API shows it.
#[derive(Debug, Serialize, schemars::JsonSchema)]
#[schemars(rename = "Consumer")]
pub struct ConsumerView<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub redirect_url: Option<&'a str>,
    pub internal_reference: Option<&'a str>,
    /// For reminder emails (when the account sends them).
    pub email: Option<&'a str>,
    /// Your own data on this customer.
    pub metadata: &'a Metadata,
    /// When the consumer stopped reminder emails (the link in each one); absent if not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reminders_opted_out_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl<'a> From<&'a Consumer> for ConsumerView<'a> {
    fn from(c: &'a Consumer) -> Self {
        Self {
            id: &c.id,
            name: &c.name,
            redirect_url: c.redirect_url.as_deref(),
            internal_reference: c.internal_reference.as_deref(),
            email: c.email.as_deref(),
            metadata: &c.metadata,
            reminders_opted_out_at: c.reminders_opted_out_at.map(Into::into),
            created_at: c.created_at.into(),
            updated_at: c.updated_at.into(),
        }
    }
}
