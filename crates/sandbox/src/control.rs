//! Control endpoints: unauthenticated switches that make a sandbox platform misbehave the way
//! real ones do (revoked grants, expired tokens, rate limits, outages). The sandbox is a
//! development tool; these must never be mounted on a public deployment without protection.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::Json;
use serde_json::{json, Value};

use crate::error::SandboxError;
use crate::faults::parse_fault_request;
use crate::params::OrganisationName;
use crate::{parse_platform, Sandbox};

fn parse_organisation(name: &str) -> Result<OrganisationName, SandboxError> {
    OrganisationName::parse(name).map_err(SandboxError::invalid_request)
}

pub(crate) async fn revoke_organisation(
    Path((platform, organisation)): Path<(String, String)>,
    State(sandbox): State<Sandbox>,
) -> Result<Json<Value>, SandboxError> {
    let platform = parse_platform(&platform)?;
    let organisation = parse_organisation(&organisation)?;
    let revoked = sandbox.store().revoke_organisation(platform, &organisation);
    tracing::info!(%platform, organisation = organisation.as_str(), revoked, "sandbox grants revoked");
    Ok(Json(json!({ "revokedGrants": revoked })))
}

pub(crate) async fn expire_organisation_tokens(
    Path((platform, organisation)): Path<(String, String)>,
    State(sandbox): State<Sandbox>,
) -> Result<Json<Value>, SandboxError> {
    let platform = parse_platform(&platform)?;
    let organisation = parse_organisation(&organisation)?;
    let now = sandbox.now();
    let expired = sandbox
        .store()
        .expire_access_tokens(now, platform, &organisation);
    Ok(Json(json!({ "expiredAccessTokens": expired })))
}

/// The body is read as bytes and parsed here so a bad body is a 400 in the sandbox's error
/// shape rather than axum's plain-text 422.
pub(crate) async fn set_faults(
    Path(platform): Path<String>,
    State(sandbox): State<Sandbox>,
    body: Bytes,
) -> Result<Json<Value>, SandboxError> {
    let platform = parse_platform(&platform)?;
    let fault = parse_fault_request(&body).map_err(SandboxError::invalid_request)?;
    sandbox.store().set_fault(platform, fault);
    Ok(Json(
        json!({ "platform": platform, "faultSet": fault.is_some() }),
    ))
}
