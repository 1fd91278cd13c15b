-- A connection's credentials, sealed (see linkwell-encryption): never stored in plain text. `key_id` names
-- the key that sealed them, so rotation can find rows still under an older key. `lease_owner`/`lease_until`
-- are the refresh lock: whoever holds an unexpired lease is the one process refreshing the tokens.
CREATE TABLE connection_credentials (
    connection_id TEXT COLLATE "C" PRIMARY KEY NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    sealed TEXT COLLATE "C" NOT NULL,
    key_id TEXT COLLATE "C" NOT NULL,
    access_expires_at TEXT COLLATE "C",
    lease_owner TEXT COLLATE "C",
    lease_until TEXT COLLATE "C",
    updated TEXT COLLATE "C" NOT NULL
);
CREATE INDEX connection_credentials_key ON connection_credentials (key_id);
CREATE INDEX connection_credentials_expiry ON connection_credentials (access_expires_at);

-- One authorization attempt started from a connection's linkUrl: its PKCE verifier (sealed), when it expires
-- and whether its `state` has been used. A `state` value names its attempt and works once.
CREATE TABLE link_attempts (
    id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    client_id TEXT COLLATE "C" NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    company_id TEXT COLLATE "C" NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    connection_id TEXT COLLATE "C" NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    browser_hash TEXT COLLATE "C" NOT NULL,
    sealed_verifier TEXT COLLATE "C" NOT NULL,
    key_id TEXT COLLATE "C" NOT NULL,
    created TEXT COLLATE "C" NOT NULL,
    expires_at TEXT COLLATE "C" NOT NULL,
    used_at TEXT COLLATE "C"
);
CREATE INDEX link_attempts_expires ON link_attempts (expires_at);
CREATE INDEX link_attempts_key ON link_attempts (key_id);

-- The client's profile (Codat's `Profile`): what Link shows and where it sends people afterwards.
CREATE TABLE client_profiles (
    client_id TEXT COLLATE "C" PRIMARY KEY NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    name TEXT COLLATE "C" NOT NULL,
    logo_url TEXT COLLATE "C",
    icon_url TEXT COLLATE "C",
    redirect_url TEXT COLLATE "C" NOT NULL,
    white_list_urls TEXT COLLATE "C" NOT NULL DEFAULT '[]',
    updated TEXT COLLATE "C" NOT NULL
);
