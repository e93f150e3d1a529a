-- Discord: expiry reminders are sent once per item. A reminder is claimed by setting
-- reminded_at in the same statement that selects it (FOR UPDATE SKIP LOCKED), before the DM is
-- sent, so several bot processes, or a restart, never send it twice. Extending the expiry
-- clears it; an item renewed after it was gone (created_at moves) is due again.
ALTER TABLE refs ADD COLUMN reminded_at TIMESTAMPTZ;
