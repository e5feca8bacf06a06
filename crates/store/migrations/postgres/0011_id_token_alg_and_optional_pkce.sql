-- RS256 ID tokens (OpenID Connect Core §15.1) next to ES256, chosen per client, and confidential
-- clients registered explicitly with PKCE optional (the code flows ClaveÚnica's relying parties
-- send today).

-- Each signing key says its algorithm; a rotation retires only the active key of the same one.
ALTER TABLE signing_keys ADD COLUMN alg TEXT NOT NULL DEFAULT 'ES256';

ALTER TABLE clients ADD COLUMN id_token_signed_response_alg TEXT NOT NULL DEFAULT 'ES256';
ALTER TABLE clients ADD COLUMN pkce TEXT NOT NULL DEFAULT 'required';

-- A code issued without PKCE has no challenge.
ALTER TABLE authorization_codes ALTER COLUMN code_challenge DROP NOT NULL;
