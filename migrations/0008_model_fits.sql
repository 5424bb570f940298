-- Data-driven models (markov, shapley) in the Worker are fitted on the organisation's closed deals. Each computed deal
-- keeps its journey: the channels of its counted touches in time order, as a JSON array. A fit groups the journeys of
-- closed deals computed under the active rules.
ALTER TABLE deal_influence ADD COLUMN journey TEXT;
-- "Has any deal been computed since the last fit?" without reading the table.
CREATE INDEX deal_influence_computed ON deal_influence (crm, computed_at);
-- A refit groups the closed deals' journeys from this index alone (the table's rows carry each deal's evidence); open
-- deals, which the fit never reads, are not in it.
CREATE INDEX deal_influence_journeys ON deal_influence (crm, rules_version, journey, is_won, amount) WHERE is_closed = 1;

-- The fit the attribute stage uses, one per CRM that owns deals: fitted weights per model as JSON
-- ({"markov": {channel: removal effect}, "shapley": {channel: value}}), the rules version it was fitted under, the
-- closed deals it saw, and the newest deal_influence.computed_at at that time (a newer one means refit).
CREATE TABLE model_fits (
  crm           TEXT PRIMARY KEY,
  rules_version TEXT NOT NULL,
  fitted        TEXT NOT NULL,
  journeys      INTEGER NOT NULL,
  watermark     TEXT,
  shift         REAL,
  fitted_at     TEXT NOT NULL
) WITHOUT ROWID;
