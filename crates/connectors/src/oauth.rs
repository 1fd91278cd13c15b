//! OAuth2 with a platform, over HTTP: the authorization URL, the code exchange (RFC 6749 §4.1 with PKCE,
//! RFC 7636), refresh (§6), revocation (RFC 7009), and what a platform's answer means for the connection.

use std::collections::HashMap;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use linkwell_domain::time::Timestamp;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// How long one call to a platform may take.
pub const PLATFORM_TIMEOUT: Duration = Duration::from_secs(15);

/// One platform linkwell can link to with OAuth2.
#[derive(Clone)]
pub struct OAuthPlatform {
    pub key: String,
    pub authorize_url: String,
    pub token_url: String,
    pub revoke_url: Option<String>,
    /// Base of the platform's data API, without a trailing slash.
    pub api_base: String,
    pub client_id: String,
    pub client_secret: Zeroizing<String>,
    pub scopes: Vec<String>,
}

impl std::fmt::Debug for OAuthPlatform {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("OAuthPlatform")
            .field("key", &self.key)
            .field("authorize_url", &self.authorize_url)
            .field("token_url", &self.token_url)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// The platforms this linkwell can link, by integration key.
#[derive(Debug, Clone, Default)]
pub struct Platforms {
    by_key: HashMap<String, OAuthPlatform>,
}

/// The three built-in sandbox platforms.
pub const SANDBOX_PLATFORMS: [&str; 3] = ["mqjo", "bnks", "aiwb"];

impl Platforms {
    pub fn new(platforms: impl IntoIterator<Item = OAuthPlatform>) -> Self {
        Self {
            by_key: platforms
                .into_iter()
                .map(|platform| (platform.key.clone(), platform))
                .collect(),
        }
    }

    /// The sandbox platforms served at `base` (e.g. `http://127.0.0.1:8080/sandbox`), with linkwell's client
    /// registration there.
    pub fn sandbox(base: &str, client_id: &str, client_secret: &str) -> Self {
        let base = base.trim_end_matches('/');
        Self::new(SANDBOX_PLATFORMS.iter().map(|key| OAuthPlatform {
            key: (*key).to_owned(),
            authorize_url: format!("{base}/{key}/oauth/authorize"),
            token_url: format!("{base}/{key}/oauth/token"),
            revoke_url: Some(format!("{base}/{key}/oauth/revoke")),
            api_base: format!("{base}/{key}/api"),
            client_id: client_id.to_owned(),
            client_secret: Zeroizing::new(client_secret.to_owned()),
            scopes: vec!["read".to_owned(), "write".to_owned()],
        }))
    }

    pub fn get(&self, key: &str) -> Option<&OAuthPlatform> {
        self.by_key.get(key)
    }

    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }
}

/// A PKCE verifier and its S256 challenge.
pub struct Pkce {
    pub verifier: Zeroizing<String>,
    pub challenge: String,
}

impl Pkce {
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let verifier = Zeroizing::new(URL_SAFE_NO_PAD.encode(bytes));
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        Self {
            verifier,
            challenge,
        }
    }
}

/// What linkwell keeps for a linked connection (sealed before it is stored).
#[derive(Clone, Serialize, Deserialize)]
pub struct TokenSet {
    pub access_token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// Storage form of the access token's expiry, when the platform gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

impl std::fmt::Debug for TokenSet {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("TokenSet")
            .field("expires_at", &self.expires_at)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

impl TokenSet {
    pub fn expiry(&self) -> Option<Timestamp> {
        self.expires_at
            .as_deref()
            .and_then(Timestamp::parse_storage)
    }
}

/// Why a call to a platform did not work, sorted by what it means for the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlatformError {
    /// The platform refused the grant for good (revoked, expired, `invalid_grant`): the person must link again.
    Refused { status: u16, reason: String },
    /// Worth trying again later: timeouts, connection failures, 5xx, 429.
    Transient {
        status: Option<u16>,
        reason: String,
        retry_after: Option<Duration>,
    },
    /// linkwell's own registration with the platform is wrong (`invalid_client`...): no connection is at
    /// fault, an operator must fix the configuration.
    Misconfigured { status: u16, reason: String },
}

impl PlatformError {
    pub fn reason(&self) -> &str {
        match self {
            PlatformError::Refused { reason, .. }
            | PlatformError::Transient { reason, .. }
            | PlatformError::Misconfigured { reason, .. } => reason,
        }
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            PlatformError::Refused { status, .. } | PlatformError::Misconfigured { status, .. } => {
                Some(*status)
            }
            PlatformError::Transient { status, .. } => *status,
        }
    }

    fn from_transport(error: &reqwest::Error) -> Self {
        let reason = if error.is_timeout() {
            "the platform did not answer in time".to_owned()
        } else if error.is_connect() {
            "the platform could not be reached".to_owned()
        } else {
            "the call to the platform failed".to_owned()
        };
        PlatformError::Transient {
            status: None,
            reason,
            retry_after: None,
        }
    }
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    expires_in: Option<i64>,
    #[serde(default)]
    scope: Option<String>,
}

#[derive(Deserialize, Default)]
struct OAuthErrorAnswer {
    #[serde(default)]
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

/// The HTTP side of OAuth2 with platforms.
#[derive(Clone)]
pub struct OAuthHttp {
    http: reqwest::Client,
}

impl Default for OAuthHttp {
    fn default() -> Self {
        Self::new()
    }
}

impl OAuthHttp {
    pub fn new() -> Self {
        let http = reqwest::Client::builder()
            .timeout(PLATFORM_TIMEOUT)
            .connect_timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        Self { http }
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.http
    }

    /// The URL to send the person to, to authorize linkwell at the platform.
    pub fn authorize_url(
        platform: &OAuthPlatform,
        redirect_uri: &str,
        state: &str,
        challenge: &str,
    ) -> String {
        let mut url = match url::Url::parse(&platform.authorize_url) {
            Ok(url) => url,
            Err(_) => return platform.authorize_url.clone(),
        };
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &platform.client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("scope", &platform.scopes.join(" "))
            .append_pair("state", state)
            .append_pair("code_challenge", challenge)
            .append_pair("code_challenge_method", "S256");
        url.into()
    }

    /// Exchanges an authorization code for tokens.
    pub async fn exchange_code(
        &self,
        platform: &OAuthPlatform,
        code: &str,
        redirect_uri: &str,
        verifier: &str,
    ) -> Result<TokenSet, PlatformError> {
        self.token_request(
            platform,
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", redirect_uri),
                ("code_verifier", verifier),
            ],
            None,
        )
        .await
    }

    /// Uses a refresh token. The answer may carry a new refresh token (rotation); if it does not, the old one
    /// stays valid and is kept.
    pub async fn refresh(
        &self,
        platform: &OAuthPlatform,
        refresh_token: &str,
    ) -> Result<TokenSet, PlatformError> {
        self.token_request(
            platform,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
            ],
            Some(refresh_token),
        )
        .await
    }

    /// Revokes a token (RFC 7009). Best effort: the caller goes on either way.
    pub async fn revoke(
        &self,
        platform: &OAuthPlatform,
        token: &str,
        hint: &str,
    ) -> Result<(), PlatformError> {
        let Some(url) = &platform.revoke_url else {
            return Ok(());
        };
        let answer = self
            .http
            .post(url)
            .basic_auth(&platform.client_id, Some(platform.client_secret.as_str()))
            .form(&[("token", token), ("token_type_hint", hint)])
            .send()
            .await
            .map_err(|error| PlatformError::from_transport(&error))?;
        if answer.status().is_success() {
            Ok(())
        } else {
            Err(classify(answer).await)
        }
    }

    async fn token_request(
        &self,
        platform: &OAuthPlatform,
        form: &[(&str, &str)],
        previous_refresh: Option<&str>,
    ) -> Result<TokenSet, PlatformError> {
        let answer = self
            .http
            .post(&platform.token_url)
            .basic_auth(&platform.client_id, Some(platform.client_secret.as_str()))
            .header(reqwest::header::ACCEPT, "application/json")
            .form(form)
            .send()
            .await
            .map_err(|error| PlatformError::from_transport(&error))?;
        if !answer.status().is_success() {
            return Err(classify(answer).await);
        }
        let status = answer.status().as_u16();
        let tokens: TokenAnswer = answer.json().await.map_err(|_| PlatformError::Transient {
            status: Some(status),
            reason: "the platform's token answer could not be read".to_owned(),
            retry_after: None,
        })?;
        Ok(TokenSet {
            access_token: tokens.access_token,
            refresh_token: tokens
                .refresh_token
                .or_else(|| previous_refresh.map(str::to_owned)),
            expires_at: tokens
                .expires_in
                .map(|seconds| Timestamp::now().plus_seconds(seconds).to_storage()),
            scope: tokens.scope,
        })
    }
}

/// Sorts a platform's error answer into what it means for the connection.
pub async fn classify(answer: reqwest::Response) -> PlatformError {
    let status = answer.status().as_u16();
    let retry_after = answer
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let body: OAuthErrorAnswer = answer.json().await.unwrap_or_default();
    let described = |fallback: &str| {
        let code = if body.error.is_empty() {
            fallback.to_owned()
        } else {
            body.error.clone()
        };
        match &body.error_description {
            // Platform text is kept short: it ends up in the connection's errors.
            Some(description) => format!(
                "{code}: {}",
                description.chars().take(200).collect::<String>()
            ),
            None => code,
        }
    };
    match (status, body.error.as_str()) {
        (429, _) | (500..=599, _) => PlatformError::Transient {
            status: Some(status),
            reason: described(&format!("the platform answered {status}")),
            retry_after,
        },
        (_, "invalid_client" | "unauthorized_client") => PlatformError::Misconfigured {
            status,
            reason: described("invalid_client"),
        },
        (400 | 401 | 403, _) => PlatformError::Refused {
            status,
            reason: described("access refused"),
        },
        _ => PlatformError::Transient {
            status: Some(status),
            reason: described(&format!("the platform answered {status}")),
            retry_after,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_challenge_is_s256_of_the_verifier() {
        let pkce = Pkce::generate();
        assert_eq!(pkce.verifier.len(), 43);
        assert_eq!(
            pkce.challenge,
            URL_SAFE_NO_PAD.encode(Sha256::digest(pkce.verifier.as_bytes()))
        );
        assert_ne!(Pkce::generate().verifier, pkce.verifier);
    }

    #[test]
    fn authorize_url_carries_every_parameter_encoded() {
        let platforms = Platforms::sandbox("http://127.0.0.1:9/sandbox/", "linkwell", "s3cret");
        let platform = platforms.get("mqjo").unwrap();
        let url = OAuthHttp::authorize_url(platform, "http://x/link/callback", "a b&c", "ch");
        let parsed = url::Url::parse(&url).unwrap();
        assert_eq!(parsed.path(), "/sandbox/mqjo/oauth/authorize");
        let pairs: HashMap<_, _> = parsed.query_pairs().into_owned().collect();
        assert_eq!(pairs["state"], "a b&c");
        assert_eq!(pairs["redirect_uri"], "http://x/link/callback");
        assert_eq!(pairs["code_challenge_method"], "S256");
        assert_eq!(pairs["client_id"], "linkwell");
        assert!(!url.contains("s3cret"));
    }

    #[test]
    fn token_sets_never_print_their_tokens() {
        let tokens = TokenSet {
            access_token: "access-secret".into(),
            refresh_token: Some("refresh-secret".into()),
            expires_at: None,
            scope: None,
        };
        let printed = format!("{tokens:?}");
        assert!(!printed.contains("secret"), "{printed}");
    }
}
