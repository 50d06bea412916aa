-- Operations across nodes: one cluster configuration, connector lifecycle, alerts that arrive.

-- The configuration the cluster runs (one row): a fingerprint of the effective configuration
-- and mappings, with the fingerprint of each part (connector, identity, …) so that a node
-- whose configuration differs can say which part differs.
CREATE TABLE cluster_config (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    fingerprint   TEXT    NOT NULL,
    -- JSON: part → fingerprint
    parts         TEXT    NOT NULL,
    node          TEXT    NOT NULL,
    updated_at    TEXT NOT NULL
);

-- Connectors that were retired or renamed (their records stay for history).
CREATE TABLE connector_lifecycle (
    connector     TEXT PRIMARY KEY,
    -- retired | renamed
    status        TEXT    NOT NULL,
    renamed_to    TEXT,
    at            TEXT NOT NULL,
    note          TEXT
);

-- Alert conditions per subject (a connector, or a node): firing or resolved. A transition
-- is made by one node (a conditional update) and queues one message.
CREATE TABLE alert_state (
    subject       TEXT    NOT NULL,
    condition     TEXT    NOT NULL,
    firing        BOOLEAN NOT NULL,
    since         TEXT NOT NULL,
    message       TEXT    NOT NULL,
    PRIMARY KEY (subject, condition)
);

-- Webhook messages to deliver: retried with backoff until delivered; a node claims a message
-- for a while before it sends it, so it goes out once however many nodes run.
CREATE TABLE alert_outbox (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    subject       TEXT    NOT NULL,
    condition     TEXT    NOT NULL,
    -- firing | resolved
    status        TEXT    NOT NULL,
    payload       TEXT    NOT NULL,
    created_at    TEXT NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    claimed_by    TEXT,
    claimed_until TEXT,
    delivered_at  TEXT,
    last_error    TEXT
);
CREATE INDEX alert_outbox_due ON alert_outbox (delivered_at, next_attempt_at);

-- Refused units by time (a connector stays degraded until a later unit loads).
CREATE INDEX checkpoints_status ON checkpoints (connector, status, updated_at);
