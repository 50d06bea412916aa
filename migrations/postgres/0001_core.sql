-- Core ingest: sync runs, unit checkpoints, staging, records with provenance, quarantine.

CREATE TABLE sync_runs (
    id            BIGSERIAL PRIMARY KEY,
    connector     TEXT    NOT NULL,
    node          TEXT,
    status        TEXT    NOT NULL,
    started_at    TIMESTAMPTZ    NOT NULL,
    finished_at   TIMESTAMPTZ,
    read          BIGINT NOT NULL DEFAULT 0,
    inserted      BIGINT NOT NULL DEFAULT 0,
    updated       BIGINT NOT NULL DEFAULT 0,
    unchanged     BIGINT NOT NULL DEFAULT 0,
    quarantined   BIGINT NOT NULL DEFAULT 0,
    skipped       BIGINT NOT NULL DEFAULT 0,
    closed        BIGINT NOT NULL DEFAULT 0,
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
    position      JSONB,
    read          BIGINT NOT NULL DEFAULT 0,
    rejected      BIGINT NOT NULL DEFAULT 0,
    skipped       BIGINT NOT NULL DEFAULT 0,
    staged        BIGINT NOT NULL DEFAULT 0,
    batches       BIGINT NOT NULL DEFAULT 0,
    run_id        BIGINT,
    updated_at    TIMESTAMPTZ    NOT NULL,
    PRIMARY KEY (connector, unit_key)
);

-- Records of units that are not complete yet live in one UNLOGGED table per unit
-- (staging_u_*, see src/store/postgres/stage.rs).

CREATE TABLE records (
    id            BIGSERIAL PRIMARY KEY,
    connector     TEXT    NOT NULL,
    entity        TEXT    NOT NULL,
    external_id   TEXT    NOT NULL,
    customer_no   TEXT,
    ref_no        TEXT,
    data          TEXT    NOT NULL,   -- canonical JSON (cast with ::jsonb for SQL queries)
    hash          TEXT    NOT NULL,
    position      TEXT,
    run_id        BIGINT,
    synced_at     TIMESTAMPTZ    NOT NULL,
    first_seen_at TIMESTAMPTZ    NOT NULL,
    closed_at     TIMESTAMPTZ,
    closed_run_id BIGINT,
    UNIQUE (connector, entity, external_id)
);
CREATE INDEX records_customer ON records (customer_no, entity);
CREATE INDEX records_ref ON records (ref_no, entity);

CREATE TABLE quarantine (
    id            BIGSERIAL PRIMARY KEY,
    run_id        BIGINT,
    connector     TEXT    NOT NULL,
    unit_key      TEXT,
    source        TEXT    NOT NULL,
    line          BIGINT,
    position      TEXT    NOT NULL,
    field         TEXT,
    reason        TEXT    NOT NULL,
    raw           TEXT    NOT NULL,
    record        TEXT,
    stream        TEXT,
    context       TEXT,
    status        TEXT    NOT NULL DEFAULT 'open',
    created_at    TIMESTAMPTZ    NOT NULL,
    resolved_at   TIMESTAMPTZ,
    resolved_run_id BIGINT
);
CREATE INDEX quarantine_open ON quarantine (connector, status, id);
CREATE INDEX quarantine_unit ON quarantine (connector, unit_key);
