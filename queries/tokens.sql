-- name: CreateToken :one
INSERT INTO api_tokens (name, secret_hash, role, all_namespaces, created_by, created_at, expires_at)
VALUES (@name, @secret_hash, @role, @all_namespaces, @created_by, @now, sqlc.narg(expires_at))
RETURNING *;

-- name: AddTokenNamespace :exec
INSERT INTO api_token_namespaces (token_id, namespace_id) VALUES (@token_id, @namespace_id);

-- name: GetTokenByHash :many
-- The token whose secret hashes to secret_hash: one row per namespace it
-- is limited to, by the namespace's name now, or one row with namespace ''
-- when it is limited to none (or to every one: all_namespaces).
-- @readonly
SELECT t.id, t.name, t.secret_hash, t.role, t.all_namespaces, t.expires_at, t.revoked_at,
       CAST(COALESCE(n.name, '') AS TEXT) AS namespace
FROM api_tokens t
LEFT JOIN api_token_namespaces g ON g.token_id = t.id
LEFT JOIN namespaces n ON n.id = g.namespace_id
WHERE t.secret_hash = @secret_hash;

-- name: ListTokens :many
-- Every token, revoked ones too, oldest first.
-- @readonly
SELECT * FROM api_tokens ORDER BY id;

-- name: ListTokenNamespaces :many
-- The namespaces (by their names now) each token is limited to, or those
-- of one token when token_id is given.
-- @readonly
SELECT g.token_id, n.name FROM api_token_namespaces g JOIN namespaces n ON n.id = g.namespace_id
WHERE CAST(sqlc.narg(token_id) AS BIGINT) IS NULL OR g.token_id = CAST(sqlc.narg(token_id) AS BIGINT)
ORDER BY g.token_id, n.name;

-- name: RevokeToken :one
UPDATE api_tokens SET revoked_at = @now
WHERE name = @name AND revoked_at IS NULL
RETURNING *;

-- name: CountLiveTokens :one
-- Tokens not revoked (expired ones count: they show that tokens are in use).
-- @readonly
SELECT CAST(COUNT(*) AS BIGINT) FROM api_tokens WHERE revoked_at IS NULL;
