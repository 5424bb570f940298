-- A member merged into another keeps its row (so links to it can be followed) and says where it went.
ALTER TABLE members ADD COLUMN merged_into TEXT;
