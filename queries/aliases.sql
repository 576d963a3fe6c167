-- name: GetAlias :one
-- One alias of a model with the name of the version it points to.
-- @readonly
SELECT a.*, v.version FROM model_aliases a
JOIN model_versions v ON v.id = a.version_id
WHERE a.model_id = @model_id AND a.alias = @alias;

-- name: LockAlias :one
-- Takes the alias's row lock (PostgreSQL; SQLite's writer is serial
-- anyway) and returns it as it is under the lock: a move reads the target
-- it moves from here, so that two moves of one alias are serialized and
-- each records the result of the other as its from.
UPDATE model_aliases SET updated_at = updated_at
WHERE model_id = @model_id AND alias = @alias
RETURNING *;

-- name: CreateAlias :one
INSERT INTO model_aliases (model_id, alias, version_id, created_at, updated_at, updated_by)
VALUES (@model_id, @alias, @version_id, @now, @now, @actor)
RETURNING *;

-- name: MoveAlias :one
UPDATE model_aliases SET version_id = @version_id, updated_at = @now, updated_by = @actor
WHERE id = @id
RETURNING *;

-- name: DeleteAlias :execrows
DELETE FROM model_aliases WHERE id = @id;

-- name: ListAliases :many
-- A model's aliases, by name, with the names of their versions.
-- @readonly
SELECT a.*, v.version FROM model_aliases a
JOIN model_versions v ON v.id = a.version_id
WHERE a.model_id = @model_id
ORDER BY a.alias;

-- name: ListVersionAliases :many
-- The aliases that point to one version, by name.
-- @readonly
SELECT * FROM model_aliases WHERE version_id = @version_id ORDER BY alias;

-- name: ListVersionAliasesInRange :many
-- The aliases of the versions whose ids are from lo to hi, for a page of
-- versions in one query (the caller keeps the page's own), read from the
-- index of model_aliases.version_id.
-- @readonly
SELECT version_id, alias FROM model_aliases
WHERE version_id >= @lo AND version_id <= @hi
ORDER BY version_id, alias;

-- name: ListModelAliasesInRange :many
-- The alias names of the models whose ids are from lo to hi, for a page
-- of models in one query, read from the unique index (model_id, alias).
-- @readonly
SELECT model_id, alias FROM model_aliases
WHERE model_id >= @lo AND model_id <= @hi
ORDER BY model_id, alias;

-- name: CreateAliasChange :one
-- Appends a move of an alias to its history: from NULL, the alias was
-- created; to NULL, it was removed. The version names are kept with the
-- ids so that the entry still reads after the versions are deleted.
INSERT INTO alias_history (model_id, alias, from_version_id, to_version_id, from_version, to_version, actor, changed_at)
VALUES (@model_id, @alias, sqlc.narg(from_version_id), sqlc.narg(to_version_id), sqlc.narg(from_version), sqlc.narg(to_version), @actor, @now)
RETURNING *;

-- name: ListAliasHistory :many
-- The moves of one alias of a model, newest first.
-- @readonly
SELECT * FROM alias_history
WHERE model_id = @model_id AND alias = @alias
ORDER BY id DESC
LIMIT CAST(@page_limit AS BIGINT) OFFSET CAST(@page_offset AS BIGINT);

-- name: CountAliasHistory :one
-- @readonly
SELECT CAST(COUNT(*) AS BIGINT) FROM alias_history
WHERE model_id = @model_id AND alias = @alias;
