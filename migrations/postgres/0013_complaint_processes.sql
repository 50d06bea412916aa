-- Service processes of complaints (`[complaints.processes]`): a complaint gets its category's
-- steps copied when it is filed (a later config change leaves it alone), each with its due
-- date and expected cost; the cost recorded on it (credit notes, replacement, travel); and
-- its forwarding from team to team, with a note.
ALTER TABLE tickets ADD COLUMN cost TEXT;          -- a decimal string, e.g. 180.00
ALTER TABLE tickets ADD COLUMN forwarded_to TEXT;  -- the team it was last forwarded to

CREATE TABLE ticket_steps (
    ticket_id     BIGINT  NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    n             BIGINT  NOT NULL,                -- 1, 2, … in the process's order
    step          TEXT    NOT NULL,
    due           DATE    NOT NULL,                -- a business date
    expected_cost TEXT,                            -- a decimal string
    done_at       TIMESTAMPTZ,
    PRIMARY KEY (ticket_id, n)
);

CREATE TABLE ticket_forwards (
    id            BIGSERIAL PRIMARY KEY,
    ticket_id     BIGINT  NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    at            TIMESTAMPTZ NOT NULL,
    from_team     TEXT,
    to_team       TEXT    NOT NULL,
    note          TEXT    NOT NULL
);
CREATE INDEX ticket_forwards_ticket ON ticket_forwards (ticket_id);
CREATE INDEX ticket_forwards_to ON ticket_forwards (to_team);
CREATE INDEX tickets_team ON tickets (team);
