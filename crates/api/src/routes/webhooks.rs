//! `/webhooks`: the client's webhook consumers (Codat's list, create and delete), and linkwell's extensions:
//! enable/disable, deliveries with their attempts, replays and secret rotation.

use axum::extract::{OriginalUri, Path, State};
use axum::http::StatusCode;
use linkwell_connectors::keys::webhook_secret_binding;
use linkwell_domain::time::Timestamp;
use linkwell_store::{
    is_known_event_type, ConsumerRecord, DeliveryRecord, NewConsumer, SealedSecret, StoreError,
};
use linkwell_webhooks::SigningSecret;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Client;
use crate::error::{ApiError, ApiResult, ErrorMessage};
use crate::extract::{Json, ListParams, Query};
use crate::state::AppState;

/// How long a rotated-out secret keeps signing beside the new one.
pub const SECRET_OVERLAP_SECONDS: i64 = 24 * 3600;

/// Codat's `WebhookConsumer`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookConsumer {
    /// Unique identifier of the consumer.
    pub id: String,
    /// Where events are sent.
    pub url: String,
    /// `true` when the consumer receives nothing: set by the client, or by linkwell after every delivery
    /// failed for 5 days.
    #[schema(nullable)]
    pub disabled: Option<bool>,
    /// The event types the consumer receives.
    pub event_types: Vec<String>,
    /// When set, only events about companies with one of these tags (`key:value`) are sent.
    #[schema(nullable)]
    pub company_tags: Option<Vec<String>>,
}

/// The answer to a creation: the consumer and its signing secret, shown this once.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedWebhookConsumer {
    #[serde(flatten)]
    pub consumer: WebhookConsumer,
    /// linkwell extension: the Standard Webhooks signing secret (`whsec_...`), returned only here.
    pub secret: String,
}

/// Codat's list of consumers.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WebhookConsumers {
    pub results: Vec<WebhookConsumer>,
}

/// Codat's `webhookConsumerPrototype`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookConsumerPrototype {
    pub url: Option<String>,
    #[serde(default)]
    pub disabled: Option<bool>,
    pub event_types: Option<Vec<String>>,
    #[serde(default)]
    pub company_tags: Option<Vec<String>>,
}

/// linkwell extension: switch a consumer off or on.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct WebhookConsumerUpdate {
    pub disabled: Option<bool>,
}

/// One attempt at a delivery.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookAttempt {
    pub attempted_on_utc: String,
    /// The consumer's HTTP status, if it answered.
    #[schema(nullable)]
    pub status_code: Option<i64>,
    /// Why the attempt failed without an answer (timeout, refused address...).
    #[schema(nullable)]
    pub error: Option<String>,
    pub duration_ms: i64,
}

/// One event for one consumer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookDelivery {
    pub id: String,
    /// The event's id, also its `webhook-id` header.
    pub event_id: String,
    pub event_type: String,
    /// `Pending`, `Succeeded`, `Failed` (retries used up; replayable) or `Replayed`.
    pub status: String,
    pub created_on_utc: String,
    #[schema(nullable)]
    pub completed_on_utc: Option<String>,
    #[schema(nullable)]
    pub next_attempt_on_utc: Option<String>,
    pub attempts: Vec<WebhookAttempt>,
}

impl From<&DeliveryRecord> for WebhookDelivery {
    fn from(record: &DeliveryRecord) -> Self {
        Self {
            id: record.id.clone(),
            event_id: record.event_id.clone(),
            event_type: record.event_type.clone(),
            status: record.status.clone(),
            created_on_utc: record.created.to_storage(),
            completed_on_utc: record.completed.map(|at| at.to_storage()),
            next_attempt_on_utc: record.next_attempt_at.map(|at| at.to_storage()),
            attempts: record
                .attempts
                .iter()
                .map(|attempt| WebhookAttempt {
                    attempted_on_utc: attempt.attempted_at.to_storage(),
                    status_code: attempt.status_code,
                    error: attempt.error.clone(),
                    duration_ms: attempt.duration_ms,
                })
                .collect(),
        }
    }
}

crate::paged!(
    /// A page of a consumer's deliveries, newest first.
    WebhookDeliveries,
    WebhookDelivery
);

/// A replayed delivery.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReplayedDelivery {
    /// The new delivery that sends the event again.
    pub delivery_id: String,
}

/// Failed deliveries sent again.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReplayedDeliveries {
    pub replayed: u64,
}

/// A new signing secret.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RotatedSecret {
    /// The new `whsec_...` secret; the previous one keeps signing beside it for 24 hours.
    pub secret: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReplaySince {
    /// Replay failed deliveries created at or after this date and time (ISO 8601).
    pub since: Option<String>,
}

impl From<&ConsumerRecord> for WebhookConsumer {
    fn from(record: &ConsumerRecord) -> Self {
        Self {
            id: record.id.clone(),
            url: record.url.clone(),
            disabled: Some(record.disabled),
            event_types: record.event_types.clone(),
            company_tags: record.company_tags.clone(),
        }
    }
}

fn consumer_error(id: &str) -> impl Fn(StoreError) -> ApiError + '_ {
    move |error| match error {
        StoreError::NotFound => {
            ApiError::NotFound(format!("No webhook consumer was found with ID {id}"))
        }
        other => other.into(),
    }
}

/// Seals a new secret for `consumer`.
fn seal_secret(state: &AppState, consumer: &str, secret: &SigningSecret) -> SealedSecret {
    let id = uuid::Uuid::new_v4().to_string();
    let whsec = secret.to_whsec();
    let (sealed, key_id) = state
        .tokens()
        .keys()
        .seal(whsec.as_bytes(), &webhook_secret_binding(consumer, &id));
    SealedSecret { id, sealed, key_id }
}

#[utoipa::path(
    get, path = "/webhooks", operation_id = "list-webhook-consumers", tag = "Webhooks",
    responses(
        (status = 200, description = "The client's webhook consumers", body = WebhookConsumers),
        (status = 401, description = "Missing or wrong API key", body = ErrorMessage),
    )
)]
pub async fn list_webhook_consumers(
    State(state): State<AppState>,
    Client(client): Client,
) -> ApiResult<axum::Json<WebhookConsumers>> {
    let consumers = state.store.list_webhook_consumers(client).await?;
    Ok(axum::Json(WebhookConsumers {
        results: consumers.iter().map(WebhookConsumer::from).collect(),
    }))
}

#[utoipa::path(
    post, path = "/webhooks", operation_id = "create-webhook-consumer", tag = "Webhooks",
    request_body = WebhookConsumerPrototype,
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer for 90 minutes")),
    responses(
        (status = 201, description = "The new consumer, with its signing secret", body = CreatedWebhookConsumer),
        (status = 400, description = "A malformed URL, an unknown event type or a malformed tag", body = ErrorMessage),
        (status = 401, description = "Missing or wrong API key", body = ErrorMessage),
        (status = 409, description = "The client already has 50 consumers", body = ErrorMessage),
    )
)]
pub async fn create_webhook_consumer(
    State(state): State<AppState>,
    Client(client): Client,
    Json(body): Json<WebhookConsumerPrototype>,
) -> ApiResult<(StatusCode, axum::Json<CreatedWebhookConsumer>)> {
    let url = body
        .url
        .ok_or_else(|| ApiError::BadRequest("url is required".to_owned()))?;
    let url = state
        .webhooks
        .check_consumer_url(&url)
        .map_err(ApiError::BadRequest)?;
    let event_types = body.event_types.unwrap_or_default();
    if event_types.is_empty() {
        return Err(ApiError::BadRequest(
            "eventTypes must name at least one event type".to_owned(),
        ));
    }
    if let Some(unknown) = event_types.iter().find(|kind| !is_known_event_type(kind)) {
        return Err(ApiError::BadRequest(format!(
            "eventTypes: '{unknown}' is not an event type linkwell sends"
        )));
    }
    let mut event_types = event_types;
    event_types.dedup();
    let company_tags = body.company_tags.filter(|tags| !tags.is_empty());
    if let Some(tags) = &company_tags {
        if tags.len() > 10 {
            return Err(ApiError::BadRequest(
                "companyTags may hold at most 10 tags".to_owned(),
            ));
        }
        if let Some(bad) = tags.iter().find(|tag| {
            tag.chars().count() > 128 || tag.split_once(':').is_none_or(|(key, _)| key.is_empty())
        }) {
            return Err(ApiError::BadRequest(format!(
                "companyTags: '{bad}' must be tagKey:tagValue, at most 128 characters"
            )));
        }
    }
    let secret = SigningSecret::generate();
    // The consumer id is chosen here so the secret can be bound to it before anything is stored.
    let consumer_id = uuid::Uuid::new_v4().to_string();
    let sealed = seal_secret(&state, &consumer_id, &secret);
    let record = state
        .store
        .create_webhook_consumer(
            client,
            NewConsumer {
                id: consumer_id,
                url,
                event_types,
                company_tags,
                disabled: body.disabled.unwrap_or(false),
                secret: sealed,
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(CreatedWebhookConsumer {
            consumer: WebhookConsumer::from(&record),
            secret: secret.to_whsec().to_string(),
        }),
    ))
}

#[utoipa::path(
    delete, path = "/webhooks/{webhookId}", operation_id = "delete-webhook-consumer", tag = "Webhooks",
    params(("webhookId" = String, Path, description = "Unique identifier of the webhook consumer")),
    responses(
        (status = 204, description = "Deleted; its pending deliveries are cancelled"),
        (status = 401, description = "Missing or wrong API key", body = ErrorMessage),
        (status = 404, description = "No such consumer", body = ErrorMessage),
    )
)]
pub async fn delete_webhook_consumer(
    State(state): State<AppState>,
    Client(client): Client,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state
        .store
        .delete_webhook_consumer(client, &id)
        .await
        .map_err(consumer_error(&id))?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    patch, path = "/webhooks/{webhookId}", operation_id = "update-webhook-consumer", tag = "Webhooks",
    description = "linkwell extension: disable or re-enable a consumer. Re-enabling also clears a disablement for failures.",
    request_body = WebhookConsumerUpdate,
    params(("webhookId" = String, Path, description = "Unique identifier of the webhook consumer")),
    responses(
        (status = 200, description = "The consumer", body = WebhookConsumer),
        (status = 400, description = "disabled is missing", body = ErrorMessage),
        (status = 401, description = "Missing or wrong API key", body = ErrorMessage),
        (status = 404, description = "No such consumer", body = ErrorMessage),
    )
)]
pub async fn update_webhook_consumer(
    State(state): State<AppState>,
    Client(client): Client,
    Path(id): Path<String>,
    Json(body): Json<WebhookConsumerUpdate>,
) -> ApiResult<axum::Json<WebhookConsumer>> {
    let disabled = body
        .disabled
        .ok_or_else(|| ApiError::BadRequest("disabled must be true or false".to_owned()))?;
    let record = state
        .store
        .set_webhook_consumer_disabled(client, &id, disabled)
        .await
        .map_err(consumer_error(&id))?;
    Ok(axum::Json(WebhookConsumer::from(&record)))
}

#[utoipa::path(
    get, path = "/webhooks/{webhookId}/deliveries", operation_id = "list-webhook-deliveries", tag = "Webhooks",
    description = "linkwell extension: the consumer's deliveries, newest first, each with its attempts.",
    params(("webhookId" = String, Path, description = "Unique identifier of the webhook consumer"), ListParams),
    responses(
        (status = 200, description = "A page of deliveries", body = WebhookDeliveries),
        (status = 400, description = "Malformed paging", body = ErrorMessage),
        (status = 401, description = "Missing or wrong API key", body = ErrorMessage),
        (status = 404, description = "No such consumer", body = ErrorMessage),
    )
)]
pub async fn list_webhook_deliveries(
    State(state): State<AppState>,
    Client(client): Client,
    OriginalUri(uri): OriginalUri,
    Path(id): Path<String>,
    Query(params): Query<ListParams>,
) -> ApiResult<axum::Json<WebhookDeliveries>> {
    let listing = params.parse()?;
    if listing.query.is_some() || listing.order.is_some() {
        return Err(ApiError::BadRequest(
            "deliveries are listed newest first and take no query or orderBy".to_owned(),
        ));
    }
    let page = state
        .store
        .list_deliveries(client, &id, listing.page)
        .await
        .map_err(consumer_error(&id))?;
    Ok(axum::Json(WebhookDeliveries::new(
        page.items.iter().map(WebhookDelivery::from).collect(),
        uri.path(),
        &[],
        page.request,
        page.total,
    )))
}

#[utoipa::path(
    post, path = "/webhooks/{webhookId}/deliveries/{deliveryId}/replay", operation_id = "replay-webhook-delivery",
    tag = "Webhooks",
    description = "linkwell extension: send a delivery's event again, as a new delivery.",
    params(
        ("webhookId" = String, Path, description = "Unique identifier of the webhook consumer"),
        ("deliveryId" = String, Path, description = "Unique identifier of the delivery"),
    ),
    responses(
        (status = 202, description = "Queued", body = ReplayedDelivery),
        (status = 401, description = "Missing or wrong API key", body = ErrorMessage),
        (status = 404, description = "No such consumer or delivery", body = ErrorMessage),
    )
)]
pub async fn replay_webhook_delivery(
    State(state): State<AppState>,
    Client(client): Client,
    Path((id, delivery)): Path<(String, String)>,
) -> ApiResult<(StatusCode, axum::Json<ReplayedDelivery>)> {
    let delivery_id = state
        .store
        .replay_delivery(client, &id, &delivery)
        .await
        .map_err(|error| match error {
            StoreError::NotFound => ApiError::NotFound(format!(
                "No delivery {delivery} was found for consumer {id}"
            )),
            other => other.into(),
        })?;
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(ReplayedDelivery { delivery_id }),
    ))
}

#[utoipa::path(
    post, path = "/webhooks/{webhookId}/replay", operation_id = "replay-failed-webhook-deliveries", tag = "Webhooks",
    description = "linkwell extension: send again every failed delivery created since a date.",
    params(("webhookId" = String, Path, description = "Unique identifier of the webhook consumer"), ReplaySince),
    responses(
        (status = 202, description = "Queued", body = ReplayedDeliveries),
        (status = 400, description = "since is missing or malformed", body = ErrorMessage),
        (status = 401, description = "Missing or wrong API key", body = ErrorMessage),
        (status = 404, description = "No such consumer", body = ErrorMessage),
    )
)]
pub async fn replay_failed_webhook_deliveries(
    State(state): State<AppState>,
    Client(client): Client,
    Path(id): Path<String>,
    Query(params): Query<ReplaySince>,
) -> ApiResult<(StatusCode, axum::Json<ReplayedDeliveries>)> {
    let since = params
        .since
        .as_deref()
        .and_then(parse_instant)
        .ok_or_else(|| {
            ApiError::BadRequest(
                "since must be a date and time such as 2026-01-31T12:00:00Z".to_owned(),
            )
        })?;
    let replayed = state
        .store
        .replay_failed_deliveries(client, &id, since)
        .await
        .map_err(consumer_error(&id))?;
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(ReplayedDeliveries { replayed }),
    ))
}

fn parse_instant(text: &str) -> Option<Timestamp> {
    let text = text.trim();
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|at| at.with_timezone(&chrono::Utc))
        .or_else(|_| {
            chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
                .map(|at| at.and_utc())
        })
        .or_else(|_| {
            chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map(|day| day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc())
        })
        .ok()
        .map(Timestamp::from_datetime)
}

#[utoipa::path(
    post, path = "/webhooks/{webhookId}/secret/rotate", operation_id = "rotate-webhook-secret", tag = "Webhooks",
    description = "linkwell extension: a new signing secret. The previous one keeps signing beside it for 24 hours, so receivers can switch without losing an event.",
    params(("webhookId" = String, Path, description = "Unique identifier of the webhook consumer")),
    responses(
        (status = 200, description = "The new secret", body = RotatedSecret),
        (status = 401, description = "Missing or wrong API key", body = ErrorMessage),
        (status = 404, description = "No such consumer", body = ErrorMessage),
    )
)]
pub async fn rotate_webhook_secret(
    State(state): State<AppState>,
    Client(client): Client,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<RotatedSecret>> {
    let secret = SigningSecret::generate();
    let sealed = seal_secret(&state, &id, &secret);
    state
        .store
        .rotate_webhook_secret(
            client,
            &id,
            &sealed,
            Timestamp::now().plus_seconds(SECRET_OVERLAP_SECONDS),
        )
        .await
        .map_err(consumer_error(&id))?;
    Ok(axum::Json(RotatedSecret {
        secret: secret.to_whsec().to_string(),
    }))
}
