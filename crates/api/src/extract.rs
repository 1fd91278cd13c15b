//! Extractors that turn request parts into parsed values, rejecting bad input with a clear ErrorMessage.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use linkwell_domain::paging::PageRequest;
use linkwell_domain::query::{parse_order_by, parse_query, Expr, OrderBy};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::ApiError;

/// A JSON body. Wrong content type → 415, malformed JSON → 400, a body of the wrong shape → 400; each with a
/// message saying what was wrong.
pub struct Json<T>(pub T);

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(ApiError::UnsupportedMediaType(
                "Expected a request body with Content-Type: application/json".to_owned(),
            )),
            Err(JsonRejection::JsonSyntaxError(error)) => Err(ApiError::BadRequest(format!(
                "The request body is not valid JSON: {}",
                source_message(&error.body_text())
            ))),
            Err(JsonRejection::JsonDataError(error)) => Err(ApiError::BadRequest(format!(
                "The request body does not have the expected shape: {}",
                source_message(&error.body_text())
            ))),
            Err(other) => Err(ApiError::BadRequest(other.body_text())),
        }
    }
}

/// axum prefixes its own sentence to serde's; keep serde's, which names the field path and position.
fn source_message(text: &str) -> String {
    const PREFIXES: [&str; 3] = [
        "Failed to deserialize the JSON body into the target type: ",
        "Failed to parse the request body as JSON: ",
        "Failed to deserialize query string: ",
    ];
    PREFIXES
        .iter()
        .find_map(|prefix| text.strip_prefix(prefix))
        .unwrap_or(text)
        .to_owned()
}

/// Query-string parameters, with a clear 400 when they do not parse.
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Self(value)),
            Err(QueryRejection::FailedToDeserializeQueryString(error)) => {
                Err(ApiError::BadRequest(format!(
                    "Invalid query string: {}",
                    source_message(&error.body_text())
                )))
            }
            Err(other) => Err(ApiError::BadRequest(other.body_text())),
        }
    }
}

/// The paging, filtering and ordering parameters every list takes.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Page number, from 1.
    #[param(value_type = Option<i32>, minimum = 1, default = 1)]
    pub page: Option<String>,
    /// Number of records in a page, 1 to 5000.
    #[param(value_type = Option<i32>, minimum = 1, maximum = 5000, default = 100)]
    pub page_size: Option<String>,
    /// Codat query string, e.g. `name~acme&&dataConnections.status=Linked`.
    pub query: Option<String>,
    /// Property to order by; prefix with `-` for descending.
    pub order_by: Option<String>,
}

/// [`ListParams`] parsed.
pub struct Listing {
    pub page: PageRequest,
    pub query: Option<Expr>,
    pub order: Option<OrderBy>,
}

impl ListParams {
    pub fn parse(&self) -> Result<Listing, ApiError> {
        let number = |value: &Option<String>, name: &str| -> Result<Option<i64>, ApiError> {
            value
                .as_deref()
                .map(|text| {
                    text.trim().parse::<i64>().map_err(|_| {
                        ApiError::BadRequest(format!("{name} must be a whole number, not '{text}'"))
                    })
                })
                .transpose()
        };
        let page = PageRequest::new(
            number(&self.page, "page")?,
            number(&self.page_size, "pageSize")?,
        )
        .map_err(|error| ApiError::BadRequest(error.to_string()))?;
        Ok(Listing {
            page,
            query: parse_filter("query", self.query.as_deref())?,
            order: match self.order_by.as_deref().map(str::trim) {
                None | Some("") => None,
                Some(text) => {
                    Some(parse_order_by(text).map_err(|error| {
                        ApiError::BadRequest(format!("Invalid orderBy: {error}"))
                    })?)
                }
            },
        })
    }
}

pub fn parse_filter(parameter: &str, text: Option<&str>) -> Result<Option<Expr>, ApiError> {
    match text.map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => parse_query(text)
            .map(Some)
            .map_err(|error| ApiError::BadRequest(format!("Invalid {parameter}: {error}"))),
    }
}

/// Parses an id from the path; an id that cannot exist is simply not found.
pub fn parse_id<T: std::str::FromStr>(
    raw: &str,
    not_found: impl FnOnce() -> ApiError,
) -> Result<T, ApiError> {
    raw.parse().map_err(|_| not_found())
}
