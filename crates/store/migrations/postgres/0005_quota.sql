-- Requests per client per UTC day, when a daily quota is configured. `reached` is set by the request that
-- uses the last of the quota (which reports client.rateLimit.reached); `reset_sent` once the next day's
-- client.rateLimit.reset has been reported.
CREATE TABLE client_quota (
    client_id TEXT COLLATE "C" NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    day TEXT COLLATE "C" NOT NULL,
    used BIGINT NOT NULL,
    reached BIGINT NOT NULL DEFAULT 0,
    reset_sent BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (client_id, day)
);
CREATE INDEX client_quota_reached ON client_quota (reached, reset_sent, day);
