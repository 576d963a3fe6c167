-- name: CreateNamespace :one
INSERT INTO namespaces (name, description, created_at, updated_at)
VALUES (@name, @description, @now, @now)
RETURNING *;

-- name: GetNamespace :one
-- @readonly
SELECT * FROM namespaces WHERE id = @id;

-- name: GetNamespaceByName :one
-- @readonly
SELECT * FROM namespaces WHERE name = @name;

-- name: ListNamespaces :many
-- @readonly
SELECT * FROM namespaces
ORDER BY name, id
LIMIT CAST(@page_limit AS BIGINT) OFFSET CAST(@page_offset AS BIGINT);

-- name: CountNamespaces :one
-- @readonly
SELECT CAST(COUNT(*) AS BIGINT) FROM namespaces;

-- name: UpdateNamespace :one
UPDATE namespaces
SET name = @name, description = @description, updated_at = @now
WHERE id = @id
RETURNING *;

-- name: UpsertNamespace :one
INSERT INTO namespaces (name, description, created_at, updated_at)
VALUES (@name, @description, @now, @now)
ON CONFLICT (name) DO UPDATE SET description = excluded.description
RETURNING *;

-- name: DeleteNamespace :execrows
DELETE FROM namespaces WHERE id = @id;

-- name: CountNamespaceModels :one
-- @readonly
SELECT CAST(COUNT(*) AS BIGINT) FROM models WHERE namespace_id = @namespace_id;
