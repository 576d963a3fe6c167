-- name: CreateWebSession :one
INSERT INTO web_sessions (secret_hash, token_id, actor, grants, csrf, created_at, expires_at)
VALUES (@secret_hash, sqlc.narg(token_id), @actor, @grants, @csrf, @now, @expires_at)
RETURNING *;

-- name: GetWebSession :one
-- The session whose cookie secret hashes to secret_hash.
-- @readonly
SELECT * FROM web_sessions WHERE secret_hash = @secret_hash;

-- name: GetTokenByID :many
-- The token with id, as GetTokenByHash reads it: one row per namespace it
-- is limited to, or one row with namespace ''.
-- @readonly
SELECT t.id, t.name, t.secret_hash, t.role, t.all_namespaces, t.expires_at, t.revoked_at,
       CAST(COALESCE(n.name, '') AS TEXT) AS namespace
FROM api_tokens t
LEFT JOIN api_token_namespaces g ON g.token_id = t.id
LEFT JOIN namespaces n ON n.id = g.namespace_id
WHERE t.id = @id;

-- name: DeleteWebSession :one
DELETE FROM web_sessions WHERE secret_hash = @secret_hash RETURNING *;

-- name: DeleteExpiredWebSessions :execrows
DELETE FROM web_sessions WHERE expires_at <= @now;
