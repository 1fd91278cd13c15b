//! `/companies`: list, create, get, replace, update and delete.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{FromRequestParts, OriginalUri, Path, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use linkwell_domain::company::{CompanyDescription, CompanyName, Tags};
use linkwell_domain::ids::CompanyId;
use linkwell_domain::paging::PageRequest;
use linkwell_store::{CompanyChanges, CompanyFilter, CompanyPageJson, NewCompany, StoreError};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::Client;
use crate::dto::{Companies, Company, CompanyRequestBody, CompanyUpdateRequest};
use crate::error::{ApiError, ApiResult, ErrorMessage};
use crate::extract::{parse_filter, parse_id, Json, ListParams, Query};
use crate::state::AppState;

/// The list parameters of companies: those of every list, and `tags`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct CompanyListParams {
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
    /// Filter by tags with the query language, e.g. `region=uk && team=invoice-finance`.
    pub tags: Option<String>,
}

impl CompanyListParams {
    fn list(&self) -> ListParams {
        ListParams {
            page: self.page.clone(),
            page_size: self.page_size.clone(),
            query: self.query.clone(),
            order_by: self.order_by.clone(),
        }
    }
}

pub(crate) fn company_id(raw: &str) -> ApiResult<CompanyId> {
    parse_id(raw, || ApiError::company_not_found(raw))
}

pub(crate) fn company_error(id: CompanyId) -> impl Fn(StoreError) -> ApiError {
    move |error| match error {
        StoreError::NotFound => ApiError::company_not_found(id),
        other => other.into(),
    }
}

fn bad(error: impl ToString) -> ApiError {
    ApiError::BadRequest(error.to_string())
}

fn parse_tags(raw: Option<std::collections::BTreeMap<String, String>>) -> ApiResult<Tags> {
    Tags::parse(raw.unwrap_or_default()).map_err(bad)
}

fn parse_description(raw: Option<String>) -> ApiResult<Option<CompanyDescription>> {
    raw.map(|text| CompanyDescription::parse(&text))
        .transpose()
        .map_err(bad)
}

#[utoipa::path(
    get, path = "/companies", operation_id = "list-companies", tag = "Companies",
    params(CompanyListParams),
    responses(
        (status = 200, description = "A page of companies", body = Companies),
        (status = 400, description = "Malformed query, orderBy or paging", body = ErrorMessage),
        (status = 401, description = "Missing or wrong API key", body = ErrorMessage),
    )
)]
pub async fn list_companies(
    State(state): State<AppState>,
    Client(client): Client,
    OriginalUri(uri): OriginalUri,
    freshness: Freshness,
    Query(params): Query<CompanyListParams>,
) -> ApiResult<Response> {
    // With the store's read cache (SQLite, this process the only writer), a listing is rendered once per
    // generation of the data: any committed change to companies or connections makes every stored listing
    // stale. The key holds everything the body depends on besides the client and the data.
    let cache = state.store.listing_cache_generation().zip(listing_key(
        &params,
        uri.path(),
        &state.public_url,
    ));
    if let (Some((_, key)), Freshness::Any) = (&cache, freshness) {
        if let Some(body) = state.store.cached_listing(client, key) {
            return Ok(json_response(Bytes::from_owner(body)));
        }
    }
    let list = params.list();
    let listing = list.parse()?;
    let filter = CompanyFilter {
        query: listing.query,
        tags: parse_filter("tags", params.tags.as_deref())?,
        order: listing.order,
    };
    let page = state
        .store
        .list_companies_json(client, listing.page, &filter, &state.public_url)
        .await?;
    let extra = extra_params(&list, &[("tags", params.tags.as_deref())]);
    let body = render_listing(page, uri.path(), &extra)?;
    match cache {
        Some((generation, key)) if freshness != Freshness::NoStore => {
            let body: Arc<[u8]> = body.into();
            state
                .store
                .remember_listing(generation, client, key, Arc::clone(&body));
            Ok(json_response(Bytes::from_owner(body)))
        }
        _ => Ok(json_response(Bytes::from(body))),
    }
}

/// What the request's `Cache-Control` allows of the listing cache: `no-cache` asks for a fresh rendering
/// (which is then stored as any other), `no-store` for one that is neither read from nor kept in the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    Any,
    NoCache,
    NoStore,
}

impl<S: Send + Sync> FromRequestParts<S> for Freshness {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let mut freshness = Self::Any;
        for value in parts.headers.get_all(CACHE_CONTROL) {
            let Ok(value) = value.to_str() else { continue };
            for directive in value.split(',').map(str::trim) {
                if directive.eq_ignore_ascii_case("no-store") {
                    return Ok(Self::NoStore);
                }
                if directive.eq_ignore_ascii_case("no-cache") {
                    freshness = Self::NoCache;
                }
            }
        }
        Ok(freshness)
    }
}

/// The listing cache's key for these parameters: the page and page size as parsed (so `page=01` is `page=1`),
/// then `query`, `orderBy` and `tags` as given (they are echoed in `_links`), absent when blank as the listing
/// treats them, each prefixed with its length so no two parameter sets share a key; then the path and public
/// URL the links are made of. None when the paging parameters do not parse: such a request is answered
/// with an error, never cached.
fn listing_key(params: &CompanyListParams, path: &str, public_url: &str) -> Option<String> {
    let number = |value: &Option<String>| match value {
        None => Some(None),
        Some(text) => text.trim().parse::<i64>().ok().map(Some),
    };
    let page = PageRequest::new(number(&params.page)?, number(&params.page_size)?).ok()?;
    let mut key = String::with_capacity(64 + path.len() + public_url.len());
    let _ = write!(key, "{} {} ", page.page(), page.page_size());
    for value in [&params.query, &params.order_by, &params.tags] {
        match value.as_deref().filter(|text| !text.trim().is_empty()) {
            None => key.push_str("- "),
            Some(text) => {
                let _ = write!(key, "{}:{text} ", text.len());
            }
        }
    }
    let _ = write!(key, "{}:{path} {public_url}", path.len());
    Some(key)
}

/// The paging envelope around a page the database rendered: `{"results":` the page's array, then the same
/// fields, in the same order, as [`Companies`] serialises.
fn render_listing(page: CompanyPageJson, path: &str, extra: &[(&str, &str)]) -> ApiResult<Vec<u8>> {
    const EMPTY: &[u8] = br#"{"results":[]"#;
    let envelope = serde_json::to_vec(&Companies::new(
        Vec::new(),
        path,
        extra,
        page.request,
        page.total,
    ))
    .map_err(|error| ApiError::Internal(format!("listing envelope: {error}")))?;
    let rest = envelope
        .strip_prefix(EMPTY)
        .ok_or_else(|| ApiError::Internal("listing envelope does not start with results".into()))?;
    let mut body = Vec::with_capacity(EMPTY.len() + page.results.len() + rest.len());
    body.extend_from_slice(br#"{"results":"#);
    body.extend_from_slice(page.results.as_bytes());
    body.extend_from_slice(rest);
    Ok(body)
}

fn json_response(body: Bytes) -> Response {
    let mut response = Response::new(Body::from(body));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// The list parameters other than paging, to carry into `_links`.
pub(crate) fn extra_params<'a>(
    list: &'a ListParams,
    more: &[(&'a str, Option<&'a str>)],
) -> Vec<(&'a str, &'a str)> {
    [
        ("query", list.query.as_deref()),
        ("orderBy", list.order_by.as_deref()),
    ]
    .into_iter()
    .chain(more.iter().copied())
    .filter_map(|(name, value)| value.filter(|v| !v.trim().is_empty()).map(|v| (name, v)))
    .collect()
}

#[utoipa::path(
    post, path = "/companies", operation_id = "create-company", tag = "Companies",
    request_body = CompanyRequestBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer for 90 minutes")),
    responses(
        (status = 200, description = "The new company", body = Company),
        (status = 400, description = "Invalid name, description or tags", body = ErrorMessage),
        (status = 401, description = "Missing or wrong API key", body = ErrorMessage),
        (status = 422, description = "Idempotency-Key reused with another request", body = ErrorMessage),
    )
)]
pub async fn create_company(
    State(state): State<AppState>,
    Client(client): Client,
    Json(body): Json<CompanyRequestBody>,
) -> ApiResult<axum::Json<Company>> {
    let company = NewCompany {
        name: CompanyName::parse(&body.name).map_err(bad)?,
        description: parse_description(body.description)?,
        tags: parse_tags(body.tags)?,
    };
    let record = state.store.create_company(client, company).await?;
    Ok(axum::Json(Company::from_record(&record, &state.public_url)))
}

#[utoipa::path(
    get, path = "/companies/{companyId}", operation_id = "get-company", tag = "Companies",
    params(("companyId" = String, Path, description = "Unique identifier for a company")),
    responses(
        (status = 200, description = "The company", body = Company),
        (status = 401, description = "Missing or wrong API key", body = ErrorMessage),
        (status = 404, description = "No such company", body = ErrorMessage),
    )
)]
pub async fn get_company(
    State(state): State<AppState>,
    Client(client): Client,
    Path(company): Path<String>,
) -> ApiResult<axum::Json<Company>> {
    let id = company_id(&company)?;
    let record = state
        .store
        .get_company(client, id)
        .await
        .map_err(company_error(id))?;
    Ok(axum::Json(Company::from_record(&record, &state.public_url)))
}

#[utoipa::path(
    put, path = "/companies/{companyId}", operation_id = "replace-company", tag = "Companies",
    request_body = CompanyRequestBody,
    params(("companyId" = String, Path, description = "Unique identifier for a company")),
    responses(
        (status = 200, description = "The company after the replace", body = Company),
        (status = 400, description = "Invalid name, description or tags", body = ErrorMessage),
        (status = 401, description = "Missing or wrong API key", body = ErrorMessage),
        (status = 404, description = "No such company", body = ErrorMessage),
    )
)]
pub async fn replace_company(
    State(state): State<AppState>,
    Client(client): Client,
    Path(company): Path<String>,
    Json(body): Json<CompanyRequestBody>,
) -> ApiResult<axum::Json<Company>> {
    let id = company_id(&company)?;
    let changes = CompanyChanges {
        name: Some(CompanyName::parse(&body.name).map_err(bad)?),
        description: Some(parse_description(body.description)?),
        tags: Some(parse_tags(body.tags)?),
    };
    let record = state
        .store
        .update_company(client, id, changes)
        .await
        .map_err(company_error(id))?;
    Ok(axum::Json(Company::from_record(&record, &state.public_url)))
}

#[utoipa::path(
    patch, path = "/companies/{companyId}", operation_id = "update-company", tag = "Companies",
    request_body = CompanyUpdateRequest,
    params(
        ("companyId" = String, Path, description = "Unique identifier for a company"),
        ("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer for 90 minutes"),
    ),
    responses(
        (status = 200, description = "The company after the update", body = Company),
        (status = 400, description = "Invalid name, description or tags", body = ErrorMessage),
        (status = 401, description = "Missing or wrong API key", body = ErrorMessage),
        (status = 404, description = "No such company", body = ErrorMessage),
    )
)]
pub async fn update_company(
    State(state): State<AppState>,
    Client(client): Client,
    Path(company): Path<String>,
    Json(body): Json<CompanyUpdateRequest>,
) -> ApiResult<axum::Json<Company>> {
    let id = company_id(&company)?;
    let changes = CompanyChanges {
        name: body
            .name
            .as_deref()
            .map(CompanyName::parse)
            .transpose()
            .map_err(bad)?,
        description: parse_description(body.description)?.map(Some),
        tags: body.tags.map(|tags| parse_tags(Some(tags))).transpose()?,
    };
    let record = state
        .store
        .update_company(client, id, changes)
        .await
        .map_err(company_error(id))?;
    Ok(axum::Json(Company::from_record(&record, &state.public_url)))
}

#[utoipa::path(
    delete, path = "/companies/{companyId}", operation_id = "delete-company", tag = "Companies",
    params(("companyId" = String, Path, description = "Unique identifier for a company")),
    responses(
        (status = 204, description = "Deleted, with its connections"),
        (status = 401, description = "Missing or wrong API key", body = ErrorMessage),
        (status = 404, description = "No such company", body = ErrorMessage),
    )
)]
pub async fn delete_company(
    State(state): State<AppState>,
    Client(client): Client,
    Path(company): Path<String>,
) -> ApiResult<StatusCode> {
    let id = company_id(&company)?;
    state
        .store
        .delete_company(client, id)
        .await
        .map_err(company_error(id))?;
    Ok(StatusCode::NO_CONTENT)
}
