//! One delivery attempt: a signed `POST` to the endpoint's URL, its outcome recorded for the attempt log.

use std::error::Error as _;
use std::io;
use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::header::CONTENT_TYPE;
use reqwest::redirect;

use crate::guard::{ResolveError, UrlPolicy};
use crate::secret::SigningSecret;
use crate::signing;

/// How long one attempt may take, from the first byte sent to the response's status and excerpt.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);
/// The User-Agent of every delivery.
pub const USER_AGENT: &str = concat!("linkwell-webhooks/", env!("CARGO_PKG_VERSION"));
/// The most of a response body kept in [`DeliveryOutcome::response_excerpt`].
pub const RESPONSE_EXCERPT_LIMIT: usize = 1024;

/// The texts of [`DeliveryOutcome::error`]: short, and free of addresses and internal detail, so that they
/// can be shown to the endpoint's owner. A response other than 2xx gives `HTTP <status>`, or
/// `redirect not followed (HTTP <status>)` for a 3xx; a refused URL gives `refused: <reason>` (see
/// [`crate::UrlRefusal`]'s messages).
pub mod errors {
    pub const TIMEOUT: &str = "timeout";
    pub const PRIVATE_ADDRESS: &str = "refused: private address";
    pub const NO_SECRET: &str = "refused: no signing secret";
    pub const HOST_NOT_FOUND: &str = "host not found";
    pub const CONNECTION_REFUSED: &str = "connection refused";
    pub const TLS_FAILED: &str = "TLS handshake failed";
    pub const CONNECTION_FAILED: &str = "connection failed";
    pub const REQUEST_FAILED: &str = "request failed";
}

/// What one delivery attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryOutcome {
    /// The response's status, None when no response came.
    pub status: Option<u16>,
    /// A 2xx response came. Anything else, a redirect included, is a failure to retry.
    pub success: bool,
    /// Why the attempt failed (None on success); one of [`errors`] or `HTTP <status>`.
    pub error: Option<String>,
    /// From the call to the response's excerpt, or to the failure.
    pub duration: Duration,
    /// The first [`RESPONSE_EXCERPT_LIMIT`] bytes of the response body at most, as lossy UTF-8 (a
    /// character cut by the limit is dropped). None without a response or with an empty body.
    pub response_excerpt: Option<String>,
}

impl DeliveryOutcome {
    fn failed(error: impl Into<String>, started: Instant) -> Self {
        Self {
            status: None,
            success: false,
            error: Some(error.into()),
            duration: started.elapsed(),
            response_excerpt: None,
        }
    }
}

/// Why a [`Sender`] could not be built.
#[derive(Debug, thiserror::Error)]
#[error("cannot build the webhook HTTP client: {0}")]
pub struct SenderBuildError(#[source] reqwest::Error);

/// Delivers signed webhooks over HTTP(S), within a [`UrlPolicy`].
///
/// Redirects are never followed, no proxy from the environment is used (a proxy would resolve names
/// itself, past the guard), and host names are resolved by [`crate::GuardedResolver`]. Cheap to clone; keep
/// one for the process so that connections are reused.
#[derive(Debug, Clone)]
pub struct Sender {
    client: reqwest::Client,
    policy: UrlPolicy,
    timeout: Duration,
}

impl Sender {
    /// A sender with the [`DEFAULT_TIMEOUT`].
    ///
    /// # Panics
    /// If the HTTP client cannot be built (its TLS setup failed), like `reqwest::Client::new`.
    pub fn new(policy: UrlPolicy) -> Self {
        Self::with_timeout(policy, DEFAULT_TIMEOUT)
    }

    /// A sender whose attempts give up after `timeout`.
    ///
    /// # Panics
    /// If the HTTP client cannot be built (its TLS setup failed), like `reqwest::Client::new`.
    pub fn with_timeout(policy: UrlPolicy, timeout: Duration) -> Self {
        Self::try_new(policy, timeout).expect("cannot build the webhook HTTP client")
    }

    /// A sender whose attempts give up after `timeout`, or why the HTTP client cannot be built.
    pub fn try_new(policy: UrlPolicy, timeout: Duration) -> Result<Self, SenderBuildError> {
        let client = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .redirect(redirect::Policy::none())
            .no_proxy()
            .dns_resolver(std::sync::Arc::new(policy.resolver()))
            .timeout(timeout)
            .build()
            .map_err(SenderBuildError)?;
        Ok(Self {
            client,
            policy,
            timeout,
        })
    }

    pub fn policy(&self) -> UrlPolicy {
        self.policy
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Makes one attempt: `POST url` with `body` as `application/json` and the `webhook-id`,
    /// `webhook-timestamp` and `webhook-signature` headers (one signature per secret). Never fails: every
    /// problem, a URL the policy refuses included, is reported in the outcome, and a refused URL or address
    /// is refused before any connection is made.
    pub async fn deliver(
        &self,
        url: &str,
        msg_id: &str,
        timestamp: i64,
        body: impl Into<Bytes>,
        secrets: &[&SigningSecret],
    ) -> DeliveryOutcome {
        let started = Instant::now();
        let url = match self.policy.check(url) {
            Ok(url) => url,
            Err(refusal) => return DeliveryOutcome::failed(format!("refused: {refusal}"), started),
        };
        if secrets.is_empty() {
            return DeliveryOutcome::failed(errors::NO_SECRET, started);
        }
        let body: Bytes = body.into();
        let mut request = self
            .client
            .post(url)
            .header(CONTENT_TYPE, "application/json");
        for (name, value) in signing::headers(secrets, msg_id, timestamp, &body) {
            request = request.header(name, value);
        }
        let response = match request.body(body).send().await {
            Ok(response) => response,
            Err(error) => return DeliveryOutcome::failed(describe(&error), started),
        };
        let status = response.status();
        let error = if status.is_success() {
            None
        } else if status.is_redirection() {
            Some(format!("redirect not followed (HTTP {})", status.as_u16()))
        } else {
            Some(format!("HTTP {}", status.as_u16()))
        };
        let response_excerpt = excerpt(response).await;
        DeliveryOutcome {
            status: Some(status.as_u16()),
            success: status.is_success(),
            error,
            duration: started.elapsed(),
            response_excerpt,
        }
    }
}

/// A short reason for a request that got no response.
fn describe(error: &reqwest::Error) -> &'static str {
    if error.is_timeout() {
        return errors::TIMEOUT;
    }
    let mut source = error.source();
    while let Some(cause) = source {
        if let Some(resolve) = cause.downcast_ref::<ResolveError>() {
            return match resolve {
                ResolveError::PrivateAddress => errors::PRIVATE_ADDRESS,
                ResolveError::Lookup(_) => errors::HOST_NOT_FOUND,
            };
        }
        // An io::Error's source() skips the error it wraps, so wrapped io::Errors are looked into here.
        let mut io = cause.downcast_ref::<io::Error>();
        while let Some(inner) = io {
            match inner.kind() {
                io::ErrorKind::TimedOut => return errors::TIMEOUT,
                io::ErrorKind::ConnectionRefused => return errors::CONNECTION_REFUSED,
                // rustls reports a failed handshake as invalid data on the stream.
                io::ErrorKind::InvalidData if error.is_connect() => return errors::TLS_FAILED,
                _ => {}
            }
            io = inner
                .get_ref()
                .and_then(|wrapped| wrapped.downcast_ref::<io::Error>());
        }
        source = cause.source();
    }
    if error.is_connect() {
        errors::CONNECTION_FAILED
    } else {
        errors::REQUEST_FAILED
    }
}

/// Reads no more of the body than the excerpt needs; the rest is dropped with the connection.
async fn excerpt(mut response: reqwest::Response) -> Option<String> {
    let mut bytes = Vec::new();
    while bytes.len() < RESPONSE_EXCERPT_LIMIT {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let room = RESPONSE_EXCERPT_LIMIT - bytes.len();
                bytes.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            Ok(None) | Err(_) => break,
        }
    }
    lossy_excerpt(bytes)
}

fn lossy_excerpt(mut bytes: Vec<u8>) -> Option<String> {
    // A character cut in two at the end is dropped rather than shown as U+FFFD.
    if let Err(error) = std::str::from_utf8(&bytes) {
        if error.error_len().is_none() {
            bytes.truncate(error.valid_up_to());
        }
    }
    if bytes.is_empty() {
        None
    } else {
        Some(String::from_utf8_lossy(&bytes).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpt_drops_a_cut_character_and_replaces_bad_bytes() {
        assert_eq!(lossy_excerpt(Vec::new()), None);
        assert_eq!(lossy_excerpt(b"ok".to_vec()).as_deref(), Some("ok"));
        let mut cut = "abc".as_bytes().to_vec();
        cut.extend_from_slice(&"é".as_bytes()[..1]);
        assert_eq!(lossy_excerpt(cut).as_deref(), Some("abc"));
        assert_eq!(
            lossy_excerpt(vec![b'a', 0xff, b'b']).as_deref(),
            Some("a\u{fffd}b")
        );
    }

    #[test]
    fn user_agent_names_the_crate_and_version() {
        assert_eq!(
            USER_AGENT,
            format!("linkwell-webhooks/{}", env!("CARGO_PKG_VERSION"))
        );
    }

    #[tokio::test]
    async fn refusals_come_back_as_outcomes() {
        let sender = Sender::with_timeout(UrlPolicy::STRICT, Duration::from_secs(1));
        let secret = SigningSecret::generate();
        let outcome = sender
            .deliver("ftp://x", "msg_1", 0, b"{}".to_vec(), &[&secret])
            .await;
        assert_eq!(
            outcome.error.as_deref(),
            Some("refused: scheme must be http or https")
        );
        assert!(!outcome.success);
        assert_eq!(outcome.status, None);
        let outcome = sender
            .deliver(
                "https://example.com/",
                "msg_1",
                0,
                Bytes::from_static(b"{}"),
                &[],
            )
            .await;
        assert_eq!(outcome.error.as_deref(), Some(errors::NO_SECRET));
    }
}
