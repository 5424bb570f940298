-- Stored results refreshed without their touches.

-- Results that change with time alone: an open deal's score (recency is measured up to now) and a contact's activity
-- in the last N days. Each stored result says when it next changes; the attribute stage refreshes the results that
-- are due (deals re-scored from their stored evidence, contacts recomputed). NULL: never changes without new data.
ALTER TABLE deal_influence ADD COLUMN refresh_at TEXT;
ALTER TABLE contact_influence ADD COLUMN refresh_at TEXT;
CREATE INDEX deal_influence_refresh ON deal_influence (crm, refresh_at) WHERE refresh_at IS NOT NULL;
CREATE INDEX contact_influence_refresh ON contact_influence (crm, refresh_at) WHERE refresh_at IS NOT NULL;
-- Results stored before this migration: due at once, so the next run works out when each really changes.
UPDATE deal_influence SET refresh_at = '1970-01-01T00:00:00.000Z' WHERE touch_count > 0;
UPDATE contact_influence SET refresh_at = '1970-01-01T00:00:00.000Z' WHERE activity_recent > 0;

-- A re-credit after the fit moved walks every stored deal result; how far it got (the last deal id done, '' before
-- the first; NULL when none is under way) is kept with the fit, so a retried step cannot lose it.
ALTER TABLE model_fits ADD COLUMN recredit_after TEXT;
