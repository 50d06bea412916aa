-- Quarantine lifecycle: the record a rejected row would have been (resolved automatically when
-- it later loads cleanly), and why / by whom an entry was resolved.
ALTER TABLE quarantine ADD COLUMN entity TEXT;
ALTER TABLE quarantine ADD COLUMN record_key TEXT;
ALTER TABLE quarantine ADD COLUMN resolved_reason TEXT;
ALTER TABLE quarantine ADD COLUMN resolved_by TEXT;
CREATE INDEX quarantine_key ON quarantine (connector, entity, record_key) WHERE status = 'open';
