-- name: CreateToken :one
INSERT INTO api_tokens (name, secret_hash, role, namespaces, created_by, created_at, expires_at)
VALUES (@name, @secret_hash, @role, @namespaces, @created_by, @now, sqlc.narg(expires_at))
RETURNING *;

-- name: GetTokenByHash :one
-- @readonly
SELECT * FROM api_tokens WHERE secret_hash = @secret_hash;

-- name: ListTokens :many
-- Every token, revoked ones too, oldest first.
-- @readonly
SELECT * FROM api_tokens ORDER BY id;

-- name: RevokeToken :one
UPDATE api_tokens SET revoked_at = @now
WHERE name = @name AND revoked_at IS NULL
RETURNING *;

-- name: CountLiveTokens :one
-- Tokens not revoked (expired ones count: they show that tokens are in use).
-- @readonly
SELECT CAST(COUNT(*) AS BIGINT) FROM api_tokens WHERE revoked_at IS NULL;
