//! Pulling data and reading it: queue pulls (`/data/all`, `/data/queue/{dataType}`), their history and the
//! company's data status, sync settings, and the records of every data type in the standard model.

use axum::extract::{OriginalUri, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use linkwell_domain::connection::ConnectionStatus;
use linkwell_domain::ids::{ClientId, CompanyId, ConnectionId};
use linkwell_domain::sync::{pullable, validate, SyncSetting};
use linkwell_store::{
    pull_status, ConnectionRecord, PullRecord, QueueOutcome, RecordListing, RecordsError,
    StoredSyncSettings,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Client;
use crate::error::{ApiError, ApiResult, ErrorMessage};
use crate::extract::{Json, ListParams, Query};
use crate::paging::Links;
use crate::routes::companies::{company_error, company_id, extra_params};
use crate::routes::connections::ids;
use crate::state::AppState;

/// Codat's pull operation statuses (for the document; values are written by the store).
#[derive(ToSchema)]
#[allow(dead_code)]
pub enum PullStatus {
    Initial,
    Queued,
    Fetching,
    MapQueued,
    Mapping,
    Complete,
    FetchError,
    MapError,
    InternalError,
    ProcessingQueued,
    Processing,
    ProcessingError,
    ValidationQueued,
    Validating,
    ValidationError,
    AuthError,
    Cancelled,
    NotSupported,
    RateLimitError,
    PermissionsError,
    PrerequisiteNotMet,
}

/// Codat's data types (for the document).
pub struct DataTypeSchema;

impl utoipa::PartialSchema for DataTypeSchema {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(
                linkwell_domain::integration::DATA_TYPES.iter().copied(),
            ))
            .into()
    }
}

impl ToSchema for DataTypeSchema {
    fn name() -> std::borrow::Cow<'static, str> {
        "DataType".into()
    }
}

/// Codat's `DataStatuses`: a [`DataStatus`] under the name of each data type ever requested (for the document).
pub struct DataStatusesSchema;

impl utoipa::PartialSchema for DataStatusesSchema {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        linkwell_domain::integration::DATA_TYPES
            .iter()
            .fold(
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::Object),
                |object, data_type| {
                    object.property(
                        *data_type,
                        utoipa::openapi::Ref::from_schema_name("DataStatus"),
                    )
                },
            )
            .into()
    }
}

impl ToSchema for DataStatusesSchema {
    fn name() -> std::borrow::Cow<'static, str> {
        "DataStatuses".into()
    }
}

/// Codat's `SyncSetting`, as the document describes it.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct SyncSettingSchema {
    #[schema(value_type = DataTypeSchema)]
    data_type: String,
    fetch_on_first_link: bool,
    sync_schedule: i64,
    sync_order: i64,
    sync_from_utc: Option<String>,
    sync_from_window: Option<i64>,
    months_to_sync: Option<i64>,
    is_locked: bool,
}

/// Codat's `PullOperation`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PullOperation {
    pub id: String,
    pub company_id: String,
    pub connection_id: String,
    #[schema(value_type = DataTypeSchema)]
    pub data_type: String,
    #[schema(value_type = PullStatus)]
    pub status: String,
    pub status_description: Option<String>,
    pub error_message: Option<String>,
    pub requested: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completed: Option<String>,
    pub progress: i64,
    pub is_completed: bool,
    pub is_errored: bool,
}

impl PullOperation {
    pub fn from_record(record: &PullRecord) -> Self {
        Self {
            id: record.id.clone(),
            company_id: record.company_id.to_string(),
            connection_id: record.connection_id.to_string(),
            data_type: record.data_type.clone(),
            status: record.status.clone(),
            status_description: record.status_description.clone(),
            error_message: record.error_message.clone(),
            requested: record.requested.to_storage(),
            completed: record.completed.map(|at| at.to_storage()),
            progress: record.progress,
            is_completed: record.status == pull_status::COMPLETE,
            is_errored: pull_status::is_errored(&record.status),
        }
    }
}

crate::paged!(
    /// A page of pull operations.
    PullOperations,
    PullOperation
);

/// Codat's `DataStatus`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DataStatus {
    #[schema(value_type = DataTypeSchema)]
    pub data_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_successful_sync: Option<String>,
    #[schema(value_type = PullStatus)]
    pub current_status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latest_sync_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latest_successful_sync_id: Option<String>,
}

/// Codat's `SyncSettings` (the client's) and `CompanySyncSettings`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncSettings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_id: Option<String>,
    #[schema(value_type = Vec<SyncSettingSchema>)]
    pub settings: Vec<SyncSetting>,
    #[serde(default = "overrides_by_default")]
    pub overrides_defaults: bool,
}

fn overrides_by_default() -> bool {
    true
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct QueueParams {
    /// Queue the pull on this connection only.
    pub connection_id: Option<String>,
}

fn not_linked(connection: &ConnectionRecord) -> ApiError {
    ApiError::Conflict(format!(
        "Data connection {} is {}; data can only be pulled or pushed on a Linked connection",
        connection.id,
        connection.status.as_str()
    ))
}

fn unknown_data_type(data_type: &str) -> ApiError {
    ApiError::BadRequest(format!(
        "'{data_type}' is not a data type linkwell can pull"
    ))
}

/// Queues `requests` as one batch; a type already in progress is a 409 naming the running operation.
async fn queue(
    state: &AppState,
    client: ClientId,
    company: CompanyId,
    requests: &[(ConnectionId, String)],
) -> ApiResult<Vec<PullRecord>> {
    let outcomes = state
        .store
        .queue_pulls(client, company, requests, false)
        .await
        .map_err(company_error(company))?;
    let mut queued = Vec::new();
    let mut running = Vec::new();
    for outcome in outcomes {
        match outcome {
            QueueOutcome::Queued(pull) => queued.push(pull),
            QueueOutcome::AlreadyRunning(id) => running.push(id),
        }
    }
    if queued.is_empty() {
        if let Some(id) = running.first() {
            return Err(ApiError::Conflict(format!(
                "A pull of this data type is already in progress: pull operation {id}"
            )));
        }
    }
    Ok(queued)
}

#[utoipa::path(
    post, path = "/companies/{companyId}/data/all", operation_id = "refresh-company-data", tag = "Refresh data",
    params(("companyId" = String, Path, description = "Unique identifier for a company")),
    responses(
        (status = 204, description = "Pulls queued for every data type fetched on first link"),
        (status = 401, description = "Missing or wrong API key", body = ErrorMessage),
        (status = 404, description = "No such company", body = ErrorMessage),
        (status = 409, description = "The company has no Linked connection", body = ErrorMessage),
    )
)]
pub async fn refresh_all(
    State(state): State<AppState>,
    Client(client): Client,
    Path(company): Path<String>,
) -> ApiResult<StatusCode> {
    let company = company_id(&company)?;
    let record = state
        .store
        .get_company(client, company)
        .await
        .map_err(company_error(company))?;
    let linked: Vec<&ConnectionRecord> = record
        .connections
        .iter()
        .filter(|connection| connection.status == ConnectionStatus::Linked)
        .collect();
    if linked.is_empty() {
        return Err(ApiError::Conflict(
            "The company has no Linked connection to pull data from".to_owned(),
        ));
    }
    let settings = state.store.effective_sync_settings(client, company).await?;
    let mut requests = Vec::new();
    for connection in linked {
        let readable = state.store.readable_data_types(&connection.platform_key);
        for setting in settings.iter().filter(|s| s.fetch_on_first_link) {
            if readable.contains(&setting.data_type) {
                requests.push((connection.id, setting.data_type.clone()));
            }
        }
    }
    // Types already in progress stay as they are; the others are queued.
    state
        .store
        .queue_pulls(client, company, &requests, false)
        .await
        .map_err(company_error(company))?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post, path = "/companies/{companyId}/data/queue/{dataType}", operation_id = "refresh-data-type",
    tag = "Refresh data",
    params(
        ("companyId" = String, Path, description = "Unique identifier for a company"),
        ("dataType" = String, Path, description = "The data type to pull, e.g. invoices"),
        QueueParams,
    ),
    responses(
        (status = 200, description = "The queued pull operation", body = PullOperation),
        (status = 400, description = "Unknown data type", body = ErrorMessage),
        (status = 401, description = "Missing or wrong API key", body = ErrorMessage),
        (status = 404, description = "No such company or connection", body = ErrorMessage),
        (status = 409, description = "Not Linked, or a pull of the type is in progress", body = ErrorMessage),
    )
)]
pub async fn refresh_data_type(
    State(state): State<AppState>,
    Client(client): Client,
    Path((company, data_type)): Path<(String, String)>,
    Query(params): Query<QueueParams>,
) -> ApiResult<axum::Json<PullOperation>> {
    let company = company_id(&company)?;
    if pullable(&data_type).is_none() {
        return Err(unknown_data_type(&data_type));
    }
    let connections: Vec<ConnectionRecord> = match params.connection_id.as_deref() {
        Some(raw) => {
            let (company, connection) = ids(&company.to_string(), raw)?;
            let record = state
                .store
                .get_connection(client, company, connection)
                .await
                .map_err(|error| match error {
                    linkwell_store::StoreError::NotFound => {
                        ApiError::connection_not_found(connection)
                    }
                    other => other.into(),
                })?;
            if record.status != ConnectionStatus::Linked {
                return Err(not_linked(&record));
            }
            vec![record]
        }
        None => {
            let record = state
                .store
                .get_company(client, company)
                .await
                .map_err(company_error(company))?;
            let linked: Vec<ConnectionRecord> = record
                .connections
                .into_iter()
                .filter(|connection| connection.status == ConnectionStatus::Linked)
                .collect();
            if linked.is_empty() {
                return Err(ApiError::Conflict(
                    "The company has no Linked connection to pull data from".to_owned(),
                ));
            }
            // The connections whose platform offers the type; with none, the first Linked one reports that
            // the type is not supported.
            let offering: Vec<ConnectionRecord> = linked
                .iter()
                .filter(|connection| {
                    state
                        .store
                        .readable_data_types(&connection.platform_key)
                        .contains(&data_type)
                })
                .cloned()
                .collect();
            if offering.is_empty() {
                linked.into_iter().take(1).collect()
            } else {
                offering
            }
        }
    };
    let requests: Vec<(ConnectionId, String)> = connections
        .iter()
        .map(|connection| (connection.id, data_type.clone()))
        .collect();
    let queued = queue(&state, client, company, &requests).await?;
    let first = queued
        .first()
        .ok_or_else(|| ApiError::Internal("no pull was queued".to_owned()))?;
    Ok(axum::Json(PullOperation::from_record(first)))
}

#[utoipa::path(
    get, path = "/companies/{companyId}/data/history", operation_id = "list-pull-operations",
    tag = "Refresh data",
    params(("companyId" = String, Path, description = "Unique identifier for a company"), ListParams),
    responses(
        (status = 200, description = "The company's pull operations, newest first", body = PullOperations),
        (status = 400, description = "Malformed query, orderBy or paging", body = ErrorMessage),
        (status = 401, description = "Missing or wrong API key", body = ErrorMessage),
        (status = 404, description = "No such company", body = ErrorMessage),
    )
)]
pub async fn list_pull_operations(
    State(state): State<AppState>,
    Client(client): Client,
    OriginalUri(uri): OriginalUri,
    Path(company): Path<String>,
    Query(params): Query<ListParams>,
) -> ApiResult<axum::Json<PullOperations>> {
    let company = company_id(&company)?;
    let listing = params.parse()?;
    let page = state
        .store
        .list_pulls(
            client,
            company,
            listing.page,
            listing.query.as_ref(),
            listing.order.as_ref(),
        )
        .await
        .map_err(company_error(company))?;
    Ok(axum::Json(PullOperations::new(
        page.items.iter().map(PullOperation::from_record).collect(),
        uri.path(),
        &extra_params(&params, &[]),
        page.request,
        page.total,
    )))
}

#[utoipa::path(
    get, path = "/companies/{companyId}/data/history/{datasetId}", operation_id = "get-pull-operation",
    tag = "Refresh data",
    params(
        ("companyId" = String, Path, description = "Unique identifier for a company"),
        ("datasetId" = String, Path, description = "Unique identifier of the pull operation"),
    ),
    responses(
        (status = 200, description = "The pull operation", body = PullOperation),
        (status = 401, description = "Missing or wrong API key", body = ErrorMessage),
        (status = 404, description = "No such company or pull operation", body = ErrorMessage),
    )
)]
pub async fn get_pull_operation(
    State(state): State<AppState>,
    Client(client): Client,
    Path((company, dataset)): Path<(String, String)>,
) -> ApiResult<axum::Json<PullOperation>> {
    let company = company_id(&company)?;
    let record = state
        .store
        .get_pull(client, company, &dataset)
        .await
        .map_err(|error| match error {
            linkwell_store::StoreError::NotFound => {
                ApiError::NotFound(format!("No pull operation was found with ID {dataset}"))
            }
            other => other.into(),
        })?;
    Ok(axum::Json(PullOperation::from_record(&record)))
}

#[utoipa::path(
    get, path = "/companies/{companyId}/dataStatus", operation_id = "get-company-data-status",
    tag = "Refresh data",
    params(("companyId" = String, Path, description = "Unique identifier for a company")),
    responses(
        (status = 200, description = "The state of each data type ever requested, by data type",
         body = DataStatusesSchema),
        (status = 401, description = "Missing or wrong API key", body = ErrorMessage),
        (status = 404, description = "No such company", body = ErrorMessage),
    )
)]
pub async fn data_status(
    State(state): State<AppState>,
    Client(client): Client,
    Path(company): Path<String>,
) -> ApiResult<axum::Json<std::collections::BTreeMap<String, DataStatus>>> {
    let company = company_id(&company)?;
    let statuses = state
        .store
        .data_statuses(client, company)
        .await
        .map_err(company_error(company))?;
    Ok(axum::Json(
        statuses
            .into_iter()
            .map(|status| {
                (
                    status.data_type.clone(),
                    DataStatus {
                        data_type: status.data_type,
                        last_successful_sync: status.last_successful_sync,
                        current_status: status.current_status,
                        latest_sync_id: status.latest_sync_id,
                        latest_successful_sync_id: status.latest_successful_sync_id,
                    },
                )
            })
            .collect(),
    ))
}

async fn settings_answer(
    state: &AppState,
    client: ClientId,
    company: Option<CompanyId>,
) -> ApiResult<SyncSettings> {
    let stored = state.store.sync_settings(client, company).await?;
    let settings = match company {
        Some(company) => state.store.effective_sync_settings(client, company).await?,
        None => {
            let own: Option<Vec<SyncSetting>> = stored
                .as_ref()
                .map(|stored| serde_json::from_str(&stored.settings))
                .transpose()
                .map_err(|error| ApiError::Internal(error.to_string()))?;
            linkwell_domain::sync::effective(
                own.as_deref().map(|settings| linkwell_domain::sync::Layer {
                    settings,
                    overrides: stored.as_ref().is_some_and(|s| s.overrides_defaults),
                }),
                None,
            )
        }
    };
    Ok(SyncSettings {
        client_id: company.is_none().then(|| client.to_string()),
        company_id: company.map(|id| id.to_string()),
        settings,
        overrides_defaults: stored.is_none_or(|stored| stored.overrides_defaults),
    })
}

async fn save_settings(
    state: &AppState,
    client: ClientId,
    company: Option<CompanyId>,
    body: SyncSettings,
) -> ApiResult<StatusCode> {
    validate(&body.settings).map_err(|error| ApiError::BadRequest(error.0))?;
    let stored = StoredSyncSettings {
        settings: serde_json::to_string(&body.settings)
            .map_err(|error| ApiError::Internal(error.to_string()))?,
        overrides_defaults: body.overrides_defaults,
    };
    state
        .store
        .set_sync_settings(client, company, &stored)
        .await
        .map_err(|error| match (error, company) {
            (linkwell_store::StoreError::NotFound, Some(company)) => {
                ApiError::company_not_found(company)
            }
            (other, _) => other.into(),
        })?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get, path = "/profile/syncSettings", operation_id = "get-profile-syncSettings", tag = "Settings",
    responses(
        (status = 200, description = "The client's sync settings, defaults filled in", body = SyncSettings),
        (status = 401, description = "Missing or wrong API key", body = ErrorMessage),
    )
)]
pub async fn get_profile_sync_settings(
    State(state): State<AppState>,
    Client(client): Client,
) -> ApiResult<axum::Json<SyncSettings>> {
    Ok(axum::Json(settings_answer(&state, client, None).await?))
}

#[utoipa::path(
    post, path = "/profile/syncSettings", operation_id = "update-profile-syncSettings", tag = "Settings",
    request_body = SyncSettings,
    responses(
        (status = 204, description = "Saved"),
        (status = 400, description = "Unknown data type, repeated type or negative schedule", body = ErrorMessage),
        (status = 401, description = "Missing or wrong API key", body = ErrorMessage),
    )
)]
pub async fn update_profile_sync_settings(
    State(state): State<AppState>,
    Client(client): Client,
    Json(body): Json<SyncSettings>,
) -> ApiResult<StatusCode> {
    save_settings(&state, client, None, body).await
}

#[utoipa::path(
    get, path = "/companies/{companyId}/syncSettings", operation_id = "get-company-syncSettings",
    tag = "Companies",
    params(("companyId" = String, Path, description = "Unique identifier for a company")),
    responses(
        (status = 200, description = "The settings in force for the company", body = SyncSettings),
        (status = 401, description = "Missing or wrong API key", body = ErrorMessage),
        (status = 404, description = "No such company", body = ErrorMessage),
    )
)]
pub async fn get_company_sync_settings(
    State(state): State<AppState>,
    Client(client): Client,
    Path(company): Path<String>,
) -> ApiResult<axum::Json<SyncSettings>> {
    let company = company_id(&company)?;
    if !state.store.company_exists(client, company).await? {
        return Err(ApiError::company_not_found(company));
    }
    Ok(axum::Json(
        settings_answer(&state, client, Some(company)).await?,
    ))
}

#[utoipa::path(
    post, path = "/companies/{companyId}/syncSettings", operation_id = "set-company-syncSettings",
    tag = "Companies",
    request_body = SyncSettings,
    params(("companyId" = String, Path, description = "Unique identifier for a company")),
    responses(
        (status = 204, description = "Saved"),
        (status = 400, description = "Unknown data type, repeated type or negative schedule", body = ErrorMessage),
        (status = 401, description = "Missing or wrong API key", body = ErrorMessage),
        (status = 404, description = "No such company", body = ErrorMessage),
    )
)]
pub async fn set_company_sync_settings(
    State(state): State<AppState>,
    Client(client): Client,
    Path(company): Path<String>,
    Json(body): Json<SyncSettings>,
) -> ApiResult<StatusCode> {
    let company = company_id(&company)?;
    save_settings(&state, client, Some(company), body).await
}

/// The data type read at `path` (`invoices`, `accounts`, `banking-transactions`, `commerce-info`...), if it
/// is read at this scope.
fn data_type_at(path: &str, connection_scoped: bool) -> ApiResult<&'static str> {
    linkwell_domain::sync::PULLABLE_TYPES
        .iter()
        .find(|t| t.path == path && t.connection_scoped == connection_scoped)
        .map(|t| t.data_type)
        .ok_or_else(|| ApiError::NotFound(format!("There is no data type at '{path}'")))
}

fn not_requested(data_type: &str) -> ApiError {
    ApiError::Conflict(format!(
        "The data type {data_type} has not been requested yet for this company; queue a pull of it first"
    ))
}

/// A JSON response from text built here.
fn json_text(body: String) -> Response {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

async fn list_records(
    state: &AppState,
    client: ClientId,
    company: CompanyId,
    connection: Option<ConnectionId>,
    path: &str,
    params: &ListParams,
    uri_path: &str,
) -> ApiResult<Response> {
    let data_type = data_type_at(path, connection.is_some())?;
    let listing = params.parse()?;
    let page = state
        .store
        .list_records(
            client,
            company,
            connection,
            data_type,
            listing.page,
            &RecordListing {
                query: listing.query,
                order: listing.order,
            },
        )
        .await
        .map_err(|error| match (error, connection) {
            (linkwell_store::StoreError::NotFound, Some(connection)) => {
                ApiError::connection_not_found(connection)
            }
            (linkwell_store::StoreError::NotFound, None) => ApiError::company_not_found(company),
            (other, _) => other.into(),
        })?
        .map_err(|error| match error {
            RecordsError::NotRequested => not_requested(data_type),
            RecordsError::Store(message) => ApiError::Internal(message),
        })?;
    let links = Links::new(
        uri_path,
        &extra_params(params, &[]),
        page.request,
        page.total,
    );
    let links =
        serde_json::to_string(&links).map_err(|error| ApiError::Internal(error.to_string()))?;
    let mut body = String::with_capacity(page.items.iter().map(String::len).sum::<usize>() + 256);
    body.push_str("{\"results\":[");
    for (index, item) in page.items.iter().enumerate() {
        if index > 0 {
            body.push(',');
        }
        body.push_str(item);
    }
    body.push_str(&format!(
        "],\"pageNumber\":{},\"pageSize\":{},\"totalResults\":{},\"_links\":{links}}}",
        page.request.page(),
        page.request.page_size(),
        page.total
    ));
    Ok(json_text(body))
}

async fn get_record(
    state: &AppState,
    client: ClientId,
    company: CompanyId,
    connection: Option<ConnectionId>,
    path: &str,
    id: Option<&str>,
) -> ApiResult<Response> {
    let data_type = data_type_at(path, connection.is_some())?;
    let scope_error = |error| match (error, connection) {
        (linkwell_store::StoreError::NotFound, Some(connection)) => {
            ApiError::connection_not_found(connection)
        }
        (linkwell_store::StoreError::NotFound, None) => ApiError::company_not_found(company),
        (other, _) => other.into(),
    };
    let requested = |error| match error {
        RecordsError::NotRequested => not_requested(data_type),
        RecordsError::Store(message) => ApiError::Internal(message),
    };
    let record = match id {
        Some(id) => state
            .store
            .get_record(client, company, connection, data_type, id)
            .await
            .map_err(scope_error)?
            .map_err(requested)?
            .ok_or_else(|| ApiError::NotFound(format!("No {data_type} record with ID {id}")))?,
        // Single-record types (company info): the first record.
        None => {
            let page = state
                .store
                .list_records(
                    client,
                    company,
                    connection,
                    data_type,
                    linkwell_domain::paging::PageRequest::new(Some(1), Some(1))
                        .map_err(|error| ApiError::Internal(error.to_string()))?,
                    &RecordListing {
                        query: None,
                        order: None,
                    },
                )
                .await
                .map_err(scope_error)?
                .map_err(requested)?;
            page.items.into_iter().next().ok_or_else(|| {
                ApiError::NotFound(format!("The platform holds no {data_type} record"))
            })?
        }
    };
    Ok(json_text(record))
}

/// Types read as one object rather than a list.
fn single_record(path: &str) -> bool {
    matches!(path, "info" | "commerce-info")
}

#[utoipa::path(
    get, path = "/companies/{companyId}/data/{dataPath}", operation_id = "list-company-data",
    tag = "Data",
    params(
        ("companyId" = String, Path, description = "Unique identifier for a company"),
        ("dataPath" = String, Path, description = "accounts, bills, billPayments, creditNotes, customers, info, \
          invoices, items, journalEntries, payments, suppliers or taxRates"),
        ListParams,
    ),
    responses(
        (status = 200, description = "A page of records in the standard model (for `info`, the one record)"),
        (status = 400, description = "Malformed query, orderBy or paging", body = ErrorMessage),
        (status = 401, description = "Missing or wrong API key", body = ErrorMessage),
        (status = 404, description = "No such company or data type", body = ErrorMessage),
        (status = 409, description = "The data type has not been requested yet", body = ErrorMessage),
    )
)]
pub async fn company_data(
    State(state): State<AppState>,
    Client(client): Client,
    OriginalUri(uri): OriginalUri,
    Path((company, path)): Path<(String, String)>,
    Query(params): Query<ListParams>,
) -> ApiResult<Response> {
    let company = company_id(&company)?;
    if single_record(&path) {
        return get_record(&state, client, company, None, &path, None).await;
    }
    list_records(&state, client, company, None, &path, &params, uri.path()).await
}

#[utoipa::path(
    get, path = "/companies/{companyId}/data/{dataPath}/{recordId}", operation_id = "get-company-data-record",
    tag = "Data",
    params(
        ("companyId" = String, Path, description = "Unique identifier for a company"),
        ("dataPath" = String, Path, description = "The data type's path, e.g. invoices"),
        ("recordId" = String, Path, description = "The record's id"),
    ),
    responses(
        (status = 200, description = "The record in the standard model"),
        (status = 401, description = "Missing or wrong API key", body = ErrorMessage),
        (status = 404, description = "No such company, data type or record", body = ErrorMessage),
        (status = 409, description = "The data type has not been requested yet", body = ErrorMessage),
    )
)]
pub async fn company_data_record(
    State(state): State<AppState>,
    Client(client): Client,
    Path((company, path, id)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    let company = company_id(&company)?;
    get_record(&state, client, company, None, &path, Some(&id)).await
}

#[utoipa::path(
    get, path = "/companies/{companyId}/connections/{connectionId}/data/{dataPath}",
    operation_id = "list-connection-data", tag = "Data",
    params(
        ("companyId" = String, Path, description = "Unique identifier for a company"),
        ("connectionId" = String, Path, description = "Unique identifier for a connection"),
        ("dataPath" = String, Path, description = "bankAccounts, banking-accounts, banking-accountBalances, \
          banking-transactions, banking-transactionCategories, commerce-info, commerce-customers, \
          commerce-orders, commerce-products, commerce-payments, commerce-transactions or commerce-locations"),
        ListParams,
    ),
    responses(
        (status = 200, description = "A page of records in the standard model (for `commerce-info`, the one record)"),
        (status = 400, description = "Malformed query, orderBy or paging", body = ErrorMessage),
        (status = 401, description = "Missing or wrong API key", body = ErrorMessage),
        (status = 404, description = "No such company, connection or data type", body = ErrorMessage),
        (status = 409, description = "The data type has not been requested yet", body = ErrorMessage),
    )
)]
pub async fn connection_data(
    State(state): State<AppState>,
    Client(client): Client,
    OriginalUri(uri): OriginalUri,
    Path((company, connection, path)): Path<(String, String, String)>,
    Query(params): Query<ListParams>,
) -> ApiResult<Response> {
    let (company, connection) = ids(&company, &connection)?;
    if single_record(&path) {
        return get_record(&state, client, company, Some(connection), &path, None).await;
    }
    list_records(
        &state,
        client,
        company,
        Some(connection),
        &path,
        &params,
        uri.path(),
    )
    .await
}

#[utoipa::path(
    get, path = "/companies/{companyId}/connections/{connectionId}/data/{dataPath}/{recordId}",
    operation_id = "get-connection-data-record", tag = "Data",
    params(
        ("companyId" = String, Path, description = "Unique identifier for a company"),
        ("connectionId" = String, Path, description = "Unique identifier for a connection"),
        ("dataPath" = String, Path, description = "The data type's path, e.g. banking-transactions"),
        ("recordId" = String, Path, description = "The record's id"),
    ),
    responses(
        (status = 200, description = "The record in the standard model"),
        (status = 401, description = "Missing or wrong API key", body = ErrorMessage),
        (status = 404, description = "No such company, connection, data type or record", body = ErrorMessage),
        (status = 409, description = "The data type has not been requested yet", body = ErrorMessage),
    )
)]
pub async fn connection_data_record(
    State(state): State<AppState>,
    Client(client): Client,
    Path((company, connection, path, id)): Path<(String, String, String, String)>,
) -> ApiResult<Response> {
    let (company, connection) = ids(&company, &connection)?;
    get_record(&state, client, company, Some(connection), &path, Some(&id)).await
}
