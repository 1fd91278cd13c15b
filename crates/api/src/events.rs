//! Event payloads in Codat's shapes: `company.*` carry the company's details, `connection.*` the company's
//! reference and the connection as the API shows it.

use std::collections::BTreeMap;

use linkwell_store::{CompanyRecord, DomainEvent, EventRenderer};
use serde_json::Value;

use crate::dto::{Company, CompanyLinks, CompanyReference, Connection};

/// Renders events with this deployment's public URL.
pub struct CodatEvents {
    pub public_url: String,
}

pub(crate) fn company_reference(company: &CompanyRecord) -> CompanyReference {
    CompanyReference {
        id: company.id.to_string(),
        name: company.name.clone(),
        description: company.description.clone(),
        links: CompanyLinks { portal: None },
        tags: company
            .tags
            .iter()
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect::<BTreeMap<_, _>>(),
    }
}

impl EventRenderer for CodatEvents {
    fn payload(&self, event: &DomainEvent<'_>) -> Value {
        match event {
            DomainEvent::CompanyCreated(company) | DomainEvent::CompanyDeleted(company) => {
                let mut details =
                    serde_json::to_value(Company::from_record(company, &self.public_url))
                        .unwrap_or(Value::Null);
                if let Value::Object(fields) = &mut details {
                    fields.remove("dataConnections");
                }
                details
            }
            DomainEvent::Connection {
                company,
                connection,
                ..
            } => serde_json::json!({
                "referenceCompany": company_reference(company),
                "connection": Connection::from_record(connection, &self.public_url),
            }),
            DomainEvent::RateLimit {
                daily_quota,
                remaining,
                expiry,
                ..
            } => serde_json::json!({
                "dailyQuota": daily_quota,
                "quotaRemaining": remaining,
                "expiryDate": expiry.to_storage(),
            }),
        }
    }
}
