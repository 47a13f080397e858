//! The connection form: which parameters and credentials the chosen auth option still
//! needs, read back from a submitted form, and checked before connecting.

use std::collections::BTreeMap;

use latchkey_connect::flow::Start;
use latchkey_domain::{AuthOption, FieldError, Integration};
use latchkey_pages::{Brand, FormError, FormField};
use latchkey_providers::template::check_parameters;
use latchkey_web::Response;

/// What the popup asks for one integration and auth option.
pub struct Ask<'a> {
    pub integration: &'a Integration,
    pub option: &'a AuthOption,
}

impl Ask<'_> {
    /// The form's fields: missing parameters (all of them again once submitted), then the
    /// credentials the mode needs. Secrets are never echoed back.
    pub fn fields(
        &self,
        parameters: &BTreeMap<String, String>,
        submitted: Option<&BTreeMap<String, String>>,
    ) -> Vec<FormField> {
        let mut fields: Vec<FormField> = self
            .option
            .asked_parameters(self.integration)
            .filter(|p| submitted.is_some() || !parameters.contains_key(&p.name))
            .map(|p| FormField {
                name: format!("param.{}", p.name),
                label: p.label.clone(),
                help: p.help.clone(),
                secret: p.secret,
                required: p.required,
                value: parameters.get(&p.name).cloned().unwrap_or_default(),
            })
            .collect();
        for field in self.option.method.credential_fields() {
            let echoed = submitted
                .filter(|_| !field.secret)
                .and_then(|f| f.get(field.name))
                .cloned();
            fields.push(FormField {
                name: field.name.into(),
                label: field.label.into(),
                help: None,
                secret: field.secret,
                required: true,
                value: echoed.unwrap_or_default(),
            });
        }
        fields
    }

    /// Copies the submitted parameters (`param.{name}`) over the start's.
    pub fn take_parameters(
        &self,
        form: &BTreeMap<String, String>,
        parameters: &mut BTreeMap<String, String>,
    ) {
        for spec in self.option.asked_parameters(self.integration) {
            if let Some(v) = form
                .get(&format!("param.{}", spec.name))
                .filter(|v| !v.is_empty())
            {
                parameters.insert(spec.name.clone(), v.trim().to_owned());
            }
        }
    }

    /// Every asked parameter valid and every credential given.
    pub fn check(
        &self,
        parameters: &BTreeMap<String, String>,
        form: &BTreeMap<String, String>,
    ) -> Result<(), FieldError> {
        let specs: Vec<_> = self
            .option
            .asked_parameters(self.integration)
            .cloned()
            .collect();
        check_parameters(&specs, parameters)?;
        match self
            .option
            .method
            .credential_fields()
            .iter()
            .find(|f| form.get(f.name).is_none_or(|v| v.trim().is_empty()))
        {
            Some(f) => Err(FieldError::new(f.name, format!("{} is required", f.label))),
            None => Ok(()),
        }
    }

    /// The form page, with what was wrong next to the field it was about.
    pub fn page(
        &self,
        start: &Start,
        fields: &[FormField],
        error: Option<&FieldError>,
    ) -> Response {
        let wrong = error.map(|e| {
            let name = e
                .field
                .strip_prefix("connectionParameters.")
                .unwrap_or(&e.field);
            // The field on the form, and its label the consumer sees.
            let field = fields
                .iter()
                .find(|f| f.name == e.field || f.name == format!("param.{name}"));
            let label = field.map_or(name, |f| f.label.as_str());
            (
                field.map(|f| f.name.as_str()),
                format!("{label} {}", e.message),
            )
        });
        latchkey_pages::form(
            &Brand::from(&start.account),
            self.integration,
            &start.landing_url(&[]),
            fields,
            self.option.description.as_deref(),
            wrong
                .as_ref()
                .map(|(field, message)| FormError {
                    field: *field,
                    message,
                })
                .as_ref(),
            crate::cancel_link(start).as_deref(),
        )
    }
}
