-- A sync whose party records changed nothing identity compares does not resolve identities
-- again (issue 17): each source customer keeps a fingerprint of what its customer and
-- supplier records say about who it is (names, VAT IDs, GLNs, e-mail addresses, phones,
-- postcodes — in the order a resolution reads them). A sync compares the
-- fingerprints of the customers it touched; only a difference (or a customer number not
-- seen yet) makes it resolve. NULL: not known (every key before its first resolution with
-- this column, and every key after an erasure) — the next sync resolves.
ALTER TABLE customer_keys ADD COLUMN attrs BIGINT;
