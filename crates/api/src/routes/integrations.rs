//! `/integrations`: the catalogue, listed, fetched and branded. The catalogue is small and in memory, so the
//! query language is evaluated on each entry's JSON form instead of in SQL.

use std::cmp::Ordering;

use axum::extract::{OriginalUri, Path, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::IntoResponse;
use linkwell_domain::integration::{
    Integration as CatalogueEntry, PlatformKey, DATA_TYPES, FEATURE_STATES, FEATURE_TYPES,
};
use linkwell_domain::query::{eval_json, Path as QueryPath};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Client;
use crate::dto::SourceTypeDto;
use crate::error::{ApiError, ApiResult, ErrorMessage};
use crate::extract::{ListParams, Query};
use crate::paged;
use crate::routes::companies::extra_params;
use crate::state::AppState;

fn string_enum(values: &[&str], description: &str) -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::Type::String)
        .enum_values(Some(values.iter().copied()))
        .description(Some(description))
        .build()
}

fn data_type_schema() -> utoipa::openapi::Object {
    string_enum(DATA_TYPES, "The key of a Codat data type.")
}

fn feature_type_schema() -> utoipa::openapi::Object {
    string_enum(FEATURE_TYPES, "What can be done with the data type.")
}

fn feature_state_schema() -> utoipa::openapi::Object {
    string_enum(FEATURE_STATES, "The release state of the feature.")
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SupportedFeature {
    #[schema(schema_with = feature_type_schema)]
    pub feature_type: String,
    #[schema(schema_with = feature_state_schema)]
    pub feature_state: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DataTypeFeature {
    #[schema(schema_with = data_type_schema)]
    pub data_type: String,
    pub supported_features: Vec<SupportedFeature>,
}

/// A platform linkwell can connect to.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Integration {
    pub key: String,
    pub logo_url: String,
    pub name: String,
    pub enabled: bool,
    pub source_id: String,
    pub source_type: SourceTypeDto,
    pub integration_id: String,
    pub is_offline_connector: bool,
    pub is_beta: bool,
    pub data_provided_by: String,
    pub datatype_features: Vec<DataTypeFeature>,
}

paged!(
    /// A page of integrations.
    Integrations,
    Integration
);

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ImageReference {
    pub src: String,
    pub alt: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct BrandingImage {
    pub image: ImageReference,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct BrandingLogo {
    pub full: BrandingImage,
    pub square: BrandingImage,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct BrandingButton {
    pub default: BrandingImage,
    pub hover: BrandingImage,
}

/// Logos and buttons for an integration.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Branding {
    pub logo: BrandingLogo,
    pub button: BrandingButton,
    pub source_id: String,
}

fn logo_url(public_url: &str, key: &str, variant: &str) -> String {
    format!("{public_url}/assets/integrations/{key}/{variant}.svg")
}

fn to_dto(entry: &CatalogueEntry, public_url: &str) -> Integration {
    Integration {
        key: entry.key.clone(),
        logo_url: logo_url(public_url, &entry.key, "square"),
        name: entry.name.clone(),
        enabled: entry.enabled,
        source_id: entry.source_id.to_string(),
        source_type: entry.source_type.into(),
        integration_id: entry.integration_id.to_string(),
        is_offline_connector: entry.is_offline_connector,
        is_beta: entry.is_beta,
        data_provided_by: entry.data_provided_by.clone(),
        datatype_features: entry
            .data_types
            .iter()
            .map(|support| DataTypeFeature {
                data_type: support.data_type.clone(),
                supported_features: support
                    .features
                    .iter()
                    .map(|feature| SupportedFeature {
                        feature_type: feature.clone(),
                        feature_state: if entry.is_beta { "Beta" } else { "Release" }.to_owned(),
                    })
                    .collect(),
            })
            .collect(),
    }
}

fn lookup<'a>(state: &'a AppState, raw: &str) -> ApiResult<&'a CatalogueEntry> {
    PlatformKey::parse(raw)
        .ok()
        .and_then(|key| state.catalogue.get(&key))
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "No integration was found with platform key '{raw}'"
            ))
        })
}

/// The value at a path of an integration's JSON form, for ordering.
fn value_at<'a>(doc: &'a serde_json::Value, path: &QueryPath) -> Option<&'a serde_json::Value> {
    path.segments()
        .iter()
        .try_fold(doc, |node, segment| node.get(segment))
}

fn compare(a: Option<&serde_json::Value>, b: Option<&serde_json::Value>) -> Ordering {
    use serde_json::Value;
    match (a, b) {
        (Some(Value::Number(x)), Some(Value::Number(y))) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(Ordering::Equal),
        (Some(Value::String(x)), Some(Value::String(y))) => x.cmp(y),
        (Some(Value::Bool(x)), Some(Value::Bool(y))) => x.cmp(y),
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        _ => Ordering::Equal,
    }
}

fn check_known(doc: &serde_json::Value, path: &QueryPath) -> ApiResult<()> {
    let mut node = doc;
    for segment in path.segments() {
        if let serde_json::Value::Array(items) = node {
            node = items.first().unwrap_or(&serde_json::Value::Null);
        }
        match node.get(segment) {
            Some(next) => node = next,
            None if node.is_null() => return Ok(()),
            None => {
                return Err(ApiError::BadRequest(format!(
                    "unknown property '{}' for integrations",
                    path.dotted()
                )))
            }
        }
    }
    Ok(())
}

#[utoipa::path(
    get, path = "/integrations", operation_id = "list-integrations", tag = "Integrations",
    params(ListParams),
    responses(
        (status = 200, description = "A page of integrations", body = Integrations),
        (status = 400, description = "Malformed query, orderBy or paging", body = ErrorMessage),
        (status = 401, description = "Missing or wrong API key", body = ErrorMessage),
    )
)]
pub async fn list_integrations(
    State(state): State<AppState>,
    Client(_client): Client,
    OriginalUri(uri): OriginalUri,
    Query(params): Query<ListParams>,
) -> ApiResult<axum::Json<Integrations>> {
    let listing = params.parse()?;
    let mut entries: Vec<(Integration, serde_json::Value)> = state
        .catalogue
        .all()
        .iter()
        .map(|entry| {
            let dto = to_dto(entry, &state.public_url);
            let json = serde_json::to_value(&dto).unwrap_or_default();
            (dto, json)
        })
        .collect();
    if let Some(sample) = entries.first().map(|(_, json)| json.clone()) {
        let order_paths = listing
            .order
            .iter()
            .flat_map(|order| order.0.iter().map(|key| &key.path));
        let query_paths = listing.query.iter().flat_map(|query| query.paths());
        for path in query_paths.chain(order_paths) {
            check_known(&sample, path)?;
        }
    }
    if let Some(query) = &listing.query {
        entries.retain(|(_, json)| eval_json(query, json));
    }
    if let Some(order) = &listing.order {
        entries.sort_by(|(_, a), (_, b)| {
            order.0.iter().fold(Ordering::Equal, |so_far, key| {
                so_far.then_with(|| {
                    let ordering = compare(value_at(a, &key.path), value_at(b, &key.path));
                    if key.descending {
                        ordering.reverse()
                    } else {
                        ordering
                    }
                })
            })
        });
    }
    let total = entries.len() as u64;
    let results = entries
        .into_iter()
        .skip(usize::try_from(listing.page.offset()).unwrap_or(usize::MAX))
        .take(listing.page.page_size() as usize)
        .map(|(dto, _)| dto)
        .collect();
    Ok(axum::Json(Integrations::new(
        results,
        uri.path(),
        &extra_params(&params, &[]),
        listing.page,
        total,
    )))
}

#[utoipa::path(
    get, path = "/integrations/{platformKey}", operation_id = "get-integration", tag = "Integrations",
    params(("platformKey" = String, Path, description = "A unique 4-letter key to represent a platform")),
    responses(
        (status = 200, description = "The integration", body = Integration),
        (status = 401, description = "Missing or wrong API key", body = ErrorMessage),
        (status = 404, description = "No such integration", body = ErrorMessage),
    )
)]
pub async fn get_integration(
    State(state): State<AppState>,
    Client(_client): Client,
    Path(key): Path<String>,
) -> ApiResult<axum::Json<Integration>> {
    let entry = lookup(&state, &key)?;
    Ok(axum::Json(to_dto(entry, &state.public_url)))
}

#[utoipa::path(
    get, path = "/integrations/{platformKey}/branding", operation_id = "get-integrations-branding",
    tag = "Integrations",
    params(("platformKey" = String, Path, description = "A unique 4-letter key to represent a platform")),
    responses(
        (status = 200, description = "Logos and buttons", body = Branding),
        (status = 401, description = "Missing or wrong API key", body = ErrorMessage),
        (status = 404, description = "No such integration", body = ErrorMessage),
    )
)]
pub async fn get_integration_branding(
    State(state): State<AppState>,
    Client(_client): Client,
    Path(key): Path<String>,
) -> ApiResult<axum::Json<Branding>> {
    let entry = lookup(&state, &key)?;
    let image = |variant: &str, what: &str| BrandingImage {
        image: ImageReference {
            src: logo_url(&state.public_url, &entry.key, variant),
            alt: format!("{} {what}", entry.name),
        },
    };
    Ok(axum::Json(Branding {
        logo: BrandingLogo {
            full: image("full", "full logo"),
            square: image("square", "square logo"),
        },
        button: BrandingButton {
            default: image("button", "button"),
            hover: image("button-hover", "button (hover)"),
        },
        source_id: entry.source_id.to_string(),
    }))
}

/// The integration's logo, drawn from its catalogue colour and name: no external assets.
pub async fn integration_logo(
    State(state): State<AppState>,
    Path((key, variant)): Path<(String, String)>,
) -> ApiResult<impl IntoResponse> {
    let entry = lookup(&state, &key)?;
    let initials: String = entry
        .name
        .split_whitespace()
        .filter_map(|word| word.chars().next())
        .take(2)
        .collect();
    let colour = &entry.colour;
    let svg = match variant.as_str() {
        "square.svg" => format!(
            r##"<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" viewBox="0 0 64 64" role="img" aria-label="{name}"><rect width="64" height="64" rx="12" fill="{colour}"/><text x="32" y="41" font-family="sans-serif" font-size="24" font-weight="700" fill="#fff" text-anchor="middle">{initials}</text></svg>"##,
            name = entry.name
        ),
        "full.svg" | "button.svg" | "button-hover.svg" => {
            let (fill, text) = if variant == "button-hover.svg" {
                ("#fff", colour.as_str())
            } else {
                (colour.as_str(), "#fff")
            };
            format!(
                r##"<svg xmlns="http://www.w3.org/2000/svg" width="240" height="48" viewBox="0 0 240 48" role="img" aria-label="{name}"><rect width="240" height="48" rx="8" fill="{fill}" stroke="{colour}" stroke-width="2"/><text x="120" y="31" font-family="sans-serif" font-size="18" font-weight="700" fill="{text}" text-anchor="middle">{name}</text></svg>"##,
                name = entry.name
            )
        }
        _ => return Err(ApiError::NotFound("No such image".to_owned())),
    };
    Ok((
        [
            (CONTENT_TYPE, "image/svg+xml"),
            (CACHE_CONTROL, "public, max-age=86400"),
        ],
        svg,
    ))
}
