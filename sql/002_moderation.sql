-- Moderation: an operator can block an item (it then answers 451 everywhere).
ALTER TABLE refs ADD COLUMN blocked_reason TEXT CHECK (length(blocked_reason) BETWEEN 1 AND 500);
