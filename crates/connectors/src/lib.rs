#![forbid(unsafe_code)]
//! How linkwell talks to platforms on a connection's behalf: OAuth2 authorization through the hosted Link
//! pages ([`link`]), access tokens kept sealed and fresh ([`tokens`]), the HTTP side of OAuth2 ([`oauth`]), and
//! the encryption keys with their rotation ([`keys`]), and reading and writing a connection's data in the
//! standard model ([`data`]).

pub mod data;
pub mod jobs;
pub mod keys;
pub mod link;
pub mod oauth;
pub mod tokens;

pub use data::{
    Connector, ConnectorError, Connectors, DataType, FetchedPage, FieldError, JsonRecord, PushKind,
    SandboxConnector, SandboxPlatform, SourceRecord, UnmappedPage,
};
pub use keys::{KeyError, KeySource, Keys, RotationReport};
pub use link::{Completed, LinkFlow, Outcome, Rejection, StartRefusal, Started};
pub use oauth::{OAuthHttp, OAuthPlatform, PlatformError, Platforms, TokenSet};
pub use tokens::{AccessToken, ConnectionRef, Revocation, TokenError, TokenManager, TokenPolicy};
