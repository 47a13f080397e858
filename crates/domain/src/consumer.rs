use serde::{Deserialize, Serialize};

use crate::{AccountId, ConsumerId};

use crate::validate::{
    Checked, FieldError, Metadata, email, metadata, optional_text, present, required_text,
};
use crate::validate_public_url;

/// One of the vendor's end-customers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Consumer {
    pub id: ConsumerId,
    pub account_id: AccountId,
    pub name: String,
    pub redirect_url: Option<String>,
    /// The vendor's own id for this customer; unique per account when given.
    pub internal_reference: Option<String>,
    pub email: Option<String>,
    /// The vendor's own data on this customer.
    #[serde(default, skip_serializing_if = "Metadata::is_empty")]
    pub metadata: Metadata,
    /// When the consumer stopped reminder emails (the link in every reminder).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reminders_opted_out_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// `POST /v1/consumers`.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewConsumer {
    #[serde(default)]
    pub name: String,
    pub redirect_url: Option<String>,
    pub internal_reference: Option<String>,
    pub email: Option<String>,
    /// Your own data on this customer: a JSON object of at most 8 KiB.
    pub metadata: Option<Metadata>,
}

impl NewConsumer {
    pub fn into_consumer(
        self,
        id: ConsumerId,
        account_id: AccountId,
        now: i64,
    ) -> Result<Consumer, FieldError> {
        let consumer = Consumer {
            id,
            account_id,
            name: self.name.trim().to_owned(),
            redirect_url: self.redirect_url,
            internal_reference: self.internal_reference,
            email: self.email,
            metadata: self.metadata.unwrap_or_default(),
            reminders_opted_out_at: None,
            created_at: now,
            updated_at: now,
        };
        consumer.validate()?;
        Ok(consumer)
    }
}

impl Consumer {
    pub fn validate(&self) -> Checked {
        required_text("name", &self.name, 200)?;
        if let Some(url) = &self.redirect_url {
            validate_public_url("redirect_url", url)?;
        }
        if let Some(reference) = &self.internal_reference {
            required_text("internal_reference", reference, 200)?;
        }
        if let Some(address) = &self.email {
            email("email", address)?;
        }
        metadata("metadata", &self.metadata)?;
        optional_text("id", &self.id, 64)
    }

    pub fn patched(&self, patch: ConsumerPatch, now: i64) -> Result<Self, FieldError> {
        let mut next = self.clone();
        if let Some(name) = patch.name {
            next.name = name.trim().to_owned();
        }
        if let Some(url) = patch.redirect_url {
            next.redirect_url = url;
        }
        if let Some(reference) = patch.internal_reference {
            next.internal_reference = reference;
        }
        if let Some(address) = patch.email {
            next.email = address;
        }
        if let Some(data) = patch.metadata {
            next.metadata = data.unwrap_or_default();
        }
        next.updated_at = now;
        next.validate()?;
        Ok(next)
    }
}

/// `PATCH /v1/consumers/{id}`: absent fields stay, `null` clears.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsumerPatch {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub redirect_url: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub internal_reference: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub email: Option<Option<String>>,
    /// Replaces the metadata object; `null` clears it.
    #[serde(default, deserialize_with = "present")]
    pub metadata: Option<Option<Metadata>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(json: serde_json::Value) -> Result<Consumer, FieldError> {
        serde_json::from_value::<NewConsumer>(json)
            .unwrap()
            .into_consumer("csm_1".into(), "acc_1".into(), 1)
    }

    #[test]
    fn name_is_required_and_other_fields_are_checked() {
        assert_eq!(new(serde_json::json!({})).unwrap_err().field, "name");
        assert_eq!(
            new(serde_json::json!({"name": "  "})).unwrap_err().field,
            "name"
        );
        assert_eq!(
            new(serde_json::json!({"name": "Acme", "redirect_url": "javascript:alert(1)"}))
                .unwrap_err()
                .field,
            "redirect_url"
        );
        assert_eq!(
            new(serde_json::json!({"name": "Acme", "email": "nope"}))
                .unwrap_err()
                .field,
            "email"
        );
        let ok = new(serde_json::json!({"name": " Acme ", "internal_reference": "cust-42", "email": "it@acme.example"})).unwrap();
        assert_eq!(ok.name, "Acme");
    }

    #[test]
    fn unknown_fields_are_refused() {
        assert!(
            serde_json::from_value::<NewConsumer>(serde_json::json!({"name": "A", "nmae": "B"}))
                .is_err()
        );
    }
}
