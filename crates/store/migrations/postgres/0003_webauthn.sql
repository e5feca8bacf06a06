-- WebAuthn: credentials (serialized webauthn-rs passkeys: public key, counter, backup state),
-- single-use ceremony state bound to the browser that started it, recovery codes (hashed).

ALTER TABLE accounts ADD COLUMN webauthn_user_id TEXT;
CREATE UNIQUE INDEX accounts_by_webauthn_user ON accounts (webauthn_user_id);

CREATE TABLE webauthn_credentials (
    credential_id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    name TEXT NOT NULL,
    passkey TEXT NOT NULL,
    synced BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT,
    flagged_at BIGINT
);
CREATE INDEX webauthn_credentials_by_account ON webauthn_credentials (account_id);

CREATE TABLE webauthn_ceremonies (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    binding TEXT NOT NULL,
    account_id TEXT,
    state TEXT NOT NULL,
    context TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
