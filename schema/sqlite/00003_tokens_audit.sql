-- +goose Up
-- API tokens. Only a hash of the secret is kept (sha256, hex: secrets are
-- 256 random bits, so no slow hash is needed). namespaces lists the
-- namespaces the token is limited to, joined by "/" (which no name holds);
-- '' means every namespace. A revoked token stays for the audit trail; its
-- name can be given to a new token.
CREATE TABLE api_tokens (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('read', 'write', 'admin')),
    namespaces  TEXT NOT NULL DEFAULT '',
    created_by  TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    expires_at  TIMESTAMP,
    revoked_at  TIMESTAMP
);
CREATE UNIQUE INDEX api_tokens_secret_hash_key ON api_tokens (secret_hash);
CREATE UNIQUE INDEX api_tokens_live_name_key ON api_tokens (name) WHERE revoked_at IS NULL;

-- The audit log: one row per mutation, written in the mutation's own
-- transaction (outcome ok), and one per request refused for want of a
-- role (outcome denied), which changed nothing. namespace is the
-- namespace the target lies in ('' for tokens and the namespace list).
CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY,
    at         TIMESTAMP NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    target     TEXT NOT NULL,
    namespace  TEXT NOT NULL DEFAULT '',
    outcome    TEXT NOT NULL CHECK (outcome IN ('ok', 'denied')),
    request_id TEXT NOT NULL DEFAULT '',
    detail     TEXT
);
CREATE INDEX audit_log_at_idx ON audit_log (at, id);
CREATE INDEX audit_log_namespace_idx ON audit_log (namespace, id);

-- +goose Down
DROP TABLE audit_log;
DROP TABLE api_tokens;
