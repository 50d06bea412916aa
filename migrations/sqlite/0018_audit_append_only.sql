-- The audit log is written on every read of a customer (a merged view, a caller-ID lookup)
-- and read rarely (ops and the data-protection officer: who opened this customer). An index
-- on (customer_id, id) put each entry at a random place: on SQLite every batch of entries
-- rewrote ≈ one index page per entry into the WAL (a batch of 2 000 caller-ID lookups ≈ 6 MB),
-- which at 20 000 lookups a second took a third of the server's CPU and gave the card and
-- caller-ID reads their tail (issue 17). The log keeps only the index in the order it is
-- written (`at`, for retention); "who opened customer X" reads it newest first and stops
-- at the limit (3.5 M entries scanned in 0.2 s on SQLite).
DROP INDEX IF EXISTS audit_log_customer;
