-- The write stage takes pending writes in (object, crm_id) order, 200 at a time. With an index on (run_id, status)
-- alone, every batch read and sorted all of the run's pending rows: quadratic in the writes of a run (a 100k-deal first
-- sync has 310k). This index serves the filter and the order, so a batch reads its 200 rows.
DROP INDEX sync_writes_status;
CREATE INDEX sync_writes_pending ON sync_writes (run_id, status, object, crm_id);
