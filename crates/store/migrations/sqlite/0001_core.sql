CREATE TABLE clients (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL UNIQUE,
    company_count INTEGER NOT NULL DEFAULT 0,
    api_key_count INTEGER NOT NULL DEFAULT 0,
    created TEXT NOT NULL
);

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY NOT NULL,
    client_id TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    name TEXT,
    key_hash TEXT NOT NULL UNIQUE,
    created TEXT NOT NULL
);
CREATE INDEX api_keys_client ON api_keys (client_id, created);

CREATE TABLE companies (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    client_id TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT,
    tags TEXT NOT NULL DEFAULT '{}',
    created TEXT NOT NULL,
    last_sync TEXT
);
CREATE INDEX companies_client_seq ON companies (client_id, seq);
CREATE INDEX companies_client_name ON companies (client_id, name);
CREATE INDEX companies_client_created ON companies (client_id, created);

CREATE TABLE company_tags (
    company_id TEXT NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (company_id, key)
);
CREATE INDEX company_tags_key_value ON company_tags (key, value);

CREATE TABLE connections (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    client_id TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    company_id TEXT NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    platform_key TEXT NOT NULL,
    integration_id TEXT NOT NULL,
    source_id TEXT NOT NULL,
    source_type TEXT NOT NULL,
    platform_name TEXT NOT NULL,
    status TEXT NOT NULL,
    created TEXT NOT NULL,
    last_sync TEXT,
    errors TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX connections_company_seq ON connections (company_id, seq);
-- One active accounting connection per company, enforced where concurrent requests cannot get around it.
CREATE UNIQUE INDEX connections_one_linked_accounting ON connections (company_id)
    WHERE source_type = 'Accounting' AND status = 'Linked';

CREATE TABLE connection_history (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    connection_id TEXT NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    previous_status TEXT,
    status TEXT NOT NULL,
    reason TEXT NOT NULL,
    changed_at TEXT NOT NULL
);
CREATE INDEX connection_history_connection ON connection_history (connection_id, seq);
-- History is append-only: rows may go with their connection, never change.
CREATE TRIGGER connection_history_append_only BEFORE UPDATE ON connection_history
BEGIN
    SELECT RAISE(ABORT, 'connection_history is append-only');
END;

CREATE TABLE idempotency_keys (
    client_id TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status_code INTEGER,
    response_body TEXT,
    created TEXT NOT NULL,
    PRIMARY KEY (client_id, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created);
