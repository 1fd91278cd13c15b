//! Errors at the HTTP edge.
//!
//! Policy: inside linkwell errors are typed (`StoreError`, `TransitionError`, parse errors). Handlers turn them
//! into one [`ApiError`], which renders Codat's `ErrorMessage` body. Messages in an `ApiError` are written for
//! the API's user; the cause of a 500 (a database error, say) is logged with the request's correlation id and
//! never put in a body. Every non-2xx response carries the correlation id, in the body and in the
//! `X-Correlation-Id` header.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use linkwell_store::StoreError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

tokio::task_local! {
    /// The correlation id of the request being handled, set by the outermost middleware.
    pub static CORRELATION_ID: String;
}

pub(crate) fn current_correlation_id() -> String {
    CORRELATION_ID
        .try_with(Clone::clone)
        .unwrap_or_else(|_| crate::middleware::new_correlation_id())
}

/// Codat's error body.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorMessage {
    /// The HTTP status code of the response.
    pub status_code: u16,
    /// The part of linkwell that answered.
    pub service: String,
    /// What went wrong, for the person reading it.
    pub error: String,
    /// Also in the `X-Correlation-Id` header and in the server's log line for the request.
    pub correlation_id: String,
    #[schema(nullable)]
    pub validation: Option<ErrorValidation>,
    /// `True` when the same request may succeed later, `False` when it will not, `Unknown` otherwise.
    pub can_be_retried: String,
    /// Machine-readable code; 0 when there is nothing more specific than the status.
    pub detailed_error_code: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ErrorValidation {
    #[schema(nullable)]
    pub errors: Option<Vec<ErrorValidationItem>>,
    #[schema(nullable)]
    pub warnings: Option<Vec<ErrorValidationItem>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorValidationItem {
    #[schema(nullable)]
    pub item_id: Option<String>,
    #[schema(nullable)]
    pub message: Option<String>,
    #[schema(nullable)]
    pub validator_name: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("Unauthorized")]
    Unauthorized,
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    MethodNotAllowed(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    Unprocessable(String),
    #[error("internal error")]
    Internal(String),
    #[error("{0}")]
    Unavailable(String),
    /// The client's daily quota is used up until the given number of seconds from now.
    #[error("{0}")]
    TooManyRequests(String, u64),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::TooManyRequests(..) => StatusCode::TOO_MANY_REQUESTS,
        }
    }

    /// The message shown to the user: never the cause of an internal error.
    fn public_message(&self) -> String {
        match self {
            Self::Internal(_) => {
                "An internal error occurred; quote the correlation id when reporting it".to_owned()
            }
            other => other.to_string(),
        }
    }

    fn can_be_retried(&self) -> &'static str {
        match self {
            Self::Internal(_) | Self::Unavailable(_) | Self::TooManyRequests(..) => "True",
            Self::Conflict(_) => "Unknown",
            _ => "False",
        }
    }

    /// Builds the error body for the current request.
    pub fn to_message(&self) -> ErrorMessage {
        let validation = match self {
            Self::BadRequest(message) | Self::Unprocessable(message) => Some(ErrorValidation {
                errors: Some(vec![ErrorValidationItem {
                    item_id: None,
                    message: Some(message.clone()),
                    validator_name: Some("request".to_owned()),
                }]),
                warnings: None,
            }),
            _ => None,
        };
        ErrorMessage {
            status_code: self.status().as_u16(),
            service: "linkwell".to_owned(),
            error: self.public_message(),
            correlation_id: current_correlation_id(),
            validation,
            can_be_retried: self.can_be_retried().to_owned(),
            detailed_error_code: 0,
        }
    }

    pub fn company_not_found(id: impl std::fmt::Display) -> Self {
        Self::NotFound(format!("No company was found with ID {id}"))
    }

    pub fn connection_not_found(id: impl std::fmt::Display) -> Self {
        Self::NotFound(format!("Data connection {id} not found"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Self::Internal(cause) = &self {
            tracing::error!(correlation_id = %current_correlation_id(), %cause, "request failed");
        }
        let body = self.to_message();
        let mut response = (self.status(), axum::Json(body)).into_response();
        if let Self::TooManyRequests(_, seconds) = &self {
            if let Ok(value) = axum::http::HeaderValue::from_str(&seconds.to_string()) {
                response
                    .headers_mut()
                    .insert(axum::http::header::RETRY_AFTER, value);
            }
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => Self::NotFound("The resource was not found".to_owned()),
            StoreError::ApiKeyLimit(limit) => Self::Conflict(format!(
                "The maximum number of API keys ({limit}) has been reached; delete an unused key first"
            )),
            StoreError::WebhookLimit(limit) => Self::Conflict(format!(
                "The maximum number of webhook consumers ({limit}) has been reached; delete one first"
            )),
            StoreError::Transition(error) => Self::Conflict(error.to_string()),
            StoreError::AccountingAlreadyLinked { existing } => Self::Conflict(format!(
                "The company already has a Linked accounting connection ({existing}); only one is allowed"
            )),
            StoreError::Contended => Self::Conflict(error.to_string()),
            StoreError::Query(error) => Self::BadRequest(error.message),
            other => Self::Internal(other.to_string()),
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
