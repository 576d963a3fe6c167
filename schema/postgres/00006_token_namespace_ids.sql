-- +goose Up
-- A token is limited to namespaces by id, not by name: renaming namespace a
-- to b must not hand a to the tokens limited to b, and a namespace deleted
-- and made again under the same name is a new namespace, out of its
-- predecessor's tokens' reach (the grants go with the namespace: ON DELETE
-- CASCADE). all_namespaces marks a token for every namespace; a token
-- without it and without rows here reaches none. Keep it identical to
-- schema/sqlite/00006_token_namespace_ids.sql.
CREATE TABLE api_token_namespaces (
    token_id     BIGINT NOT NULL REFERENCES api_tokens (id) ON DELETE CASCADE,
    namespace_id BIGINT NOT NULL REFERENCES namespaces (id) ON DELETE CASCADE,
    PRIMARY KEY (token_id, namespace_id)
);
CREATE INDEX api_token_namespaces_namespace_idx ON api_token_namespaces (namespace_id);
ALTER TABLE api_tokens ADD COLUMN all_namespaces BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE api_tokens SET all_namespaces = TRUE WHERE namespaces = '';
-- The names a token was limited to ("/"-joined; names hold no "/")
-- resolved to today's namespaces.
INSERT INTO api_token_namespaces (token_id, namespace_id)
SELECT t.id, n.id FROM api_tokens t JOIN namespaces n ON strpos('/' || t.namespaces || '/', '/' || n.name || '/') > 0
WHERE t.namespaces <> '';
-- A name no namespace holds is dropped (kept, it would hand a namespace
-- made under that name later to the token), with a note in the audit log.
INSERT INTO audit_log (at, actor, action, target, namespace, outcome, request_id, detail)
SELECT date_trunc('milliseconds', now()), 'system', 'token.migrate', '/tokens/' || t.name, '', 'ok', '',
       '{"dropped_namespaces":' || array_to_json(array_agg(s.name ORDER BY s.name))::text || '}'
FROM api_tokens t CROSS JOIN LATERAL unnest(string_to_array(t.namespaces, '/')) AS s (name)
WHERE t.namespaces <> '' AND NOT EXISTS (SELECT 1 FROM namespaces n WHERE n.name = s.name)
GROUP BY t.id, t.name
ORDER BY t.id;
ALTER TABLE api_tokens DROP COLUMN namespaces;

-- Refusals of one resource to one actor are counted on the first one's
-- record (repeats, last_at) for a while instead of adding a record each.
ALTER TABLE audit_log ADD COLUMN repeats BIGINT NOT NULL DEFAULT 0;
ALTER TABLE audit_log ADD COLUMN last_at TIMESTAMPTZ;
CREATE INDEX audit_log_denied_idx ON audit_log (actor, target, id) WHERE outcome = 'denied';

-- +goose Down
DROP INDEX audit_log_denied_idx;
ALTER TABLE audit_log DROP COLUMN last_at;
ALTER TABLE audit_log DROP COLUMN repeats;

-- namespaces goes back between role and created_by, so the columns after
-- it are made again (the schema is then as version 5 left it).
ALTER TABLE api_tokens ADD COLUMN namespaces TEXT NOT NULL DEFAULT '';
UPDATE api_tokens t SET namespaces = COALESCE((SELECT string_agg(n.name, '/' ORDER BY n.name)
    FROM api_token_namespaces g JOIN namespaces n ON n.id = g.namespace_id WHERE g.token_id = t.id), '');
-- The old schema reads '' as every namespace: a token that reaches none
-- is revoked rather than opened up.
UPDATE api_tokens SET revoked_at = date_trunc('milliseconds', now())
WHERE NOT all_namespaces AND namespaces = '' AND revoked_at IS NULL;
DROP TABLE api_token_namespaces;
DROP INDEX api_tokens_live_name_key;
ALTER TABLE api_tokens RENAME COLUMN created_by TO old_created_by;
ALTER TABLE api_tokens RENAME COLUMN created_at TO old_created_at;
ALTER TABLE api_tokens RENAME COLUMN expires_at TO old_expires_at;
ALTER TABLE api_tokens RENAME COLUMN revoked_at TO old_revoked_at;
ALTER TABLE api_tokens ADD COLUMN created_by TEXT, ADD COLUMN created_at TIMESTAMPTZ,
    ADD COLUMN expires_at TIMESTAMPTZ, ADD COLUMN revoked_at TIMESTAMPTZ;
UPDATE api_tokens SET created_by = old_created_by, created_at = old_created_at,
    expires_at = old_expires_at, revoked_at = old_revoked_at;
ALTER TABLE api_tokens ALTER COLUMN created_by SET NOT NULL, ALTER COLUMN created_at SET NOT NULL;
ALTER TABLE api_tokens DROP COLUMN old_created_by, DROP COLUMN old_created_at,
    DROP COLUMN old_expires_at, DROP COLUMN old_revoked_at, DROP COLUMN all_namespaces;
CREATE UNIQUE INDEX api_tokens_live_name_key ON api_tokens (name) WHERE revoked_at IS NULL;
