-- Changing authentication factors needs a fresh confirmation (a WebAuthn assertion, or the
-- login itself when it used WebAuthn or a recovery code); each change spends it.

ALTER TABLE sessions ADD COLUMN confirmed_at BIGINT;
