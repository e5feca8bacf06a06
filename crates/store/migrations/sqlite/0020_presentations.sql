-- The presentation service (OpenID4VP): relying parties with their signing keys and certificates,
-- their API clients and tokens, the certificate authority that issues their certificates, and the
-- transactions in flight (deleted once their result is read or they expire). Keep in step with
-- ../postgres/.

CREATE TABLE relying_parties (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    dns_name TEXT,
    -- JSON: what it may ask for, its presets and redirect URIs (the service's shape).
    registration TEXT NOT NULL,
    sealed_private_key BLOB NOT NULL,
    certificate BLOB NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE relying_party_clients (
    id TEXT PRIMARY KEY,
    party_id TEXT NOT NULL REFERENCES relying_parties (id),
    secret_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE relying_party_tokens (
    token_hash TEXT PRIMARY KEY,
    client_id TEXT NOT NULL REFERENCES relying_party_clients (id),
    party_id TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX relying_party_tokens_by_expiry ON relying_party_tokens (expires_at);

-- One row: the root that signs relying-party certificates, created by the first instance.
CREATE TABLE presentation_authority (
    id TEXT PRIMARY KEY,
    sealed_private_key BLOB NOT NULL,
    certificate BLOB NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE presentation_transactions (
    id TEXT PRIMARY KEY,
    party_id TEXT NOT NULL REFERENCES relying_parties (id),
    -- JSON: the query, nonce, state, response mode, client id (never a claim of the citizen).
    request TEXT NOT NULL,
    sealed_response_key BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    responded_at INTEGER,
    response_code_hash TEXT,
    -- JSON: the verified answer, until the relying party reads it.
    result TEXT
);
CREATE INDEX presentation_transactions_by_expiry ON presentation_transactions (expires_at);
