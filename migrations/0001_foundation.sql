-- Foundation: members, identities, activities, webhook deliveries, import jobs, API tokens, dead letters.
-- docs/storage-schema.md documents every table. Timestamps are ISO-8601 UTC text.

CREATE TABLE members (
  id           TEXT PRIMARY KEY,                 -- mem_<random>
  display_name TEXT,
  is_bot       INTEGER NOT NULL DEFAULT 0,
  is_staff     INTEGER NOT NULL DEFAULT 0,
  created_at   TEXT NOT NULL,
  updated_at   TEXT NOT NULL
);

-- One handle on one platform. (source, external_id) is the platform's stable id; handle (e.g. a GitHub login) can change.
CREATE TABLE identities (
  id             INTEGER PRIMARY KEY,
  source         TEXT NOT NULL,
  external_id    TEXT NOT NULL,
  member_id      TEXT NOT NULL REFERENCES members(id),
  handle         TEXT,
  handle_lc      TEXT,
  email          TEXT,                           -- normalised (lower-cased, trimmed) address the source asserts
  email_verified INTEGER NOT NULL DEFAULT 0,
  name           TEXT,
  company        TEXT,
  is_bot         INTEGER NOT NULL DEFAULT 0,
  first_seen_at  TEXT NOT NULL,
  UNIQUE (source, external_id)
);
CREATE INDEX identities_member ON identities (member_id);
CREATE INDEX identities_handle ON identities (source, handle_lc) WHERE handle_lc IS NOT NULL;
CREATE INDEX identities_email ON identities (email) WHERE email IS NOT NULL;

-- The activity log is also the change feed: seq (the rowid) only grows, so sync reads "activities since seq N"
-- instead of ingestion writing dirty markers (which would cost extra rows per activity).
CREATE TABLE activities (
  seq          INTEGER PRIMARY KEY,
  source       TEXT NOT NULL,
  external_id  TEXT NOT NULL,
  type         TEXT NOT NULL,
  occurred_at  TEXT NOT NULL,
  member_id    TEXT NOT NULL REFERENCES members(id),
  identity_id  INTEGER NOT NULL REFERENCES identities(id),
  url          TEXT,
  title        TEXT,
  properties   TEXT,                             -- JSON object or NULL
  origin       TEXT NOT NULL,                    -- webhook:github | api | import:<job id>
  received_at  TEXT NOT NULL,
  UNIQUE (source, external_id)
);
CREATE INDEX activities_member_time ON activities (member_id, occurred_at);

-- Webhook delivery ids already enqueued, so a redelivery is answered without enqueueing again.
CREATE TABLE webhook_deliveries (
  source      TEXT NOT NULL,
  delivery_id TEXT NOT NULL,
  received_at TEXT NOT NULL,
  PRIMARY KEY (source, delivery_id)
) WITHOUT ROWID;

CREATE TABLE import_jobs (
  id            TEXT PRIMARY KEY,                -- imp_<random>
  format        TEXT NOT NULL,                   -- csv | ndjson
  status        TEXT NOT NULL,                   -- receiving | processing | done | failed
  filename      TEXT,
  mapping       TEXT,                            -- JSON: CSV column mapping given with the upload
  rows_total    INTEGER NOT NULL DEFAULT 0,
  accepted      INTEGER NOT NULL DEFAULT 0,      -- new activities stored
  duplicate     INTEGER NOT NULL DEFAULT 0,      -- rows whose activity already existed
  rejected      INTEGER NOT NULL DEFAULT 0,
  errors        TEXT NOT NULL DEFAULT '[]',      -- JSON: first 1000 rejected rows {row, path, message}
  chunks_total  INTEGER,                         -- set when the upload has been read to the end
  chunks_done   INTEGER NOT NULL DEFAULT 0,
  failure       TEXT,
  created_by    TEXT,
  created_at    TEXT NOT NULL,
  updated_at    TEXT NOT NULL
);

-- Which queue chunks of an import were applied, so a redelivered chunk never counts twice.
CREATE TABLE import_chunks (
  job_id TEXT NOT NULL,
  chunk  INTEGER NOT NULL,
  PRIMARY KEY (job_id, chunk)
) WITHOUT ROWID;

CREATE TABLE api_tokens (
  id           TEXT PRIMARY KEY,                 -- tok_<random>
  name         TEXT NOT NULL,
  token_hash   TEXT NOT NULL UNIQUE,             -- SHA-256 hex of the secret; the secret itself is never stored
  scopes       TEXT NOT NULL,                    -- space-separated: ingest read configure admin
  created_at   TEXT NOT NULL,
  last_used_at TEXT,
  revoked_at   TEXT
);

CREATE TABLE dead_letters (
  id          INTEGER PRIMARY KEY,
  queue       TEXT NOT NULL,
  reason      TEXT NOT NULL,
  body        TEXT NOT NULL,
  received_at TEXT NOT NULL
);
