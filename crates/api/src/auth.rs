//! Authentication: `Authorization: Basic base64(apiKey)`, as Codat's SDKs send it.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::HeaderMap;
use base64::Engine;
use linkwell_domain::ids::ClientId;
use linkwell_store::hash_api_key;

use crate::error::ApiError;
use crate::state::AppState;

/// The client a request acts for. Taking it as a handler argument is what makes a route authenticated.
#[derive(Debug, Clone, Copy)]
pub struct Client(pub ClientId);

fn raw_key(headers: &HeaderMap) -> Option<String> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, credentials) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(credentials.trim())
        .ok()?;
    let key = String::from_utf8(decoded).ok()?;
    // Some HTTP clients send `key:` (user name, empty password) for Basic auth.
    let key = key.strip_suffix(':').unwrap_or(&key).to_owned();
    (!key.is_empty()).then_some(key)
}

pub(crate) async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<ClientId, ApiError> {
    let key = raw_key(headers).ok_or(ApiError::Unauthorized)?;
    let hash = hash_api_key(&key);
    if let Some(client) = state.keys.get(&hash) {
        return Ok(client);
    }
    let client = state
        .store
        .client_for_key_hash(&hash)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    state.keys.insert(hash, client);
    Ok(client)
}

impl FromRequestParts<AppState> for Client {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(client) = parts.extensions.get::<Client>() {
            return Ok(*client);
        }
        let client = Client(authenticate(state, &parts.headers).await?);
        if let Some(quota) = state.daily_quota {
            let now = linkwell_domain::time::Timestamp::now();
            let counted = state.store.count_request(client.0, quota, now).await?;
            if !counted.allowed() {
                let (_, renewal) = linkwell_store::quota_day(now);
                let wait = (renewal.datetime() - now.datetime()).num_seconds().max(1) as u64;
                return Err(ApiError::TooManyRequests(
                    format!(
                        "The daily quota of {quota} requests is used up; it is renewed at {}",
                        renewal.to_storage()
                    ),
                    wait,
                ));
            }
        }
        parts.extensions.insert(client);
        Ok(client)
    }
}
