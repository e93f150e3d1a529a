-- Expiry reminders are opt-in (issue 16): only people who asked with /reminders get them. Until
-- now they were on for everyone, and an explicit "on" cannot be told from the default, so
-- everyone starts off.
ALTER TABLE owners ALTER COLUMN reminders SET DEFAULT FALSE;
UPDATE owners SET reminders = FALSE;
-- How an item was made, as far as reminders care: code the bot pasted from chat by itself is
-- never reminded (its author did not ask to keep it).
ALTER TABLE refs ADD COLUMN auto_pasted BOOLEAN NOT NULL DEFAULT FALSE;
