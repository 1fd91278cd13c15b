//! Connections and their lifecycle. Every status change in linkwell is decided by [`transition`]: callers say
//! what happened ([`ConnectionEvent`]) and get back the new status or the reason it is not allowed.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use thiserror::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ConnectionStatus {
    PendingAuth,
    Linked,
    Unlinked,
    Deauthorized,
}

impl ConnectionStatus {
    pub const ALL: [ConnectionStatus; 4] = [
        ConnectionStatus::PendingAuth,
        ConnectionStatus::Linked,
        ConnectionStatus::Unlinked,
        ConnectionStatus::Deauthorized,
    ];
    pub const NAMES: &'static [&'static str] =
        &["PendingAuth", "Linked", "Unlinked", "Deauthorized"];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::PendingAuth => "PendingAuth",
            Self::Linked => "Linked",
            Self::Unlinked => "Unlinked",
            Self::Deauthorized => "Deauthorized",
        }
    }
}

impl fmt::Display for ConnectionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Error, PartialEq, Eq)]
#[error("unknown value '{0}'")]
pub struct UnknownValue(pub String);

impl FromStr for ConnectionStatus {
    type Err = UnknownValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| UnknownValue(s.to_owned()))
    }
}

/// The kind of platform an integration connects to, with Codat's enum values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SourceType {
    Accounting,
    Banking,
    BankFeed,
    Commerce,
    Expense,
    Other,
    Unknown,
}

impl SourceType {
    pub const ALL: [SourceType; 7] = [
        SourceType::Accounting,
        SourceType::Banking,
        SourceType::BankFeed,
        SourceType::Commerce,
        SourceType::Expense,
        SourceType::Other,
        SourceType::Unknown,
    ];
    pub const NAMES: &'static [&'static str] = &[
        "Accounting",
        "Banking",
        "BankFeed",
        "Commerce",
        "Expense",
        "Other",
        "Unknown",
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accounting => "Accounting",
            Self::Banking => "Banking",
            Self::BankFeed => "BankFeed",
            Self::Commerce => "Commerce",
            Self::Expense => "Expense",
            Self::Other => "Other",
            Self::Unknown => "Unknown",
        }
    }
}

impl FromStr for SourceType {
    type Err = UnknownValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == s)
            .ok_or_else(|| UnknownValue(s.to_owned()))
    }
}

/// What happened to a connection. The reason text is recorded in the connection's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectionEvent {
    /// The person completed authorization with the platform (first link or re-link).
    AuthorizationCompleted,
    /// An authorization attempt was denied, failed or expired: the connection stays where it was.
    AuthorizationFailed { reason: String },
    /// The platform refused our credentials for good (revoked grant, expired refresh token...).
    AccessLost { reason: String },
    /// The client asked for the connection to be unlinked.
    UnlinkRequested,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum TransitionError {
    #[error("only a Linked connection can be unlinked; this connection is {0}")]
    UnlinkNotLinked(ConnectionStatus),
    #[error("the connection is {0}, so authorization cannot be completed for it")]
    AlreadyLinked(ConnectionStatus),
    #[error("the connection is {0}, so it cannot lose access")]
    NotLinked(ConnectionStatus),
}

/// The outcome of an allowed event: the next status and the reason to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub from: ConnectionStatus,
    pub to: ConnectionStatus,
    pub reason: String,
}

/// The connection state machine (see DESIGN.md):
/// PendingAuth → Linked on authorization; Linked → Unlinked on request; Linked → Deauthorized when access is
/// lost; Unlinked/Deauthorized → Linked through the same linkUrl. A failed authorization leaves the status as
/// it is (and is still recorded).
pub fn transition(
    from: ConnectionStatus,
    event: &ConnectionEvent,
) -> Result<Transition, TransitionError> {
    use ConnectionStatus::*;
    let (to, reason) = match (from, event) {
        (PendingAuth | Unlinked | Deauthorized, ConnectionEvent::AuthorizationCompleted) => (
            Linked,
            if from == PendingAuth {
                "Authorization completed".to_owned()
            } else {
                format!("Re-linked after being {from}")
            },
        ),
        (Linked, ConnectionEvent::AuthorizationCompleted) => {
            return Err(TransitionError::AlreadyLinked(from))
        }
        (_, ConnectionEvent::AuthorizationFailed { reason }) => (from, reason.clone()),
        (Linked, ConnectionEvent::AccessLost { reason }) => (Deauthorized, reason.clone()),
        (_, ConnectionEvent::AccessLost { .. }) => return Err(TransitionError::NotLinked(from)),
        (Linked, ConnectionEvent::UnlinkRequested) => {
            (Unlinked, "Unlinked at the client's request".to_owned())
        }
        (_, ConnectionEvent::UnlinkRequested) => {
            return Err(TransitionError::UnlinkNotLinked(from))
        }
    };
    Ok(Transition { from, to, reason })
}

#[cfg(test)]
mod tests {
    use super::ConnectionStatus::*;
    use super::*;

    #[test]
    fn lifecycle_follows_the_design() {
        let linked = transition(PendingAuth, &ConnectionEvent::AuthorizationCompleted).unwrap();
        assert_eq!(linked.to, Linked);
        assert_eq!(
            transition(Linked, &ConnectionEvent::UnlinkRequested)
                .unwrap()
                .to,
            Unlinked
        );
        let lost = ConnectionEvent::AccessLost {
            reason: "refresh token expired".into(),
        };
        assert_eq!(transition(Linked, &lost).unwrap().to, Deauthorized);
        assert_eq!(
            transition(PendingAuth, &lost),
            Err(TransitionError::NotLinked(PendingAuth))
        );
        for from in [Unlinked, Deauthorized] {
            assert_eq!(
                transition(from, &ConnectionEvent::AuthorizationCompleted)
                    .unwrap()
                    .to,
                Linked
            );
        }
    }

    #[test]
    fn only_linked_connections_unlink() {
        for from in [PendingAuth, Unlinked, Deauthorized] {
            let error = transition(from, &ConnectionEvent::UnlinkRequested).unwrap_err();
            assert!(error.to_string().contains(from.as_str()));
        }
    }

    #[test]
    fn failed_authorization_keeps_the_status() {
        let failed = ConnectionEvent::AuthorizationFailed {
            reason: "access_denied".into(),
        };
        for from in ConnectionStatus::ALL {
            assert_eq!(transition(from, &failed).unwrap().to, from);
        }
    }

    #[test]
    fn names_parse_back() {
        for status in ConnectionStatus::ALL {
            assert_eq!(status.as_str().parse::<ConnectionStatus>().unwrap(), status);
        }
        assert!("linked".parse::<ConnectionStatus>().is_err());
    }
}
