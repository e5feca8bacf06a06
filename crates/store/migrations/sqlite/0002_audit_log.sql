-- The audit trail: a hash chain. Each entry's hash covers the previous entry's hash and the
-- entry's fields (the IP through a salted digest, so truncating an old IP later keeps the chain
-- intact). audit_head serializes appends across instances; checkpoints are signed JWS.

CREATE TABLE audit_log (
    seq BIGINT PRIMARY KEY,
    at BIGINT NOT NULL,
    kind TEXT NOT NULL,
    account_id TEXT,
    client_id TEXT,
    ip TEXT,
    ip_salt TEXT,
    ip_digest TEXT,
    user_agent TEXT,
    detail TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_log_by_account ON audit_log (account_id, seq);
CREATE INDEX audit_log_by_time ON audit_log (at);

CREATE TABLE audit_head (
    id BIGINT PRIMARY KEY,
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, 'genesis');

CREATE TABLE audit_checkpoints (
    seq BIGINT PRIMARY KEY,
    at BIGINT NOT NULL,
    jws TEXT NOT NULL
);
