//! Reading and writing a connection's data at its platform: the [`Connector`] trait every platform implements,
//! and the standard data model the records are mapped into (Codat's accounting, banking and commerce schemas).
//!
//! A connector fetches one data type a page at a time, oldest change first, so a pull can stop after any page
//! and resume from the page's cursor; with `modified_since` it fetches only what changed after that instant,
//! deletions included. Pushes map a record in the standard model into the platform's shape, and answer the
//! record as the platform stored it, mapped back.
//!
//! The sandbox platforms' connector is [`SandboxConnector`]; [`Connectors`] says which connector serves which
//! platform. Mappings are pure functions per platform family (`accounting`, `banking`, `commerce`), and pushes
//! are described field by field (`push`), one description driving checks, platform bodies, error paths and
//! the `PushOption` document.

pub(crate) mod accounting;
mod answers;
pub(crate) mod banking;
pub(crate) mod commerce;
mod data_type;
pub(crate) mod push;
mod registry;
mod sandbox;
pub(crate) mod standard;

pub use data_type::DataType;
pub use registry::Connectors;
pub use sandbox::{SandboxConnector, SandboxPlatform};

use async_trait::async_trait;
use serde_json::Value;

use crate::tokens::ConnectionRef;

/// One record as the platform holds it, mapped into the standard model.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceRecord {
    /// The platform's id of the record (the standard model's `id`).
    pub id: String,
    /// When the platform last changed the record, RFC 3339 UTC with milliseconds.
    pub source_modified: String,
    /// Deleted at the platform: `body` is `None`.
    pub deleted: bool,
    /// The record in the standard model (Codat's schema for its data type), without `modifiedDate` and
    /// `metadata`, which linkwell sets when it stores the record.
    pub body: Option<Value>,
}

/// A [`SourceRecord`] whose body is JSON text already, the way the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonRecord {
    pub id: String,
    pub source_modified: String,
    pub deleted: bool,
    pub body: Option<String>,
}

/// One page of a data type.
#[derive(Debug, Clone, PartialEq)]
pub struct FetchedPage {
    pub records: Vec<SourceRecord>,
    /// Where the next page starts; `None` on the last page.
    pub next_cursor: Option<String>,
}

/// A page as the platform answered it, mapped into the standard model only when asked: a caller can ask for
/// the next page (its cursor is known) before it spends the time mapping this one.
pub struct UnmappedPage {
    /// Where the next page starts; `None` on the last page.
    pub next_cursor: Option<String>,
    map: Mapping,
}

type MapTo<T> = Box<dyn FnOnce() -> Result<Vec<T>, ConnectorError> + Send>;

/// How a page's records are put into the standard model: as JSON values, or (for the types pulled by the
/// million) straight into JSON text.
enum Mapping {
    Values(MapTo<SourceRecord>),
    Json(MapTo<JsonRecord>),
}

impl UnmappedPage {
    pub fn new(
        next_cursor: Option<String>,
        map: impl FnOnce() -> Result<Vec<SourceRecord>, ConnectorError> + Send + 'static,
    ) -> Self {
        Self {
            next_cursor,
            map: Mapping::Values(Box::new(map)),
        }
    }

    /// A page whose mapping writes each record's JSON text directly.
    pub fn new_json(
        next_cursor: Option<String>,
        map: impl FnOnce() -> Result<Vec<JsonRecord>, ConnectorError> + Send + 'static,
    ) -> Self {
        Self {
            next_cursor,
            map: Mapping::Json(Box::new(map)),
        }
    }

    /// A page whose records are mapped already.
    pub fn mapped(page: FetchedPage) -> Self {
        Self::new(page.next_cursor, move || Ok(page.records))
    }

    /// The records in the standard model.
    pub fn map(self) -> Result<Vec<SourceRecord>, ConnectorError> {
        match self.map {
            Mapping::Values(map) => map(),
            Mapping::Json(map) => map()?
                .into_iter()
                .map(|record| {
                    let body = record
                        .body
                        .map(|body| serde_json::from_str(&body))
                        .transpose()
                        .map_err(|error| ConnectorError::Failed(error.to_string()))?;
                    Ok(SourceRecord {
                        id: record.id,
                        source_modified: record.source_modified,
                        deleted: record.deleted,
                        body,
                    })
                })
                .collect(),
        }
    }

    /// The records in the standard model as JSON text, the way the store keeps them.
    pub fn map_json(self) -> Result<Vec<JsonRecord>, ConnectorError> {
        match self.map {
            Mapping::Json(map) => map(),
            Mapping::Values(map) => map()?
                .into_iter()
                .map(|record| {
                    let body = record
                        .body
                        .map(|body| serde_json::to_string(&body))
                        .transpose()
                        .map_err(|error| ConnectorError::Failed(error.to_string()))?;
                    Ok(JsonRecord {
                        id: record.id,
                        source_modified: record.source_modified,
                        deleted: record.deleted,
                        body,
                    })
                })
                .collect(),
        }
    }
}

impl std::fmt::Debug for UnmappedPage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UnmappedPage")
            .field("next_cursor", &self.next_cursor)
            .finish_non_exhaustive()
    }
}

/// A field of a pushed record that is not acceptable, named by its path in the standard model
/// (`lineItems[0].itemRef.id`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// What a push asks the platform to do.
#[derive(Debug, Clone, PartialEq)]
pub enum PushKind {
    Create,
    Update { id: String },
    Delete { id: String },
}

/// Why a connector call did not work, sorted by what the caller does about it.
#[derive(Debug, Clone, PartialEq)]
pub enum ConnectorError {
    /// The platform refused the connection's access for good: the connection must be linked again.
    Refused(String),
    /// Worth trying again later (timeouts, 5xx, 429), after `retry_after` when the platform said so.
    Transient {
        reason: String,
        retry_after: Option<std::time::Duration>,
        rate_limited: bool,
    },
    /// The platform does not offer this data type or operation.
    NotSupported(String),
    /// The record is not acceptable; nothing was changed at the platform.
    Invalid(Vec<FieldError>),
    /// The platform refused the change as it stands (e.g. a paid invoice cannot be changed).
    Conflict(String),
    /// The record to update or delete does not exist at the platform.
    NotFound(String),
    /// Anything else the platform answered that linkwell cannot use.
    Failed(String),
}

impl std::fmt::Display for ConnectorError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConnectorError::Refused(reason) => write!(f, "the platform refused access: {reason}"),
            ConnectorError::Transient { reason, .. } => {
                write!(f, "the platform is not available right now: {reason}")
            }
            ConnectorError::NotSupported(what) => {
                write!(f, "not supported by the platform: {what}")
            }
            ConnectorError::Invalid(fields) => {
                let names: Vec<&str> = fields.iter().map(|f| f.field.as_str()).collect();
                write!(f, "invalid record: {}", names.join(", "))
            }
            ConnectorError::Conflict(reason) => {
                write!(f, "the platform refused the change: {reason}")
            }
            ConnectorError::NotFound(reason) => write!(f, "not found at the platform: {reason}"),
            ConnectorError::Failed(reason) => write!(f, "{reason}"),
        }
    }
}

impl std::error::Error for ConnectorError {}

/// A platform's data API, seen through the standard model. Data types are Codat's names (`invoices`,
/// `chartOfAccounts`, `banking-transactions`, `commerce-companyInfo`...).
#[async_trait]
pub trait Connector: Send + Sync {
    /// The data types this platform can be read for.
    fn readable(&self) -> &'static [&'static str];

    /// The data types this platform accepts pushes for, and which kinds of push each.
    fn supports_push(&self, data_type: &str, kind: &PushKind) -> bool;

    /// One page of `data_type`, starting at `cursor` (the first page when `None`); with `modified_since`
    /// (RFC 3339) only records changed strictly after it, including the deleted ones.
    async fn fetch_page(
        &self,
        at: ConnectionRef,
        data_type: &str,
        cursor: Option<&str>,
        modified_since: Option<&str>,
        page_size: u32,
    ) -> Result<FetchedPage, ConnectorError>;

    /// [`Connector::fetch_page`], leaving the mapping to the caller. Connectors whose mapping costs time
    /// answer as soon as the platform has; the default maps at once.
    async fn fetch_unmapped_page(
        &self,
        at: ConnectionRef,
        data_type: &str,
        cursor: Option<&str>,
        modified_since: Option<&str>,
        page_size: u32,
    ) -> Result<UnmappedPage, ConnectorError> {
        self.fetch_page(at, data_type, cursor, modified_since, page_size)
            .await
            .map(UnmappedPage::mapped)
    }

    /// Checks a record in the standard model for a push without calling the platform: every unacceptable
    /// field, or nothing.
    fn validate(&self, data_type: &str, kind: &PushKind, record: &Value) -> Vec<FieldError>;

    /// Applies a push at the platform. Answers the record as the platform now holds it, in the standard model
    /// (`None` for a delete). `idempotency_key` is the same on every attempt of one push operation: a
    /// platform that takes one makes a creation retried after a lost answer happen once.
    async fn push(
        &self,
        at: ConnectionRef,
        data_type: &str,
        kind: &PushKind,
        record: &Value,
        idempotency_key: &str,
    ) -> Result<Option<SourceRecord>, ConnectorError>;

    /// The push options of a data type: Codat's `PushOption` document describing each field.
    fn push_options(&self, data_type: &str) -> Option<Value>;
}
