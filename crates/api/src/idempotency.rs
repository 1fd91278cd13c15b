//! `Idempotency-Key` on POST and PATCH. The key is claimed in the database before the request runs; the
//! answer is stored with it. Within 90 minutes the same key and the same request (method, path, query and
//! body) replays that answer, and the same key with another request is refused with 422. Answers worth
//! retrying (5xx, 429) are not kept, so a retry runs again.

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use linkwell_store::IdempotencyBegin;
use sha2::{Digest, Sha256};

use crate::auth::{authenticate, Client};
use crate::error::ApiError;
use crate::state::AppState;

pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";
pub const REPLAYED_HEADER: &str = "idempotent-replayed";
const MAX_KEY_LENGTH: usize = 255;
const MAX_BODY: usize = 2 * 1024 * 1024;

/// Fields that carry a secret shown once (a new API key). They are left out of the stored answer: a replay
/// says what was created but never shows, or keeps, the secret again.
const SECRET_FIELDS: [&str; 2] = ["apiKey", "secret"];

fn without_secrets(body: &[u8]) -> String {
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(serde_json::Value::Object(mut object))
            if SECRET_FIELDS.iter().any(|f| object.contains_key(*f)) =>
        {
            for field in SECRET_FIELDS {
                object.remove(field);
            }
            serde_json::Value::Object(object).to_string()
        }
        _ => String::from_utf8_lossy(body).into_owned(),
    }
}

pub async fn idempotent(State(state): State<AppState>, request: Request, next: Next) -> Response {
    match run(state, request, next).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

async fn run(state: AppState, request: Request, next: Next) -> Result<Response, ApiError> {
    if !matches!(*request.method(), Method::POST | Method::PATCH) {
        return Ok(next.run(request).await);
    }
    let Some(key) = request.headers().get(IDEMPOTENCY_HEADER) else {
        return Ok(next.run(request).await);
    };
    let key = key
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|key| !key.is_empty() && key.len() <= MAX_KEY_LENGTH)
        .ok_or_else(|| {
            ApiError::BadRequest(format!(
                "Idempotency-Key must be 1 to {MAX_KEY_LENGTH} visible ASCII characters"
            ))
        })?
        .to_owned();
    let client = authenticate(&state, request.headers()).await?;
    let (mut parts, body) = request.into_parts();
    let body = to_bytes(body, MAX_BODY)
        .await
        .map_err(|_| ApiError::BadRequest("The request body is too large".to_owned()))?;
    let fingerprint = {
        let mut hash = Sha256::new();
        hash.update(parts.method.as_str());
        hash.update([0]);
        hash.update(parts.uri.to_string());
        hash.update([0]);
        hash.update(&body);
        format!("{:x}", hash.finalize())
    };
    match state
        .store
        .begin_idempotent(client, &key, &fingerprint)
        .await?
    {
        IdempotencyBegin::Claimed => {}
        IdempotencyBegin::Replay { status, body } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            let empty = body.is_empty();
            let mut response = (status, body).into_response();
            if !empty {
                response
                    .headers_mut()
                    .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            }
            response
                .headers_mut()
                .insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
            return Ok(response);
        }
        IdempotencyBegin::Mismatch => {
            return Err(ApiError::Unprocessable(
                "This Idempotency-Key was already used with a different request".to_owned(),
            ))
        }
        IdempotencyBegin::InProgress => {
            return Err(ApiError::Conflict(
                "A request with this Idempotency-Key is still being processed; retry shortly"
                    .to_owned(),
            ))
        }
    }
    parts.extensions.insert(Client(client));
    let response = next.run(Request::from_parts(parts, Body::from(body))).await;
    let status = response.status();
    if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
        state.store.abandon_idempotent(client, &key).await?;
        return Ok(response);
    }
    let (parts, body) = response.into_parts();
    let bytes = to_bytes(body, usize::MAX)
        .await
        .map_err(|error| ApiError::Internal(format!("reading response body: {error}")))?;
    state
        .store
        .complete_idempotent(client, &key, status.as_u16(), &without_secrets(&bytes))
        .await?;
    Ok(Response::from_parts(parts, Body::from(bytes)))
}
