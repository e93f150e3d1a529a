-- The owner's listing with filters (bot/db/listing.py), and the dashboard's paste summaries.
--
-- A listing page scans one index from its cursor on, and tests every other filter on the rows it
-- meets (a bounded number of them: see SCAN_LIMIT there). Each filter that can be rare for an
-- owner with many items gets an index in which its rows are contiguous and newest first, so a
-- page of them costs its own rows and not the owner's others. refs_owner_listing (001) serves
-- the listing without filters.
CREATE INDEX refs_owner_kind ON refs (owner_id, kind, created_at DESC, content_id DESC)
    WHERE owner_id IS NOT NULL;
-- Unlisted and private items, usually few beside the public ones.
CREATE INDEX refs_owner_hidden ON refs (owner_id, visibility, created_at DESC, content_id DESC)
    WHERE owner_id IS NOT NULL AND visibility <> 'public';
CREATE INDEX refs_owner_password ON refs (owner_id, created_at DESC, content_id DESC)
    WHERE owner_id IS NOT NULL AND password_hash IS NOT NULL;
CREATE INDEX refs_owner_limited ON refs (owner_id, created_at DESC, content_id DESC)
    WHERE owner_id IS NOT NULL AND max_views IS NOT NULL;
-- "Expiring soon" is listed soonest first: a range of this index.
CREATE INDEX refs_owner_expiry ON refs (owner_id, expires_at, content_id)
    WHERE owner_id IS NOT NULL AND expires_at IS NOT NULL;
-- The operators' listing of every item, newest first. Its predicate (true of every row) is
-- there so that only the statement that says it can use it: planned on this index, an owner's
-- page would walk everyone's items to find theirs.
CREATE INDEX refs_listing ON refs (created_at DESC, content_id DESC)
    WHERE created_at > '-infinity';

-- A paste's first non-blank line (at most 200 characters), stored when it is added, so that a
-- listing never reads blobs. Pastes added before this migration have none (NULL).
ALTER TABLE texts ADD COLUMN first_line TEXT CHECK (length(first_line) <= 200);
