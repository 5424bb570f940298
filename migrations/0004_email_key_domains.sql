-- The registrable domain of each member email key, so "which members use this company's domain" is an index lookup
-- instead of a LIKE scan over every key.
ALTER TABLE member_email_keys ADD COLUMN domain TEXT;
CREATE INDEX member_email_keys_domain ON member_email_keys (domain) WHERE domain IS NOT NULL;
