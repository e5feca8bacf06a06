-- RS256 ID tokens (OpenID Connect Core §15.1) next to ES256, chosen per client, and confidential
-- clients registered explicitly with PKCE optional (the code flows ClaveÚnica's relying parties
-- send today).

-- Each signing key says its algorithm; a rotation retires only the active key of the same one.
ALTER TABLE signing_keys ADD COLUMN alg TEXT NOT NULL DEFAULT 'ES256';

ALTER TABLE clients ADD COLUMN id_token_signed_response_alg TEXT NOT NULL DEFAULT 'ES256';
ALTER TABLE clients ADD COLUMN pkce TEXT NOT NULL DEFAULT 'required';

-- A code issued without PKCE has no challenge. SQLite cannot drop NOT NULL in place, so the
-- table is rebuilt (nothing references it).
CREATE TABLE authorization_codes_0011 (
    code_hash TEXT PRIMARY KEY,
    grant_id TEXT NOT NULL REFERENCES grants (id),
    redirect_uri TEXT NOT NULL,
    code_challenge TEXT,
    nonce TEXT,
    expires_at INTEGER NOT NULL,
    used_at INTEGER
);
INSERT INTO authorization_codes_0011
    SELECT code_hash, grant_id, redirect_uri, code_challenge, nonce, expires_at, used_at
    FROM authorization_codes;
DROP TABLE authorization_codes;
ALTER TABLE authorization_codes_0011 RENAME TO authorization_codes;
