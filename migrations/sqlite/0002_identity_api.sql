-- Identity resolution, merged customers and API tokens.

-- The systems (customer-number namespaces) of the connectors, as of the last resolution.
CREATE TABLE connector_systems (
    connector     TEXT PRIMARY KEY,
    system        TEXT NOT NULL
);
CREATE INDEX connector_systems_system ON connector_systems (system);

-- One row per customer number of a system (a source customer): the merged customer it belongs to.
CREATE TABLE customer_keys (
    system        TEXT    NOT NULL,
    customer_no   TEXT    NOT NULL,
    customer_id   INTEGER NOT NULL,
    -- The id the key got first; a split gives it back.
    home_id       INTEGER NOT NULL,
    -- How the key joined its customer: anchor | xref | vat_id | gln | email | phone | manual.
    rule          TEXT    NOT NULL,
    -- JSON: {rule, value, via: {system, customer_no}}.
    matched_on    TEXT,
    first_seen_at TEXT    NOT NULL,
    updated_at    TEXT    NOT NULL,
    PRIMARY KEY (system, customer_no)
);
CREATE INDEX customer_keys_customer ON customer_keys (customer_id);

-- Ids that were merged into another customer (old links keep working).
CREATE TABLE customer_aliases (
    id            INTEGER PRIMARY KEY,
    merged_into   INTEGER NOT NULL,
    created_at    TEXT    NOT NULL
);

-- Decisions of ops: link (merge, confirmed suggestion) or unlink (split, rejected suggestion).
CREATE TABLE identity_decisions (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    kind          TEXT    NOT NULL,
    a_system      TEXT    NOT NULL,
    a_no          TEXT    NOT NULL,
    b_system      TEXT    NOT NULL,
    b_no          TEXT    NOT NULL,
    note          TEXT,
    created_at    TEXT    NOT NULL,
    UNIQUE (kind, a_system, a_no, b_system, b_no)
);

-- Possible duplicates found by fuzzy rules (or held back by a guard), for ops to decide.
CREATE TABLE identity_suggestions (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    a_system      TEXT    NOT NULL,
    a_no          TEXT    NOT NULL,
    b_system      TEXT    NOT NULL,
    b_no          TEXT    NOT NULL,
    score         REAL    NOT NULL,
    rule          TEXT    NOT NULL,
    reason        TEXT    NOT NULL,
    status        TEXT    NOT NULL DEFAULT 'open',
    created_at    TEXT    NOT NULL,
    decided_at    TEXT,
    UNIQUE (a_system, a_no, b_system, b_no)
);
CREATE INDEX identity_suggestions_status ON identity_suggestions (status, id);

-- Resolution state: a generation counter (optimistic concurrency between nodes; the API's
-- in-memory index reloads when it moves) and how far documents were scanned for new keys.
CREATE TABLE identity_state (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    generation    INTEGER NOT NULL,
    scanned_run   INTEGER NOT NULL,
    resolved_at   TEXT
);
INSERT INTO identity_state (id, generation, scanned_run) VALUES (1, 0, 0);

CREATE INDEX records_run ON records (run_id);
CREATE INDEX records_customer_connector ON records (customer_no, connector);

CREATE TABLE api_tokens (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT    NOT NULL UNIQUE,
    role          TEXT    NOT NULL,
    hash          TEXT    NOT NULL UNIQUE,
    created_at    TEXT    NOT NULL,
    revoked_at    TEXT
);
