-- The identity provider's tables. Times are Unix seconds; secrets are stored as SHA-256 hashes
-- (high-entropy tokens) or Argon2id PHC strings (passwords); signing keys are sealed with
-- AES-256-GCM under the master key. Keep in step with ../postgres/.

CREATE TABLE registry_people (
    run INTEGER PRIMARY KEY,
    given_names TEXT NOT NULL,
    paternal_surname TEXT NOT NULL,
    maternal_surname TEXT NOT NULL,
    birth_date TEXT NOT NULL,
    sex TEXT NOT NULL,
    nationality TEXT NOT NULL,
    document_serial TEXT NOT NULL,
    status TEXT NOT NULL,
    registry_updated_at INTEGER NOT NULL,
    imported_at INTEGER NOT NULL
);

CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    run INTEGER NOT NULL UNIQUE REFERENCES registry_people (run),
    password_hash TEXT,
    created_at INTEGER NOT NULL,
    disabled_at INTEGER,
    locked_at INTEGER
);

CREATE TABLE activation_codes (
    run INTEGER PRIMARY KEY REFERENCES registry_people (run),
    code_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);

CREATE TABLE login_failures (
    subject TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    last_failed_at INTEGER NOT NULL
);

CREATE TABLE rate_limits (
    bucket TEXT PRIMARY KEY,
    window_start INTEGER NOT NULL,
    hits INTEGER NOT NULL
);

CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY,
    handle TEXT NOT NULL UNIQUE,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    created_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    auth_time INTEGER NOT NULL,
    acr TEXT NOT NULL,
    amr TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    ended_at INTEGER
);
CREATE INDEX sessions_by_account ON sessions (account_id);

CREATE TABLE clients (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    secret_hash TEXT,
    auth_method TEXT NOT NULL,
    redirect_uris TEXT NOT NULL,
    post_logout_redirect_uris TEXT NOT NULL,
    scopes TEXT NOT NULL,
    min_acr TEXT,
    subject_type TEXT NOT NULL,
    jwks TEXT,
    created_at INTEGER NOT NULL
);

CREATE TABLE authorization_requests (
    id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL REFERENCES clients (id),
    params TEXT NOT NULL,
    pushed INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    consumed_at INTEGER
);

CREATE TABLE grants (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    client_id TEXT NOT NULL REFERENCES clients (id),
    session_handle TEXT NOT NULL,
    scope TEXT NOT NULL,
    auth_time INTEGER NOT NULL,
    acr TEXT NOT NULL,
    amr TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX grants_by_account ON grants (account_id);
CREATE INDEX grants_by_session ON grants (session_handle);

CREATE TABLE authorization_codes (
    code_hash TEXT PRIMARY KEY,
    grant_id TEXT NOT NULL REFERENCES grants (id),
    redirect_uri TEXT NOT NULL,
    code_challenge TEXT NOT NULL,
    nonce TEXT,
    expires_at INTEGER NOT NULL,
    used_at INTEGER
);

CREATE TABLE access_tokens (
    token_hash TEXT PRIMARY KEY,
    grant_id TEXT NOT NULL REFERENCES grants (id),
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX access_tokens_by_grant ON access_tokens (grant_id);

CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    grant_id TEXT NOT NULL REFERENCES grants (id),
    expires_at INTEGER NOT NULL,
    used_at INTEGER
);
CREATE INDEX refresh_tokens_by_grant ON refresh_tokens (grant_id);

CREATE TABLE consents (
    account_id TEXT NOT NULL REFERENCES accounts (id),
    client_id TEXT NOT NULL REFERENCES clients (id),
    scope TEXT NOT NULL,
    granted_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, client_id)
);

CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY,
    sealed_private_key BLOB NOT NULL,
    public_jwk TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    retired_at INTEGER
);

CREATE TABLE used_assertions (
    jti_hash TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
);

CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    kind TEXT NOT NULL,
    account_id TEXT,
    data TEXT NOT NULL
);
