-- Dead letters can be listed and an activities message sent again (GET /v1/dead-letters, POST …/:id/replay): who
-- replayed a row and when. Both stay NULL while a row is open, so the rows already stored are open.
ALTER TABLE dead_letters ADD COLUMN replayed_at TEXT;
ALTER TABLE dead_letters ADD COLUMN replayed_by TEXT;
-- Operators list the open rows of a queue newest first.
CREATE INDEX dead_letters_open ON dead_letters (queue, id) WHERE replayed_at IS NULL;
