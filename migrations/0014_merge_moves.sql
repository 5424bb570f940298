-- A merge moves a person's link decisions and manual affiliations to the survivor; an unmerge must move exactly those
-- back (before, they stayed on the survivor: the other person's confirmed contact credited to the wrong member).
ALTER TABLE member_merges ADD COLUMN moved_links TEXT NOT NULL DEFAULT '[]';        -- JSON array of links.id
ALTER TABLE member_merges ADD COLUMN moved_affiliations TEXT NOT NULL DEFAULT '[]'; -- JSON array of affiliation_overrides.id
