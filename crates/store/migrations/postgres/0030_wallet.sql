-- The citizen's wallet: each account's data key (sealed by the master key), the holder keys it
-- seals (one per credential), the credentials held, and the short-lived state of an offer or a
-- presentation request between the page that shows it and the citizen's answer.
-- Every row carries its account: every query is scoped to the signed-in citizen.
-- Keep in step with ../sqlite/.

CREATE TABLE wallet_data_keys (
    account_id TEXT PRIMARY KEY,
    sealed_key BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE wallet_keys (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    public_jwk TEXT NOT NULL,
    sealed_private_key BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX wallet_keys_by_account ON wallet_keys (account_id);

CREATE TABLE wallet_credentials (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    key_id TEXT NOT NULL REFERENCES wallet_keys (id),
    format TEXT NOT NULL,
    credential_issuer TEXT NOT NULL,
    configuration_id TEXT NOT NULL,
    credential TEXT NOT NULL,
    display TEXT NOT NULL,
    status TEXT NOT NULL,
    status_checked_at BIGINT,
    expires_at BIGINT,
    received_at BIGINT NOT NULL
);
CREATE INDEX wallet_credentials_by_account ON wallet_credentials (account_id, received_at);

CREATE TABLE wallet_pending (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX wallet_pending_by_account ON wallet_pending (account_id);
