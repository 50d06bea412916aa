-- Scheduled runs: one row per (connector, slot) — the node that inserts it runs the slot, so
-- every slot runs once however many nodes share the store.
CREATE TABLE schedule_slots (
    connector     TEXT    NOT NULL,
    slot_at       TIMESTAMPTZ NOT NULL,
    node          TEXT    NOT NULL,
    claimed_at    TIMESTAMPTZ NOT NULL,
    -- claimed | running | done | failed | skipped
    status        TEXT    NOT NULL,
    run_id        BIGINT,
    note          TEXT,
    finished_at   TIMESTAMPTZ,
    PRIMARY KEY (connector, slot_at)
);
CREATE INDEX schedule_slots_status ON schedule_slots (status, claimed_at);
