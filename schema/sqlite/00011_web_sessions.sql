-- +goose Up
-- Browser sessions of the web UI. Only a hash of the cookie's secret is
-- kept (sha256, hex, as for API tokens: 256 random bits). A session
-- signed in with an API token names it (token_id): its grants are the
-- token's at each request, so revoking the token ends the session at
-- once (and deleting it deletes the session). A session signed in through
-- OIDC has no token: actor and grants (JSON: [{"namespace","role"}]) are
-- those the ID token gave at sign-in. expires_at is fixed at sign-in.
-- Keep it identical to schema/postgres/00011_web_sessions.sql.
CREATE TABLE web_sessions (
    id          INTEGER PRIMARY KEY,
    secret_hash TEXT NOT NULL,
    token_id    INTEGER REFERENCES api_tokens (id) ON DELETE CASCADE,
    actor       TEXT NOT NULL,
    grants      TEXT NOT NULL DEFAULT '[]',
    csrf        TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    expires_at  TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX web_sessions_secret_hash_key ON web_sessions (secret_hash);
CREATE INDEX web_sessions_expires_at_idx ON web_sessions (expires_at);
CREATE INDEX web_sessions_token_id_idx ON web_sessions (token_id);

-- +goose Down
DROP TABLE web_sessions;
