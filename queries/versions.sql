-- name: CreateVersion :one
INSERT INTO model_versions (model_id, version, state, state_changed_at, created_at, updated_at)
VALUES (@model_id, @version, @state, @now, @now, @now)
RETURNING *;

-- name: GetVersion :one
-- @readonly
SELECT * FROM model_versions WHERE id = @id;

-- name: ListVersions :many
-- @readonly
SELECT * FROM model_versions v
WHERE v.model_id = @model_id
  AND v.deleted_at IS NULL
  AND (CAST(sqlc.narg(state) AS TEXT) IS NULL OR CAST(v.state AS TEXT) = CAST(sqlc.narg(state) AS TEXT))
  AND (CAST(sqlc.narg(tag) AS TEXT) IS NULL OR EXISTS (
       SELECT 1 FROM tag_links l JOIN tags t ON t.id = l.tag_id
       WHERE l.version_id = v.id AND t.tag = CAST(sqlc.narg(tag) AS TEXT)))
ORDER BY v.created_at DESC, v.id DESC
LIMIT CAST(@page_limit AS BIGINT) OFFSET CAST(@page_offset AS BIGINT);

-- name: CountVersions :one
-- @readonly
SELECT CAST(COUNT(*) AS BIGINT) FROM model_versions v
WHERE v.model_id = @model_id
  AND v.deleted_at IS NULL
  AND (CAST(sqlc.narg(state) AS TEXT) IS NULL OR CAST(v.state AS TEXT) = CAST(sqlc.narg(state) AS TEXT))
  AND (CAST(sqlc.narg(tag) AS TEXT) IS NULL OR EXISTS (
       SELECT 1 FROM tag_links l JOIN tags t ON t.id = l.tag_id
       WHERE l.version_id = v.id AND t.tag = CAST(sqlc.narg(tag) AS TEXT)));

-- name: SetVersionState :one
-- Moves a version to another lifecycle; sealed_at is kept once set.
UPDATE model_versions
SET state = @state,
    state_changed_at = @now,
    sealed_at = COALESCE(sealed_at, sqlc.narg(sealed_at)),
    updated_at = @now
WHERE id = @id
RETURNING *;

-- name: SetVersionDigest :one
UPDATE model_versions SET digest = @digest, updated_at = @now
WHERE id = @id
RETURNING *;

-- name: SoftDeleteVersion :one
UPDATE model_versions SET updated_at = @now, deleted_at = @now
WHERE id = @id AND deleted_at IS NULL
RETURNING *;

-- name: DeleteVersion :execrows
DELETE FROM model_versions WHERE id = @id;

-- name: CreateStateChange :one
INSERT INTO version_state_changes (version_id, from_state, to_state, actor, changed_at)
VALUES (@version_id, sqlc.narg(from_state), @to_state, @actor, @now)
RETURNING *;

-- name: ListStateChanges :many
-- @readonly
SELECT * FROM version_state_changes
WHERE version_id = @version_id
ORDER BY id;

-- name: GetVersionByPath :one
-- Resolves namespace, model and version names in one lookup (the hot path
-- of every version request); soft-deleted versions are returned too.
-- @readonly
SELECT v.*, m.namespace_id FROM model_versions v
JOIN models m ON m.id = v.model_id
JOIN namespaces n ON n.id = m.namespace_id
WHERE n.name = @namespace AND m.name = @model AND v.version = @version;

-- name: ListVersionsInState :many
-- ListVersions filtered by state only, answered from the partial index
-- model_versions_live_state_idx.
-- @readonly
SELECT * FROM model_versions
WHERE model_id = @model_id AND state = @state AND deleted_at IS NULL
ORDER BY created_at DESC, id DESC
LIMIT CAST(@page_limit AS BIGINT) OFFSET CAST(@page_offset AS BIGINT);

-- name: CountVersionsInState :one
-- @readonly
SELECT CAST(COUNT(*) AS BIGINT) FROM model_versions
WHERE model_id = @model_id AND state = @state AND deleted_at IS NULL;

-- name: LockVersion :one
-- Takes the version's row lock (PostgreSQL; SQLite's writer is serial
-- anyway) and returns the version as it is under the lock, while it is
-- live: a state change reads the state it changes from here, so that two
-- changes of one version are serialized and each records the result of the other
-- result as its from.
UPDATE model_versions SET updated_at = updated_at
WHERE id = @id AND deleted_at IS NULL
RETURNING *;

-- name: SetVersionDescription :one
UPDATE model_versions SET description = @description, updated_at = @now
WHERE id = @id
RETURNING *;
