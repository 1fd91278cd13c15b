//! What the store hands back: typed records decoded from rows. Decoding checks every value, so a corrupt row
//! is an error, not a panic or a wrong answer.

use std::collections::BTreeMap;
use std::str::FromStr;

use linkwell_domain::connection::{ConnectionStatus, SourceType};
use linkwell_domain::ids::{CompanyId, ConnectionId};
use linkwell_domain::time::Timestamp;
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::error::StoreError;

#[derive(Debug, Clone, PartialEq)]
pub struct CompanyRecord {
    pub id: CompanyId,
    pub name: String,
    pub description: Option<String>,
    pub tags: BTreeMap<String, String>,
    pub created: Timestamp,
    pub last_sync: Option<Timestamp>,
    /// The company's connections, oldest first.
    pub connections: Vec<ConnectionRecord>,
}

/// An error recorded against a connection, in Codat's `dataConnectionErrors` shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionErrorRecord {
    pub status_code: Option<String>,
    pub status_text: Option<String>,
    pub error_message: Option<String>,
    pub errored_on_utc: String,
    pub status: Option<String>,
    pub resolved_on_utc: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ConnectionRecord {
    pub id: ConnectionId,
    pub company_id: CompanyId,
    pub platform_key: String,
    pub integration_id: String,
    pub source_id: String,
    pub source_type: SourceType,
    pub platform_name: String,
    pub status: ConnectionStatus,
    pub created: Timestamp,
    pub last_sync: Option<Timestamp>,
    pub errors: Vec<ConnectionErrorRecord>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HistoryRecord {
    pub previous_status: Option<ConnectionStatus>,
    pub status: ConnectionStatus,
    pub reason: String,
    pub changed_at: Timestamp,
}

pub(crate) fn text(row: &AnyRow, column: &str) -> Result<String, StoreError> {
    Ok(row.try_get::<String, _>(column)?)
}

pub(crate) fn optional_text(row: &AnyRow, column: &str) -> Result<Option<String>, StoreError> {
    Ok(row.try_get::<Option<String>, _>(column)?)
}

pub(crate) fn parsed<T: FromStr>(row: &AnyRow, column: &str) -> Result<T, StoreError> {
    let value = text(row, column)?;
    value
        .parse()
        .map_err(|_| StoreError::Corrupt(format!("{column} holds '{value}'")))
}

pub(crate) fn timestamp(row: &AnyRow, column: &str) -> Result<Timestamp, StoreError> {
    let value = text(row, column)?;
    Timestamp::parse_storage(&value)
        .ok_or_else(|| StoreError::Corrupt(format!("{column} holds '{value}'")))
}

pub(crate) fn optional_timestamp(
    row: &AnyRow,
    column: &str,
) -> Result<Option<Timestamp>, StoreError> {
    match optional_text(row, column)? {
        None => Ok(None),
        Some(value) => Timestamp::parse_storage(&value)
            .map(Some)
            .ok_or_else(|| StoreError::Corrupt(format!("{column} holds '{value}'"))),
    }
}

pub(crate) fn json<T: serde::de::DeserializeOwned>(
    row: &AnyRow,
    column: &str,
) -> Result<T, StoreError> {
    let value = text(row, column)?;
    serde_json::from_str(&value).map_err(|error| StoreError::Corrupt(format!("{column}: {error}")))
}

/// Columns of `connections` every connection query selects, aliased for [`connection_from_row`].
pub(crate) const CONNECTION_COLUMNS: &str =
    "x.id, x.company_id, x.platform_key, x.integration_id, \
     x.source_id, x.source_type, x.platform_name, x.status, x.created, x.last_sync, x.errors";

pub(crate) fn connection_from_row(row: &AnyRow) -> Result<ConnectionRecord, StoreError> {
    Ok(ConnectionRecord {
        id: parsed(row, "id")?,
        company_id: parsed(row, "company_id")?,
        platform_key: text(row, "platform_key")?,
        integration_id: text(row, "integration_id")?,
        source_id: text(row, "source_id")?,
        source_type: parsed(row, "source_type")?,
        platform_name: text(row, "platform_name")?,
        status: parsed(row, "status")?,
        created: timestamp(row, "created")?,
        last_sync: optional_timestamp(row, "last_sync")?,
        errors: json(row, "errors")?,
    })
}
