-- A person's statement of which company a member worked for over a period (or none: freelancer, between jobs).
-- Manual affiliations beat CRM associations and email-domain history when crediting activity to an account.
CREATE TABLE affiliation_overrides (
  id          INTEGER PRIMARY KEY,
  member_id   TEXT NOT NULL,
  crm         TEXT NOT NULL,
  company_id  TEXT,                              -- NULL = not affiliated during the period
  valid_from  TEXT,                              -- NULL = since always
  valid_to    TEXT,                              -- NULL = still current
  decided_by  TEXT NOT NULL,
  decided_at  TEXT NOT NULL
);
CREATE INDEX affiliation_overrides_member ON affiliation_overrides (member_id, crm);
