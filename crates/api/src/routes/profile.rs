//! `/profile`: the client's name, branding and the URL Link sends people to when they finish.

use axum::extract::State;
use linkwell_store::ProfileRecord;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Client;
use crate::error::{ApiError, ApiResult, ErrorMessage};
use crate::extract::Json;
use crate::state::AppState;

/// Codat's `Profile`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    /// The name Link shows to people.
    pub name: Option<String>,
    /// Static URL of the client's logo.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo_url: Option<String>,
    /// Static URL of the client's icon.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon_url: Option<String>,
    /// Where Link sends the person after linking, with `{companyId}`, `{connectionId}`, `{statusCode}`,
    /// `{statusText}`, `{errorMessage}` and `{platformKey}` filled in. Empty: Link shows its own result page.
    pub redirect_url: Option<String>,
    /// URLs allowed to talk to linkwell; empty allows any.
    #[serde(default)]
    pub white_list_urls: Option<Vec<String>>,
    /// Deprecated in Codat's API; never returned, ignored when sent.
    #[serde(default, skip_serializing)]
    #[schema(deprecated)]
    pub api_key: Option<String>,
    /// Deprecated in Codat's API; ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(deprecated)]
    pub confirm_company_name: Option<bool>,
}

impl Profile {
    fn from_record(record: ProfileRecord) -> Self {
        Self {
            name: Some(record.name),
            logo_url: record.logo_url,
            icon_url: record.icon_url,
            redirect_url: Some(record.redirect_url),
            white_list_urls: Some(record.white_list_urls),
            api_key: None,
            confirm_company_name: None,
        }
    }
}

/// An absolute http(s) URL with no spaces or control characters; `{placeholders}` are allowed anywhere.
fn check_url(field: &str, value: &str) -> ApiResult<String> {
    let value = value.trim();
    let lower = value.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"));
    let valid = rest.is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/'))
        && value.len() <= 2048
        && !value.chars().any(|c| c.is_whitespace() || c.is_control());
    if !valid {
        return Err(ApiError::BadRequest(format!(
            "{field} must be an absolute http or https URL"
        )));
    }
    Ok(value.to_owned())
}

fn optional_url(field: &str, value: Option<String>) -> ApiResult<Option<String>> {
    value
        .filter(|value| !value.trim().is_empty())
        .map(|value| check_url(field, &value))
        .transpose()
}

#[utoipa::path(
    get, path = "/profile", operation_id = "get-profile", tag = "Settings",
    responses(
        (status = 200, description = "The client's profile", body = Profile),
        (status = 401, description = "Missing or wrong API key", body = ErrorMessage),
    )
)]
pub async fn get_profile(
    State(state): State<AppState>,
    Client(client): Client,
) -> ApiResult<axum::Json<Profile>> {
    Ok(axum::Json(Profile::from_record(
        state.store.get_profile(client).await?,
    )))
}

#[utoipa::path(
    put, path = "/profile", operation_id = "update-profile", tag = "Settings",
    request_body = Profile,
    responses(
        (status = 200, description = "The profile as saved", body = Profile),
        (status = 400, description = "A missing name or a malformed URL", body = ErrorMessage),
        (status = 401, description = "Missing or wrong API key", body = ErrorMessage),
    )
)]
pub async fn update_profile(
    State(state): State<AppState>,
    Client(client): Client,
    Json(body): Json<Profile>,
) -> ApiResult<axum::Json<Profile>> {
    let name = body
        .name
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .ok_or_else(|| ApiError::BadRequest("name is required".to_owned()))?;
    if name.chars().count() > 200 {
        return Err(ApiError::BadRequest(
            "name must be at most 200 characters".to_owned(),
        ));
    }
    let redirect_url = body.redirect_url.ok_or_else(|| {
        ApiError::BadRequest("redirectUrl is required (it may be empty)".to_owned())
    })?;
    let redirect_url = optional_url("redirectUrl", Some(redirect_url))?.unwrap_or_default();
    let white_list_urls = body
        .white_list_urls
        .unwrap_or_default()
        .iter()
        .map(|url| check_url("whiteListUrls", url))
        .collect::<ApiResult<Vec<_>>>()?;
    let record = ProfileRecord {
        name,
        logo_url: optional_url("logoUrl", body.logo_url)?,
        icon_url: optional_url("iconUrl", body.icon_url)?,
        redirect_url,
        white_list_urls,
    };
    state.store.put_profile(client, &record).await?;
    Ok(axum::Json(Profile::from_record(record)))
}
