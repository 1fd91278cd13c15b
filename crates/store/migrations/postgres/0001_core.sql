CREATE TABLE clients (
    id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    name TEXT COLLATE "C" NOT NULL UNIQUE,
    company_count BIGINT NOT NULL DEFAULT 0,
    api_key_count BIGINT NOT NULL DEFAULT 0,
    created TEXT COLLATE "C" NOT NULL
);

CREATE TABLE api_keys (
    id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    client_id TEXT COLLATE "C" NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    name TEXT COLLATE "C",
    key_hash TEXT COLLATE "C" NOT NULL UNIQUE,
    created TEXT COLLATE "C" NOT NULL
);
CREATE INDEX api_keys_client ON api_keys (client_id, created);

CREATE TABLE companies (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id TEXT COLLATE "C" NOT NULL UNIQUE,
    client_id TEXT COLLATE "C" NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    name TEXT COLLATE "C" NOT NULL,
    description TEXT COLLATE "C",
    tags TEXT COLLATE "C" NOT NULL DEFAULT '{}',
    created TEXT COLLATE "C" NOT NULL,
    last_sync TEXT COLLATE "C"
);
CREATE INDEX companies_client_seq ON companies (client_id, seq);
CREATE INDEX companies_client_name ON companies (client_id, name);
CREATE INDEX companies_client_created ON companies (client_id, created);

CREATE TABLE company_tags (
    company_id TEXT COLLATE "C" NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    key TEXT COLLATE "C" NOT NULL,
    value TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (company_id, key)
);
CREATE INDEX company_tags_key_value ON company_tags (key, value);

CREATE TABLE connections (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id TEXT COLLATE "C" NOT NULL UNIQUE,
    client_id TEXT COLLATE "C" NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    company_id TEXT COLLATE "C" NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    platform_key TEXT COLLATE "C" NOT NULL,
    integration_id TEXT COLLATE "C" NOT NULL,
    source_id TEXT COLLATE "C" NOT NULL,
    source_type TEXT COLLATE "C" NOT NULL,
    platform_name TEXT COLLATE "C" NOT NULL,
    status TEXT COLLATE "C" NOT NULL,
    created TEXT COLLATE "C" NOT NULL,
    last_sync TEXT COLLATE "C",
    errors TEXT COLLATE "C" NOT NULL DEFAULT '[]'
);
CREATE INDEX connections_company_seq ON connections (company_id, seq);
-- One active accounting connection per company, enforced where concurrent requests cannot get around it.
CREATE UNIQUE INDEX connections_one_linked_accounting ON connections (company_id)
    WHERE source_type = 'Accounting' AND status = 'Linked';

CREATE TABLE connection_history (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    connection_id TEXT COLLATE "C" NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    previous_status TEXT COLLATE "C",
    status TEXT COLLATE "C" NOT NULL,
    reason TEXT COLLATE "C" NOT NULL,
    changed_at TEXT COLLATE "C" NOT NULL
);
CREATE INDEX connection_history_connection ON connection_history (connection_id, seq);
-- History is append-only: rows may go with their connection, never change.
CREATE FUNCTION connection_history_refuse_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'connection_history is append-only';
END;
$$;
CREATE TRIGGER connection_history_append_only BEFORE UPDATE ON connection_history
    FOR EACH ROW EXECUTE FUNCTION connection_history_refuse_update();

CREATE TABLE idempotency_keys (
    client_id TEXT COLLATE "C" NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    key TEXT COLLATE "C" NOT NULL,
    fingerprint TEXT COLLATE "C" NOT NULL,
    status_code BIGINT,
    response_body TEXT COLLATE "C",
    created TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (client_id, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created);
