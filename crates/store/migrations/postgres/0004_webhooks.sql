-- Webhook consumers: where a client wants events sent. `failing_since` is when the current run of failed
-- deliveries began (cleared by a success); a consumer failing for long enough is disabled.
ALTER TABLE clients ADD COLUMN webhook_count BIGINT NOT NULL DEFAULT 0;

CREATE TABLE webhook_consumers (
    id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    client_id TEXT COLLATE "C" NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    url TEXT COLLATE "C" NOT NULL,
    event_types TEXT COLLATE "C" NOT NULL,
    company_tags TEXT COLLATE "C",
    disabled BIGINT NOT NULL DEFAULT 0,
    disabled_reason TEXT COLLATE "C",
    failing_since TEXT COLLATE "C",
    created TEXT COLLATE "C" NOT NULL
);
CREATE INDEX webhook_consumers_client ON webhook_consumers (client_id, created);

-- A consumer's signing secrets, sealed. During a rotation the old secret signs alongside the new one until
-- `retires_at`.
CREATE TABLE webhook_secrets (
    id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    consumer_id TEXT COLLATE "C" NOT NULL REFERENCES webhook_consumers (id) ON DELETE CASCADE,
    sealed TEXT COLLATE "C" NOT NULL,
    key_id TEXT COLLATE "C" NOT NULL,
    created TEXT COLLATE "C" NOT NULL,
    retires_at TEXT COLLATE "C"
);
CREATE INDEX webhook_secrets_consumer ON webhook_secrets (consumer_id, created);
CREATE INDEX webhook_secrets_key ON webhook_secrets (key_id);

-- The outbox: every event, written in the same transaction as the change it reports. `body` is the event as
-- sent: {"id", "eventType", "generatedDate", "payload"}.
CREATE TABLE events (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id TEXT COLLATE "C" NOT NULL UNIQUE,
    client_id TEXT COLLATE "C" NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    event_type TEXT COLLATE "C" NOT NULL,
    company_id TEXT COLLATE "C",
    connection_id TEXT COLLATE "C",
    generated TEXT COLLATE "C" NOT NULL,
    body TEXT COLLATE "C" NOT NULL
);
CREATE INDEX events_client ON events (client_id, seq);

-- One event for one consumer. Deliveries sharing an ordering key (the company the event is about) go out in
-- order: only the oldest pending one of a consumer and key may be attempted.
CREATE TABLE webhook_deliveries (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id TEXT COLLATE "C" NOT NULL UNIQUE,
    consumer_id TEXT COLLATE "C" NOT NULL REFERENCES webhook_consumers (id) ON DELETE CASCADE,
    event_seq BIGINT NOT NULL REFERENCES events (seq) ON DELETE CASCADE,
    ordering_key TEXT COLLATE "C" NOT NULL,
    status TEXT COLLATE "C" NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at TEXT COLLATE "C" NOT NULL,
    lease_owner TEXT COLLATE "C",
    lease_until TEXT COLLATE "C",
    last_status_code BIGINT,
    last_error TEXT COLLATE "C",
    created TEXT COLLATE "C" NOT NULL,
    completed TEXT COLLATE "C"
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at, seq);
CREATE INDEX webhook_deliveries_order ON webhook_deliveries (consumer_id, ordering_key, status, seq);
CREATE INDEX webhook_deliveries_consumer ON webhook_deliveries (consumer_id, seq);

CREATE TABLE webhook_attempts (
    delivery_seq BIGINT NOT NULL REFERENCES webhook_deliveries (seq) ON DELETE CASCADE,
    attempt BIGINT NOT NULL,
    attempted_at TEXT COLLATE "C" NOT NULL,
    status_code BIGINT,
    error TEXT COLLATE "C",
    duration_ms BIGINT NOT NULL,
    PRIMARY KEY (delivery_seq, attempt)
);
