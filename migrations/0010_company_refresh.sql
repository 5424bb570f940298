-- A company's figures count every touch up to now, so they change with no new activity only when a touch dated in the
-- future when it arrived (clock skew, a date typed wrong) comes due: refresh_at says when (NULL: never). Contacts and
-- deals have had the column since 0009; theirs now also covers such touches.
ALTER TABLE company_influence ADD COLUMN refresh_at TEXT;
CREATE INDEX company_influence_refresh ON company_influence (crm, refresh_at) WHERE refresh_at IS NOT NULL;

-- Results stored before this migration do not know of such touches. The members with an activity dated after it was
-- received are marked for the next run of each CRM, which computes their contacts, companies and deals again (and so
-- works out each one's refresh time).
INSERT INTO sync_dirty (crm, kind, ref)
SELECT DISTINCT s.crm, 'member', a.member_id FROM activities a CROSS JOIN sync_state s
 WHERE a.member_id IS NOT NULL AND julianday(a.occurred_at) > julianday(a.received_at)
ON CONFLICT DO NOTHING;
