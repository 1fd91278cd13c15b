//! The token endpoint (RFC 6749 §4.1.3, §6) and the revocation endpoint (RFC 7009).

use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::http::header::{CACHE_CONTROL, PRAGMA};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use serde::{Deserialize, Serialize};

use crate::client_auth::authenticate_client;
use crate::error::SandboxError;
use crate::grants::{CodeRedemption, IssuedTokens};
use crate::{parse_platform, Sandbox};

/// Every field optional so a missing one is an `invalid_request` we describe, not a rejection.
#[derive(Debug, Deserialize)]
pub(crate) struct TokenForm {
    grant_type: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
    refresh_token: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

#[derive(Debug, Serialize)]
struct TokenResponse {
    access_token: String,
    token_type: &'static str,
    expires_in: u64,
    refresh_token: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
}

/// A form that does not parse (wrong content type, repeated parameter) is `invalid_request`;
/// RFC 6749 §3.2 forbids repeating parameters, and serde refuses duplicates.
fn parse_form<T>(form: Result<Form<T>, FormRejection>) -> Result<T, SandboxError> {
    form.map(|Form(form)| form).map_err(|rejection| {
        SandboxError::invalid_request(format!("malformed form body: {}", rejection.body_text()))
    })
}

fn required<'a>(value: &'a Option<String>, name: &str) -> Result<&'a str, SandboxError> {
    value
        .as_deref()
        .filter(|value| !value.is_empty())
        .ok_or_else(|| SandboxError::invalid_request(format!("{name} is required")))
}

pub(crate) async fn issue_token(
    Path(platform): Path<String>,
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    form: Result<Form<TokenForm>, FormRejection>,
) -> Result<Response, SandboxError> {
    let platform = parse_platform(&platform)?;
    sandbox.injected_fault(platform)?;
    let form = parse_form(form)?;
    let client = authenticate_client(
        &sandbox,
        &headers,
        form.client_id.as_deref(),
        form.client_secret.as_deref(),
    )?;
    let grant_type = required(&form.grant_type, "grant_type")?;
    let now = sandbox.now();
    let lifetimes = sandbox.lifetimes();
    let issued = match grant_type {
        "authorization_code" => {
            let redemption = CodeRedemption {
                platform,
                client: &client,
                code: required(&form.code, "code")?,
                redirect_uri: required(&form.redirect_uri, "redirect_uri")?,
                code_verifier: required(&form.code_verifier, "code_verifier")?,
            };
            sandbox.store().redeem_code(now, redemption, &lifetimes)
        }
        "refresh_token" => {
            let refresh_token = required(&form.refresh_token, "refresh_token")?;
            sandbox
                .store()
                .refresh(now, platform, &client, refresh_token, &lifetimes)
        }
        other => {
            return Err(SandboxError::unsupported_grant_type(format!(
                "grant_type {other:?} is not supported; use authorization_code or refresh_token"
            )))
        }
    };
    let issued = issued.map_err(SandboxError::invalid_grant)?;
    Ok(token_response(issued))
}

fn token_response(issued: IssuedTokens) -> Response {
    let body = TokenResponse {
        access_token: issued.access_token,
        token_type: "Bearer",
        expires_in: issued.expires_in_seconds,
        refresh_token: issued.refresh_token,
        scope: issued.scopes.joined(),
    };
    // RFC 6749 §5.1: token responses must not be cached anywhere.
    let mut response = Json(body).into_response();
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

#[derive(Debug, Deserialize)]
pub(crate) struct RevokeForm {
    token: Option<String>,
    /// Accepted and ignored: both token kinds are looked up anyway (RFC 7009 §2.1 allows it).
    #[allow(dead_code)]
    token_type_hint: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

/// Answers 200 for unknown tokens too (RFC 7009 §2.2): the client's goal, a dead token, is met.
pub(crate) async fn revoke_token(
    Path(platform): Path<String>,
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    form: Result<Form<RevokeForm>, FormRejection>,
) -> Result<StatusCode, SandboxError> {
    let platform = parse_platform(&platform)?;
    let form = parse_form(form)?;
    let client = authenticate_client(
        &sandbox,
        &headers,
        form.client_id.as_deref(),
        form.client_secret.as_deref(),
    )?;
    let token = required(&form.token, "token")?;
    sandbox.store().revoke_token(platform, &client, token);
    Ok(StatusCode::OK)
}
