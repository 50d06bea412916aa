-- Front office: contact history, complaints, reminders, audit log, erasure tombstones.

-- Calls, e-mails, visits and notes recorded in kontor (imports from other systems are
-- `activity` records of their connector). `team` says which team handled it — never a person.
CREATE TABLE activities (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id   INTEGER,
    kind          TEXT    NOT NULL,
    direction     TEXT,
    at            TEXT    NOT NULL,
    subject       TEXT,
    text          TEXT,
    team          TEXT,
    phone         TEXT,
    source        TEXT    NOT NULL,
    created_at    TEXT    NOT NULL
);
CREATE INDEX activities_customer ON activities (customer_id, at);
CREATE INDEX activities_at ON activities (at);

CREATE TABLE tickets (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id   INTEGER NOT NULL,
    category      TEXT    NOT NULL,
    title         TEXT    NOT NULL,
    text          TEXT    NOT NULL,
    invoice_ref   TEXT,
    order_ref     TEXT,
    sku           TEXT,
    status        TEXT    NOT NULL,
    deadline      TEXT,
    resolution    TEXT,
    team          TEXT,
    created_at    TEXT    NOT NULL,
    updated_at    TEXT    NOT NULL,
    resolved_at   TEXT,
    -- German-stemmed words of title and text (full-text index below).
    terms         TEXT    NOT NULL
);
CREATE INDEX tickets_customer ON tickets (customer_id, status);
CREATE INDEX tickets_refs ON tickets (sku, order_ref, invoice_ref);
CREATE VIRTUAL TABLE tickets_fts USING fts5(terms, content = '', tokenize = 'unicode61');

CREATE TABLE reminders (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id   INTEGER,
    title         TEXT    NOT NULL,
    due_date      TEXT    NOT NULL,
    assignee      TEXT,
    status        TEXT    NOT NULL,
    snoozed_until TEXT,
    -- manual, or the rule that suggested it (overdue_invoice, delivery_moved, ...).
    source        TEXT    NOT NULL,
    reason        TEXT,
    -- A suggested reminder's identity: never suggested twice.
    rule_key      TEXT UNIQUE,
    created_at    TEXT    NOT NULL,
    done_at       TEXT
);
CREATE INDEX reminders_due ON reminders (status, due_date);
CREATE INDEX reminders_customer ON reminders (customer_id);

-- Who opened which customer (ops only; kept 90 days).
CREATE TABLE audit_log (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    at            TEXT    NOT NULL,
    token_name    TEXT    NOT NULL,
    role          TEXT    NOT NULL,
    action        TEXT    NOT NULL,
    customer_id   INTEGER
);
CREATE INDEX audit_log_at ON audit_log (at);

-- Erased people: hashes of their identifiers, so that a later sync does not bring them back.
CREATE TABLE tombstones (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    kind          TEXT    NOT NULL,
    hash          TEXT    NOT NULL,
    created_at    TEXT    NOT NULL,
    UNIQUE (kind, hash)
);

-- The team a token works for: recorded with the contacts it logs (never a person).
ALTER TABLE api_tokens ADD COLUMN team TEXT;

-- When periodic jobs (reminder suggestions, retention) last ran.
CREATE TABLE jobs (
    name          TEXT PRIMARY KEY,
    last_run      TEXT NOT NULL
);
