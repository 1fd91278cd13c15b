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
            DomainEvent::ReadCompleted {
                company,
                modified_from,
                data_types,
                ..
            } => serde_json::json!({
                "referenceCompany": company_reference(company),
                "modifiedFromDate": modified_from,
                "dataTypes": data_types.iter().map(|summary| serde_json::json!({
                    "connectionId": summary.connection_id,
                    "dataType": summary.data_type,
                    "recordsModified": summary.records_modified,
                    "status": summary.status,
                    "issues": [],
                })).collect::<Vec<_>>(),
            }),
            DomainEvent::Write { company, push } => serde_json::json!({
                "id": push.id,
                "type": push.kind,
                "referenceCompany": company_reference(company),
                "connectionId": push.connection_id.to_string(),
                "requestedOnDate": push.requested.to_storage(),
                "completedOnDate": push.completed.map(|at| at.to_storage()),
                "status": push.status,
                "record": push.record_id.as_ref().map(|id| serde_json::json!({"id": id})),
                "attachmentId": null,
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
