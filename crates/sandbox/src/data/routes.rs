//! HTTP handlers of the data API (`/{platform}/api/v1/...`) and of the `advance` control
//! endpoint. Every data route starts with [`authenticate_bearer`], so injected faults and
//! token checks apply before anything else, and serves the grant's organisation.

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::bearer::authenticate_bearer;
use crate::data::advance::advance;
use crate::data::model::{timestamp, Resource, Write};
use crate::data::names::Names;
use crate::data::overlay::Remembered;
use crate::data::paging::{encode_cursor, select, ListQuery};
use crate::data::{writes, Dataset, View};
use crate::error::SandboxError;
use crate::grants::AuthenticatedGrant;
use crate::params::{OrganisationName, Platform};
use crate::{parse_platform, Sandbox};

type Params = Result<Query<Vec<(String, String)>>, QueryRejection>;

fn unknown_resource(platform: Platform, path: &str) -> SandboxError {
    let mut known: Vec<&str> = Resource::of(platform).map(Resource::path).collect();
    match platform {
        Platform::Mqjo => known.insert(0, "company"),
        Platform::Aiwb => known.insert(0, "store"),
        Platform::Bnks => {}
    }
    SandboxError::not_found(format!(
        "no resource {path:?} on {platform}; it has {}",
        known.join(", ")
    ))
}

fn resource(platform: Platform, path: &str) -> Result<Resource, SandboxError> {
    Resource::parse(platform, path).ok_or_else(|| unknown_resource(platform, path))
}

fn not_found(resource: Resource, id: &str) -> SandboxError {
    SandboxError::not_found(format!("no {} with id {id:?}", resource.singular()))
}

/// The sandbox grants the scopes asked for. A grant that asked for none has the platform's
/// default access, reading and writing; one that named scopes may write only with `write`.
fn require_write(grant: &AuthenticatedGrant) -> Result<(), SandboxError> {
    if grant.scopes.is_empty() || grant.scopes.iter().any(|scope| scope == "write") {
        Ok(())
    } else {
        Err(SandboxError::insufficient_scope(
            "this grant's scopes do not include write",
        ))
    }
}

/// `GET /{platform}/api/v1/{resource}`: a page of a list, or the platform's single object.
pub(crate) async fn list_records(
    Path((platform, path)): Path<(String, String)>,
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    params: Params,
) -> Result<Json<Value>, SandboxError> {
    let platform = parse_platform(&platform)?;
    let grant = authenticate_bearer(&sandbox, platform, &headers)?;
    let dataset = Dataset::new(platform, &grant.organisation);
    if let Some(single) = dataset.single(&path) {
        return Ok(Json(single));
    }
    let resource = resource(platform, &path)?;
    let Query(params) =
        params.map_err(|rejection| SandboxError::invalid_request(rejection.body_text()))?;
    let query = ListQuery::parse(resource, &params)?;
    let store = sandbox.data();
    let overlay = store.get(platform, &grant.organisation);
    let selection = select(&dataset, overlay, resource, &query);
    let names = Names::new(&dataset, overlay.names());
    drop(store);
    let mut page = selection.render(&dataset, resource);
    for record in &mut page.data {
        names.embed(record);
    }
    let mut answer = json!({
        "next_cursor": page.next.map(|key| encode_cursor(resource, &key)),
    });
    // Moved in: `json!` would copy the whole page.
    answer["data"] = Value::Array(page.data);
    Ok(Json(answer))
}

/// `GET /{platform}/api/v1/{resource}/{id}`.
pub(crate) async fn get_record(
    Path((platform, path, id)): Path<(String, String, String)>,
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
) -> Result<Json<Value>, SandboxError> {
    let platform = parse_platform(&platform)?;
    let grant = authenticate_bearer(&sandbox, platform, &headers)?;
    let resource = resource(platform, &path)?;
    let dataset = Dataset::new(platform, &grant.organisation);
    let store = sandbox.data();
    let view = View {
        dataset: &dataset,
        overlay: store.get(platform, &grant.organisation),
    };
    let mut record = view
        .get(resource, &id)
        .ok_or_else(|| not_found(resource, &id))?;
    Names::new(&dataset, view.overlay.names()).embed(&mut record);
    Ok(Json(record))
}

/// The resource at `path`, if it accepts `write`; 405 if it does not.
fn writable(platform: Platform, path: &str, write: Write) -> Result<Resource, SandboxError> {
    let resource = match Resource::parse(platform, path) {
        Some(resource) => resource,
        None if matches!(path, "company" | "store") => {
            return Err(SandboxError::method_not_allowed(format!(
                "{path} is read-only"
            )))
        }
        None => return Err(unknown_resource(platform, path)),
    };
    if resource.allows(write) {
        Ok(resource)
    } else if [Write::Create, Write::Update, Write::Delete]
        .into_iter()
        .any(|other| resource.allows(other))
    {
        Err(SandboxError::method_not_allowed(format!(
            "{path} on {platform} cannot be {}",
            write.past_participle()
        )))
    } else {
        Err(SandboxError::method_not_allowed(format!(
            "{path} on {platform} is read-only"
        )))
    }
}

/// The body of a write: a JSON object.
fn json_object(body: &Bytes) -> Result<Map<String, Value>, SandboxError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(fields)) => Ok(fields),
        Ok(_) => Err(SandboxError::invalid_request(
            "the body must be a JSON object",
        )),
        Err(error) => Err(SandboxError::invalid_request(format!(
            "the body is not valid JSON: {error}"
        ))),
    }
}

/// Fields a client may send but the platform sets itself.
const READ_ONLY_FIELDS: [&str; 9] = [
    "id",
    "created_at",
    "updated_at",
    "number",
    "amount_paid_minor",
    "amount_due_minor",
    "subtotal_minor",
    "tax_minor",
    "total_minor",
];

/// `POST /{platform}/api/v1/{resource}`: creates a record; 201 with the record. Records it
/// changes in passing (the invoice a payment pays down) get the same `updated_at`. With an
/// `Idempotency-Key` header, a repeat of the same request answers the record the first one
/// created (as it is now) instead of creating another; the same key with another request is
/// refused.
pub(crate) async fn create_record(
    Path((platform, path)): Path<(String, String)>,
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), SandboxError> {
    let platform = parse_platform(&platform)?;
    let grant = authenticate_bearer(&sandbox, platform, &headers)?;
    let resource = writable(platform, &path, Write::Create)?;
    require_write(&grant)?;
    let key = idempotency_key(&headers)?;
    let input = json_object(&body)?;
    let now_ms = sandbox.now().timestamp_millis();
    let dataset = Dataset::new(platform, &grant.organisation);
    let record = {
        let mut store = sandbox.data();
        let overlay = store.get_mut(platform, &grant.organisation);
        match key.as_deref().and_then(|key| overlay.remembered(key)) {
            Some(earlier) if earlier.resource == resource && earlier.request == body[..] => {
                let id = earlier.id.clone();
                let view = View {
                    dataset: &dataset,
                    overlay,
                };
                // Deleted since: the repeat still must not create it again.
                let mut current = view
                    .get(resource, &id)
                    .ok_or_else(|| not_found(resource, &id))?;
                Names::new(&dataset, overlay.names()).embed(&mut current);
                return Ok((StatusCode::CREATED, Json(current)));
            }
            Some(_) => {
                return Err(SandboxError::unprocessable(
                    "this Idempotency-Key was used for another request",
                ))
            }
            None => {}
        }
        let id = resource.id(dataset.count(resource) + overlay.created(resource));
        let view = View {
            dataset: &dataset,
            overlay,
        };
        let mut record =
            writes::build(&view, resource, &id, &input, None).map_err(SandboxError::validation)?;
        let consequences = writes::consequences(&view, resource, &record);
        let id = overlay.new_id(&dataset, resource);
        record["id"] = json!(id);
        record["created_at"] = json!(timestamp(now_ms));
        record["updated_at"] = json!(timestamp(now_ms));
        overlay.put(resource, id.clone(), now_ms, record.clone());
        for (changed, changed_id, mut changed_record) in consequences {
            changed_record["updated_at"] = json!(timestamp(now_ms));
            overlay.put(changed, changed_id, now_ms, changed_record);
        }
        if let Some(key) = key {
            overlay.remember(
                key,
                Remembered {
                    resource,
                    request: body.to_vec(),
                    id,
                },
            );
        }
        Names::new(&dataset, overlay.names()).embed(&mut record);
        record
    };
    sandbox.injected_fault_after_write(platform)?;
    Ok((StatusCode::CREATED, Json(record)))
}

/// The `Idempotency-Key` header, if sent: 1 to 255 visible ASCII characters.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, SandboxError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .filter(|key| (1..=255).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic()))
        .map(|key| Some(key.to_owned()))
        .ok_or_else(|| {
            SandboxError::invalid_request(
                "Idempotency-Key must be 1 to 255 visible ASCII characters",
            )
        })
}

/// Invoices and bills can be changed or deleted only while nothing was paid against them.
fn check_document_open(
    resource: Resource,
    id: &str,
    record: &Value,
    deleting: bool,
) -> Result<(), SandboxError> {
    if !matches!(resource, Resource::Invoices | Resource::Bills) {
        return Ok(());
    }
    let paid = record["amount_paid_minor"].as_i64().unwrap_or(0);
    let status = record["status"].as_str().unwrap_or_default();
    if paid > 0 || status == "paid" {
        return Err(SandboxError::conflict(format!(
            "{} {id} has payments against it; it cannot be {}",
            resource.singular(),
            if deleting { "deleted" } else { "changed" }
        )));
    }
    if status == "void" {
        return Err(SandboxError::conflict(format!(
            "{} {id} is void; it cannot be {}",
            resource.singular(),
            if deleting { "deleted" } else { "changed" }
        )));
    }
    Ok(())
}

/// `PUT /{platform}/api/v1/{resource}/{id}`: the fields sent replace the record's; fields left
/// out keep their value. 200 with the record.
pub(crate) async fn update_record(
    Path((platform, path, id)): Path<(String, String, String)>,
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, SandboxError> {
    let platform = parse_platform(&platform)?;
    let grant = authenticate_bearer(&sandbox, platform, &headers)?;
    let resource = writable(platform, &path, Write::Update)?;
    require_write(&grant)?;
    let body = json_object(&body)?;
    let now_ms = sandbox.now().timestamp_millis();
    let dataset = Dataset::new(platform, &grant.organisation);
    let mut store = sandbox.data();
    let overlay = store.get_mut(platform, &grant.organisation);
    let view = View {
        dataset: &dataset,
        overlay,
    };
    let existing = view
        .get(resource, &id)
        .ok_or_else(|| not_found(resource, &id))?;
    check_document_open(resource, &id, &existing, false)?;
    let mut input = existing.as_object().cloned().unwrap_or_default();
    for (name, value) in body {
        if !READ_ONLY_FIELDS.contains(&name.as_str()) {
            input.insert(name, value);
        }
    }
    let mut record = writes::build(&view, resource, &id, &input, Some(&existing))
        .map_err(SandboxError::validation)?;
    record["id"] = json!(id);
    record["created_at"] = existing["created_at"].clone();
    record["updated_at"] = json!(timestamp(now_ms));
    overlay.put(resource, id, now_ms, record.clone());
    Names::new(&dataset, overlay.names()).embed(&mut record);
    Ok(Json(record))
}

/// `DELETE /{platform}/api/v1/{resource}/{id}`: 204; the record becomes a tombstone.
pub(crate) async fn delete_record(
    Path((platform, path, id)): Path<(String, String, String)>,
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
) -> Result<StatusCode, SandboxError> {
    let platform = parse_platform(&platform)?;
    let grant = authenticate_bearer(&sandbox, platform, &headers)?;
    let resource = writable(platform, &path, Write::Delete)?;
    require_write(&grant)?;
    let now_ms = sandbox.now().timestamp_millis();
    let dataset = Dataset::new(platform, &grant.organisation);
    let mut store = sandbox.data();
    let overlay = store.get_mut(platform, &grant.organisation);
    let view = View {
        dataset: &dataset,
        overlay,
    };
    let existing = view
        .get(resource, &id)
        .ok_or_else(|| not_found(resource, &id))?;
    check_document_open(resource, &id, &existing, true)?;
    if !matches!(resource, Resource::Invoices | Resource::Bills)
        && view.is_referenced(resource, &id)
    {
        return Err(SandboxError::conflict(format!(
            "{} {id} is referenced by other records; archive it instead",
            resource.singular()
        )));
    }
    overlay.delete(resource, id, now_ms);
    Ok(StatusCode::NO_CONTENT)
}

/// Any other method on a data route.
pub(crate) async fn method_not_allowed() -> SandboxError {
    SandboxError::method_not_allowed("this method is not supported on this route")
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AdvanceRequest {
    changes: Option<u64>,
}

pub(crate) const DEFAULT_CHANGES: u64 = 10;
pub(crate) const MAX_CHANGES: u64 = 1_000;

/// `POST /{platform}/control/orgs/{organisation}/advance`: applies a batch of changes.
pub(crate) async fn advance_organisation(
    Path((platform, organisation)): Path<(String, String)>,
    State(sandbox): State<Sandbox>,
    body: Bytes,
) -> Result<Json<Value>, SandboxError> {
    let platform = parse_platform(&platform)?;
    let organisation =
        OrganisationName::parse(&organisation).map_err(SandboxError::invalid_request)?;
    let changes = if body.iter().all(u8::is_ascii_whitespace) {
        DEFAULT_CHANGES
    } else {
        let request: AdvanceRequest = serde_json::from_slice(&body).map_err(|error| {
            SandboxError::invalid_request(format!("the body must be {{\"changes\": n}}: {error}"))
        })?;
        request.changes.unwrap_or(DEFAULT_CHANGES)
    };
    if !(1..=MAX_CHANGES).contains(&changes) {
        return Err(SandboxError::invalid_request(format!(
            "changes must be from 1 to {MAX_CHANGES}"
        )));
    }
    let now = sandbox.now();
    let dataset = Dataset::new(platform, &organisation);
    let mut store = sandbox.data();
    let overlay = store.get_mut(platform, &organisation);
    let summary = advance(&dataset, overlay, now.timestamp_millis(), changes);
    let batch = overlay.batches;
    drop(store);
    tracing::info!(%platform, organisation = organisation.as_str(), changes = summary.changes, "sandbox organisation advanced");
    let mut answer = summary.to_json();
    answer["platform"] = json!(platform);
    answer["organisation"] = json!(organisation);
    answer["batch"] = json!(batch);
    answer["applied_at"] = json!(timestamp(now.timestamp_millis()));
    Ok(Json(answer))
}
