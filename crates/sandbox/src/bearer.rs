//! Bearer-token checking for the platforms' data APIs (RFC 6750), and `whoami`, which tells a
//! token's platform, organisation and scopes. The data routes themselves are in `data::routes`.

use axum::extract::{Path, State};
use axum::http::header::AUTHORIZATION;
use axum::http::HeaderMap;
use axum::Json;
use serde_json::{json, Value};

use crate::error::SandboxError;
use crate::grants::AuthenticatedGrant;
use crate::params::Platform;
use crate::{parse_platform, Sandbox};

/// Checks `Authorization: Bearer <token>` for a data call on `platform`. Injected faults are
/// taken first, because a failing platform fails before it looks at credentials. Every data
/// route starts with this.
pub(crate) fn authenticate_bearer(
    sandbox: &Sandbox,
    platform: Platform,
    headers: &HeaderMap,
) -> Result<AuthenticatedGrant, SandboxError> {
    sandbox.injected_fault(platform)?;
    let token = headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .ok_or_else(|| SandboxError::invalid_token("a Bearer access token is required"))?;
    sandbox
        .store()
        .authenticate_access(sandbox.now(), platform, token)
        .ok_or_else(|| {
            SandboxError::invalid_token("the access token is unknown, expired or revoked")
        })
}

pub(crate) async fn whoami(
    Path(platform): Path<String>,
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
) -> Result<Json<Value>, SandboxError> {
    let platform = parse_platform(&platform)?;
    let grant = authenticate_bearer(&sandbox, platform, &headers)?;
    Ok(Json(json!({
        "platform": grant.platform,
        "organisation": grant.organisation,
        "scopes": grant.scopes,
    })))
}
