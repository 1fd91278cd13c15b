-- Pulled data, the pull and push operations that move it, and the sync settings that schedule pulls.
--
-- A pull or push operation row is also its job in the work queue: workers claim due rows with a lease
-- (`lease_owner`, `lease_until`, renewed while they work), so several processes share the work, and a crashed
-- worker's operation is taken up again once its lease runs out.

-- Pulls queued together (one request, one link, one scheduler pass). `remaining` counts its operations not yet
-- finished; the one that brings it to zero reports read.completed in its own transaction.
CREATE TABLE pull_batches (
    id TEXT PRIMARY KEY NOT NULL,
    client_id TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    company_id TEXT NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    initial INTEGER NOT NULL DEFAULT 0,
    remaining INTEGER NOT NULL,
    created TEXT NOT NULL
);

CREATE TABLE pull_operations (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    client_id TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    company_id TEXT NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    connection_id TEXT NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    batch_id TEXT NOT NULL REFERENCES pull_batches (id) ON DELETE CASCADE,
    data_type TEXT NOT NULL,
    status TEXT NOT NULL,
    status_description TEXT,
    error_message TEXT,
    requested TEXT NOT NULL,
    completed TEXT,
    progress INTEGER NOT NULL DEFAULT 0,
    -- Incremental pulls fetch what changed strictly after this source time; NULL fetches everything.
    modified_since TEXT,
    -- Where the fetch resumes, and the latest source change time seen so far.
    cursor TEXT,
    high_water TEXT,
    pages INTEGER NOT NULL DEFAULT 0,
    records INTEGER NOT NULL DEFAULT 0,
    records_modified INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    run_after TEXT NOT NULL,
    lease_owner TEXT,
    lease_until TEXT
);
CREATE INDEX pull_operations_company ON pull_operations (company_id, seq);
CREATE INDEX pull_operations_due ON pull_operations (seq) WHERE status IN ('Queued', 'Fetching');
-- One pull of a data type per connection at a time.
CREATE UNIQUE INDEX pull_operations_active ON pull_operations (connection_id, data_type)
    WHERE status IN ('Queued', 'Fetching');

-- Where a connection's data type stands: the ordinal the next new record gets, and the latest pulls.
CREATE TABLE data_sets (
    connection_id TEXT NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    company_id TEXT NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    data_type TEXT NOT NULL,
    next_ordinal INTEGER NOT NULL DEFAULT 1,
    latest_pull TEXT,
    latest_status TEXT,
    latest_requested TEXT,
    last_success_pull TEXT,
    last_success TEXT,
    high_water TEXT,
    PRIMARY KEY (connection_id, data_type)
);
CREATE INDEX data_sets_company ON data_sets (company_id, data_type);

-- Records in the standard model. `body` is the record as pulled, without `modifiedDate` and `metadata`, which
-- are added from the columns when it is read. `ordinal` numbers a connection's records of a type densely in
-- the order they were first seen, so a page is found by range, never by skipping rows.
CREATE TABLE data_records (
    connection_id TEXT NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    data_type TEXT NOT NULL,
    record_id TEXT NOT NULL,
    ordinal INTEGER NOT NULL,
    company_id TEXT NOT NULL,
    modified TEXT NOT NULL,
    source_modified TEXT,
    is_deleted INTEGER NOT NULL DEFAULT 0,
    pull_seq INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (connection_id, data_type, record_id)
);
CREATE UNIQUE INDEX data_records_ordinal ON data_records (connection_id, data_type, ordinal);

-- Sync settings of a client (company_id '') or of one company, as Codat's settings array.
CREATE TABLE sync_settings (
    client_id TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    company_id TEXT NOT NULL,
    settings TEXT NOT NULL,
    overrides_defaults INTEGER NOT NULL,
    PRIMARY KEY (client_id, company_id)
);

CREATE TABLE push_operations (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    client_id TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    company_id TEXT NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    connection_id TEXT NOT NULL,
    data_type TEXT NOT NULL,
    kind TEXT NOT NULL,
    record_id TEXT,
    body TEXT,
    status TEXT NOT NULL,
    status_code INTEGER NOT NULL,
    error_message TEXT,
    validation TEXT,
    changes TEXT,
    requested TEXT NOT NULL,
    completed TEXT,
    timeout_minutes INTEGER,
    deadline TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    run_after TEXT NOT NULL,
    lease_owner TEXT,
    lease_until TEXT
);
CREATE INDEX push_operations_company ON push_operations (company_id, seq);
CREATE INDEX push_operations_due ON push_operations (seq) WHERE status = 'Pending';
