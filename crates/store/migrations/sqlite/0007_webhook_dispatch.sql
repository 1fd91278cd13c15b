-- The dispatcher looks only at pending deliveries that are due: partial indexes keep its claims as cheap with
-- a million delivered rows, or retries waiting for hours, as with none. Due deliveries come oldest first; a
-- delivery waits for the earlier pending ones of its consumer and ordering key.
DROP INDEX webhook_deliveries_due;
DROP INDEX webhook_deliveries_order;
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (next_attempt_at, seq) WHERE status = 'Pending';
CREATE INDEX webhook_deliveries_pending_order ON webhook_deliveries (consumer_id, ordering_key, seq)
    WHERE status = 'Pending';

-- Changes with every rotation of a consumer's signing secrets, so a dispatcher knows when the secrets it has
-- opened are out of date.
ALTER TABLE webhook_consumers ADD COLUMN secret_version BIGINT NOT NULL DEFAULT 0;
