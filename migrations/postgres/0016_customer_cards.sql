-- The materialised customer card (issue 17, target 2): each customer's merged view as last
-- built, so that showing it is one row plus what changes by itself (complaints, reminders,
-- stock, when each source last ran). A card is valid for the business date, the view
-- settings, the systems and the release it was built with (`stamp`) until a change deletes
-- it: a run's end or the identity pass (the customers whose records or keys changed), a
-- change of records outside runs (all). `cards_epoch` counts those changes: a card built
-- from what was read before one is not stored (see src/store/cards.rs).
ALTER TABLE identity_state ADD COLUMN cards_epoch BIGINT NOT NULL DEFAULT 0;

CREATE TABLE customer_cards (
    customer_id  BIGINT PRIMARY KEY,
    stamp        TEXT NOT NULL,
    -- The view without its live parts, as a JSON object.
    body         TEXT NOT NULL,
    -- Its sources (JSON array) and open orders (JSON array, NULL without any).
    sources      TEXT NOT NULL,
    orders       TEXT,
    built_at     TIMESTAMPTZ NOT NULL
);

-- A record that moves to another customer number (an invoice booked to the wrong debtor,
-- corrected) changes the card of the number it leaves too, which the record no longer names:
-- the number it left is noted here for the next pass, which deletes what it has used.
CREATE TABLE card_moves (
    run_id      BIGINT NOT NULL,
    connector   TEXT NOT NULL,
    customer_no TEXT NOT NULL
);
CREATE INDEX card_moves_run ON card_moves (run_id);
CREATE FUNCTION kontor_customer_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO card_moves (run_id, connector, customer_no)
    VALUES (NEW.run_id, OLD.connector, OLD.customer_no);
    RETURN NULL;
END
$$;
CREATE TRIGGER records_customer_moved AFTER UPDATE OF customer_no ON records
    FOR EACH ROW WHEN (OLD.customer_no IS NOT NULL AND OLD.customer_no IS DISTINCT FROM NEW.customer_no)
    EXECUTE FUNCTION kontor_customer_moved();
