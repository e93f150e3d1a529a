-- A live API token's name is what `refbin token revoke NAME` names, so two live tokens may not
-- share one (`token create alice` twice made two owners called alice). Tokens made before this
-- rule that share a live name keep working: all but the oldest are renamed `NAME #ID`, which
-- `refbin token list` shows, so each can still be revoked by itself.
UPDATE api_tokens AS t
SET name = left(t.name, 70) || ' #' || t.token_id
WHERE t.revoked_at IS NULL
  AND EXISTS (
      SELECT 1
      FROM api_tokens AS older
      WHERE older.name = t.name
        AND older.revoked_at IS NULL
        AND older.token_id < t.token_id
  );

CREATE UNIQUE INDEX api_tokens_live_name ON api_tokens (name) WHERE revoked_at IS NULL;

-- When a token last opened its owner, to within a minute or so (each process writes it at most
-- once a minute per token); NULL: never used since it was made, or since this column came.
ALTER TABLE api_tokens ADD COLUMN last_used_at TIMESTAMPTZ;
