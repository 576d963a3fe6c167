-- name: CreateModel :one
INSERT INTO models (namespace_id, name, created_at, updated_at)
VALUES (@namespace_id, @name, @now, @now)
RETURNING *;

-- name: GetModel :one
-- @readonly
SELECT * FROM models WHERE id = @id;

-- name: GetModelByName :one
-- @readonly
SELECT * FROM models WHERE namespace_id = @namespace_id AND name = @name;

-- name: ListModels :many
-- name_contains matches as a plain substring, case-insensitively. replace()
-- is used rather than LIKE because it has no wildcards to escape and is the
-- same on both engines; an empty name_contains must be passed as NULL.
-- @readonly
SELECT * FROM models m
WHERE m.namespace_id = @namespace_id
  AND (CAST(sqlc.narg(name_contains) AS TEXT) IS NULL
       OR replace(lower(m.name), lower(CAST(sqlc.narg(name_contains) AS TEXT)), '') <> lower(m.name))
  AND (CAST(sqlc.narg(tag) AS TEXT) IS NULL OR EXISTS (
       SELECT 1 FROM tag_links l JOIN tags t ON t.id = l.tag_id
       WHERE l.model_id = m.id AND t.tag = CAST(sqlc.narg(tag) AS TEXT)))
ORDER BY m.name, m.id
LIMIT CAST(@page_limit AS BIGINT) OFFSET CAST(@page_offset AS BIGINT);

-- name: CountModels :one
-- @readonly
SELECT CAST(COUNT(*) AS BIGINT) FROM models m
WHERE m.namespace_id = @namespace_id
  AND (CAST(sqlc.narg(name_contains) AS TEXT) IS NULL
       OR replace(lower(m.name), lower(CAST(sqlc.narg(name_contains) AS TEXT)), '') <> lower(m.name))
  AND (CAST(sqlc.narg(tag) AS TEXT) IS NULL OR EXISTS (
       SELECT 1 FROM tag_links l JOIN tags t ON t.id = l.tag_id
       WHERE l.model_id = m.id AND t.tag = CAST(sqlc.narg(tag) AS TEXT)));

-- name: RenameModel :one
UPDATE models SET name = @name, updated_at = @now
WHERE id = @id
RETURNING *;

-- name: DeleteModel :execrows
DELETE FROM models WHERE id = @id;

-- name: CountModelVersions :one
-- Counts every version, soft-deleted ones included: they still hold data.
-- @readonly
SELECT CAST(COUNT(*) AS BIGINT) FROM model_versions WHERE model_id = @model_id;

-- name: GetModelByPath :one
-- @readonly
SELECT m.* FROM models m
JOIN namespaces n ON n.id = m.namespace_id
WHERE n.name = @namespace AND m.name = @model;

-- name: SetModelDescription :one
UPDATE models SET description = @description, updated_at = @now
WHERE id = @id
RETURNING *;
