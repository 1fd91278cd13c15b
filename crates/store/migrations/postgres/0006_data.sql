-- Pulled data, the pull and push operations that move it, and the sync settings that schedule pulls.
--
-- A pull or push operation row is also its job in the work queue: workers claim due rows with a lease
-- (`lease_owner`, `lease_until`, renewed while they work), so several processes share the work, and a crashed
-- worker's operation is taken up again once its lease runs out.

-- Pulls queued together (one request, one link, one scheduler pass). `remaining` counts its operations not yet
-- finished; the one that brings it to zero reports read.completed in its own transaction.
CREATE TABLE pull_batches (
    id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    client_id TEXT COLLATE "C" NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    company_id TEXT COLLATE "C" NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    initial BIGINT NOT NULL DEFAULT 0,
    remaining BIGINT NOT NULL,
    created TEXT COLLATE "C" NOT NULL
);

CREATE TABLE pull_operations (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id TEXT COLLATE "C" NOT NULL UNIQUE,
    client_id TEXT COLLATE "C" NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    company_id TEXT COLLATE "C" NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    connection_id TEXT COLLATE "C" NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    batch_id TEXT COLLATE "C" NOT NULL REFERENCES pull_batches (id) ON DELETE CASCADE,
    data_type TEXT COLLATE "C" NOT NULL,
    status TEXT COLLATE "C" NOT NULL,
    status_description TEXT COLLATE "C",
    error_message TEXT COLLATE "C",
    requested TEXT COLLATE "C" NOT NULL,
    completed TEXT COLLATE "C",
    progress BIGINT NOT NULL DEFAULT 0,
    -- Incremental pulls fetch what changed strictly after this source time; NULL fetches everything.
    modified_since TEXT COLLATE "C",
    -- Where the fetch resumes, and the latest source change time seen so far.
    cursor TEXT COLLATE "C",
    high_water TEXT COLLATE "C",
    pages BIGINT NOT NULL DEFAULT 0,
    records BIGINT NOT NULL DEFAULT 0,
    records_modified BIGINT NOT NULL DEFAULT 0,
    attempts BIGINT NOT NULL DEFAULT 0,
    run_after TEXT COLLATE "C" NOT NULL,
    lease_owner TEXT COLLATE "C",
    lease_until TEXT COLLATE "C"
);
CREATE INDEX pull_operations_company ON pull_operations (company_id, seq);
CREATE INDEX pull_operations_due ON pull_operations (seq) WHERE status IN ('Queued', 'Fetching');
-- One pull of a data type per connection at a time.
CREATE UNIQUE INDEX pull_operations_active ON pull_operations (connection_id, data_type)
    WHERE status IN ('Queued', 'Fetching');

-- Where a connection's data type stands: the ordinal the next new record gets, and the latest pulls.
CREATE TABLE data_sets (
    connection_id TEXT COLLATE "C" NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    company_id TEXT COLLATE "C" NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    data_type TEXT COLLATE "C" NOT NULL,
    next_ordinal BIGINT NOT NULL DEFAULT 1,
    latest_pull TEXT COLLATE "C",
    latest_status TEXT COLLATE "C",
    latest_requested TEXT COLLATE "C",
    last_success_pull TEXT COLLATE "C",
    last_success TEXT COLLATE "C",
    high_water TEXT COLLATE "C",
    PRIMARY KEY (connection_id, data_type)
);
CREATE INDEX data_sets_company ON data_sets (company_id, data_type);

-- Records in the standard model. `body` is the record as pulled, without `modifiedDate` and `metadata`, which
-- are added from the columns when it is read. `ordinal` numbers a connection's records of a type densely in
-- the order they were first seen, so a page is found by range, never by skipping rows.
CREATE TABLE data_records (
    connection_id TEXT COLLATE "C" NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    data_type TEXT COLLATE "C" NOT NULL,
    record_id TEXT COLLATE "C" NOT NULL,
    ordinal BIGINT NOT NULL,
    company_id TEXT COLLATE "C" NOT NULL,
    modified TEXT COLLATE "C" NOT NULL,
    source_modified TEXT COLLATE "C",
    is_deleted BIGINT NOT NULL DEFAULT 0,
    pull_seq BIGINT NOT NULL,
    body TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (connection_id, data_type, record_id)
);
CREATE UNIQUE INDEX data_records_ordinal ON data_records (connection_id, data_type, ordinal);

-- Sync settings of a client (company_id '') or of one company, as Codat's settings array.
CREATE TABLE sync_settings (
    client_id TEXT COLLATE "C" NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    company_id TEXT COLLATE "C" NOT NULL,
    settings TEXT COLLATE "C" NOT NULL,
    overrides_defaults BIGINT NOT NULL,
    PRIMARY KEY (client_id, company_id)
);

CREATE TABLE push_operations (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id TEXT COLLATE "C" NOT NULL UNIQUE,
    client_id TEXT COLLATE "C" NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    company_id TEXT COLLATE "C" NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    connection_id TEXT COLLATE "C" NOT NULL,
    data_type TEXT COLLATE "C" NOT NULL,
    kind TEXT COLLATE "C" NOT NULL,
    record_id TEXT COLLATE "C",
    body TEXT COLLATE "C",
    status TEXT COLLATE "C" NOT NULL,
    status_code BIGINT NOT NULL,
    error_message TEXT COLLATE "C",
    validation TEXT COLLATE "C",
    changes TEXT COLLATE "C",
    requested TEXT COLLATE "C" NOT NULL,
    completed TEXT COLLATE "C",
    timeout_minutes BIGINT,
    deadline TEXT COLLATE "C",
    attempts BIGINT NOT NULL DEFAULT 0,
    run_after TEXT COLLATE "C" NOT NULL,
    lease_owner TEXT COLLATE "C",
    lease_until TEXT COLLATE "C"
);
CREATE INDEX push_operations_company ON push_operations (company_id, seq);
CREATE INDEX push_operations_due ON push_operations (seq) WHERE status = 'Pending';
