//! Error policy: the sandbox imitates a third-party provider, not linkwell's own API, so errors
//! use the OAuth2 shape (`{"error", "error_description"}`, RFC 6749 §5.2 and RFC 6750 §3) that
//! a real platform would send; the connector under test must cope with exactly that. Every
//! JSON error is `no-store`. The consent page's own errors are HTML and live in
//! `authorize_page`.

use axum::http::header::{CACHE_CONTROL, RETRY_AFTER, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::json;

/// One rejected field of a write, named by its path in the request body (`lines[0].item_id`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// An error answer from a sandbox platform.
#[derive(Debug, thiserror::Error)]
#[error("{code}: {description}")]
pub struct SandboxError {
    status: StatusCode,
    code: &'static str,
    description: String,
    www_authenticate: Option<&'static str>,
    retry_after_seconds: Option<u32>,
    fields: Vec<FieldError>,
}

impl SandboxError {
    fn new(status: StatusCode, code: &'static str, description: impl Into<String>) -> Self {
        Self {
            status,
            code,
            description: description.into(),
            www_authenticate: None,
            retry_after_seconds: None,
            fields: Vec::new(),
        }
    }

    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    /// 401 with a Basic challenge, as RFC 6749 §5.2 asks when the client tried to authenticate.
    pub fn invalid_client(description: impl Into<String>) -> Self {
        Self {
            www_authenticate: Some("Basic realm=\"linkwell-sandbox\""),
            ..Self::new(StatusCode::UNAUTHORIZED, "invalid_client", description)
        }
    }

    pub fn invalid_grant(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_grant", description)
    }

    pub fn unsupported_grant_type(description: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            description,
        )
    }

    /// RFC 6750 §3.1: a missing, expired or revoked bearer token.
    pub fn invalid_token(description: impl Into<String>) -> Self {
        Self {
            www_authenticate: Some("Bearer error=\"invalid_token\""),
            ..Self::new(StatusCode::UNAUTHORIZED, "invalid_token", description)
        }
    }

    pub fn not_found(description: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", description)
    }

    pub fn unknown_platform(key: &str) -> Self {
        Self::not_found(format!(
            "no sandbox platform {key:?}; the platforms are mqjo, bnks and aiwb"
        ))
    }

    /// RFC 6750 §3.1: the token is fine but its grant's scopes do not allow this call.
    pub fn insufficient_scope(description: impl Into<String>) -> Self {
        Self {
            www_authenticate: Some("Bearer error=\"insufficient_scope\", scope=\"write\""),
            ..Self::new(StatusCode::FORBIDDEN, "insufficient_scope", description)
        }
    }

    pub fn method_not_allowed(description: impl Into<String>) -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            description,
        )
    }

    /// The request is well-formed but the record's state forbids it (deleting a paid invoice).
    pub fn conflict(description: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", description)
    }

    /// 422: the request cannot be carried out as asked (an idempotency key reused for another one).
    pub fn unprocessable(description: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unprocessable",
            description,
        )
    }

    /// 422 naming every rejected field.
    pub fn validation(fields: Vec<FieldError>) -> Self {
        let description = match fields.as_slice() {
            [only] => format!("{}: {}", only.field, only.message),
            _ => format!("{} fields are invalid", fields.len()),
        };
        Self {
            fields,
            ..Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                description,
            )
        }
    }

    /// The rejected fields of a validation error.
    pub fn fields(&self) -> &[FieldError] {
        &self.fields
    }

    /// An injected failure (see the faults control endpoint).
    pub(crate) fn injected_fault(status: StatusCode, retry_after_seconds: Option<u32>) -> Self {
        let code = match status {
            StatusCode::TOO_MANY_REQUESTS => "rate_limited",
            StatusCode::SERVICE_UNAVAILABLE => "temporarily_unavailable",
            _ => "server_error",
        };
        Self {
            retry_after_seconds,
            ..Self::new(
                status,
                code,
                "injected by the sandbox faults control endpoint",
            )
        }
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The OAuth2 error code, e.g. `invalid_grant`.
    pub fn code(&self) -> &'static str {
        self.code
    }
}

impl IntoResponse for SandboxError {
    fn into_response(self) -> Response {
        let mut body = json!({ "error": self.code, "error_description": self.description });
        if !self.fields.is_empty() {
            body["fields"] = json!(self.fields);
        }
        let mut response = (self.status, Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(challenge) = self.www_authenticate {
            headers.insert(WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
        }
        if let Some(seconds) = self.retry_after_seconds {
            headers.insert(RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}
