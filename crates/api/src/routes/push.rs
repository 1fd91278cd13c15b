//! Pushing records to a connection's platform: create, update and delete as push operations that a worker
//! sends, the push options of each data type, and the company's push history.

use axum::extract::{OriginalUri, Path, State};
use linkwell_connectors::data::{Connector, PushKind};
use linkwell_connectors::jobs::validation_json;
use linkwell_domain::connection::ConnectionStatus;
use linkwell_domain::ids::{ClientId, CompanyId, ConnectionId};
use linkwell_store::{ConnectionRecord, NewPush, PushRecord, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::auth::Client;
use crate::error::{ApiError, ApiResult, ErrorMessage};
use crate::extract::{Json, ListParams, Query};
use crate::routes::companies::{company_error, company_id, extra_params};
use crate::routes::connections::ids;
use crate::state::AppState;

/// Codat's push operation statuses (for the document).
#[derive(ToSchema)]
#[allow(dead_code)]
pub enum PushStatus {
    Pending,
    Failed,
    Success,
    TimedOut,
}

/// Codat's push `validation` (for the document).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct PushValidation {
    errors: Option<Vec<PushValidationItem>>,
    warnings: Option<Vec<PushValidationItem>>,
}

#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct PushValidationItem {
    item_id: Option<String>,
    message: Option<String>,
    validator_name: Option<String>,
}

/// One change a push made (for the document).
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct PushOperationChange {
    r#type: PushChangeType,
    record_ref: Option<PushRecordRef>,
    attachment_id: Option<String>,
}

/// Codat's `PushChangeType`; linkwell's pushes make `Created`, `Modified` and `Deleted` changes.
#[derive(ToSchema)]
#[allow(dead_code)]
pub enum PushChangeType {
    Unknown,
    Created,
    Modified,
    Deleted,
    AttachmentUploaded,
}

#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct PushRecordRef {
    id: Option<String>,
    #[schema(value_type = crate::routes::data::DataTypeSchema)]
    data_type: Option<String>,
}

/// Codat's `PushOperation`, with the record that was sent as `data` (as Codat's create and update answers
/// carry it).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PushOperation {
    pub push_operation_key: String,
    pub company_id: String,
    pub data_connection_key: String,
    #[schema(value_type = crate::routes::data::DataTypeSchema)]
    pub data_type: String,
    pub requested_on_utc: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completed_on_utc: Option<String>,
    pub timeout_in_minutes: Option<i64>,
    /// Deprecated in Codat's API: `timeoutInMinutes` in seconds.
    #[schema(deprecated)]
    pub timeout_in_seconds: Option<i64>,
    #[schema(value_type = PushStatus)]
    pub status: String,
    pub status_code: i64,
    pub error_message: Option<String>,
    #[schema(value_type = Option<PushValidation>)]
    pub validation: Option<Value>,
    #[schema(value_type = Option<Vec<PushOperationChange>>)]
    pub changes: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub data: Option<Value>,
}

impl PushOperation {
    pub fn from_record(record: &PushRecord, data: Option<Value>) -> Self {
        let parse = |text: &Option<String>| {
            text.as_deref()
                .and_then(|text| serde_json::from_str::<Value>(text).ok())
        };
        Self {
            push_operation_key: record.id.clone(),
            company_id: record.company_id.to_string(),
            data_connection_key: record.connection_id.to_string(),
            data_type: record.data_type.clone(),
            requested_on_utc: record.requested.to_storage(),
            completed_on_utc: record.completed.map(|at| at.to_storage()),
            timeout_in_minutes: record.timeout_minutes,
            timeout_in_seconds: record.timeout_minutes.map(|minutes| minutes * 60),
            status: record.status.clone(),
            status_code: record.status_code,
            error_message: record.error_message.clone(),
            validation: parse(&record.validation),
            changes: parse(&record.changes),
            data,
        }
    }
}

crate::paged!(
    /// A page of push operations.
    PushOperations,
    PushOperation
);

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct PushParams {
    /// Minutes the push may take before it ends as `TimedOut`.
    pub timeout_in_minutes: Option<i64>,
}

/// The connection and its platform's connector, or the error the user should see.
async fn target(
    state: &AppState,
    client: ClientId,
    company: CompanyId,
    connection: ConnectionId,
) -> ApiResult<(ConnectionRecord, std::sync::Arc<dyn Connector>)> {
    let record = state
        .store
        .get_connection(client, company, connection)
        .await
        .map_err(|error| match error {
            StoreError::NotFound => ApiError::connection_not_found(connection),
            other => other.into(),
        })?;
    let connector = state
        .connectors
        .connector(&record.platform_key)
        .ok_or_else(|| {
            ApiError::NotFound(format!("{} does not accept pushes", record.platform_name))
        })?;
    Ok((record, connector))
}

async fn push(
    state: &AppState,
    client: ClientId,
    (company, connection): (CompanyId, ConnectionId),
    data_type: &str,
    kind: PushKind,
    body: Option<Value>,
    timeout_minutes: Option<i64>,
) -> ApiResult<axum::Json<PushOperation>> {
    if timeout_minutes.is_some_and(|minutes| minutes <= 0) {
        return Err(ApiError::BadRequest(
            "timeoutInMinutes must be at least 1".to_owned(),
        ));
    }
    let (record, connector) = target(state, client, company, connection).await?;
    if record.status != ConnectionStatus::Linked {
        return Err(ApiError::Conflict(format!(
            "Data connection {} is {}; data can only be pushed to a Linked connection",
            record.id,
            record.status.as_str()
        )));
    }
    let kind_name = match kind {
        PushKind::Create => "Create",
        PushKind::Update { .. } => "Update",
        PushKind::Delete { .. } => "Delete",
    };
    if !connector.supports_push(data_type, &kind) {
        return Err(ApiError::BadRequest(format!(
            "{} does not accept {kind_name} of {data_type}",
            record.platform_name
        )));
    }
    let record_id = match &kind {
        PushKind::Update { id } | PushKind::Delete { id } => Some(id.clone()),
        PushKind::Create => None,
    };
    let problems = match &body {
        Some(body) => connector.validate(data_type, &kind, body),
        None => Vec::new(),
    };
    let validation = (!problems.is_empty()).then(|| validation_json(&problems).to_string());
    let created = state
        .store
        .create_push(
            client,
            company,
            NewPush {
                connection,
                data_type: data_type.to_owned(),
                kind: kind_name.to_owned(),
                record_id,
                body: body.as_ref().map(Value::to_string),
                timeout_minutes,
                validation,
            },
        )
        .await
        .map_err(company_error(company))?;
    Ok(axum::Json(PushOperation::from_record(&created, body)))
}

#[utoipa::path(
    post, path = "/companies/{companyId}/connections/{connectionId}/push/{dataType}",
    operation_id = "create-record", tag = "Push data",
    request_body(content = Object, description = "The record in the standard model"),
    params(
        ("companyId" = String, Path, description = "Unique identifier for a company"),
        ("connectionId" = String, Path, description = "Unique identifier for a connection"),
        ("dataType" = String, Path, description = "invoices, customers, suppliers, bills, payments, journalEntries..."),
        ("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer for 90 minutes"),
        PushParams,
    ),
    responses(
        (status = 200, description = "The push operation: Pending, or Failed with validation errors", body = PushOperation),
        (status = 400, description = "The platform does not accept this push", body = ErrorMessage),
        (status = 401, description = "Missing or wrong API key", body = ErrorMessage),
        (status = 404, description = "No such company or connection", body = ErrorMessage),
        (status = 409, description = "The connection is not Linked", body = ErrorMessage),
    )
)]
pub async fn create_record(
    State(state): State<AppState>,
    Client(client): Client,
    Path((company, connection, data_type)): Path<(String, String, String)>,
    Query(params): Query<PushParams>,
    Json(body): Json<Value>,
) -> ApiResult<axum::Json<PushOperation>> {
    let scope = ids(&company, &connection)?;
    push(
        &state,
        client,
        scope,
        &data_type,
        PushKind::Create,
        Some(body),
        params.timeout_in_minutes,
    )
    .await
}

#[utoipa::path(
    put, path = "/companies/{companyId}/connections/{connectionId}/push/{dataType}/{recordId}",
    operation_id = "update-record", tag = "Push data",
    request_body(content = Object, description = "The record in the standard model"),
    params(
        ("companyId" = String, Path, description = "Unique identifier for a company"),
        ("connectionId" = String, Path, description = "Unique identifier for a connection"),
        ("dataType" = String, Path, description = "invoices, customers, suppliers, bills..."),
        ("recordId" = String, Path, description = "The record's id at the platform"),
        PushParams,
    ),
    responses(
        (status = 200, description = "The push operation: Pending, or Failed with validation errors", body = PushOperation),
        (status = 400, description = "The platform does not accept this push", body = ErrorMessage),
        (status = 401, description = "Missing or wrong API key", body = ErrorMessage),
        (status = 404, description = "No such company or connection", body = ErrorMessage),
        (status = 409, description = "The connection is not Linked", body = ErrorMessage),
    )
)]
pub async fn update_record(
    State(state): State<AppState>,
    Client(client): Client,
    Path((company, connection, data_type, id)): Path<(String, String, String, String)>,
    Query(params): Query<PushParams>,
    Json(body): Json<Value>,
) -> ApiResult<axum::Json<PushOperation>> {
    let scope = ids(&company, &connection)?;
    push(
        &state,
        client,
        scope,
        &data_type,
        PushKind::Update { id },
        Some(body),
        params.timeout_in_minutes,
    )
    .await
}

#[utoipa::path(
    delete, path = "/companies/{companyId}/connections/{connectionId}/push/{dataType}/{recordId}",
    operation_id = "delete-record", tag = "Push data",
    params(
        ("companyId" = String, Path, description = "Unique identifier for a company"),
        ("connectionId" = String, Path, description = "Unique identifier for a connection"),
        ("dataType" = String, Path, description = "invoices, customers, suppliers, bills, journalEntries..."),
        ("recordId" = String, Path, description = "The record's id at the platform"),
        PushParams,
    ),
    responses(
        (status = 200, description = "The push operation", body = PushOperation),
        (status = 400, description = "The platform does not accept this push", body = ErrorMessage),
        (status = 401, description = "Missing or wrong API key", body = ErrorMessage),
        (status = 404, description = "No such company or connection", body = ErrorMessage),
        (status = 409, description = "The connection is not Linked", body = ErrorMessage),
    )
)]
pub async fn delete_record(
    State(state): State<AppState>,
    Client(client): Client,
    Path((company, connection, data_type, id)): Path<(String, String, String, String)>,
    Query(params): Query<PushParams>,
) -> ApiResult<axum::Json<PushOperation>> {
    let scope = ids(&company, &connection)?;
    push(
        &state,
        client,
        scope,
        &data_type,
        PushKind::Delete { id },
        None,
        params.timeout_in_minutes,
    )
    .await
}

/// Codat's `PushOption`: what a push of a data type accepts, field by field. The answer is built by the
/// connector; these types describe it in the document (and check it in the tests).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PushOption {
    #[serde(rename = "type")]
    pub kind: PushOptionType,
    pub display_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub required: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<std::collections::BTreeMap<String, PushOptionProperty>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Vec<PushOptionChoice>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation: Option<PushValidationInfo>,
}

/// Codat's `PushOptionProperty`: one field, and the fields inside it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PushOptionProperty {
    #[serde(rename = "type")]
    pub kind: PushOptionType,
    pub display_name: String,
    pub description: String,
    pub required: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(no_recursion)]
    pub properties: Option<std::collections::BTreeMap<String, PushOptionProperty>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Vec<PushOptionChoice>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation: Option<PushValidationInfo>,
}

/// Codat's `PushOptionChoice`: one value a field allows.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PushOptionChoice {
    pub value: String,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<PushOptionType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required: Option<bool>,
}

/// Codat's option types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum PushOptionType {
    Array,
    Object,
    String,
    Number,
    Boolean,
    DateTime,
    File,
    MultiPart,
}

/// Codat's `PushValidationInfo`: rules of a field beyond its type.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PushValidationInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warnings: Option<Vec<PushFieldValidation>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub information: Option<Vec<PushFieldValidation>>,
}

/// Codat's `PushFieldValidation`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PushFieldValidation {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub details: String,
    #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

#[utoipa::path(
    get, path = "/companies/{companyId}/connections/{connectionId}/options/{dataType}",
    operation_id = "get-create-update-model-options-by-data-type", tag = "Push data",
    params(
        ("companyId" = String, Path, description = "Unique identifier for a company"),
        ("connectionId" = String, Path, description = "Unique identifier for a connection"),
        ("dataType" = String, Path, description = "The data type to describe, e.g. invoices"),
    ),
    responses(
        (status = 200, description = "Codat's PushOption: each field the push accepts", body = PushOption),
        (status = 401, description = "Missing or wrong API key", body = ErrorMessage),
        (status = 404, description = "No such company or connection, or no pushes of the type", body = ErrorMessage),
    )
)]
pub async fn push_options(
    State(state): State<AppState>,
    Client(client): Client,
    Path((company, connection, data_type)): Path<(String, String, String)>,
) -> ApiResult<axum::Json<Value>> {
    let (company, connection) = ids(&company, &connection)?;
    let (record, connector) = target(&state, client, company, connection).await?;
    connector
        .push_options(&data_type)
        .map(axum::Json)
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "{} does not accept pushes of {data_type}",
                record.platform_name
            ))
        })
}

#[utoipa::path(
    get, path = "/companies/{companyId}/push", operation_id = "get-company-push-history", tag = "Push data",
    params(("companyId" = String, Path, description = "Unique identifier for a company"), ListParams),
    responses(
        (status = 200, description = "The company's push operations, newest first", body = PushOperations),
        (status = 400, description = "Malformed query, orderBy or paging", body = ErrorMessage),
        (status = 401, description = "Missing or wrong API key", body = ErrorMessage),
        (status = 404, description = "No such company", body = ErrorMessage),
    )
)]
pub async fn list_push_operations(
    State(state): State<AppState>,
    Client(client): Client,
    OriginalUri(uri): OriginalUri,
    Path(company): Path<String>,
    Query(params): Query<ListParams>,
) -> ApiResult<axum::Json<PushOperations>> {
    let company = company_id(&company)?;
    let listing = params.parse()?;
    let page = state
        .store
        .list_pushes(
            client,
            company,
            listing.page,
            listing.query.as_ref(),
            listing.order.as_ref(),
        )
        .await
        .map_err(company_error(company))?;
    Ok(axum::Json(PushOperations::new(
        page.items
            .iter()
            .map(|record| PushOperation::from_record(record, None))
            .collect(),
        uri.path(),
        &extra_params(&params, &[]),
        page.request,
        page.total,
    )))
}

#[utoipa::path(
    get, path = "/companies/{companyId}/push/{pushOperationKey}", operation_id = "get-push-operation",
    tag = "Push data",
    params(
        ("companyId" = String, Path, description = "Unique identifier for a company"),
        ("pushOperationKey" = String, Path, description = "The push operation's key"),
    ),
    responses(
        (status = 200, description = "The push operation", body = PushOperation),
        (status = 401, description = "Missing or wrong API key", body = ErrorMessage),
        (status = 404, description = "No such company or push operation", body = ErrorMessage),
    )
)]
pub async fn get_push_operation(
    State(state): State<AppState>,
    Client(client): Client,
    Path((company, key)): Path<(String, String)>,
) -> ApiResult<axum::Json<PushOperation>> {
    let company = company_id(&company)?;
    let record =
        state
            .store
            .get_push(client, company, &key)
            .await
            .map_err(|error| match error {
                StoreError::NotFound => {
                    ApiError::NotFound(format!("No push operation was found with key {key}"))
                }
                other => other.into(),
            })?;
    Ok(axum::Json(PushOperation::from_record(&record, None)))
}
