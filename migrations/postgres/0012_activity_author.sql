-- A contact recorded in kontor may be corrected or deleted by whoever recorded it, for a day.
-- `author` is a salted hash of the caller's name (never shown, never counted: the works
-- council's rule stands); `edited_at` says a contact was corrected.
ALTER TABLE activities ADD COLUMN author TEXT;
ALTER TABLE activities ADD COLUMN edited_at TIMESTAMPTZ;
