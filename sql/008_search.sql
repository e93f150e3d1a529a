-- The search index (bot/db/search.py): one row beside each item, removed with it.
--
-- `words` holds the item's words for full-text search: a paste's text (its first part, see
-- bot/service/search.py's INDEXED_TEXT) under its language's configuration when it is prose
-- (`english`, `german`, ...) and under `simple` as well, so that exact words, prefixes and code
-- identifiers match in every paste; and the item's names under `simple`. `names` holds the id,
-- the file name, the link's target and title and the language, for fragments found by trigrams.
-- `body` is the text indexed, kept for the matching lines shown to the item's owner only.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE search_index (
    content_id TEXT PRIMARY KEY REFERENCES refs (content_id) ON DELETE CASCADE,
    owner_id BIGINT,
    config REGCONFIG NOT NULL DEFAULT 'simple',
    body TEXT,
    words TSVECTOR NOT NULL,
    names TEXT NOT NULL,
    -- Set once `refbin reindex` (or the store) has indexed the paste's text.
    body_indexed BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX search_index_words ON search_index USING GIN (words);
CREATE INDEX search_index_names ON search_index USING GIN (names gin_trgm_ops);
CREATE INDEX search_index_owner ON search_index (owner_id);

-- Existing items: their names now; a paste's text by `refbin reindex`.
INSERT INTO search_index (content_id, owner_id, words, names, body_indexed)
SELECT
    n.content_id,
    n.owner_id,
    to_tsvector('simple', regexp_replace(n.names, '[.:/]+', ' ', 'g')),
    n.names,
    n.kind <> 'text'
FROM (
    SELECT
        r.content_id,
        r.owner_id,
        r.kind,
        concat_ws(E'\n', r.content_id, u.target, t.filename, t.language, i.filename, f.filename)
            AS names
    FROM refs r
    LEFT JOIN urls u ON u.content_id = r.content_id
    LEFT JOIN texts t ON t.content_id = r.content_id
    LEFT JOIN images i ON i.content_id = r.content_id
    LEFT JOIN files f ON f.content_id = r.content_id
) AS n;
