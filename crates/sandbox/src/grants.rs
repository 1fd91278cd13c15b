//! The in-memory grant store: authorization codes, grants, and the access and refresh tokens
//! issued under them. Everything a token can do is decided here, behind one mutex, so the
//! handlers stay thin and the rules (single-use codes, rotation, idle expiry) sit in one place.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::clock::later_by;
use crate::faults::Fault;
use crate::params::{ClientId, CodeChallenge, OrganisationName, Platform, Scopes};
use crate::secrets::{new_secret, SecretHash};

/// Authorization codes live 60 seconds (RFC 6749 §4.1.2 suggests at most ten minutes).
const CODE_TTL: Duration = Duration::from_secs(60);

/// Redeemed codes are remembered a while past their expiry so a replay is still recognised
/// (and its grant revoked) when an attacker is slow.
const REDEEMED_CODE_MEMORY: Duration = Duration::from_secs(10 * 60);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct GrantId(u64);

/// What a user agreed to on the consent page, bound to the request that asked for it.
pub(crate) struct CodeRequest {
    pub platform: Platform,
    pub client: ClientId,
    pub redirect_uri: String,
    pub challenge: CodeChallenge,
    pub organisation: OrganisationName,
    pub scopes: Scopes,
}

/// What the token endpoint needs to redeem a code.
pub(crate) struct CodeRedemption<'a> {
    pub platform: Platform,
    pub client: &'a ClientId,
    pub code: &'a str,
    pub redirect_uri: &'a str,
    pub code_verifier: &'a str,
}

pub(crate) struct Lifetimes {
    pub access: Duration,
    pub refresh_idle: Duration,
}

struct IssuedCode {
    request: CodeRequest,
    expires_at: DateTime<Utc>,
    /// Set once redeemed; a second redemption revokes this grant.
    redeemed_into: Option<GrantId>,
}

struct Grant {
    platform: Platform,
    client: ClientId,
    organisation: OrganisationName,
    scopes: Scopes,
}

struct AccessToken {
    grant: GrantId,
    expires_at: DateTime<Utc>,
}

struct RefreshToken {
    grant: GrantId,
    /// Rotation makes every refresh token single-use, so "idle" is simply "since issued".
    idle_expires_at: DateTime<Utc>,
}

/// A freshly issued token pair, in the clear, to hand to the client exactly once.
pub(crate) struct IssuedTokens {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in_seconds: u64,
    pub scopes: Scopes,
}

/// Who a valid access token speaks for.
#[derive(Debug, Clone)]
pub struct AuthenticatedGrant {
    pub platform: Platform,
    pub organisation: OrganisationName,
    pub scopes: Vec<String>,
}

#[derive(Default)]
pub(crate) struct GrantStore {
    next_grant_id: u64,
    codes: HashMap<SecretHash, IssuedCode>,
    grants: HashMap<GrantId, Grant>,
    access_tokens: HashMap<SecretHash, AccessToken>,
    refresh_tokens: HashMap<SecretHash, RefreshToken>,
    faults: HashMap<Platform, Fault>,
}

impl GrantStore {
    pub(crate) fn issue_code(&mut self, now: DateTime<Utc>, request: CodeRequest) -> String {
        self.forget_stale(now);
        let (code, hash) = new_secret();
        self.codes.insert(
            hash,
            IssuedCode {
                request,
                expires_at: later_by(now, CODE_TTL),
                redeemed_into: None,
            },
        );
        code
    }

    pub(crate) fn redeem_code(
        &mut self,
        now: DateTime<Utc>,
        redemption: CodeRedemption<'_>,
        lifetimes: &Lifetimes,
    ) -> Result<IssuedTokens, &'static str> {
        let hash = SecretHash::of(redemption.code);
        let Some(issued) = self.codes.get(&hash) else {
            return Err("unknown authorization code");
        };
        // The code is checked against where it was issued before anything else, so another
        // client or platform cannot burn (or replay-revoke) someone else's code.
        if issued.request.platform != redemption.platform
            || &issued.request.client != redemption.client
        {
            return Err("the authorization code was issued to another client");
        }
        if let Some(grant) = issued.redeemed_into {
            self.revoke_grant(grant);
            return Err("the authorization code was already used; its tokens are revoked");
        }
        let Some(issued) = self.codes.get_mut(&hash) else {
            return Err("unknown authorization code");
        };
        let request = &issued.request;
        if now >= issued.expires_at {
            return Err("the authorization code has expired");
        }
        if request.redirect_uri != redemption.redirect_uri {
            return Err("redirect_uri does not match the authorization request");
        }
        if !request.challenge.is_satisfied_by(redemption.code_verifier) {
            return Err("code_verifier does not match the code_challenge");
        }
        let grant_id = GrantId(self.next_grant_id);
        self.next_grant_id += 1;
        issued.redeemed_into = Some(grant_id);
        let grant = Grant {
            platform: request.platform,
            client: request.client.clone(),
            organisation: request.organisation.clone(),
            scopes: request.scopes.clone(),
        };
        self.grants.insert(grant_id, grant);
        Ok(self.issue_tokens(now, grant_id, lifetimes))
    }

    /// Rotates: the presented refresh token dies and a new pair is issued.
    pub(crate) fn refresh(
        &mut self,
        now: DateTime<Utc>,
        platform: Platform,
        client: &ClientId,
        refresh_token: &str,
        lifetimes: &Lifetimes,
    ) -> Result<IssuedTokens, &'static str> {
        let hash = SecretHash::of(refresh_token);
        let Some(stored) = self.refresh_tokens.get(&hash) else {
            return Err("unknown, used or revoked refresh token");
        };
        let grant_id = stored.grant;
        let Some(grant) = self.grants.get(&grant_id) else {
            return Err("the grant behind this refresh token was revoked");
        };
        if grant.platform != platform || &grant.client != client {
            return Err("the refresh token was issued to another client");
        }
        if now >= stored.idle_expires_at {
            self.refresh_tokens.remove(&hash);
            return Err("the refresh token expired after being unused too long");
        }
        self.refresh_tokens.remove(&hash);
        Ok(self.issue_tokens(now, grant_id, lifetimes))
    }

    fn issue_tokens(
        &mut self,
        now: DateTime<Utc>,
        grant: GrantId,
        lifetimes: &Lifetimes,
    ) -> IssuedTokens {
        let (access_token, access_hash) = new_secret();
        let (refresh_token, refresh_hash) = new_secret();
        self.access_tokens.insert(
            access_hash,
            AccessToken {
                grant,
                expires_at: later_by(now, lifetimes.access),
            },
        );
        self.refresh_tokens.insert(
            refresh_hash,
            RefreshToken {
                grant,
                idle_expires_at: later_by(now, lifetimes.refresh_idle),
            },
        );
        let scopes = self
            .grants
            .get(&grant)
            .map(|grant| grant.scopes.clone())
            .unwrap_or_default();
        IssuedTokens {
            access_token,
            refresh_token,
            expires_in_seconds: lifetimes.access.as_secs(),
            scopes,
        }
    }

    pub(crate) fn authenticate_access(
        &self,
        now: DateTime<Utc>,
        platform: Platform,
        access_token: &str,
    ) -> Option<AuthenticatedGrant> {
        let stored = self.access_tokens.get(&SecretHash::of(access_token))?;
        let grant = self.grants.get(&stored.grant)?;
        (now < stored.expires_at && grant.platform == platform).then(|| AuthenticatedGrant {
            platform: grant.platform,
            organisation: grant.organisation.clone(),
            scopes: grant.scopes.tokens().to_vec(),
        })
    }

    /// RFC 7009: an access token dies alone; a refresh token takes its whole grant with it.
    /// Tokens of another client or platform are left alone (and the caller still answers 200).
    pub(crate) fn revoke_token(&mut self, platform: Platform, client: &ClientId, token: &str) {
        let hash = SecretHash::of(token);
        let owned_by_caller = |grants: &HashMap<GrantId, Grant>, id: GrantId| {
            grants
                .get(&id)
                .is_some_and(|grant| grant.platform == platform && &grant.client == client)
        };
        if let Some(stored) = self.refresh_tokens.get(&hash) {
            if owned_by_caller(&self.grants, stored.grant) {
                self.revoke_grant(stored.grant);
            }
        } else if let Some(stored) = self.access_tokens.get(&hash) {
            if owned_by_caller(&self.grants, stored.grant) {
                self.access_tokens.remove(&hash);
            }
        }
    }

    /// Returns how many grants were revoked.
    pub(crate) fn revoke_organisation(
        &mut self,
        platform: Platform,
        organisation: &OrganisationName,
    ) -> usize {
        let doomed = self.grants_of(platform, organisation);
        for grant in &doomed {
            self.revoke_grant(*grant);
        }
        doomed.len()
    }

    /// Returns how many access tokens were expired.
    pub(crate) fn expire_access_tokens(
        &mut self,
        now: DateTime<Utc>,
        platform: Platform,
        organisation: &OrganisationName,
    ) -> usize {
        let grants = self.grants_of(platform, organisation);
        let mut expired = 0;
        for token in self.access_tokens.values_mut() {
            if grants.contains(&token.grant) && token.expires_at > now {
                token.expires_at = now;
                expired += 1;
            }
        }
        expired
    }

    pub(crate) fn set_fault(&mut self, platform: Platform, fault: Option<Fault>) {
        match fault {
            Some(fault) => self.faults.insert(platform, fault),
            None => self.faults.remove(&platform),
        };
    }

    /// Consumes one injected failure for this platform, if one is pending for that moment: before a
    /// call starts, or (`after_write`) after a record was created.
    pub(crate) fn take_fault(&mut self, platform: Platform, after_write: bool) -> Option<Fault> {
        let fault = self
            .faults
            .get_mut(&platform)
            .filter(|fault| fault.after_write == after_write)?;
        let taken = fault.take_one();
        if fault.is_spent() {
            self.faults.remove(&platform);
        }
        taken
    }

    fn grants_of(&self, platform: Platform, organisation: &OrganisationName) -> Vec<GrantId> {
        self.grants
            .iter()
            .filter(|(_, grant)| grant.platform == platform && &grant.organisation == organisation)
            .map(|(id, _)| *id)
            .collect()
    }

    fn revoke_grant(&mut self, grant: GrantId) {
        self.grants.remove(&grant);
        self.access_tokens.retain(|_, token| token.grant != grant);
        self.refresh_tokens.retain(|_, token| token.grant != grant);
    }

    /// Drops what can never be used again, so a long-running dev server does not grow forever.
    fn forget_stale(&mut self, now: DateTime<Utc>) {
        self.codes
            .retain(|_, code| now < later_by(code.expires_at, REDEEMED_CODE_MEMORY));
        self.access_tokens.retain(|_, token| now < token.expires_at);
        self.refresh_tokens
            .retain(|_, token| now < token.idle_expires_at);
        let live: HashSet<GrantId> = self
            .refresh_tokens
            .values()
            .map(|token| token.grant)
            .chain(self.access_tokens.values().map(|token| token.grant))
            .collect();
        self.grants.retain(|id, _| live.contains(id));
    }
}
