//! The built-in sandbox platforms — `mqjo` (accounting), `bnks` (banking) and `aiwb`
//! (commerce) — as real OAuth2 providers (authorization code + PKCE S256, rotating refresh
//! tokens, RFC 7009 revocation) with control endpoints to revoke grants, expire tokens and
//! inject failures, and with a paged JSON data API under `/{platform}/api/v1/` (see
//! `data`): deterministic generated datasets per organisation, cursors and `updated_since` with
//! tombstones, writes, and an `advance` control endpoint that changes an organisation between
//! pulls. linkwell's sandbox connector talks to them over HTTP exactly as it would to a real
//! platform, so those code paths are exercised end to end.
//!
//! State is in memory and per router: the sandbox is a development and test tool, and a restart
//! simply logs every sandbox connection out and forgets every change made to the generated data
//! (which is itself a useful test).

#![forbid(unsafe_code)]

mod authorize;
mod authorize_page;
mod bearer;
mod client_auth;
mod clock;
mod control;
mod data;
mod error;
mod faults;
mod grants;
mod params;
mod secrets;
mod token_endpoint;

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::routing::{get, post};
use axum::Router;

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{FieldError, SandboxError};
pub use grants::AuthenticatedGrant;
pub use params::{OrganisationName, Platform};

use data::DataStore;
use grants::{GrantStore, Lifetimes};

/// How the sandbox platforms behave and which clients may use them.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    pub access_token_ttl: Duration,
    /// A refresh token unused for this long stops working.
    pub refresh_token_idle_ttl: Duration,
    pub clients: Vec<OAuthClient>,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            access_token_ttl: Duration::from_secs(30 * 60),
            refresh_token_idle_ttl: Duration::from_secs(30 * 24 * 60 * 60),
            clients: Vec::new(),
        }
    }
}

/// A registered OAuth client. Redirect URIs are compared exactly, as RFC 6749 §3.1.2.3 and
/// the OAuth security BCP require, so no open redirect can be built from a prefix match.
#[derive(Clone)]
pub struct OAuthClient {
    pub client_id: String,
    pub client_secret: String,
    pub redirect_uris: Vec<String>,
}

/// The secret stays out of logs.
impl fmt::Debug for OAuthClient {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("OAuthClient")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("redirect_uris", &self.redirect_uris)
            .finish()
    }
}

/// The sandbox router, to be nested by linkwell at `/sandbox`. Serves `/{platform}/...` for
/// `mqjo`, `bnks` and `aiwb`; anything else is a JSON 404.
pub fn router(config: SandboxConfig) -> Router {
    router_with_clock(config, Arc::new(SystemClock))
}

/// [`router`] with an injected clock, so tests can move time forward instead of sleeping.
pub fn router_with_clock(config: SandboxConfig, clock: Arc<dyn Clock>) -> Router {
    let sandbox = Sandbox {
        inner: Arc::new(SandboxInner {
            config,
            clock,
            store: Mutex::new(GrantStore::default()),
            data: Mutex::new(DataStore::default()),
        }),
    };
    Router::new()
        .route(
            "/{platform}/oauth/authorize",
            get(authorize::show_consent).post(authorize::decide_consent),
        )
        .route("/{platform}/oauth/token", post(token_endpoint::issue_token))
        .route(
            "/{platform}/oauth/revoke",
            post(token_endpoint::revoke_token),
        )
        .route(
            "/{platform}/control/orgs/{organisation}/revoke",
            post(control::revoke_organisation),
        )
        .route(
            "/{platform}/control/orgs/{organisation}/expire-tokens",
            post(control::expire_organisation_tokens),
        )
        .route("/{platform}/control/faults", post(control::set_faults))
        .route(
            "/{platform}/control/orgs/{organisation}/advance",
            post(data::routes::advance_organisation),
        )
        .route("/{platform}/api/whoami", get(bearer::whoami))
        .route(
            "/{platform}/api/v1/{resource}",
            get(data::routes::list_records)
                .post(data::routes::create_record)
                .fallback(data::routes::method_not_allowed),
        )
        .route(
            "/{platform}/api/v1/{resource}/{id}",
            get(data::routes::get_record)
                .put(data::routes::update_record)
                .delete(data::routes::delete_record)
                .fallback(data::routes::method_not_allowed),
        )
        .fallback(unknown_route)
        .with_state(sandbox)
}

async fn unknown_route() -> SandboxError {
    SandboxError::not_found("no such sandbox endpoint")
}

/// Shared handler state: one per router.
#[derive(Clone)]
pub(crate) struct Sandbox {
    inner: Arc<SandboxInner>,
}

struct SandboxInner {
    config: SandboxConfig,
    clock: Arc<dyn Clock>,
    store: Mutex<GrantStore>,
    data: Mutex<DataStore>,
}

impl Sandbox {
    pub(crate) fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.inner.clock.now()
    }

    /// Never held across an `.await`; a poisoned lock is recovered because every store
    /// operation leaves it consistent before anything that could panic.
    pub(crate) fn store(&self) -> MutexGuard<'_, GrantStore> {
        self.inner
            .store
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The organisations' data overlays; like [`Sandbox::store`], never held across an
    /// `.await`.
    pub(crate) fn data(&self) -> MutexGuard<'_, DataStore> {
        self.inner
            .data
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn client(&self, client_id: &str) -> Option<&OAuthClient> {
        self.inner
            .config
            .clients
            .iter()
            .find(|client| client.client_id == client_id)
    }

    pub(crate) fn lifetimes(&self) -> Lifetimes {
        Lifetimes {
            access: self.inner.config.access_token_ttl,
            refresh_idle: self.inner.config.refresh_token_idle_ttl,
        }
    }

    /// Consumes one injected failure for `platform`, as an error to answer with.
    pub(crate) fn injected_fault(&self, platform: Platform) -> Result<(), SandboxError> {
        self.take_injected_fault(platform, false)
    }

    /// Consumes one failure injected to follow a record creation (`afterWrite`), as the error that
    /// replaces the answer.
    pub(crate) fn injected_fault_after_write(
        &self,
        platform: Platform,
    ) -> Result<(), SandboxError> {
        self.take_injected_fault(platform, true)
    }

    fn take_injected_fault(
        &self,
        platform: Platform,
        after_write: bool,
    ) -> Result<(), SandboxError> {
        match self.store().take_fault(platform, after_write) {
            Some(fault) => Err(SandboxError::injected_fault(
                fault.status.status_code(),
                fault.retry_after_seconds,
            )),
            None => Ok(()),
        }
    }
}

/// Parses the `{platform}` path segment, answering 404 for anything but the three platforms.
pub(crate) fn parse_platform(key: &str) -> Result<Platform, SandboxError> {
    Platform::parse(key).ok_or_else(|| SandboxError::unknown_platform(key))
}
