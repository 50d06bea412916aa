-- Core ingest: sync runs, unit checkpoints, staging, records with provenance, quarantine.

CREATE TABLE sync_runs (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    connector     TEXT    NOT NULL,
    node          TEXT,
    status        TEXT    NOT NULL,
    started_at    TEXT    NOT NULL,
    finished_at   TEXT,
    read          INTEGER NOT NULL DEFAULT 0,
    inserted      INTEGER NOT NULL DEFAULT 0,
    updated       INTEGER NOT NULL DEFAULT 0,
    unchanged     INTEGER NOT NULL DEFAULT 0,
    quarantined   INTEGER NOT NULL DEFAULT 0,
    skipped       INTEGER NOT NULL DEFAULT 0,
    closed        INTEGER NOT NULL DEFAULT 0,
    error         TEXT
);
CREATE INDEX sync_runs_connector ON sync_runs (connector, id);

-- One row per unit of a connector: a file (key = content hash) or an API stream.
CREATE TABLE checkpoints (
    connector     TEXT    NOT NULL,
    unit_key      TEXT    NOT NULL,
    label         TEXT    NOT NULL,
    status        TEXT    NOT NULL,
    fingerprint   TEXT,
    mapping_hash  TEXT    NOT NULL,
    position      TEXT,
    read          INTEGER NOT NULL DEFAULT 0,
    rejected      INTEGER NOT NULL DEFAULT 0,
    skipped       INTEGER NOT NULL DEFAULT 0,
    staged        INTEGER NOT NULL DEFAULT 0,
    batches       INTEGER NOT NULL DEFAULT 0,
    run_id        INTEGER,
    updated_at    TEXT    NOT NULL,
    PRIMARY KEY (connector, unit_key)
);

-- Records of units that are not complete yet live in the staging file (see
-- src/store/sqlite/stage.rs), not here.

CREATE TABLE records (
    id            INTEGER PRIMARY KEY,
    connector     TEXT    NOT NULL,
    entity        TEXT    NOT NULL,
    external_id   TEXT    NOT NULL,
    customer_no   TEXT,
    ref_no        TEXT,
    data          TEXT    NOT NULL,
    hash          TEXT    NOT NULL,
    position      TEXT,
    run_id        INTEGER,
    synced_at     TEXT    NOT NULL,
    first_seen_at TEXT    NOT NULL,
    closed_at     TEXT,
    closed_run_id INTEGER,
    UNIQUE (connector, entity, external_id)
);
CREATE INDEX records_customer ON records (customer_no, entity);
CREATE INDEX records_ref ON records (ref_no, entity);

CREATE TABLE quarantine (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id        INTEGER,
    connector     TEXT    NOT NULL,
    unit_key      TEXT,
    source        TEXT    NOT NULL,
    line          INTEGER,
    position      TEXT    NOT NULL,
    field         TEXT,
    reason        TEXT    NOT NULL,
    raw           TEXT    NOT NULL,
    record        TEXT,
    stream        TEXT,
    context       TEXT,
    status        TEXT    NOT NULL DEFAULT 'open',
    created_at    TEXT    NOT NULL,
    resolved_at   TEXT,
    resolved_run_id INTEGER
);
CREATE INDEX quarantine_open ON quarantine (connector, status, id);
CREATE INDEX quarantine_unit ON quarantine (connector, unit_key);
