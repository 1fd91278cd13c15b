//! Request-wide concerns: the correlation id (header, error bodies, log line) and Codat-shaped bodies for the
//! errors the router produces by itself (unknown route, wrong method).

use std::time::Instant;

use axum::body::Body;
use axum::extract::Request;
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::{ApiError, CORRELATION_ID};

pub const CORRELATION_HEADER: &str = "x-correlation-id";

/// A new correlation id: 128 random bits as 32 hex digits (the form Codat uses). Drawn from the thread-local
/// generator rather than the operating system, since every request needs one.
pub fn new_correlation_id() -> String {
    format!("{:032x}", rand::random::<u128>())
}

pub async fn correlate(request: Request, next: Next) -> Response {
    let correlation_id = new_correlation_id();
    let logged = tracing::enabled!(tracing::Level::INFO);
    let method = request.method().clone();
    let path = if logged {
        request.uri().path().to_owned()
    } else {
        String::new()
    };
    let started = Instant::now();
    let id = correlation_id.clone();
    let mut response = CORRELATION_ID
        .scope(correlation_id.clone(), async move {
            let response = next.run(request).await;
            if response.status().is_success()
                || response.status().is_redirection()
                || has_body(&response)
            {
                response
            } else {
                // Produced by the router itself (405, or an empty error): give it the standard body.
                bodyless_error(response.status()).into_response()
            }
        })
        .await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(CORRELATION_HEADER, value);
    }
    if logged {
        tracing::info!(
        correlation_id = %correlation_id,
        %method,
        path = %path,
        status = response.status().as_u16(),
        elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
        "request"
        );
    }
    response
}

fn has_body(response: &Response) -> bool {
    let empty = response
        .headers()
        .get(CONTENT_LENGTH)
        .is_some_and(|length| length == "0");
    response.headers().contains_key(CONTENT_TYPE) && !empty
}

fn bodyless_error(status: StatusCode) -> ApiError {
    match status {
        StatusCode::METHOD_NOT_ALLOWED => {
            ApiError::MethodNotAllowed("This method is not allowed on this resource".to_owned())
        }
        StatusCode::NOT_FOUND => ApiError::NotFound("No such resource".to_owned()),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            ApiError::UnsupportedMediaType("Unsupported content type".to_owned())
        }
        StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::BadRequest("The request body is too large".to_owned())
        }
        status if status.is_client_error() => ApiError::BadRequest(
            status
                .canonical_reason()
                .unwrap_or("Bad request")
                .to_owned(),
        ),
        status => ApiError::Internal(format!("empty {status} response")),
    }
}

/// Answer for routes that do not exist.
pub async fn route_not_found(request: Request<Body>) -> ApiError {
    ApiError::NotFound(format!(
        "No route for {} {}",
        request.method(),
        request.uri().path()
    ))
}
