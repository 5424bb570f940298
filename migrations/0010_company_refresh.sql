-- A company's figures count every touch up to now, so they change with no new activity only when a touch dated in the
-- future when it arrived (clock skew, a date typed wrong) comes due: refresh_at says when (NULL: never). Contacts and
-- deals have had the column since 0009; theirs now also covers such touches.
ALTER TABLE company_influence ADD COLUMN refresh_at TEXT;
CREATE INDEX company_influence_refresh ON company_influence (crm, refresh_at) WHERE refresh_at IS NOT NULL;
-- Results stored before this migration: due at once, so the next run works out when each really changes. Deal and
-- contact results stored before it do not know about such touches; `POST /v1/sync?full=1` recomputes them.
UPDATE company_influence SET refresh_at = '1970-01-01T00:00:00.000Z' WHERE activity_count > 0;
