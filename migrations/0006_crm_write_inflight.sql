-- CRM writes whose outcome D1 has not recorded: one row per batch, inserted before the batch goes to the CRM and
-- removed in the same transaction that records the CRM's answer. A row still here means the Worker died (or the CRM's
-- answer was lost and could not be settled) in between: before any of those records is sent again, it is read back
-- from the CRM, and records already holding the sent values are recorded as written instead of being re-sent.
-- The table only ever holds the batches in flight and the few left in doubt, so it is read whole per batch.
CREATE TABLE crm_write_inflight (
  id      INTEGER PRIMARY KEY,
  crm     TEXT NOT NULL,
  object  TEXT NOT NULL,                         -- deal | contact | company
  run_id  TEXT NOT NULL,
  ids     TEXT NOT NULL,                         -- JSON array of CRM ids sent in the batch and not yet settled
  since   TEXT NOT NULL
);
CREATE INDEX crm_write_inflight_crm ON crm_write_inflight (crm, object);
