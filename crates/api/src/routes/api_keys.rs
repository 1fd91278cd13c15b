//! `/apiKeys`: list, create and delete the client's API keys.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use bytes::Bytes;
use linkwell_domain::ids::ApiKeyId;
use linkwell_store::StoreError;

use crate::auth::Client;
use crate::dto::{ApiKeyDetails, ApiKeys, CreateApiKey};
use crate::error::{ApiError, ApiResult, ErrorMessage};
use crate::extract::parse_id;
use crate::state::AppState;

const MAX_NAME_LENGTH: usize = 50;

#[utoipa::path(
    get, path = "/apiKeys", operation_id = "list-api-keys", tag = "Settings",
    responses(
        (status = 200, description = "The client's keys, without their secret values", body = ApiKeys),
        (status = 401, description = "Missing or wrong API key", body = ErrorMessage),
    )
)]
pub async fn list_api_keys(
    State(state): State<AppState>,
    Client(client): Client,
) -> ApiResult<axum::Json<ApiKeys>> {
    let keys = state.store.list_api_keys(client).await?;
    Ok(axum::Json(ApiKeys {
        results: keys
            .iter()
            .map(|key| ApiKeyDetails::from_record(key, None))
            .collect(),
    }))
}

#[utoipa::path(
    post, path = "/apiKeys", operation_id = "create-api-key", tag = "Settings",
    request_body = CreateApiKey,
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer for 90 minutes")),
    responses(
        (status = 201, description = "The new key; `apiKey` is shown only here", body = ApiKeyDetails),
        (status = 400, description = "Name longer than 50 characters", body = ErrorMessage),
        (status = 401, description = "Missing or wrong API key", body = ErrorMessage),
        (status = 409, description = "The client already has 10 keys", body = ErrorMessage),
    )
)]
pub async fn create_api_key(
    State(state): State<AppState>,
    Client(client): Client,
    body: Bytes,
) -> ApiResult<(StatusCode, axum::Json<ApiKeyDetails>)> {
    // The body is optional: a key needs no name.
    let name = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        serde_json::from_slice::<CreateApiKey>(&body)
            .map_err(|error| {
                ApiError::BadRequest(format!("The request body is not valid: {error}"))
            })?
            .name
    };
    if let Some(name) = &name {
        if name.chars().count() > MAX_NAME_LENGTH {
            return Err(ApiError::BadRequest(format!(
                "Max string length ({MAX_NAME_LENGTH}) for `name` reached."
            )));
        }
    }
    let created = state.store.create_api_key(client, name.as_deref()).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(ApiKeyDetails::from_record(
            &created.record,
            Some(created.raw_key),
        )),
    ))
}

#[utoipa::path(
    delete, path = "/apiKeys/{apiKeyId}", operation_id = "delete-api-key", tag = "Settings",
    params(("apiKeyId" = String, Path, description = "Unique identifier for api key")),
    responses(
        (status = 204, description = "Deleted; the key stops working at once"),
        (status = 401, description = "Missing or wrong API key", body = ErrorMessage),
        (status = 404, description = "No such key", body = ErrorMessage),
    )
)]
pub async fn delete_api_key(
    State(state): State<AppState>,
    Client(client): Client,
    Path(key): Path<String>,
) -> ApiResult<StatusCode> {
    let not_found = || ApiError::NotFound(format!("No API key was found with ID {key}"));
    let id: ApiKeyId = parse_id(&key, not_found)?;
    let hash = state
        .store
        .delete_api_key(client, id)
        .await
        .map_err(|error| match error {
            StoreError::NotFound => not_found(),
            other => other.into(),
        })?;
    state.keys.remove(&hash);
    Ok(StatusCode::NO_CONTENT)
}
