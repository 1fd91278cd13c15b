#![forbid(unsafe_code)]
//! linkwell's HTTP API: Codat-compatible routes over the store, with Codat's error body, paging envelope,
//! query language and idempotency keys.

pub mod auth;
pub mod dto;
pub mod error;
pub mod events;
pub mod extract;
pub mod idempotency;
pub mod link_pages;
pub mod middleware;
pub mod openapi;
pub mod paging;
pub mod routes;
pub mod state;

use axum::handler::Handler;
use axum::http::header::CONTENT_TYPE;
use axum::routing::get;
use axum::Router;

pub use state::{AppState, Connectivity, BUILT_IN_CATALOGUE};

use routes::{api_keys, companies, connections, data, integrations, link, profile, push, webhooks};

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    // Idempotency keys matter only to POST and PATCH, so only their handlers pay for the layer.
    let idempotent =
        || axum::middleware::from_fn_with_state(state.clone(), idempotency::idempotent);
    let api = Router::new()
        .route(
            "/companies",
            get(companies::list_companies).post(companies::create_company.layer(idempotent())),
        )
        .route(
            "/companies/{companyId}",
            get(companies::get_company)
                .put(companies::replace_company)
                .patch(companies::update_company.layer(idempotent()))
                .delete(companies::delete_company),
        )
        .route(
            "/companies/{companyId}/connections",
            get(connections::list_connections)
                .post(connections::create_connection.layer(idempotent())),
        )
        .route(
            "/companies/{companyId}/connections/{connectionId}",
            get(connections::get_connection)
                .patch(connections::unlink_connection.layer(idempotent()))
                .delete(connections::delete_connection),
        )
        .route(
            "/companies/{companyId}/connections/{connectionId}/history",
            get(connections::connection_history),
        )
        .route(
            "/companies/{companyId}/connections/{connectionId}/authorization",
            axum::routing::put(connections::update_authorization),
        )
        .route(
            "/profile",
            get(profile::get_profile).put(profile::update_profile),
        )
        .route(
            "/profile/syncSettings",
            get(data::get_profile_sync_settings).post(data::update_profile_sync_settings),
        )
        .route(
            "/companies/{companyId}/syncSettings",
            get(data::get_company_sync_settings).post(data::set_company_sync_settings),
        )
        .route(
            "/companies/{companyId}/data/all",
            axum::routing::post(data::refresh_all),
        )
        .route(
            "/companies/{companyId}/data/queue/{dataType}",
            axum::routing::post(data::refresh_data_type),
        )
        .route(
            "/companies/{companyId}/data/history",
            get(data::list_pull_operations),
        )
        .route(
            "/companies/{companyId}/data/history/{datasetId}",
            get(data::get_pull_operation),
        )
        .route("/companies/{companyId}/dataStatus", get(data::data_status))
        .route(
            "/companies/{companyId}/data/{dataPath}",
            get(data::company_data),
        )
        .route(
            "/companies/{companyId}/data/{dataPath}/{recordId}",
            get(data::company_data_record),
        )
        .route(
            "/companies/{companyId}/connections/{connectionId}/data/{dataPath}",
            get(data::connection_data),
        )
        .route(
            "/companies/{companyId}/connections/{connectionId}/data/{dataPath}/{recordId}",
            get(data::connection_data_record),
        )
        .route(
            "/companies/{companyId}/connections/{connectionId}/push/{dataType}",
            axum::routing::post(push::create_record.layer(idempotent())),
        )
        .route(
            "/companies/{companyId}/connections/{connectionId}/push/{dataType}/{recordId}",
            axum::routing::put(push::update_record).delete(push::delete_record),
        )
        .route(
            "/companies/{companyId}/connections/{connectionId}/options/{dataType}",
            get(push::push_options),
        )
        .route(
            "/companies/{companyId}/push",
            get(push::list_push_operations),
        )
        .route(
            "/companies/{companyId}/push/{pushOperationKey}",
            get(push::get_push_operation),
        )
        .route("/integrations", get(integrations::list_integrations))
        .route(
            "/integrations/{platformKey}",
            get(integrations::get_integration),
        )
        .route(
            "/integrations/{platformKey}/branding",
            get(integrations::get_integration_branding),
        )
        .route(
            "/apiKeys",
            get(api_keys::list_api_keys).post(api_keys::create_api_key.layer(idempotent())),
        )
        .route(
            "/apiKeys/{apiKeyId}",
            axum::routing::delete(api_keys::delete_api_key),
        )
        .route(
            "/webhooks",
            get(webhooks::list_webhook_consumers)
                .post(webhooks::create_webhook_consumer.layer(idempotent())),
        )
        .route(
            "/webhooks/{webhookId}",
            axum::routing::delete(webhooks::delete_webhook_consumer)
                .patch(webhooks::update_webhook_consumer.layer(idempotent())),
        )
        .route(
            "/webhooks/{webhookId}/deliveries",
            get(webhooks::list_webhook_deliveries),
        )
        .route(
            "/webhooks/{webhookId}/deliveries/{deliveryId}/replay",
            axum::routing::post(webhooks::replay_webhook_delivery),
        )
        .route(
            "/webhooks/{webhookId}/replay",
            axum::routing::post(webhooks::replay_failed_webhook_deliveries),
        )
        .route(
            "/webhooks/{webhookId}/secret/rotate",
            axum::routing::post(webhooks::rotate_webhook_secret),
        );
    let link_pages = Router::new()
        .route("/link/companies/{companyId}", get(link::company_page))
        .route(
            "/link/companies/{companyId}/connections",
            axum::routing::post(link::connect_platform),
        )
        .route(
            "/link/companies/{companyId}/connections/{connectionId}/start",
            get(link::start),
        )
        .route(
            "/link/companies/{companyId}/connections/{connectionId}/result",
            get(link::result_page),
        )
        .route("/link/callback", get(link::callback));
    Router::new()
        .merge(api)
        .merge(link_pages)
        .route(
            "/assets/integrations/{platformKey}/{image}",
            get(integrations::integration_logo),
        )
        .route(
            "/openapi.json",
            get(|| async {
                (
                    [(CONTENT_TYPE, "application/json")],
                    openapi::document_json(),
                )
            }),
        )
        .route("/health", get(|| async { "ok" }))
        .fallback(middleware::route_not_found)
        .layer(axum::middleware::from_fn(middleware::correlate))
        .with_state(state)
}
