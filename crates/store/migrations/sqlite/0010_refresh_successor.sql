-- A spent refresh token remembers the pair its rotation issued (hashes, like every token
-- here), so that a retry of it within the grace window (crates/store/src/refresh_grace.rs)
-- can retire that pair, if its refresh token was never used, and issue a fresh one instead of
-- revoking the family. Written by the rotation's own UPDATE: no extra statement per rotation.
ALTER TABLE refresh_tokens ADD COLUMN successor_hash TEXT;
ALTER TABLE refresh_tokens ADD COLUMN successor_access_hash TEXT;
