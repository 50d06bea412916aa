-- The audit log filtered by customer (ops: who opened this customer) without a scan.
CREATE INDEX audit_log_customer ON audit_log (customer_id, id);
