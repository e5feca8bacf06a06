-- A presentation request awaiting the citizen's consent is tied to the login that opened it:
-- another session of the same citizen (another browser) cannot answer it.
-- Keep in step with ../postgres/.

ALTER TABLE wallet_pending ADD COLUMN session_handle TEXT;
