-- E-invoices and DATEV sources (issue 15).

-- Records a run loaded with warnings (EN 16931 business rules an e-invoice breaks, a negative
-- invoice read as credit note): shown by `kontor runs`.
ALTER TABLE sync_runs ADD COLUMN warnings BIGINT NOT NULL DEFAULT 0;

-- The system a connector's files name themselves (a DATEV EXTF header's consultant and client:
-- `datev:<Berater>:<Mandant>`), for connectors without an explicit `system`. The first one
-- seen is the connector's system; `kontor check` warns when a connector's files name several.
CREATE TABLE source_systems (
    connector     TEXT    NOT NULL,
    system        TEXT    NOT NULL,
    label         TEXT    NOT NULL,
    first_seen    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (connector, system)
);
