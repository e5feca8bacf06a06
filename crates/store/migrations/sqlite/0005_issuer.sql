-- The issuer service: agencies and their keys, the agency API's clients, credential offers and
-- the tokens and nonces of OpenID4VCI, issued credentials with their status-list slots, deferred
-- issuances. Keep in step with ../postgres/.

CREATE TABLE agencies (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    credential_types TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

-- A key signs from activates_at until a newer key activates; it stays published until
-- publish_until (set when a newer key is added: the last credential it signs expires by then).
CREATE TABLE agency_keys (
    kid TEXT PRIMARY KEY,
    agency_id TEXT NOT NULL REFERENCES agencies (id),
    sealed_private_key BLOB NOT NULL,
    public_jwk TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    activates_at INTEGER NOT NULL,
    publish_until INTEGER
);
CREATE INDEX agency_keys_by_agency ON agency_keys (agency_id);

CREATE TABLE agency_clients (
    id TEXT PRIMARY KEY,
    agency_id TEXT NOT NULL REFERENCES agencies (id),
    secret_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE agency_tokens (
    token_hash TEXT PRIMARY KEY,
    client_id TEXT NOT NULL REFERENCES agency_clients (id),
    agency_id TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);

CREATE TABLE credential_offers (
    id TEXT PRIMARY KEY,
    agency_id TEXT NOT NULL REFERENCES agencies (id),
    run INTEGER NOT NULL,
    configuration_ids TEXT NOT NULL,
    claims TEXT NOT NULL,
    pre_authorized_code_hash TEXT UNIQUE,
    tx_code_hash TEXT,
    tx_failures INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    redeemed_at INTEGER,
    dead_at INTEGER
);

-- Access tokens of the pre-authorized code flow (the authorization code flow's tokens are the
-- identity provider's).
CREATE TABLE issuance_tokens (
    token_hash TEXT PRIMARY KEY,
    agency_id TEXT NOT NULL,
    run INTEGER NOT NULL,
    offer_id TEXT NOT NULL REFERENCES credential_offers (id),
    configuration_ids TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);

CREATE TABLE issuance_nonces (
    nonce_hash TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
);

CREATE TABLE status_lists (
    id TEXT PRIMARY KEY,
    agency_id TEXT NOT NULL REFERENCES agencies (id),
    number INTEGER NOT NULL,
    size INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    full_at INTEGER,
    UNIQUE (agency_id, number)
);

-- One row per credential handed out. (list_id, idx) is unique: a slot is never used twice,
-- whatever the concurrency, and a row exists for every credential a wallet received.
CREATE TABLE issued_credentials (
    id TEXT PRIMARY KEY,
    agency_id TEXT NOT NULL REFERENCES agencies (id),
    list_id TEXT NOT NULL REFERENCES status_lists (id),
    idx INTEGER NOT NULL,
    run INTEGER NOT NULL,
    configuration_id TEXT NOT NULL,
    format TEXT NOT NULL,
    kid TEXT NOT NULL,
    holder_thumbprint TEXT,
    offer_id TEXT,
    notification_id TEXT,
    issued_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    status TEXT NOT NULL,
    status_reason TEXT,
    status_changed_at INTEGER,
    suspended_by_registry INTEGER NOT NULL,
    wallet_event TEXT,
    UNIQUE (list_id, idx)
);
CREATE INDEX issued_credentials_by_run ON issued_credentials (run);
CREATE INDEX issued_credentials_by_agency ON issued_credentials (agency_id, issued_at);
CREATE INDEX issued_credentials_by_status ON issued_credentials (list_id, status);
CREATE INDEX issued_credentials_by_notification ON issued_credentials (notification_id);
CREATE INDEX issued_credentials_registry_suspended ON issued_credentials (suspended_by_registry);

CREATE TABLE deferred_issuances (
    transaction_hash TEXT PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    agency_id TEXT NOT NULL REFERENCES agencies (id),
    run INTEGER NOT NULL,
    offer_id TEXT NOT NULL,
    configuration_id TEXT NOT NULL,
    holder_keys TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    approved_at INTEGER,
    collected_at INTEGER
);
