-- A connection's credentials, sealed (see linkwell-encryption): never stored in plain text. `key_id` names
-- the key that sealed them, so rotation can find rows still under an older key. `lease_owner`/`lease_until`
-- are the refresh lock: whoever holds an unexpired lease is the one process refreshing the tokens.
CREATE TABLE connection_credentials (
    connection_id TEXT PRIMARY KEY NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    sealed TEXT NOT NULL,
    key_id TEXT NOT NULL,
    access_expires_at TEXT,
    lease_owner TEXT,
    lease_until TEXT,
    updated TEXT NOT NULL
);
CREATE INDEX connection_credentials_key ON connection_credentials (key_id);
CREATE INDEX connection_credentials_expiry ON connection_credentials (access_expires_at);

-- One authorization attempt started from a connection's linkUrl: its PKCE verifier (sealed), when it expires
-- and whether its `state` has been used. A `state` value names its attempt and works once.
CREATE TABLE link_attempts (
    id TEXT PRIMARY KEY NOT NULL,
    client_id TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    company_id TEXT NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    connection_id TEXT NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    browser_hash TEXT NOT NULL,
    sealed_verifier TEXT NOT NULL,
    key_id TEXT NOT NULL,
    created TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT
);
CREATE INDEX link_attempts_expires ON link_attempts (expires_at);
CREATE INDEX link_attempts_key ON link_attempts (key_id);

-- The client's profile (Codat's `Profile`): what Link shows and where it sends people afterwards.
CREATE TABLE client_profiles (
    client_id TEXT PRIMARY KEY NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    logo_url TEXT,
    icon_url TEXT,
    redirect_url TEXT NOT NULL,
    white_list_urls TEXT NOT NULL DEFAULT '[]',
    updated TEXT NOT NULL
);
