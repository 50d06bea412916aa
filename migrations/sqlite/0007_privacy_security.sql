-- Data protection and sign-in (issue 21).

-- Settings of the store itself: `key_salt`, the random salt of personal key parts.
CREATE TABLE store_settings (
    name          TEXT PRIMARY KEY,
    value         TEXT NOT NULL
);

-- Contact persons were keyed by their name; keys now carry a salted hash instead. The old
-- records go, and their connectors read their sources again on the next sync.
DELETE FROM checkpoints WHERE connector IN (SELECT DISTINCT connector FROM records WHERE entity = 'contact_person');
DELETE FROM records WHERE entity = 'contact_person';

-- What an audited access was about besides the customer (a looked-up number, an export).
ALTER TABLE audit_log ADD COLUMN detail TEXT;
