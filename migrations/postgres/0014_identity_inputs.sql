-- A sync that changed nothing does not resolve identities again (issue 17): the resolution
-- records what it was given besides the records (a fingerprint of the identity settings,
-- the connectors' systems, the cross-reference files and retired connectors); records
-- written or closed by a run it has not scanned, an erasure, a decision or a connector
-- renamed or retired make it run again (`inputs` is then NULL). `inputs_epoch` counts those
-- other changes: a resolution that read the store before one of them does not record its
-- fingerprint.
ALTER TABLE identity_state ADD COLUMN inputs TEXT;
ALTER TABLE identity_state ADD COLUMN inputs_epoch BIGINT NOT NULL DEFAULT 0;

-- Finding records closed by a run the last resolution did not scan, without reading them
-- all (open records have no closing run, so the index stays small).
CREATE INDEX records_closed_run ON records (closed_run_id) WHERE closed_run_id IS NOT NULL;
