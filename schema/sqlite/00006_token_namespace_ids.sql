-- +goose Up
-- A token is limited to namespaces by id, not by name: renaming namespace a
-- to b must not hand a to the tokens limited to b, and a namespace deleted
-- and made again under the same name is a new namespace, out of its
-- predecessor's tokens' reach (the grants go with the namespace: ON DELETE
-- CASCADE; SQLite may give a deleted namespace's id to the next one).
-- all_namespaces marks a token for every namespace; a token without it and
-- without rows here reaches none. Keep it identical to
-- schema/postgres/00006_token_namespace_ids.sql.
CREATE TABLE api_token_namespaces (
    token_id     INTEGER NOT NULL REFERENCES api_tokens (id) ON DELETE CASCADE,
    namespace_id INTEGER NOT NULL REFERENCES namespaces (id) ON DELETE CASCADE,
    PRIMARY KEY (token_id, namespace_id)
);
CREATE INDEX api_token_namespaces_namespace_idx ON api_token_namespaces (namespace_id);
ALTER TABLE api_tokens ADD COLUMN all_namespaces BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE api_tokens SET all_namespaces = TRUE WHERE namespaces = '';
-- The names a token was limited to ("/"-joined; names hold no "/")
-- resolved to today's namespaces.
INSERT INTO api_token_namespaces (token_id, namespace_id)
SELECT t.id, n.id FROM api_tokens t JOIN namespaces n ON instr('/' || t.namespaces || '/', '/' || n.name || '/') > 0
WHERE t.namespaces <> '';
-- A name no namespace holds is dropped (kept, it would hand a namespace
-- made under that name later to the token), with a note in the audit log.
INSERT INTO audit_log (at, actor, action, target, namespace, outcome, request_id, detail)
WITH RECURSIVE split (token_id, rest, name) AS (
    SELECT id, namespaces || '/', NULL FROM api_tokens WHERE namespaces <> ''
    UNION ALL
    SELECT token_id, substr(rest, instr(rest, '/') + 1), substr(rest, 1, instr(rest, '/') - 1)
    FROM split WHERE rest <> ''
),
dropped (token_id, name) AS (
    SELECT token_id, name FROM split
    WHERE name IS NOT NULL AND NOT EXISTS (SELECT 1 FROM namespaces n WHERE n.name = split.name)
    ORDER BY token_id, name
)
SELECT strftime('%Y-%m-%d %H:%M:%f', 'now') || '+00:00', 'system', 'token.migrate', '/tokens/' || t.name, '', 'ok', '',
       json_object('dropped_namespaces', json_group_array(d.name))
FROM api_tokens t JOIN dropped d ON d.token_id = t.id
GROUP BY t.id, t.name
ORDER BY t.id;
ALTER TABLE api_tokens DROP COLUMN namespaces;

-- Refusals of one resource to one actor are counted on the first one's
-- record (repeats, last_at) for a while instead of adding a record each.
ALTER TABLE audit_log ADD COLUMN repeats INTEGER NOT NULL DEFAULT 0;
ALTER TABLE audit_log ADD COLUMN last_at TIMESTAMP;
CREATE INDEX audit_log_denied_idx ON audit_log (actor, target, id) WHERE outcome = 'denied';

-- +goose Down
DROP INDEX audit_log_denied_idx;
ALTER TABLE audit_log DROP COLUMN last_at;
ALTER TABLE audit_log DROP COLUMN repeats;

-- The table is made again as version 5 made it (namespaces between role
-- and created_by).
ALTER TABLE api_tokens RENAME TO api_tokens_v6;
DROP INDEX api_tokens_secret_hash_key;
DROP INDEX api_tokens_live_name_key;
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
-- The old schema reads '' as every namespace: a token that reaches none
-- is revoked rather than opened up.
INSERT INTO api_tokens (id, name, secret_hash, role, namespaces, created_by, created_at, expires_at, revoked_at)
SELECT t.id, t.name, t.secret_hash, t.role,
       COALESCE((SELECT group_concat(name, '/') FROM (SELECT n.name AS name FROM api_token_namespaces g
           JOIN namespaces n ON n.id = g.namespace_id WHERE g.token_id = t.id ORDER BY n.name)), ''),
       t.created_by, t.created_at, t.expires_at,
       CASE WHEN t.revoked_at IS NULL AND NOT t.all_namespaces
                 AND NOT EXISTS (SELECT 1 FROM api_token_namespaces g WHERE g.token_id = t.id)
            THEN strftime('%Y-%m-%d %H:%M:%f', 'now') || '+00:00' ELSE t.revoked_at END
FROM api_tokens_v6 t;
DROP TABLE api_token_namespaces;
DROP TABLE api_tokens_v6;
CREATE UNIQUE INDEX api_tokens_secret_hash_key ON api_tokens (secret_hash);
CREATE UNIQUE INDEX api_tokens_live_name_key ON api_tokens (name) WHERE revoked_at IS NULL;
