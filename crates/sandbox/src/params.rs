//! Typed request values, parsed once at the edge so the grant store never sees a raw string it
//! would have to re-check.

use std::fmt;

use serde::Serialize;

use crate::secrets::{constant_time_eq, s256_challenge};

/// One of the built-in sandbox platforms, identified by its integration key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    /// Accounting.
    Mqjo,
    /// Banking.
    Bnks,
    /// Commerce.
    Aiwb,
}

impl Platform {
    pub const ALL: [Platform; 3] = [Platform::Mqjo, Platform::Bnks, Platform::Aiwb];

    pub fn parse(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|platform| platform.key() == key)
    }

    pub fn key(self) -> &'static str {
        match self {
            Platform::Mqjo => "mqjo",
            Platform::Bnks => "bnks",
            Platform::Aiwb => "aiwb",
        }
    }

    /// What the consent page calls the platform.
    pub fn display_name(self) -> &'static str {
        match self {
            Platform::Mqjo => "Sandbox Accounting",
            Platform::Bnks => "Sandbox Bank",
            Platform::Aiwb => "Sandbox Commerce",
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.key())
    }
}

/// A sandbox organisation (the "company" a user grants access to): 1–64 of `[A-Za-z0-9-_]`, so
/// it is safe in URLs, logs and HTML without further thought.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct OrganisationName(String);

impl OrganisationName {
    pub const MAX_LEN: usize = 64;

    pub fn parse(name: &str) -> Result<Self, &'static str> {
        if name.is_empty() || name.len() > Self::MAX_LEN {
            return Err("organisation names are 1 to 64 characters long");
        }
        if !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err("organisation names may only contain letters, digits, '-' and '_'");
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A registered OAuth client's id, once it is known to exist.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ClientId(String);

impl ClientId {
    pub(crate) fn known(id: &str) -> Self {
        Self(id.to_owned())
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

/// RFC 7636 §4.1 characters: ALPHA / DIGIT / "-" / "." / "_" / "~".
fn is_pkce_unreserved(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~')
}

fn is_pkce_string(value: &str) -> bool {
    (43..=128).contains(&value.len()) && value.bytes().all(is_pkce_unreserved)
}

/// An S256 code challenge; "plain" is refused at the edge, so this is the only kind.
#[derive(Debug, Clone)]
pub(crate) struct CodeChallenge(String);

impl CodeChallenge {
    pub(crate) fn parse(challenge: &str) -> Option<Self> {
        is_pkce_string(challenge).then(|| Self(challenge.to_owned()))
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    pub(crate) fn is_satisfied_by(&self, verifier: &str) -> bool {
        is_pkce_string(verifier) && constant_time_eq(&s256_challenge(verifier), &self.0)
    }
}

/// Requested scopes (RFC 6749 §3.3); the sandbox grants whatever is asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Scopes(Vec<String>);

impl Scopes {
    /// `None` when a scope token has characters RFC 6749 §3.3 forbids.
    pub(crate) fn parse(scope: Option<&str>) -> Option<Self> {
        let Some(scope) = scope else {
            return Some(Self::default());
        };
        let is_scope_char =
            |c: char| c == '!' || ('#'..='[').contains(&c) || (']'..='~').contains(&c);
        let tokens: Vec<String> = scope
            .split(' ')
            .filter(|token| !token.is_empty())
            .map(str::to_owned)
            .collect();
        tokens
            .iter()
            .all(|token| token.chars().all(is_scope_char))
            .then_some(Self(tokens))
    }

    pub(crate) fn tokens(&self) -> &[String] {
        &self.0
    }

    /// The space-delimited form for responses and hidden fields; `None` when nothing was asked.
    pub(crate) fn joined(&self) -> Option<String> {
        (!self.0.is_empty()).then(|| self.0.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platforms_round_trip() {
        for platform in Platform::ALL {
            assert_eq!(Platform::parse(platform.key()), Some(platform));
        }
        assert_eq!(Platform::parse("MQJO"), None);
        assert_eq!(Platform::parse("xero"), None);
    }

    #[test]
    fn organisation_names_are_restricted() {
        assert!(OrganisationName::parse("demo-small").is_ok());
        assert!(OrganisationName::parse("Acme_Ltd-2").is_ok());
        assert!(OrganisationName::parse(&"a".repeat(64)).is_ok());
        assert!(OrganisationName::parse(&"a".repeat(65)).is_err());
        assert!(OrganisationName::parse("").is_err());
        assert!(OrganisationName::parse("acme ltd").is_err());
        assert!(OrganisationName::parse("<b>").is_err());
        assert!(OrganisationName::parse("café").is_err());
    }

    #[test]
    fn scopes_parse_and_reject_bad_characters() {
        assert_eq!(Scopes::parse(None), Some(Scopes::default()));
        let scopes = Scopes::parse(Some("read  write")).unwrap_or_default();
        assert_eq!(scopes.tokens(), ["read", "write"]);
        assert_eq!(scopes.joined().as_deref(), Some("read write"));
        assert_eq!(Scopes::parse(Some("a\"b")), None);
        assert_eq!(Scopes::parse(Some("a\\b")), None);
    }

    #[test]
    fn challenges_need_pkce_characters_and_length() {
        assert!(CodeChallenge::parse("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM").is_some());
        assert!(CodeChallenge::parse("short").is_none());
        assert!(CodeChallenge::parse(&"a/".repeat(30)).is_none());
    }
}
