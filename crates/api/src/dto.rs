//! Codat-shaped request and response bodies. Field names, enum values and nullability follow
//! Codat-Platform.json; conversions from store records live next to the types.

use std::collections::BTreeMap;

use linkwell_domain::connection::{ConnectionStatus, SourceType};
use linkwell_store::{
    ApiKeyRecord, CompanyRecord, ConnectionErrorRecord, ConnectionRecord, HistoryRecord,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::paged;

/// The status of a data connection.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[schema(as = DataConnectionStatus)]
pub enum DataConnectionStatus {
    PendingAuth,
    Linked,
    Unlinked,
    Deauthorized,
}

impl From<ConnectionStatus> for DataConnectionStatus {
    fn from(status: ConnectionStatus) -> Self {
        match status {
            ConnectionStatus::PendingAuth => Self::PendingAuth,
            ConnectionStatus::Linked => Self::Linked,
            ConnectionStatus::Unlinked => Self::Unlinked,
            ConnectionStatus::Deauthorized => Self::Deauthorized,
        }
    }
}

/// The type of platform of the connection.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub enum SourceTypeDto {
    Accounting,
    Banking,
    BankFeed,
    Commerce,
    Expense,
    Other,
    Unknown,
}

impl From<SourceType> for SourceTypeDto {
    fn from(kind: SourceType) -> Self {
        match kind {
            SourceType::Accounting => Self::Accounting,
            SourceType::Banking => Self::Banking,
            SourceType::BankFeed => Self::BankFeed,
            SourceType::Commerce => Self::Commerce,
            SourceType::Expense => Self::Expense,
            SourceType::Other => Self::Other,
            SourceType::Unknown => Self::Unknown,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DataConnectionError {
    #[schema(nullable)]
    pub status_code: Option<String>,
    #[schema(nullable)]
    pub status_text: Option<String>,
    #[schema(nullable)]
    pub error_message: Option<String>,
    pub errored_on_utc: String,
    /// `Active` or `Resolved` for transient errors; null otherwise.
    #[schema(schema_with = error_status_schema)]
    pub status: Option<String>,
    #[schema(nullable)]
    pub resolved_on_utc: Option<String>,
}

impl From<&ConnectionErrorRecord> for DataConnectionError {
    fn from(error: &ConnectionErrorRecord) -> Self {
        Self {
            status_code: error.status_code.clone(),
            status_text: error.status_text.clone(),
            error_message: error.error_message.clone(),
            errored_on_utc: error.errored_on_utc.clone(),
            status: error.status.clone(),
            resolved_on_utc: error.resolved_on_utc.clone(),
        }
    }
}

fn error_status_schema() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::SchemaType::from_iter([
            utoipa::openapi::Type::String,
            utoipa::openapi::Type::Null,
        ]))
        .enum_values(Some(["Active", "Resolved"]))
        .description(Some(
            "The status of a transient error; null when the error is not transient.",
        ))
        .build()
}

/// A company's connection to one platform.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Connection {
    pub id: String,
    pub integration_id: String,
    /// The four-letter platform key.
    pub integration_key: String,
    pub source_id: String,
    pub source_type: SourceTypeDto,
    pub platform_name: String,
    /// Where the company's user goes to authorize this connection.
    pub link_url: String,
    pub status: DataConnectionStatus,
    #[schema(nullable)]
    pub last_sync: Option<String>,
    pub created: String,
    #[schema(nullable)]
    pub data_connection_errors: Option<Vec<DataConnectionError>>,
    #[schema(nullable)]
    pub connection_info: Option<BTreeMap<String, serde_json::Value>>,
}

impl Connection {
    pub fn from_record(record: &ConnectionRecord, public_url: &str) -> Self {
        Self {
            id: record.id.to_string(),
            integration_id: record.integration_id.clone(),
            integration_key: record.platform_key.clone(),
            source_id: record.source_id.clone(),
            source_type: record.source_type.into(),
            platform_name: record.platform_name.clone(),
            link_url: format!(
                "{public_url}/link/companies/{}/connections/{}/start",
                record.company_id, record.id
            ),
            status: record.status.into(),
            last_sync: record.last_sync.map(|at| at.to_storage()),
            created: record.created.to_storage(),
            data_connection_errors: Some(record.errors.iter().map(Into::into).collect()),
            connection_info: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct CompanyLinks {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub portal: Option<String>,
}

/// A reference to a related company.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct CompanyReference {
    pub id: String,
    pub name: String,
    #[schema(nullable)]
    pub description: Option<String>,
    pub links: CompanyLinks,
    pub tags: BTreeMap<String, String>,
}

/// A business sharing access to its data.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Company {
    pub id: String,
    pub name: String,
    #[schema(nullable)]
    pub description: Option<String>,
    /// The company's hosted Link page.
    pub redirect: String,
    #[schema(nullable)]
    pub last_sync: Option<String>,
    pub created: String,
    #[schema(nullable)]
    pub created_by_user_name: Option<String>,
    pub products: Vec<String>,
    pub tags: BTreeMap<String, String>,
    #[schema(nullable)]
    pub reference_parent_company: Option<CompanyReference>,
    pub reference_subsidiary_companies: Vec<CompanyReference>,
    pub data_connections: Vec<Connection>,
}

impl Company {
    pub fn from_record(record: &CompanyRecord, public_url: &str) -> Self {
        Self {
            id: record.id.to_string(),
            name: record.name.clone(),
            description: record.description.clone(),
            redirect: format!("{public_url}/link/companies/{}", record.id),
            last_sync: record.last_sync.map(|at| at.to_storage()),
            created: record.created.to_storage(),
            created_by_user_name: None,
            products: Vec::new(),
            tags: record.tags.clone(),
            reference_parent_company: None,
            reference_subsidiary_companies: Vec::new(),
            data_connections: record
                .connections
                .iter()
                .map(|connection| Connection::from_record(connection, public_url))
                .collect(),
        }
    }
}

/// Body of create and replace company.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CompanyRequestBody {
    /// Name of the company; characters outside `A-Za-z0-9`, whitespace and `-',&@.?!` are removed.
    pub name: String,
    pub description: Option<String>,
    pub tags: Option<BTreeMap<String, String>>,
}

/// Body of update company: absent or null fields are left as they are.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CompanyUpdateRequest {
    pub name: Option<String>,
    pub description: Option<String>,
    pub tags: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateConnection {
    pub platform_key: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateConnectionStatus {
    #[schema(nullable)]
    pub status: Option<DataConnectionStatus>,
}

/// One recorded status change of a connection (linkwell extension).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionStatusChange {
    /// Null for the connection's creation.
    #[schema(nullable)]
    pub previous_status: Option<DataConnectionStatus>,
    pub status: DataConnectionStatus,
    pub reason: String,
    pub changed_on_utc: String,
}

impl From<&HistoryRecord> for ConnectionStatusChange {
    fn from(record: &HistoryRecord) -> Self {
        Self {
            previous_status: record.previous_status.map(Into::into),
            status: record.status.into(),
            reason: record.reason.clone(),
            changed_on_utc: record.changed_at.to_storage(),
        }
    }
}

paged!(
    /// A page of companies.
    Companies,
    Company
);
paged!(
    /// A page of connections.
    Connections,
    Connection
);
paged!(
    /// A page of a connection's status changes.
    ConnectionHistory,
    ConnectionStatusChange
);

/// Details of an API key. `apiKey` is present only in the answer that creates the key: linkwell stores keys
/// hashed and cannot show them again.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyDetails {
    pub id: String,
    #[schema(nullable, max_length = 50)]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
    pub created_date: String,
}

impl ApiKeyDetails {
    pub fn from_record(record: &ApiKeyRecord, raw_key: Option<String>) -> Self {
        Self {
            id: record.id.to_string(),
            name: record.name.clone(),
            api_key: raw_key,
            created_date: record.created.to_storage(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreateApiKey {
    #[schema(nullable, max_length = 50)]
    pub name: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ApiKeys {
    pub results: Vec<ApiKeyDetails>,
}
