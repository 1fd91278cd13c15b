-- How many of a client's companies fall in each block of 1024 sequence numbers. Kept in step with inserts and
-- deletes, it lets a deep page of the default listing find its starting block by summing a few counters
-- instead of skipping every earlier company.
CREATE TABLE company_buckets (
    client_id TEXT COLLATE "C" NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    bucket BIGINT NOT NULL,
    company_count BIGINT NOT NULL,
    PRIMARY KEY (client_id, bucket)
);
INSERT INTO company_buckets (client_id, bucket, company_count)
    SELECT client_id, seq / 1024, COUNT(*) FROM companies GROUP BY client_id, seq / 1024;
