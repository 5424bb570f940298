-- Member matching (src/members/match.ts): the keys that tie identities of one person together, indexed so the members
-- an identity change concerns are found without a scan; the merge suggestions people review; which members are keyed.
-- Strong keys (a verified email, a GitHub noreply address naming an account) merge members automatically unless a hard
-- blocker or a person's decision says otherwise; weak keys (an unverified email, a handle, a full name) only suggest.
CREATE TABLE member_keys (
  key       TEXT NOT NULL,                       -- email:<canonical> | github:<id> | handle:<lower> | name:<folded> | <source>:<id> …
  member_id TEXT NOT NULL,
  PRIMARY KEY (key, member_id)
) WITHOUT ROWID;
CREATE INDEX member_keys_member ON member_keys (member_id);

-- NULL: the member's identities changed (or it is new, or gained identities by a merge, or was unmerged) since its
-- matches were last applied. keys_gen counts those changes: matching marks a member done only if none came meanwhile.
ALTER TABLE members ADD COLUMN keys_at TEXT;
ALTER TABLE members ADD COLUMN keys_gen INTEGER NOT NULL DEFAULT 0;
CREATE INDEX members_unkeyed ON members (created_at, id) WHERE keys_at IS NULL AND merged_into IS NULL;
-- Decisions and merges are followed from a member to the members merged into it, and decisions looked up from either side.
CREATE INDEX members_merged_into ON members (merged_into) WHERE merged_into IS NOT NULL;
CREATE INDEX member_decisions_b ON member_decisions (member_b);
-- The review queue lists identity conflicts newest first.
CREATE INDEX identity_conflicts_created ON identity_conflicts (created_at);
-- A batch of merges moves each row to the member its own merge names, found by the member it leaves.
CREATE INDEX member_merges_from ON member_merges (from_member);

-- "These two members may be one person": member_a < member_b. `blocked` (JSON reasons) marks a pair that shares a
-- verified identifier but cannot be merged (two accounts on a one-account platform, a bot and a human): a person decides.
CREATE TABLE member_suggestions (
  member_a   TEXT NOT NULL,
  member_b   TEXT NOT NULL,
  score      REAL NOT NULL,
  reasons    TEXT NOT NULL,                      -- JSON array of human-readable reasons
  blocked    TEXT,                               -- JSON array, or NULL
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (member_a, member_b)
) WITHOUT ROWID;
CREATE INDEX member_suggestions_b ON member_suggestions (member_b);
CREATE INDEX member_suggestions_score ON member_suggestions (score DESC, member_a DESC, member_b DESC);

-- One chain of 'match' messages on the sync queue works through pending members at a time (src/members/match.ts):
-- the chain's token holds this lease; a chain whose message was lost lets it lapse, and the next batch starts another.
CREATE TABLE member_match_lease (
  id    INTEGER PRIMARY KEY CHECK (id = 1),
  token TEXT NOT NULL,
  until TEXT NOT NULL
);
