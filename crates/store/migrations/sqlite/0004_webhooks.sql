-- Webhook consumers: where a client wants events sent. `failing_since` is when the current run of failed
-- deliveries began (cleared by a success); a consumer failing for long enough is disabled.
ALTER TABLE clients ADD COLUMN webhook_count INTEGER NOT NULL DEFAULT 0;

CREATE TABLE webhook_consumers (
    id TEXT PRIMARY KEY NOT NULL,
    client_id TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    url TEXT NOT NULL,
    event_types TEXT NOT NULL,
    company_tags TEXT,
    disabled INTEGER NOT NULL DEFAULT 0,
    disabled_reason TEXT,
    failing_since TEXT,
    created TEXT NOT NULL
);
CREATE INDEX webhook_consumers_client ON webhook_consumers (client_id, created);

-- A consumer's signing secrets, sealed. During a rotation the old secret signs alongside the new one until
-- `retires_at`.
CREATE TABLE webhook_secrets (
    id TEXT PRIMARY KEY NOT NULL,
    consumer_id TEXT NOT NULL REFERENCES webhook_consumers (id) ON DELETE CASCADE,
    sealed TEXT NOT NULL,
    key_id TEXT NOT NULL,
    created TEXT NOT NULL,
    retires_at TEXT
);
CREATE INDEX webhook_secrets_consumer ON webhook_secrets (consumer_id, created);
CREATE INDEX webhook_secrets_key ON webhook_secrets (key_id);

-- The outbox: every event, written in the same transaction as the change it reports. `body` is the event as
-- sent: {"id", "eventType", "generatedDate", "payload"}.
CREATE TABLE events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    client_id TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    event_type TEXT NOT NULL,
    company_id TEXT,
    connection_id TEXT,
    generated TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX events_client ON events (client_id, seq);

-- One event for one consumer. Deliveries sharing an ordering key (the company the event is about) go out in
-- order: only the oldest pending one of a consumer and key may be attempted.
CREATE TABLE webhook_deliveries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    consumer_id TEXT NOT NULL REFERENCES webhook_consumers (id) ON DELETE CASCADE,
    event_seq INTEGER NOT NULL REFERENCES events (seq) ON DELETE CASCADE,
    ordering_key TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    lease_owner TEXT,
    lease_until TEXT,
    last_status_code INTEGER,
    last_error TEXT,
    created TEXT NOT NULL,
    completed TEXT
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at, seq);
CREATE INDEX webhook_deliveries_order ON webhook_deliveries (consumer_id, ordering_key, status, seq);
CREATE INDEX webhook_deliveries_consumer ON webhook_deliveries (consumer_id, seq);

CREATE TABLE webhook_attempts (
    delivery_seq INTEGER NOT NULL REFERENCES webhook_deliveries (seq) ON DELETE CASCADE,
    attempt INTEGER NOT NULL,
    attempted_at TEXT NOT NULL,
    status_code INTEGER,
    error TEXT,
    duration_ms INTEGER NOT NULL,
    PRIMARY KEY (delivery_seq, attempt)
);
