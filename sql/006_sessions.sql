-- Web sessions (sign-in with Discord). The cookie holds 192 random bits; only their sha256 is
-- kept here, so a copy of this table opens nothing. A session lapses at expires_at, which each
-- use pushes back (at most every few minutes, so reading pages does not write each time);
-- signing out deletes the row, and so does deleting the owner.
CREATE TABLE sessions (
    session_id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash BYTEA NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    owner_id BIGINT NOT NULL REFERENCES owners (owner_id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_seen_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at TIMESTAMPTZ NOT NULL,
    -- What the sessions list shows to tell them apart: "Firefox on Linux", "203.0.113.0/24".
    -- Never the whole user agent, never the whole address.
    client TEXT NOT NULL DEFAULT '' CHECK (length(client) <= 100),
    network TEXT NOT NULL DEFAULT '' CHECK (length(network) <= 50),
    CHECK (expires_at > created_at)
);

-- An owner's sessions list, and "sign out everywhere".
CREATE INDEX sessions_owner ON sessions (owner_id, last_seen_at DESC);
-- Removing lapsed sessions.
CREATE INDEX sessions_expiry ON sessions (expires_at);
