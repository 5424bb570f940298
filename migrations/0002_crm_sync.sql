-- CRM mirror, identity links and decisions, rules versions, influence outputs, write-back state, sync runs, audit log.
-- docs/storage-schema.md documents every table.

-- CRM mirror, keyed by (crm, crm id); never by email.
CREATE TABLE crm_contacts (
  crm                  TEXT NOT NULL,
  crm_id               TEXT NOT NULL,
  kind                 TEXT NOT NULL,            -- contact | lead
  email                TEXT,
  additional_emails    TEXT NOT NULL DEFAULT '[]',
  first_name           TEXT,
  last_name            TEXT,
  title                TEXT,
  company_name         TEXT,
  company_id           TEXT,
  lifecycle_stage      TEXT,
  converted_contact_id TEXT,
  created_at           TEXT NOT NULL,
  updated_at           TEXT NOT NULL,
  PRIMARY KEY (crm, crm_id)
) WITHOUT ROWID;
CREATE INDEX crm_contacts_company ON crm_contacts (crm, company_id);

-- Canonical emails (identity rules applied) of each contact: the candidates for one member come from here.
CREATE TABLE crm_contact_emails (
  crm       TEXT NOT NULL,
  canonical TEXT NOT NULL,
  crm_id    TEXT NOT NULL,
  PRIMARY KEY (crm, canonical, crm_id)
) WITHOUT ROWID;
CREATE INDEX crm_contact_emails_contact ON crm_contact_emails (crm, crm_id);

CREATE TABLE crm_companies (
  crm                TEXT NOT NULL,
  crm_id             TEXT NOT NULL,
  name               TEXT,
  domain             TEXT,
  website            TEXT,
  additional_domains TEXT NOT NULL DEFAULT '[]',
  industry           TEXT,
  employees          INTEGER,
  country            TEXT,
  created_at         TEXT NOT NULL,
  updated_at         TEXT NOT NULL,
  PRIMARY KEY (crm, crm_id)
) WITHOUT ROWID;

-- Registrable domains of each company (domain, website, additional domains).
CREATE TABLE crm_company_domains (
  crm    TEXT NOT NULL,
  domain TEXT NOT NULL,
  crm_id TEXT NOT NULL,
  PRIMARY KEY (crm, domain, crm_id)
) WITHOUT ROWID;
CREATE INDEX crm_company_domains_company ON crm_company_domains (crm, crm_id);

CREATE TABLE crm_deals (
  crm        TEXT NOT NULL,
  crm_id     TEXT NOT NULL,
  name       TEXT,
  amount     REAL,
  currency   TEXT,
  stage      TEXT,
  pipeline   TEXT,
  created_at TEXT NOT NULL,
  close_date TEXT,
  is_closed  INTEGER NOT NULL,
  is_won     INTEGER NOT NULL,
  owner_id   TEXT,
  company_id TEXT,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (crm, crm_id)
) WITHOUT ROWID;
CREATE INDEX crm_deals_company ON crm_deals (crm, company_id);

CREATE TABLE crm_deal_contacts (
  crm        TEXT NOT NULL,
  deal_id    TEXT NOT NULL,
  contact_id TEXT NOT NULL,
  role       TEXT,
  is_primary INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (crm, deal_id, contact_id)
) WITHOUT ROWID;
CREATE INDEX crm_deal_contacts_contact ON crm_deal_contacts (crm, contact_id);

-- Member ↔ CRM contact/company. Rows with decided_by set are a person's decision; automation never changes them.
CREATE TABLE links (
  id          INTEGER PRIMARY KEY,
  member_id   TEXT NOT NULL,
  crm         TEXT NOT NULL,
  target_kind TEXT NOT NULL,                     -- contact | company
  crm_id      TEXT NOT NULL,
  method      TEXT NOT NULL,                     -- email | alias_email | domain | name_company | manual
  status      TEXT NOT NULL,                     -- auto | suggested | confirmed | rejected
  confidence  REAL NOT NULL,
  evidence    TEXT NOT NULL,                     -- JSON array of human-readable reasons
  decided_by  TEXT,
  decided_at  TEXT,
  created_at  TEXT NOT NULL,
  updated_at  TEXT NOT NULL,
  UNIQUE (member_id, crm, target_kind, crm_id)
);
CREATE INDEX links_status ON links (status, confidence);
CREATE INDEX links_target ON links (crm, target_kind, crm_id);

-- Canonical email keys of each resolved member: a changed contact finds the members it may link to.
CREATE TABLE member_email_keys (
  canonical TEXT NOT NULL,
  member_id TEXT NOT NULL,
  PRIMARY KEY (canonical, member_id)
) WITHOUT ROWID;
CREATE INDEX member_email_keys_member ON member_email_keys (member_id);

-- Things automation refused to decide (duplicate CRM emails, identities claimed twice…), for people to review.
CREATE TABLE identity_conflicts (
  member_id  TEXT NOT NULL,
  code       TEXT NOT NULL,
  message    TEXT NOT NULL,
  refs       TEXT NOT NULL,
  created_at TEXT NOT NULL,
  PRIMARY KEY (member_id, code, refs)
) WITHOUT ROWID;

-- Reversible merges: which identities moved from which member, and people's "not the same person" decisions.
CREATE TABLE member_merges (
  id           TEXT PRIMARY KEY,                 -- mrg_<random>
  into_member  TEXT NOT NULL,
  from_member  TEXT NOT NULL,
  identity_ids TEXT NOT NULL,                    -- JSON array of identities.id that moved
  activity_count INTEGER NOT NULL,
  decided_by   TEXT NOT NULL,
  decided_at   TEXT NOT NULL,
  undone_at    TEXT
);
CREATE INDEX member_merges_into ON member_merges (into_member);

CREATE TABLE member_decisions (
  member_a   TEXT NOT NULL,                      -- the smaller id of the pair
  member_b   TEXT NOT NULL,
  decision   TEXT NOT NULL,                      -- same | not_same
  decided_by TEXT NOT NULL,
  decided_at TEXT NOT NULL,
  PRIMARY KEY (member_a, member_b)
) WITHOUT ROWID;

-- Rules and mappings: every version ever proposed, by content hash; one active per kind.
CREATE TABLE rules_versions (
  kind       TEXT NOT NULL,                      -- rules | hubspot | salesforce
  hash       TEXT NOT NULL,
  content    TEXT NOT NULL,
  author     TEXT NOT NULL,
  created_at TEXT NOT NULL,
  PRIMARY KEY (kind, hash)
) WITHOUT ROWID;

CREATE TABLE rules_active (
  kind         TEXT PRIMARY KEY,
  hash         TEXT NOT NULL,
  activated_by TEXT NOT NULL,
  activated_at TEXT NOT NULL
);

-- Influence outputs per deal / contact / company, as last computed. detail holds the full DealInfluence (evidence).
CREATE TABLE deal_influence (
  crm               TEXT NOT NULL,
  deal_id           TEXT NOT NULL,
  rules_version     TEXT NOT NULL,
  influenced        INTEGER NOT NULL,
  sourced           INTEGER NOT NULL,
  assisted          INTEGER NOT NULL,
  score             REAL NOT NULL,
  touch_count       INTEGER NOT NULL,
  first_touch_at    TEXT,
  last_touch_at     TEXT,
  top_channel       TEXT,
  amount            REAL,
  attributed_amount REAL,
  currency          TEXT,
  is_closed         INTEGER NOT NULL,
  is_won            INTEGER NOT NULL,
  deal_created_at   TEXT NOT NULL,
  close_date        TEXT,
  detail            TEXT NOT NULL,
  computed_at       TEXT NOT NULL,
  PRIMARY KEY (crm, deal_id)
) WITHOUT ROWID;
CREATE INDEX deal_influence_created ON deal_influence (deal_created_at);

CREATE TABLE contact_influence (
  crm              TEXT NOT NULL,
  contact_id       TEXT NOT NULL,
  stage            TEXT,
  last_activity_at TEXT,
  activity_recent  INTEGER NOT NULL,
  channels         TEXT NOT NULL,
  computed_at      TEXT NOT NULL,
  PRIMARY KEY (crm, contact_id)
) WITHOUT ROWID;

CREATE TABLE company_influence (
  crm              TEXT NOT NULL,
  company_id       TEXT NOT NULL,
  engaged_members  INTEGER NOT NULL,
  activity_count   INTEGER NOT NULL,
  top_channel      TEXT,
  last_activity_at TEXT,
  computed_at      TEXT NOT NULL,
  PRIMARY KEY (crm, company_id)
) WITHOUT ROWID;

-- The value last written to each CRM field: the diff that keeps write-back to what changed.
CREATE TABLE crm_written (
  crm        TEXT NOT NULL,
  object     TEXT NOT NULL,                      -- deal | contact | company
  crm_id     TEXT NOT NULL,
  field      TEXT NOT NULL,
  value      TEXT,                               -- JSON-encoded value
  run_id     TEXT NOT NULL,
  written_at TEXT NOT NULL,
  PRIMARY KEY (crm, object, crm_id, field)
) WITHOUT ROWID;

-- Work queues of a sync run, drained chunk by chunk.
CREATE TABLE sync_dirty (
  crm  TEXT NOT NULL,
  kind TEXT NOT NULL,                            -- member | contact | company | deal
  ref  TEXT NOT NULL,
  PRIMARY KEY (crm, kind, ref)
) WITHOUT ROWID;

CREATE TABLE sync_writes (
  run_id  TEXT NOT NULL,
  object  TEXT NOT NULL,
  crm_id  TEXT NOT NULL,
  fields  TEXT NOT NULL,                         -- JSON {field: value}
  old     TEXT NOT NULL,                         -- JSON {field: previous value}
  status  TEXT NOT NULL,                         -- pending | written | failed
  error   TEXT,
  PRIMARY KEY (run_id, object, crm_id)
) WITHOUT ROWID;
CREATE INDEX sync_writes_status ON sync_writes (run_id, status);

CREATE TABLE sync_runs (
  id          TEXT PRIMARY KEY,                  -- run_<random>
  crm         TEXT NOT NULL,
  trigger     TEXT NOT NULL,                     -- cron | api | webhook | activity
  dry_run     INTEGER NOT NULL,
  full        INTEGER NOT NULL,
  status      TEXT NOT NULL,                     -- queued | running | done | failed | stopped
  stage       TEXT NOT NULL,                     -- pull | resolve | attribute | write | finish
  checkpoint  TEXT NOT NULL DEFAULT '{}',        -- JSON, stage-specific cursor
  step        INTEGER NOT NULL DEFAULT 0,        -- chunks executed; a message for an older step is stale
  counts      TEXT NOT NULL DEFAULT '{}',        -- JSON counters (pulled, resolved, computed, planned, written, failed, calls…)
  errors      TEXT NOT NULL DEFAULT '[]',        -- JSON, first 200 per-record errors
  reason      TEXT,                              -- why it failed or stopped
  created_at  TEXT NOT NULL,
  started_at  TEXT,
  finished_at TEXT,
  updated_at  TEXT NOT NULL
);
CREATE INDEX sync_runs_crm ON sync_runs (crm, created_at);

-- Per CRM: pull cursors, the activity log position already attributed, and the run lease.
CREATE TABLE sync_state (
  crm           TEXT PRIMARY KEY,
  cursors       TEXT NOT NULL DEFAULT '{}',
  activity_seq  INTEGER NOT NULL DEFAULT 0,
  lease_run     TEXT,
  lease_until   TEXT,
  rerun         INTEGER NOT NULL DEFAULT 0,      -- activity arrived during a run: start another when it ends
  tick_until    TEXT                             -- a debounced run is already scheduled until then
);

CREATE TABLE audit_log (
  id        INTEGER PRIMARY KEY,
  at        TEXT NOT NULL,
  actor     TEXT NOT NULL,
  action    TEXT NOT NULL,                       -- crm.write | rules.activate | link.confirm | member.merge | token.create …
  crm       TEXT,
  object    TEXT,
  crm_id    TEXT,
  field     TEXT,
  old_value TEXT,
  new_value TEXT,
  run_id    TEXT,
  detail    TEXT
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_action ON audit_log (action, at);
CREATE INDEX audit_log_record ON audit_log (crm, object, crm_id);
