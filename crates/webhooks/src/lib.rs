//! The delivery side of linkwell's webhooks, following the Standard Webhooks specification: endpoint
//! signing secrets ([`SigningSecret`], `whsec_…`), `v1` HMAC-SHA256 signatures and their headers
//! ([`signing`]), the guard that keeps deliveries to user-supplied URLs away from internal networks
//! ([`UrlPolicy`], [`is_public`], [`GuardedResolver`]), the HTTP [`Sender`] of one attempt and its
//! [`DeliveryOutcome`], and the [`RetrySchedule`] between attempts.
//!
//! The [`Dispatcher`] works through the outbox's deliveries (kept by `linkwell-store`) with them.

pub mod dispatcher;
pub mod guard;
pub mod schedule;
pub mod secret;
pub mod sender;
pub mod signing;

pub use dispatcher::{Dispatcher, DispatcherConfig};
pub use guard::{
    check_url, is_public, GuardedResolver, ResolveError, UrlPolicy, UrlRefusal, ALLOW_PRIVATE_ENV,
};
pub use schedule::{RetrySchedule, ScheduleParseError};
pub use secret::{SecretParseError, SigningSecret};
pub use sender::{DeliveryOutcome, Sender, SenderBuildError, DEFAULT_TIMEOUT, USER_AGENT};
pub use signing::{headers, sign, signature_header, verify, verify_headers, VerifyError};
