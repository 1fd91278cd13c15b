//! linkwell's OpenAPI document, generated from the handlers' annotations. It is snapshotted in the repository
//! (`openapi.json`) and a test fails when the code and the snapshot disagree.

use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::dto;
use crate::error::{ErrorMessage, ErrorValidation, ErrorValidationItem};
use crate::paging::{HalRef, Links};
use crate::routes::{
    api_keys, companies, connections, data, integrations, profile, push, webhooks,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "linkwell",
        description = "A self-hosted, Codat-compatible data-connections platform. Paths, fields, enum values \
                       and status codes follow Codat's Platform API; linkwell's extensions are marked as such.",
        license(name = "Apache-2.0")
    ),
    paths(
        companies::list_companies,
        companies::create_company,
        companies::get_company,
        companies::replace_company,
        companies::update_company,
        companies::delete_company,
        connections::list_connections,
        connections::create_connection,
        connections::get_connection,
        connections::unlink_connection,
        connections::delete_connection,
        connections::connection_history,
        connections::update_authorization,
        profile::get_profile,
        profile::update_profile,
        integrations::list_integrations,
        integrations::get_integration,
        integrations::get_integration_branding,
        api_keys::list_api_keys,
        api_keys::create_api_key,
        api_keys::delete_api_key,
        webhooks::list_webhook_consumers,
        webhooks::create_webhook_consumer,
        webhooks::delete_webhook_consumer,
        webhooks::update_webhook_consumer,
        webhooks::list_webhook_deliveries,
        webhooks::replay_webhook_delivery,
        webhooks::replay_failed_webhook_deliveries,
        webhooks::rotate_webhook_secret,
        data::refresh_all,
        data::refresh_data_type,
        data::list_pull_operations,
        data::get_pull_operation,
        data::data_status,
        data::get_profile_sync_settings,
        data::update_profile_sync_settings,
        data::get_company_sync_settings,
        data::set_company_sync_settings,
        data::company_data,
        data::company_data_record,
        data::connection_data,
        data::connection_data_record,
        push::create_record,
        push::update_record,
        push::delete_record,
        push::push_options,
        push::list_push_operations,
        push::get_push_operation,
    ),
    components(schemas(
        ErrorMessage, ErrorValidation, ErrorValidationItem, HalRef, Links,
        dto::Company, dto::Companies, dto::CompanyRequestBody, dto::CompanyUpdateRequest, dto::CompanyReference,
        dto::Connection, dto::Connections, dto::CreateConnection, dto::UpdateConnectionStatus,
        dto::DataConnectionStatus, dto::DataConnectionError, dto::ConnectionStatusChange, dto::ConnectionHistory,
        dto::ApiKeyDetails, dto::ApiKeys, dto::CreateApiKey,
        integrations::Integration, integrations::Integrations, integrations::Branding,
        profile::Profile,
        webhooks::WebhookConsumer, webhooks::CreatedWebhookConsumer, webhooks::WebhookConsumers,
        webhooks::WebhookConsumerPrototype, webhooks::WebhookConsumerUpdate, webhooks::WebhookDelivery,
        webhooks::WebhookAttempt, webhooks::WebhookDeliveries, webhooks::ReplayedDelivery,
        webhooks::ReplayedDeliveries, webhooks::RotatedSecret,
        data::PullOperation, data::PullOperations, data::DataStatus, data::SyncSettings, data::PullStatus,
        data::DataTypeSchema, data::SyncSettingSchema, data::DataStatusesSchema,
        push::PushOperation, push::PushOperations, push::PushStatus, push::PushValidation,
        push::PushValidationItem, push::PushOperationChange, push::PushChangeType, push::PushRecordRef, push::PushOption,
        push::PushOptionProperty, push::PushOptionChoice, push::PushOptionType, push::PushValidationInfo,
        push::PushFieldValidation,
    )),
    modifiers(&Security),
    security(("auth_header" = [])),
    tags(
        (name = "Companies", description = "The businesses whose data is connected"),
        (name = "Connections", description = "A company's links to its platforms"),
        (name = "Integrations", description = "The platforms linkwell can connect to"),
        (name = "Settings", description = "API keys and the client's profile"),
        (name = "Refresh data", description = "Pull operations: queueing pulls, their history and the data status"),
        (name = "Data", description = "Pulled records in the standard accounting, banking and commerce model"),
        (name = "Push data", description = "Writing records back to a connection's platform"),
        (name = "Webhooks", description = "Consumers of linkwell's events, their deliveries and signing secrets"),
    )
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "auth_header",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Authorization",
                "The word \"Basic\" followed by a space and the base64 encoding of your API key.",
            ))),
        );
    }
}

/// The document as served at `/openapi.json` and stored in the repository.
pub fn document_json() -> String {
    let mut document = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
    null_last(&mut document);
    let mut text = serde_json::to_string_pretty(&document).unwrap_or_else(|_| "{}".to_owned());
    text.push('\n');
    text
}

/// Nullable references come out as `oneOf: [null, $ref]`. Listing the real schema first means the same, and
/// tools and code generators that read the first alternative see the type rather than `null`.
fn null_last(node: &mut serde_json::Value) {
    match node {
        serde_json::Value::Object(map) => {
            if let Some(serde_json::Value::Array(choices)) = map.get_mut("oneOf") {
                choices.sort_by_key(|choice| choice.get("type").is_some_and(|kind| kind == "null"));
            }
            map.values_mut().for_each(null_last);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(null_last),
        _ => {}
    }
}
