-- refbin's first schema: class-table inheritance for the items people store.
-- One `refs` row per item and one row in exactly one subtype table (urls, texts, images, files),
-- sharing its primary key. The subtype carries `kind` with a CHECK and references
-- refs (content_id, kind): a subtype row of the wrong kind, or a second subtype row, is refused.
-- A deferred constraint trigger refuses a refs row that ends its transaction without a subtype.

CREATE TYPE ref_kind AS ENUM ('url', 'text', 'image', 'file');
CREATE TYPE visibility AS ENUM ('public', 'unlisted', 'private');

-- One row: the server secret that keys content ids, made on first start.
CREATE TABLE instance (
    singleton BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton),
    secret BYTEA NOT NULL CHECK (length(secret) >= 32),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE owners (
    owner_id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    discord_user_id BIGINT UNIQUE,
    name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    reminders BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE api_tokens (
    token_id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    owner_id BIGINT NOT NULL REFERENCES owners (owner_id) ON DELETE CASCADE,
    name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    token_hash BYTEA NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    revoked_at TIMESTAMPTZ
);

-- Content-addressed bytes. Many items may share one blob; the sweep removes blobs no item uses,
-- and only those untouched for a while, so an upload in flight never loses its blob.
CREATE TABLE blobs (
    sha256 TEXT PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    size BIGINT NOT NULL CHECK (size >= 0),
    media_type TEXT NOT NULL,
    touched_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE refs (
    content_id TEXT PRIMARY KEY CHECK (content_id ~ '^[A-Za-z0-9_-]{1,64}$'),
    kind ref_kind NOT NULL,
    digest BYTEA NOT NULL CHECK (length(digest) = 32),
    owner_id BIGINT REFERENCES owners (owner_id) ON DELETE SET NULL,
    guild_id BIGINT,
    visibility visibility NOT NULL DEFAULT 'public',
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at TIMESTAMPTZ,
    max_views INTEGER CHECK (max_views > 0),
    views BIGINT NOT NULL DEFAULT 0 CHECK (views >= 0),
    delete_token_hash BYTEA CHECK (length(delete_token_hash) = 32),
    password_hash TEXT,
    UNIQUE (content_id, kind),
    CHECK (expires_at IS NULL OR expires_at > created_at)
);

-- The owner's listing, newest first, with keyset pagination on (created_at, content_id).
CREATE INDEX refs_owner_listing ON refs (owner_id, created_at DESC, content_id DESC)
    WHERE owner_id IS NOT NULL;
-- The expiry sweep.
CREATE INDEX refs_expiry ON refs (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE urls (
    content_id TEXT PRIMARY KEY,
    kind ref_kind NOT NULL DEFAULT 'url' CHECK (kind = 'url'),
    target TEXT NOT NULL CHECK (length(target) BETWEEN 1 AND 2048),
    FOREIGN KEY (content_id, kind) REFERENCES refs (content_id, kind) ON DELETE CASCADE
);

CREATE TABLE texts (
    content_id TEXT PRIMARY KEY,
    kind ref_kind NOT NULL DEFAULT 'text' CHECK (kind = 'text'),
    sha256 TEXT NOT NULL REFERENCES blobs (sha256),
    language TEXT NOT NULL,
    line_count INTEGER NOT NULL CHECK (line_count >= 0),
    filename TEXT,
    FOREIGN KEY (content_id, kind) REFERENCES refs (content_id, kind) ON DELETE CASCADE
);

CREATE TABLE images (
    content_id TEXT PRIMARY KEY,
    kind ref_kind NOT NULL DEFAULT 'image' CHECK (kind = 'image'),
    sha256 TEXT NOT NULL REFERENCES blobs (sha256),
    width INTEGER NOT NULL CHECK (width > 0),
    height INTEGER NOT NULL CHECK (height > 0),
    thumb_sha256 TEXT NOT NULL REFERENCES blobs (sha256),
    filename TEXT,
    FOREIGN KEY (content_id, kind) REFERENCES refs (content_id, kind) ON DELETE CASCADE
);

CREATE TABLE files (
    content_id TEXT PRIMARY KEY,
    kind ref_kind NOT NULL DEFAULT 'file' CHECK (kind = 'file'),
    sha256 TEXT NOT NULL REFERENCES blobs (sha256),
    filename TEXT,
    FOREIGN KEY (content_id, kind) REFERENCES refs (content_id, kind) ON DELETE CASCADE
);

-- The blob sweep asks "does any item still use this blob?" of each subtype.
CREATE INDEX texts_sha256 ON texts (sha256);
CREATE INDEX images_sha256 ON images (sha256);
CREATE INDEX images_thumb_sha256 ON images (thumb_sha256);
CREATE INDEX files_sha256 ON files (sha256);

-- Per-day visit counts, by referring host ('' for none).
CREATE TABLE visits (
    content_id TEXT NOT NULL REFERENCES refs (content_id) ON DELETE CASCADE,
    day DATE NOT NULL,
    referrer TEXT NOT NULL DEFAULT '' CHECK (length(referrer) <= 255),
    count BIGINT NOT NULL CHECK (count > 0),
    PRIMARY KEY (content_id, day, referrer)
);

CREATE TABLE guild_settings (
    guild_id BIGINT PRIMARY KEY,
    auto_paste_channels BIGINT[] NOT NULL DEFAULT '{}',
    auto_paste_min_lines INTEGER NOT NULL DEFAULT 30 CHECK (auto_paste_min_lines > 0),
    auto_paste_delete BOOLEAN NOT NULL DEFAULT FALSE,
    default_expiry INTERVAL,
    allowed_kinds ref_kind[] NOT NULL DEFAULT '{url,text,image,file}',
    upload_limit BIGINT CHECK (upload_limit > 0),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Exactly one subtype: a refs row must have its subtype row by the end of its transaction.
CREATE FUNCTION refs_require_subtype() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    found BOOLEAN;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM refs WHERE content_id = NEW.content_id) THEN
        RETURN NULL;  -- deleted again in the same transaction
    END IF;
    found := CASE NEW.kind
        WHEN 'url' THEN EXISTS (SELECT 1 FROM urls WHERE content_id = NEW.content_id)
        WHEN 'text' THEN EXISTS (SELECT 1 FROM texts WHERE content_id = NEW.content_id)
        WHEN 'image' THEN EXISTS (SELECT 1 FROM images WHERE content_id = NEW.content_id)
        WHEN 'file' THEN EXISTS (SELECT 1 FROM files WHERE content_id = NEW.content_id)
    END;
    IF NOT found THEN
        RAISE EXCEPTION 'refs row % of kind % has no subtype row', NEW.content_id, NEW.kind
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END;
$$;

CREATE CONSTRAINT TRIGGER refs_have_subtype
    AFTER INSERT OR UPDATE OF kind ON refs
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION refs_require_subtype();
