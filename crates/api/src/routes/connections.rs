//! `/companies/{companyId}/connections`: list, create, get, unlink, delete, and the status history.

use std::collections::HashMap;

use axum::extract::{OriginalUri, Path, State};
use linkwell_connectors::{ConnectionRef, TokenError, TokenSet};
use linkwell_domain::connection::ConnectionEvent;
use linkwell_domain::ids::{CompanyId, ConnectionId};
use linkwell_domain::integration::PlatformKey;
use linkwell_domain::time::Timestamp;
use linkwell_store::{ConnectionListing, NewConnection, StoreError};

use crate::auth::Client;
use crate::dto::{
    Connection, ConnectionHistory, ConnectionStatusChange, Connections, CreateConnection,
    DataConnectionStatus, UpdateConnectionStatus,
};
use crate::error::{ApiError, ApiResult, ErrorMessage};
use crate::extract::{parse_id, Json, ListParams, Query};
use crate::routes::companies::{company_error, company_id, extra_params};
use crate::state::AppState;

pub(crate) fn ids(company: &str, connection: &str) -> ApiResult<(CompanyId, ConnectionId)> {
    let company = company_id(company)?;
    let connection = parse_id(connection, || ApiError::connection_not_found(connection))?;
    Ok((company, connection))
}

fn connection_error(connection: ConnectionId) -> impl Fn(StoreError) -> ApiError {
    move |error| match error {
        StoreError::NotFound => ApiError::connection_not_found(connection),
        other => other.into(),
    }
}

#[utoipa::path(
    get, path = "/companies/{companyId}/connections", operation_id = "list-connections", tag = "Connections",
    params(("companyId" = String, Path, description = "Unique identifier for a company"), ListParams),
    responses(
        (status = 200, description = "A page of the company's connections", body = Connections),
        (status = 400, description = "Malformed query, orderBy or paging", body = ErrorMessage),
        (status = 401, description = "Missing or wrong API key", body = ErrorMessage),
        (status = 404, description = "No such company", body = ErrorMessage),
    )
)]
pub async fn list_connections(
    State(state): State<AppState>,
    Client(client): Client,
    OriginalUri(uri): OriginalUri,
    Path(company): Path<String>,
    Query(params): Query<ListParams>,
) -> ApiResult<axum::Json<Connections>> {
    let company = company_id(&company)?;
    let listing = params.parse()?;
    let page = state
        .store
        .list_connections(
            client,
            company,
            listing.page,
            &ConnectionListing {
                query: listing.query,
                order: listing.order,
            },
        )
        .await
        .map_err(company_error(company))?;
    Ok(axum::Json(Connections::new(
        page.items
            .iter()
            .map(|c| Connection::from_record(c, &state.public_url))
            .collect(),
        uri.path(),
        &extra_params(&params, &[]),
        page.request,
        page.total,
    )))
}

#[utoipa::path(
    post, path = "/companies/{companyId}/connections", operation_id = "create-connection", tag = "Connections",
    request_body = CreateConnection,
    params(
        ("companyId" = String, Path, description = "Unique identifier for a company"),
        ("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer for 90 minutes"),
    ),
    responses(
        (status = 200, description = "The new connection, PendingAuth", body = Connection),
        (status = 400, description = "Missing or malformed platformKey", body = ErrorMessage),
        (status = 401, description = "Missing or wrong API key", body = ErrorMessage),
        (status = 404, description = "No such company or integration", body = ErrorMessage),
    )
)]
pub async fn create_connection(
    State(state): State<AppState>,
    Client(client): Client,
    Path(company): Path<String>,
    Json(body): Json<CreateConnection>,
) -> ApiResult<axum::Json<Connection>> {
    let company = company_id(&company)?;
    let raw_key = body
        .platform_key
        .ok_or_else(|| ApiError::BadRequest("platformKey is required".to_owned()))?;
    let not_found = || {
        ApiError::NotFound(format!(
            "No integration was found with platform key '{raw_key}'"
        ))
    };
    let key = PlatformKey::parse(&raw_key).map_err(|_| not_found())?;
    let integration = state
        .catalogue
        .get(&key)
        .filter(|integration| integration.enabled)
        .ok_or_else(not_found)?;
    let record = state
        .store
        .create_connection(client, company, NewConnection::for_integration(integration))
        .await
        .map_err(company_error(company))?;
    Ok(axum::Json(Connection::from_record(
        &record,
        &state.public_url,
    )))
}

#[utoipa::path(
    get, path = "/companies/{companyId}/connections/{connectionId}", operation_id = "get-connection",
    tag = "Connections",
    params(
        ("companyId" = String, Path, description = "Unique identifier for a company"),
        ("connectionId" = String, Path, description = "Unique identifier for a connection"),
    ),
    responses(
        (status = 200, description = "The connection", body = Connection),
        (status = 401, description = "Missing or wrong API key", body = ErrorMessage),
        (status = 404, description = "No such company or connection", body = ErrorMessage),
    )
)]
pub async fn get_connection(
    State(state): State<AppState>,
    Client(client): Client,
    Path((company, connection)): Path<(String, String)>,
) -> ApiResult<axum::Json<Connection>> {
    let (company, connection) = ids(&company, &connection)?;
    let record = state
        .store
        .get_connection(client, company, connection)
        .await
        .map_err(connection_error(connection))?;
    Ok(axum::Json(Connection::from_record(
        &record,
        &state.public_url,
    )))
}

#[utoipa::path(
    patch, path = "/companies/{companyId}/connections/{connectionId}", operation_id = "unlink-connection",
    tag = "Connections",
    request_body = UpdateConnectionStatus,
    params(
        ("companyId" = String, Path, description = "Unique identifier for a company"),
        ("connectionId" = String, Path, description = "Unique identifier for a connection"),
        ("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer for 90 minutes"),
    ),
    responses(
        (status = 200, description = "The connection, now Unlinked", body = Connection),
        (status = 400, description = "A status other than Unlinked was asked for", body = ErrorMessage),
        (status = 401, description = "Missing or wrong API key", body = ErrorMessage),
        (status = 404, description = "No such company or connection", body = ErrorMessage),
        (status = 409, description = "The connection is not Linked; the message names its status", body = ErrorMessage),
    )
)]
pub async fn unlink_connection(
    State(state): State<AppState>,
    Client(client): Client,
    Path((company, connection)): Path<(String, String)>,
    Json(body): Json<UpdateConnectionStatus>,
) -> ApiResult<axum::Json<Connection>> {
    let (company, connection) = ids(&company, &connection)?;
    if body.status != Some(DataConnectionStatus::Unlinked) {
        return Err(ApiError::BadRequest(
            "status must be \"Unlinked\": a connection can only be unlinked through this endpoint"
                .to_owned(),
        ));
    }
    let revocation = state
        .tokens()
        .revocation(ConnectionRef::new(client, company, connection))
        .await;
    let record = state
        .store
        .apply_connection_event(
            client,
            company,
            connection,
            &ConnectionEvent::UnlinkRequested,
        )
        .await
        .map_err(connection_error(connection))?;
    // The credentials are gone from linkwell; the platform is told to forget the grant too.
    if let Some(revocation) = revocation {
        tokio::spawn(revocation.run());
    }
    Ok(axum::Json(Connection::from_record(
        &record,
        &state.public_url,
    )))
}

#[utoipa::path(
    delete, path = "/companies/{companyId}/connections/{connectionId}", operation_id = "delete-connection",
    tag = "Connections",
    params(
        ("companyId" = String, Path, description = "Unique identifier for a company"),
        ("connectionId" = String, Path, description = "Unique identifier for a connection"),
    ),
    responses(
        (status = 200, description = "Deleted; the body is empty"),
        (status = 401, description = "Missing or wrong API key", body = ErrorMessage),
        (status = 404, description = "No such company or connection", body = ErrorMessage),
    )
)]
pub async fn delete_connection(
    State(state): State<AppState>,
    Client(client): Client,
    Path((company, connection)): Path<(String, String)>,
) -> ApiResult<()> {
    let (company, connection) = ids(&company, &connection)?;
    let revocation = state
        .tokens()
        .revocation(ConnectionRef::new(client, company, connection))
        .await;
    state
        .store
        .delete_connection(client, company, connection)
        .await
        .map_err(connection_error(connection))?;
    if let Some(revocation) = revocation {
        tokio::spawn(revocation.run());
    }
    Ok(())
}

#[utoipa::path(
    get, path = "/companies/{companyId}/connections/{connectionId}/history", operation_id = "list-connection-history",
    tag = "Connections",
    description = "linkwell extension: every status change of the connection, oldest first, with its reason.",
    params(
        ("companyId" = String, Path, description = "Unique identifier for a company"),
        ("connectionId" = String, Path, description = "Unique identifier for a connection"),
        ListParams,
    ),
    responses(
        (status = 200, description = "A page of status changes", body = ConnectionHistory),
        (status = 400, description = "Malformed paging", body = ErrorMessage),
        (status = 401, description = "Missing or wrong API key", body = ErrorMessage),
        (status = 404, description = "No such company or connection", body = ErrorMessage),
    )
)]
pub async fn connection_history(
    State(state): State<AppState>,
    Client(client): Client,
    OriginalUri(uri): OriginalUri,
    Path((company, connection)): Path<(String, String)>,
    Query(params): Query<ListParams>,
) -> ApiResult<axum::Json<ConnectionHistory>> {
    let (company, connection) = ids(&company, &connection)?;
    let listing = params.parse()?;
    if listing.query.is_some() || listing.order.is_some() {
        return Err(ApiError::BadRequest(
            "history is listed oldest first and takes no query or orderBy".to_owned(),
        ));
    }
    let page = state
        .store
        .connection_history(client, company, connection, listing.page)
        .await
        .map_err(connection_error(connection))?;
    Ok(axum::Json(ConnectionHistory::new(
        page.items
            .iter()
            .map(ConnectionStatusChange::from)
            .collect(),
        uri.path(),
        &[],
        page.request,
        page.total,
    )))
}

/// The token fields `PUT .../authorization` understands, in Codat's and in OAuth2's spelling.
fn imported_tokens(body: &HashMap<String, String>) -> ApiResult<TokenSet> {
    let field = |names: &[&str]| {
        names
            .iter()
            .find_map(|name| body.get(*name))
            .map(|value| value.trim().to_owned())
            .filter(|value| !value.is_empty())
    };
    let access_token = field(&["accessToken", "access_token"]).ok_or_else(|| {
        ApiError::BadRequest(
            "accessToken is required to import a connection's authorization".to_owned(),
        )
    })?;
    let expires_at = match (
        field(&["expiresIn", "expires_in"]),
        field(&["expiresAt", "expires_at"]),
    ) {
        (Some(seconds), _) => {
            let seconds: i64 = seconds
                .parse()
                .ok()
                .filter(|seconds| *seconds >= 0)
                .ok_or_else(|| {
                    ApiError::BadRequest("expiresIn must be a number of seconds".to_owned())
                })?;
            Some(Timestamp::now().plus_seconds(seconds).to_storage())
        }
        (None, Some(at)) => {
            let at = chrono::DateTime::parse_from_rfc3339(&at).map_err(|_| {
                ApiError::BadRequest(
                    "expiresAt must be a date and time such as 2026-01-31T12:00:00Z".to_owned(),
                )
            })?;
            Some(Timestamp::from_datetime(at.with_timezone(&chrono::Utc)).to_storage())
        }
        (None, None) => None,
    };
    Ok(TokenSet {
        access_token,
        refresh_token: field(&["refreshToken", "refresh_token"]),
        expires_at,
        scope: field(&["scope"]),
    })
}

#[utoipa::path(
    put, path = "/companies/{companyId}/connections/{connectionId}/authorization",
    operation_id = "update-connection-authorization", tag = "Connections",
    request_body(content = HashMap<String, String>, description = "The tokens to import: `accessToken`, and optionally `refreshToken` and `expiresIn` (seconds) or `expiresAt`"),
    params(
        ("companyId" = String, Path, description = "Unique identifier for a company"),
        ("connectionId" = String, Path, description = "Unique identifier for a connection"),
    ),
    responses(
        (status = 200, description = "The connection, Linked with the imported credentials", body = Connection),
        (status = 400, description = "Missing or malformed token fields", body = ErrorMessage),
        (status = 401, description = "Missing or wrong API key", body = ErrorMessage),
        (status = 404, description = "No such company or connection", body = ErrorMessage),
        (status = 409, description = "Another accounting connection of the company is Linked", body = ErrorMessage),
        (status = 422, description = "The platform does not accept the credentials", body = ErrorMessage),
        (status = 503, description = "The platform could not be reached to check the credentials", body = ErrorMessage),
    )
)]
pub async fn update_authorization(
    State(state): State<AppState>,
    Client(client): Client,
    Path((company, connection)): Path<(String, String)>,
    Json(body): Json<HashMap<String, String>>,
) -> ApiResult<axum::Json<Connection>> {
    let (company, connection) = ids(&company, &connection)?;
    let tokens = imported_tokens(&body)?;
    let at = ConnectionRef::new(client, company, connection);
    let record = state
        .tokens()
        .import_tokens(at, tokens)
        .await
        .map_err(|error| match error {
            TokenError::Store(error) => connection_error(connection)(error),
            TokenError::Deauthorized(reason) => ApiError::Unprocessable(format!(
                "The platform did not accept the credentials: {reason}"
            )),
            TokenError::UnknownPlatform(key) => ApiError::Unprocessable(format!(
                "Credentials cannot be imported for {key}: the platform is not configured"
            )),
            TokenError::Transient { .. } | TokenError::Misconfigured(_) => ApiError::Unavailable(
                "The platform could not check the credentials now; try again later".to_owned(),
            ),
            TokenError::NotLinked(status) => {
                ApiError::Conflict(format!("The connection is {status}"))
            }
            TokenError::Unreadable => {
                ApiError::Internal("stored credentials do not open".to_owned())
            }
        })?;
    Ok(axum::Json(Connection::from_record(
        &record,
        &state.public_url,
    )))
}
