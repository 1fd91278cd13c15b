//! The authorization flow behind a connection's `linkUrl`: start (a single-use, expiring, sealed `state`, a
//! PKCE verifier kept sealed in the database, and a cookie that ties the attempt to the person's browser),
//! and the platform's callback (check all of that, exchange the code, store the tokens and link).

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use linkwell_domain::connection::{ConnectionEvent, ConnectionStatus, SourceType};
use linkwell_domain::ids::{ClientId, CompanyId, ConnectionId};
use linkwell_domain::time::Timestamp;
use linkwell_encryption::Binding;
use linkwell_store::{
    AttemptUse, ChangeDetails, ConnectionRecord, LinkAttempt, NewLinkAttempt, StoreError,
};
use rand::RngCore;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::keys::verifier_binding;
use crate::oauth::{OAuthHttp, Pkce, PlatformError};
use crate::tokens::{seal_tokens, ConnectionRef, TokenManager};

/// How long a person has to complete authorization at the platform, by default.
pub const ATTEMPT_TTL: Duration = Duration::from_secs(15 * 60);

/// The cookie that ties an attempt to the browser that started it.
pub const BROWSER_COOKIE: &str = "linkwell_link";

/// Why an authorization cannot start.
#[derive(Debug)]
pub enum StartRefusal {
    AlreadyLinked,
    /// The company already has this Linked accounting connection.
    AccountingTaken(ConnectionId),
    PlatformUnavailable,
    Store(StoreError),
}

impl From<StoreError> for StartRefusal {
    fn from(error: StoreError) -> Self {
        StartRefusal::Store(error)
    }
}

/// Where to send the person, and the cookie to set on the way.
pub struct Started {
    pub authorize_url: String,
    pub browser_cookie: String,
}

/// How a callback ended, for the page or the redirect that follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Linked,
    /// The person said no at the platform.
    Denied,
    /// The platform or the exchange failed.
    Failed(String),
    /// The attempt expired before the person came back.
    Expired,
    /// Another accounting connection of the company was linked meanwhile; nothing changed.
    AccountingTaken(ConnectionId),
    /// The connection was linked by another attempt meanwhile; nothing changed.
    AlreadyLinked,
}

impl Outcome {
    /// The `{statusCode}` a client's redirect URL receives.
    pub fn status_code(&self) -> u16 {
        match self {
            Outcome::Linked | Outcome::AlreadyLinked => 200,
            Outcome::Denied => 403,
            Outcome::Failed(_) => 502,
            Outcome::Expired => 410,
            Outcome::AccountingTaken(_) => 409,
        }
    }

    /// The `{statusText}` a client's redirect URL receives.
    pub fn status_text(&self) -> &'static str {
        match self {
            Outcome::Linked | Outcome::AlreadyLinked => "Linked",
            Outcome::Denied => "AccessDenied",
            Outcome::Failed(_) => "AuthorizationFailed",
            Outcome::Expired => "AuthorizationExpired",
            Outcome::AccountingTaken(_) => "AccountingPlatformAlreadyLinked",
        }
    }

    /// The `{errorMessage}` a client's redirect URL receives (empty on success).
    pub fn error_message(&self) -> String {
        match self {
            Outcome::Linked | Outcome::AlreadyLinked => String::new(),
            Outcome::Denied => "Access was denied at the platform".to_owned(),
            Outcome::Failed(reason) => reason.clone(),
            Outcome::Expired => "The authorization attempt expired".to_owned(),
            Outcome::AccountingTaken(existing) => {
                format!("The company already has a Linked accounting connection ({existing})")
            }
        }
    }

    /// A short word for the result page's URL.
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Linked => "linked",
            Outcome::AlreadyLinked => "already-linked",
            Outcome::Denied => "denied",
            Outcome::Failed(_) => "failed",
            Outcome::Expired => "expired",
            Outcome::AccountingTaken(_) => "conflict",
        }
    }
}

/// A callback that could not be tied to an attempt: nothing is changed and no connection is named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// Missing, malformed or tampered `state`.
    BadState,
    /// The `state` was already used.
    Replayed,
    /// The callback came from another browser than the one that started the attempt.
    OtherBrowser,
    Store(String),
}

/// What a valid callback did to which connection.
#[derive(Debug, Clone)]
pub struct Completed {
    pub client: ClientId,
    pub company: CompanyId,
    pub connection: ConnectionId,
    pub outcome: Outcome,
}

/// The link flow, for one linkwell deployment.
#[derive(Clone)]
pub struct LinkFlow {
    tokens: TokenManager,
    store: linkwell_store::Store,
    callback_url: String,
    attempt_ttl: Duration,
}

fn state_binding() -> Binding {
    Binding::new("link-state", &[])
}

fn hash_browser(value: &str) -> String {
    Sha256::digest(value.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

impl LinkFlow {
    /// `callback_url` is `{LINKWELL_PUBLIC_URL}/link/callback`, registered with every platform.
    pub fn new(tokens: TokenManager, store: linkwell_store::Store, callback_url: String) -> Self {
        Self {
            tokens,
            store,
            callback_url,
            attempt_ttl: ATTEMPT_TTL,
        }
    }

    /// How long an authorization attempt stays valid.
    pub fn with_attempt_ttl(mut self, ttl: Duration) -> Self {
        self.attempt_ttl = ttl;
        self
    }

    pub fn tokens(&self) -> &TokenManager {
        &self.tokens
    }

    pub fn callback_url(&self) -> &str {
        &self.callback_url
    }

    /// Starts authorization for `connection`. `browser_cookie` is the cookie the browser already has, if any.
    pub async fn start(
        &self,
        client: ClientId,
        connection: &ConnectionRecord,
        browser_cookie: Option<&str>,
    ) -> Result<Started, StartRefusal> {
        if connection.status == ConnectionStatus::Linked {
            return Err(StartRefusal::AlreadyLinked);
        }
        let platform = self
            .tokens
            .platforms()
            .get(&connection.platform_key)
            .ok_or(StartRefusal::PlatformUnavailable)?;
        if connection.source_type == SourceType::Accounting {
            if let Some(existing) = self
                .store
                .linked_accounting_connection(client, connection.company_id)
                .await?
            {
                return Err(StartRefusal::AccountingTaken(existing));
            }
        }
        let browser_cookie = browser_cookie
            .filter(|value| value.len() == 43 && URL_SAFE_NO_PAD.decode(value).is_ok())
            .map(str::to_owned)
            .unwrap_or_else(random_token);
        let attempt_id = uuid::Uuid::new_v4().to_string();
        let pkce = Pkce::generate();
        let keys = self.tokens.keys();
        let (sealed_verifier, key_id) = keys.seal(
            pkce.verifier.as_bytes(),
            &verifier_binding(
                &connection.company_id.to_string(),
                &connection.id.to_string(),
                &attempt_id,
            ),
        );
        let expires_at = Timestamp::now().plus_seconds(self.attempt_ttl.as_secs() as i64);
        self.store
            .create_link_attempt(&NewLinkAttempt {
                id: attempt_id.clone(),
                client,
                company: connection.company_id,
                connection: connection.id,
                browser_hash: hash_browser(&browser_cookie),
                sealed_verifier,
                key_id,
                expires_at,
            })
            .await?;
        let (state, _) = keys.seal(attempt_id.as_bytes(), &state_binding());
        Ok(Started {
            authorize_url: OAuthHttp::authorize_url(
                platform,
                &self.callback_url,
                &state,
                &pkce.challenge,
            ),
            browser_cookie,
        })
    }

    /// Handles the platform's callback: `code` on success, `error` when the person or the platform said no.
    pub async fn complete(
        &self,
        state: Option<&str>,
        code: Option<&str>,
        error: Option<&str>,
        browser_cookie: Option<&str>,
    ) -> Result<Completed, Rejection> {
        let attempt_id = state
            .and_then(|state| self.tokens.keys().open(state, &state_binding()).ok())
            .and_then(|plain| String::from_utf8(plain.to_vec()).ok())
            .ok_or(Rejection::BadState)?;
        let used = self
            .store
            .use_link_attempt(&attempt_id, Timestamp::now())
            .await
            .map_err(|error| Rejection::Store(error.to_string()))?;
        let (attempt, expired) = match used {
            AttemptUse::Fresh(attempt) => (attempt, false),
            AttemptUse::Expired(attempt) => (attempt, true),
            AttemptUse::Replayed(_) => return Err(Rejection::Replayed),
            AttemptUse::Unknown => return Err(Rejection::BadState),
        };
        if browser_cookie.map(hash_browser).as_deref() != Some(attempt.browser_hash.as_str()) {
            return Err(Rejection::OtherBrowser);
        }
        let at = ConnectionRef {
            client: attempt.client,
            company: attempt.company,
            connection: attempt.connection,
        };
        let outcome = if expired {
            self.fail(at, Outcome::Expired, None, Some("expired")).await
        } else if let Some(error) = error {
            let outcome = if error == "access_denied" {
                Outcome::Denied
            } else {
                Outcome::Failed(format!("The platform answered {}", short(error)))
            };
            self.fail(at, outcome, None, Some(error)).await
        } else if let Some(code) = code {
            self.exchange(at, &attempt, code).await
        } else {
            self.fail(
                at,
                Outcome::Failed("The platform sent no authorization code".to_owned()),
                None,
                None,
            )
            .await
        };
        Ok(Completed {
            client: at.client,
            company: at.company,
            connection: at.connection,
            outcome: outcome.map_err(|error| Rejection::Store(error.to_string()))?,
        })
    }

    async fn exchange(
        &self,
        at: ConnectionRef,
        attempt: &LinkAttempt,
        code: &str,
    ) -> Result<Outcome, StoreError> {
        let connection = self
            .store
            .get_connection(at.client, at.company, at.connection)
            .await?;
        let Some(platform) = self.tokens.platforms().get(&connection.platform_key) else {
            return self
                .fail(
                    at,
                    Outcome::Failed("The platform is not available".to_owned()),
                    None,
                    None,
                )
                .await;
        };
        let verifier = match self.tokens.keys().open(
            &attempt.sealed_verifier,
            &verifier_binding(
                &at.company.to_string(),
                &at.connection.to_string(),
                &attempt.id,
            ),
        ) {
            Ok(verifier) => Zeroizing::new(String::from_utf8_lossy(&verifier).into_owned()),
            Err(_) => {
                return self
                    .fail(
                        at,
                        Outcome::Failed("The authorization attempt could not be read".to_owned()),
                        None,
                        None,
                    )
                    .await
            }
        };
        let tokens = match self
            .tokens
            .oauth()
            .exchange_code(platform, code, &self.callback_url, &verifier)
            .await
        {
            Ok(tokens) => tokens,
            Err(error) => {
                let status = error.status().map(|status| status.to_string());
                let text = match &error {
                    PlatformError::Refused { .. } => "invalid_grant",
                    PlatformError::Misconfigured { .. } => "invalid_client",
                    PlatformError::Transient { .. } => "unavailable",
                };
                return self
                    .fail(
                        at,
                        Outcome::Failed(format!(
                            "The platform did not complete the authorization: {}",
                            error.reason()
                        )),
                        status,
                        Some(text),
                    )
                    .await;
            }
        };
        let sealed = seal_tokens(self.tokens.keys(), at.company, at.connection, &tokens);
        let linked = self
            .store
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
            .await;
        let outcome = match linked {
            Ok(_) => return Ok(Outcome::Linked),
            Err(StoreError::AccountingAlreadyLinked { existing }) => {
                Outcome::AccountingTaken(existing)
            }
            Err(StoreError::Transition(_)) => Outcome::AlreadyLinked,
            Err(error) => return Err(error),
        };
        // Nothing was stored: give the unused grant back to the platform.
        let oauth = self.tokens.oauth();
        if let Some(refresh) = &tokens.refresh_token {
            let _ = oauth.revoke(platform, refresh, "refresh_token").await;
        }
        let _ = oauth
            .revoke(platform, &tokens.access_token, "access_token")
            .await;
        Ok(outcome)
    }

    async fn fail(
        &self,
        at: ConnectionRef,
        outcome: Outcome,
        status_code: Option<String>,
        status_text: Option<&str>,
    ) -> Result<Outcome, StoreError> {
        let event = ConnectionEvent::AuthorizationFailed {
            reason: outcome.error_message(),
        };
        let details = ChangeDetails {
            credentials: None,
            status_code,
            status_text: status_text.map(short),
        };
        match self
            .store
            .change_connection(at.client, at.company, at.connection, &event, details)
            .await
        {
            Ok(_) | Err(StoreError::Transition(_)) => Ok(outcome),
            Err(error) => Err(error),
        }
    }
}

/// Platform-supplied text, cut short and reduced to printable characters before it is stored or shown.
fn short(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).take(100).collect()
}
