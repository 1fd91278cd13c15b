//! Access tokens for linked connections: sealed at rest, refreshed ahead of expiry by exactly one process at a
//! time, and the connection moved to `Deauthorized` when the platform refuses for good.
//!
//! Refresh is serialised by a lease on the credentials row in the database, so any number of tasks in any
//! number of processes can ask for a token at once: one refreshes, the others wait for its result. The
//! platform retires a refresh token when it is used, so the new token set is saved as soon as it arrives,
//! before the access token is handed to anyone.

use std::sync::Arc;
use std::time::Duration;

use linkwell_domain::connection::{ConnectionEvent, ConnectionStatus};
use linkwell_domain::ids::{ClientId, CompanyId, ConnectionId};
use linkwell_domain::time::Timestamp;
use linkwell_store::{ChangeDetails, SealedCredentials, Store, StoreError};
use thiserror::Error;
use zeroize::Zeroizing;

use crate::keys::{credentials_binding, Keys};
use crate::oauth::{OAuthHttp, OAuthPlatform, PlatformError, Platforms, TokenSet};

/// Why no access token could be had.
#[derive(Debug, Error)]
pub enum TokenError {
    #[error("the connection has no credentials; it is {0}")]
    NotLinked(ConnectionStatus),
    #[error("the platform refused access: {0}")]
    Deauthorized(String),
    #[error("the platform is not available right now: {reason}")]
    Transient {
        reason: String,
        retry_after: Option<Duration>,
    },
    #[error("linkwell's registration with the platform is not accepted: {0}")]
    Misconfigured(String),
    #[error("the platform {0} is not configured")]
    UnknownPlatform(String),
    #[error("stored credentials do not open; check the encryption keys")]
    Unreadable,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Tunables of the token lifecycle.
#[derive(Debug, Clone)]
pub struct TokenPolicy {
    /// A token expiring within this margin is refreshed before use.
    pub refresh_margin: Duration,
    /// How long a refresh may hold the lease; longer than a platform call may take.
    pub lease: Duration,
    /// Delays between attempts at a transiently failing refresh.
    pub backoff: Vec<Duration>,
    /// The longest Retry-After that is waited for in place; longer ones are reported to the caller.
    pub max_wait: Duration,
}

impl Default for TokenPolicy {
    fn default() -> Self {
        Self {
            refresh_margin: Duration::from_secs(5 * 60),
            lease: Duration::from_secs(60),
            backoff: vec![Duration::from_millis(200), Duration::from_secs(1)],
            max_wait: Duration::from_secs(5),
        }
    }
}

/// Which connection, for whom.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionRef {
    pub client: ClientId,
    pub company: CompanyId,
    pub connection: ConnectionId,
}

impl ConnectionRef {
    pub fn new(client: ClientId, company: CompanyId, connection: ConnectionId) -> Self {
        Self {
            client,
            company,
            connection,
        }
    }
}

/// Hands out access tokens and keeps them fresh.
#[derive(Clone)]
pub struct TokenManager {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    platforms: Arc<Platforms>,
    keys: Arc<Keys>,
    oauth: OAuthHttp,
    policy: TokenPolicy,
    /// Names this process's leases.
    owner: String,
}

/// An access token, wiped from memory when dropped.
pub struct AccessToken(Zeroizing<String>);

impl AccessToken {
    pub fn secret(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("AccessToken([redacted])")
    }
}

/// Seals a token set for its connection.
pub fn seal_tokens(
    keys: &Keys,
    company: CompanyId,
    connection: ConnectionId,
    tokens: &TokenSet,
) -> SealedCredentials {
    let plain = Zeroizing::new(serde_json::to_vec(tokens).unwrap_or_default());
    let (sealed, key_id) = keys.seal(
        &plain,
        &credentials_binding(&company.to_string(), &connection.to_string()),
    );
    SealedCredentials {
        sealed,
        key_id,
        access_expires_at: tokens.expiry(),
    }
}

fn open_tokens(
    keys: &Keys,
    company: CompanyId,
    connection: ConnectionId,
    sealed: &str,
) -> Result<TokenSet, TokenError> {
    let plain = keys
        .open(
            sealed,
            &credentials_binding(&company.to_string(), &connection.to_string()),
        )
        .map_err(|_| TokenError::Unreadable)?;
    serde_json::from_slice(&plain).map_err(|_| TokenError::Unreadable)
}

impl TokenManager {
    pub fn new(
        store: Store,
        platforms: Arc<Platforms>,
        keys: Arc<Keys>,
        oauth: OAuthHttp,
        policy: TokenPolicy,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                platforms,
                keys,
                oauth,
                policy,
                owner: uuid::Uuid::new_v4().to_string(),
            }),
        }
    }

    pub fn platforms(&self) -> &Platforms {
        &self.inner.platforms
    }

    pub fn keys(&self) -> &Keys {
        &self.inner.keys
    }

    pub fn oauth(&self) -> &OAuthHttp {
        &self.inner.oauth
    }

    /// Whether the access token stays valid beyond the refresh margin (by the expiry stored beside it).
    fn is_fresh(&self, credentials: &SealedCredentials) -> bool {
        let margin = self.inner.policy.refresh_margin.as_secs() as i64;
        credentials
            .access_expires_at
            .is_none_or(|expiry| expiry > Timestamp::now().plus_seconds(margin))
    }

    fn platform_of(&self, platform_key: &str) -> Result<&OAuthPlatform, TokenError> {
        self.inner
            .platforms
            .get(platform_key)
            .ok_or_else(|| TokenError::UnknownPlatform(platform_key.to_owned()))
    }

    /// A usable access token for the connection, refreshed first if it expires within the margin.
    pub async fn access_token(&self, at: ConnectionRef) -> Result<AccessToken, TokenError> {
        self.token(at, None).await
    }

    /// A new access token after the platform rejected `rejected` (a 401 on a data call). If another task
    /// already replaced that token, its replacement is answered without another refresh.
    pub async fn refresh_after_rejection(
        &self,
        at: ConnectionRef,
        rejected: &AccessToken,
    ) -> Result<AccessToken, TokenError> {
        self.token(at, Some(rejected.secret())).await
    }

    async fn token(
        &self,
        at: ConnectionRef,
        rejected: Option<&str>,
    ) -> Result<AccessToken, TokenError> {
        let store = &self.inner.store;
        let policy = &self.inner.policy;
        let wait_until = tokio::time::Instant::now() + policy.lease + Duration::from_secs(5);
        loop {
            let Some(stored) = store.load_credentials(at.client, at.connection).await? else {
                return Err(self.no_credentials(at).await);
            };
            let tokens = open_tokens(
                &self.inner.keys,
                at.company,
                at.connection,
                &stored.credentials.sealed,
            )?;
            let fresh = self.is_fresh(&stored.credentials);
            let replaced = rejected.is_some_and(|rejected| rejected != tokens.access_token);
            if replaced || (fresh && rejected.is_none()) {
                return Ok(AccessToken(Zeroizing::new(tokens.access_token.clone())));
            }
            let now = Timestamp::now();
            let lease_until = now.plus_seconds(policy.lease.as_secs() as i64);
            if store
                .acquire_refresh_lease(
                    at.client,
                    at.connection,
                    &self.inner.owner,
                    now,
                    lease_until,
                )
                .await?
            {
                return self.refresh_holding_lease(at, rejected).await;
            }
            // Someone else is refreshing: wait for their result.
            if tokio::time::Instant::now() >= wait_until {
                return Err(TokenError::Transient {
                    reason: "another refresh of this connection's tokens did not finish".to_owned(),
                    retry_after: None,
                });
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    async fn refresh_holding_lease(
        &self,
        at: ConnectionRef,
        rejected: Option<&str>,
    ) -> Result<AccessToken, TokenError> {
        let outcome = self.refresh_with_lease_inner(at, rejected).await;
        if outcome.is_err() {
            // Best effort: the lease also runs out by itself.
            let _ = self
                .inner
                .store
                .release_refresh_lease(at.connection, &self.inner.owner)
                .await;
        }
        outcome
    }

    async fn refresh_with_lease_inner(
        &self,
        at: ConnectionRef,
        rejected: Option<&str>,
    ) -> Result<AccessToken, TokenError> {
        let store = &self.inner.store;
        // Read again under the lease: a refresh may have finished between our read and taking the lease.
        let Some(stored) = store.load_credentials(at.client, at.connection).await? else {
            return Err(self.no_credentials(at).await);
        };
        let current = open_tokens(
            &self.inner.keys,
            at.company,
            at.connection,
            &stored.credentials.sealed,
        )?;
        let fresh = self.is_fresh(&stored.credentials);
        let replaced = rejected.is_some_and(|rejected| rejected != current.access_token);
        if replaced || (fresh && rejected.is_none()) {
            store
                .release_refresh_lease(at.connection, &self.inner.owner)
                .await?;
            return Ok(AccessToken(Zeroizing::new(current.access_token)));
        }
        let connection = store
            .get_connection(at.client, at.company, at.connection)
            .await?;
        let platform = self.platform_of(&connection.platform_key)?;
        let Some(refresh_token) = current.refresh_token.clone() else {
            return Err(self
                .lose_access(
                    at,
                    "the access token expired and the platform gave no refresh token",
                    None,
                )
                .await);
        };
        let mut attempt = 0;
        loop {
            match self.inner.oauth.refresh(platform, &refresh_token).await {
                Ok(tokens) => {
                    let sealed = seal_tokens(&self.inner.keys, at.company, at.connection, &tokens);
                    if !store
                        .save_refreshed_credentials(at.client, at.connection, &sealed)
                        .await?
                    {
                        return Err(self.no_credentials(at).await);
                    }
                    tracing::info!(connection = %at.connection, "access token refreshed");
                    return Ok(AccessToken(Zeroizing::new(tokens.access_token)));
                }
                Err(PlatformError::Refused { status, reason }) => {
                    return Err(self
                        .lose_access(
                            at,
                            &format!("the platform refused to refresh access ({reason})"),
                            Some(status),
                        )
                        .await);
                }
                Err(PlatformError::Misconfigured { reason, .. }) => {
                    tracing::error!(platform = %platform.key, %reason, "the platform does not accept linkwell's client registration");
                    return Err(TokenError::Misconfigured(reason));
                }
                Err(PlatformError::Transient {
                    reason,
                    retry_after,
                    ..
                }) => {
                    let policy = &self.inner.policy;
                    let Some(delay) = policy.backoff.get(attempt).copied() else {
                        tracing::warn!(connection = %at.connection, %reason, "token refresh failed for now");
                        return Err(TokenError::Transient {
                            reason,
                            retry_after,
                        });
                    };
                    let delay = retry_after.map_or(delay, |asked| asked.max(delay));
                    if delay > policy.max_wait {
                        return Err(TokenError::Transient {
                            reason,
                            retry_after,
                        });
                    }
                    attempt += 1;
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }

    /// Calls the platform's data API with the connection's token: a 401 gets one refresh and one more try,
    /// and a 401 after a successful refresh means access is gone.
    pub async fn call(
        &self,
        at: ConnectionRef,
        build: impl Fn(&reqwest::Client, &str) -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, TokenError> {
        let connection = self
            .inner
            .store
            .get_connection(at.client, at.company, at.connection)
            .await?;
        let platform = self.platform_of(&connection.platform_key)?;
        let api_base = platform.api_base.clone();
        let http = self.inner.oauth.client();
        let token = self.access_token(at).await?;
        let answer = send(build(http, &api_base).bearer_auth(token.secret())).await?;
        if answer.status() != reqwest::StatusCode::UNAUTHORIZED {
            return Ok(answer);
        }
        let token = self.refresh_after_rejection(at, &token).await?;
        let answer = send(build(http, &api_base).bearer_auth(token.secret())).await?;
        if answer.status() == reqwest::StatusCode::UNAUTHORIZED {
            return Err(self
                .lose_access(
                    at,
                    "the platform rejected a freshly refreshed access token",
                    Some(401),
                )
                .await);
        }
        Ok(answer)
    }

    /// Asks the platform who the token belongs to: the cheapest proof that access still works. Answers the
    /// platform's description of the grant.
    pub async fn check_access(&self, at: ConnectionRef) -> Result<serde_json::Value, TokenError> {
        let answer = self
            .call(at, |http, base| http.get(format!("{base}/whoami")))
            .await?;
        if !answer.status().is_success() {
            let error = crate::oauth::classify(answer).await;
            return Err(TokenError::Transient {
                reason: error.reason().to_owned(),
                retry_after: match error {
                    PlatformError::Transient { retry_after, .. } => retry_after,
                    _ => None,
                },
            });
        }
        answer.json().await.map_err(|_| TokenError::Transient {
            reason: "the platform's answer could not be read".to_owned(),
            retry_after: None,
        })
    }

    /// Refreshes every linked connection whose token expires within the margin (a background task calls this
    /// periodically). Answers how many were refreshed and how many lost access.
    pub async fn refresh_expiring(&self, limit: i64) -> Result<(usize, usize), StoreError> {
        let margin = self.inner.policy.refresh_margin.as_secs() as i64;
        let due = self
            .inner
            .store
            .credentials_expiring(Timestamp::now().plus_seconds(margin), limit)
            .await?;
        let (mut refreshed, mut lost) = (0, 0);
        for (client, company, connection) in due {
            let at = ConnectionRef {
                client,
                company,
                connection,
            };
            match self.access_token(at).await {
                Ok(_) => refreshed += 1,
                Err(TokenError::Deauthorized(_)) => lost += 1,
                Err(TokenError::Store(error)) => return Err(error),
                Err(error) => {
                    tracing::warn!(connection = %connection, %error, "could not refresh ahead of expiry")
                }
            }
        }
        Ok((refreshed, lost))
    }

    /// Moves the connection to `Deauthorized`, recording why, and answers the error to report.
    async fn lose_access(
        &self,
        at: ConnectionRef,
        reason: &str,
        status: Option<u16>,
    ) -> TokenError {
        let details = ChangeDetails {
            credentials: None,
            status_code: status.map(|status| status.to_string()),
            status_text: status.map(|status| {
                reqwest::StatusCode::from_u16(status)
                    .ok()
                    .and_then(|code| code.canonical_reason())
                    .unwrap_or("Error")
                    .to_owned()
            }),
        };
        let event = ConnectionEvent::AccessLost {
            reason: reason.to_owned(),
        };
        match self
            .inner
            .store
            .change_connection(at.client, at.company, at.connection, &event, details)
            .await
        {
            Ok(_) => {
                tracing::warn!(connection = %at.connection, %reason, "connection deauthorized");
                TokenError::Deauthorized(reason.to_owned())
            }
            // Someone else already moved it (unlinked, or deauthorized by a parallel refresh).
            Err(StoreError::Transition(_)) => TokenError::Deauthorized(reason.to_owned()),
            Err(error) => TokenError::Store(error),
        }
    }

    async fn no_credentials(&self, at: ConnectionRef) -> TokenError {
        match self
            .inner
            .store
            .get_connection(at.client, at.company, at.connection)
            .await
        {
            Ok(connection) if connection.status == ConnectionStatus::Deauthorized => {
                TokenError::Deauthorized(
                    connection
                        .errors
                        .last()
                        .and_then(|error| error.error_message.clone())
                        .unwrap_or_else(|| "access was lost".to_owned()),
                )
            }
            Ok(connection) => TokenError::NotLinked(connection.status),
            Err(error) => TokenError::Store(error),
        }
    }
}

async fn send(request: reqwest::RequestBuilder) -> Result<reqwest::Response, TokenError> {
    request.send().await.map_err(|error| TokenError::Transient {
        reason: if error.is_timeout() {
            "the platform did not answer in time".to_owned()
        } else {
            "the platform could not be reached".to_owned()
        },
        retry_after: None,
    })
}

impl TokenManager {
    /// Imports tokens obtained elsewhere (a migration from another system): they are checked against the
    /// platform first (refreshed once if the access token no longer works), then stored; a connection that is
    /// not Linked becomes Linked. Answers the connection as it now is.
    pub async fn import_tokens(
        &self,
        at: ConnectionRef,
        tokens: TokenSet,
    ) -> Result<linkwell_store::ConnectionRecord, TokenError> {
        let store = &self.inner.store;
        let connection = store
            .get_connection(at.client, at.company, at.connection)
            .await?;
        let platform = self.platform_of(&connection.platform_key)?;
        let tokens = self.verify_tokens(platform, tokens).await?;
        let sealed = seal_tokens(&self.inner.keys, at.company, at.connection, &tokens);
        if connection.status == ConnectionStatus::Linked {
            if store
                .save_refreshed_credentials(at.client, at.connection, &sealed)
                .await?
            {
                return Ok(store
                    .get_connection(at.client, at.company, at.connection)
                    .await?);
            }
            return Err(self.no_credentials(at).await);
        }
        Ok(store
            .change_connection(
                at.client,
                at.company,
                at.connection,
                &ConnectionEvent::AuthorizationCompleted,
                ChangeDetails {
                    credentials: Some(sealed),
                    ..ChangeDetails::default()
                },
            )
            .await?)
    }

    /// Proves a token set works by asking the platform who it belongs to.
    async fn verify_tokens(
        &self,
        platform: &OAuthPlatform,
        mut tokens: TokenSet,
    ) -> Result<TokenSet, TokenError> {
        let whoami = |token: String| {
            let request = self
                .inner
                .oauth
                .client()
                .get(format!("{}/whoami", platform.api_base))
                .bearer_auth(token);
            async move { send(request).await }
        };
        let mut answer = whoami(tokens.access_token.clone()).await?;
        if answer.status() == reqwest::StatusCode::UNAUTHORIZED {
            let Some(refresh_token) = tokens.refresh_token.clone() else {
                return Err(TokenError::Deauthorized(
                    "the platform does not accept the access token, and no refresh token was given"
                        .to_owned(),
                ));
            };
            tokens = self
                .inner
                .oauth
                .refresh(platform, &refresh_token)
                .await
                .map_err(|error| match error {
                    PlatformError::Refused { reason, .. } => TokenError::Deauthorized(format!(
                        "the platform does not accept the refresh token ({reason})"
                    )),
                    PlatformError::Misconfigured { reason, .. } => {
                        TokenError::Misconfigured(reason)
                    }
                    PlatformError::Transient {
                        reason,
                        retry_after,
                        ..
                    } => TokenError::Transient {
                        reason,
                        retry_after,
                    },
                })?;
            answer = whoami(tokens.access_token.clone()).await?;
        }
        if answer.status() == reqwest::StatusCode::UNAUTHORIZED {
            return Err(TokenError::Deauthorized(
                "the platform does not accept these credentials".to_owned(),
            ));
        }
        if !answer.status().is_success() {
            let error = crate::oauth::classify(answer).await;
            return Err(TokenError::Transient {
                reason: error.reason().to_owned(),
                retry_after: None,
            });
        }
        Ok(tokens)
    }
}

/// A connection's grant, read before the connection lets go of it, to hand back to the platform afterwards.
pub struct Revocation {
    platform: OAuthPlatform,
    tokens: TokenSet,
    oauth: OAuthHttp,
}

impl Revocation {
    /// Revokes the refresh token (which ends the whole grant at RFC 7009 platforms) and the access token.
    /// Best effort: failures are logged, never reported.
    pub async fn run(self) {
        if let Some(refresh) = &self.tokens.refresh_token {
            if let Err(error) = self
                .oauth
                .revoke(&self.platform, refresh, "refresh_token")
                .await
            {
                tracing::info!(platform = %self.platform.key, reason = %error.reason(), "revoking a refresh token failed");
            }
        }
        if let Err(error) = self
            .oauth
            .revoke(&self.platform, &self.tokens.access_token, "access_token")
            .await
        {
            tracing::info!(platform = %self.platform.key, reason = %error.reason(), "revoking an access token failed");
        }
    }
}

impl TokenManager {
    /// The connection's grant, ready to be revoked once the connection is unlinked or deleted; None when it
    /// has no readable credentials or its platform is not configured.
    pub async fn revocation(&self, at: ConnectionRef) -> Option<Revocation> {
        let store = &self.inner.store;
        let stored = store
            .load_credentials(at.client, at.connection)
            .await
            .ok()??;
        let tokens = open_tokens(
            &self.inner.keys,
            at.company,
            at.connection,
            &stored.credentials.sealed,
        )
        .ok()?;
        let connection = store
            .get_connection(at.client, at.company, at.connection)
            .await
            .ok()?;
        Some(Revocation {
            platform: self.platform_of(&connection.platform_key).ok()?.clone(),
            tokens,
            oauth: self.inner.oauth.clone(),
        })
    }
}
