-- A company's figures count every touch up to now, so they change with no new activity only when a touch dated in the
-- future when it arrived (clock skew, a date typed wrong) comes due: refresh_at says when (NULL: never). Contacts and
-- deals have had the column since 0009; theirs now also covers such touches.
ALTER TABLE company_influence ADD COLUMN refresh_at TEXT;
CREATE INDEX company_influence_refresh ON company_influence (crm, refresh_at) WHERE refresh_at IS NOT NULL;
