-- Full rules previews: a proposed rules file evaluated on every deal in the background, chunk by chunk on the sync
-- queue (POST /v1/rules/previews), where POST /v1/rules/preview answers in one request on the most recent deals.
-- Both sides' rules are kept as they were when the preview started, so an activation meanwhile cannot mix them.
CREATE TABLE rule_previews (
  id               TEXT PRIMARY KEY,
  crm              TEXT NOT NULL,
  author           TEXT NOT NULL,
  active_hash      TEXT NOT NULL,
  active_content   TEXT NOT NULL,
  proposed_hash    TEXT NOT NULL,
  proposed_content TEXT NOT NULL,
  status           TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed')),
  -- 'fit': reading closed deals' journeys under the proposed rules (only when they use markov or shapley);
  -- 'evaluate': computing every deal with both rules.
  phase            TEXT NOT NULL CHECK (phase IN ('fit', 'evaluate')),
  step             INTEGER NOT NULL DEFAULT 0,
  -- Keyset position within the phase: the last crm_deals.crm_id done.
  after_id         TEXT NOT NULL DEFAULT '',
  total            INTEGER NOT NULL,
  evaluated        INTEGER NOT NULL DEFAULT 0,
  -- Time both sides are computed at (fixed for the whole preview).
  as_of            TEXT NOT NULL,
  -- JSON: the fits and the running difference (totals, the deals that change most).
  state            TEXT NOT NULL DEFAULT '{}',
  error            TEXT,
  created_at       TEXT NOT NULL,
  updated_at       TEXT NOT NULL
);
CREATE INDEX rule_previews_created ON rule_previews (created_at);

-- Closed deals' journeys under a preview's proposed rules, merged by path, for fitting markov / shapley.
CREATE TABLE rule_preview_journeys (
  preview_id TEXT NOT NULL,
  journey    TEXT NOT NULL,
  won        INTEGER NOT NULL,
  lost       INTEGER NOT NULL,
  value      REAL NOT NULL,
  PRIMARY KEY (preview_id, journey)
) WITHOUT ROWID;
