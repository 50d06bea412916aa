-- The customers whose directory entries (names, addresses, phones, keys) changed, per
-- identity generation (issue 17, target 3): an API node whose directory is at generation g
-- reads only the customers of the generations after g, not every customer. What a list
-- cannot name (a renamed connector, an erasure, very many customers at once) raises
-- `directory_floor`, the oldest generation a node may read changes from; a node below it
-- loads everything (see src/store/identity/directory.rs).
CREATE TABLE directory_changes (
    generation  INTEGER NOT NULL,
    customer_id INTEGER NOT NULL,
    PRIMARY KEY (generation, customer_id)
) WITHOUT ROWID;

ALTER TABLE identity_state ADD COLUMN directory_floor INTEGER NOT NULL DEFAULT 0;
-- Nothing was listed before: a directory older than now loads everything.
UPDATE identity_state SET directory_floor = generation;
