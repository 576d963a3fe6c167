-- name: CreateExperiment :one
INSERT INTO experiments (version_id, name, params, created_at, updated_at)
VALUES (@version_id, @name, sqlc.narg(params), @now, @now)
RETURNING *;

-- name: GetExperiment :one
-- @readonly
SELECT * FROM experiments WHERE id = @id;

-- name: GetExperimentByName :one
-- Soft-deleted experiments are returned too: callers decide whether to hide them.
-- @readonly
SELECT * FROM experiments WHERE version_id = @version_id AND name = @name;

-- name: ListExperiments :many
-- @readonly
SELECT * FROM experiments
WHERE version_id = @version_id
  AND deleted_at IS NULL
  AND (CAST(sqlc.narg(state) AS TEXT) IS NULL OR CAST(state AS TEXT) = CAST(sqlc.narg(state) AS TEXT))
ORDER BY created_at, id
LIMIT CAST(@page_limit AS BIGINT) OFFSET CAST(@page_offset AS BIGINT);

-- name: CountExperiments :one
-- @readonly
SELECT CAST(COUNT(*) AS BIGINT) FROM experiments
WHERE version_id = @version_id
  AND deleted_at IS NULL
  AND (CAST(sqlc.narg(state) AS TEXT) IS NULL OR CAST(state AS TEXT) = CAST(sqlc.narg(state) AS TEXT));

-- name: StartExperiment :one
-- created to running, or running again counting a retry.
UPDATE experiments
SET state = 'running',
    retries = CASE WHEN state = 'running' THEN retries + 1 ELSE retries END,
    started_at = COALESCE(started_at, @now),
    updated_at = @now
WHERE id = @id AND state IN ('created', 'running')
RETURNING *;

-- name: FinishExperiment :one
-- Writes the result exactly once: only a running experiment finishes.
UPDATE experiments
SET updated_at = @now,
    state = @state,
    metrics = sqlc.narg(metrics),
    duration_ms = CAST(@duration_ms AS BIGINT),
    finished_at = @now
WHERE id = @id AND state = 'running'
RETURNING *;

-- name: SoftDeleteExperiment :one
UPDATE experiments SET updated_at = @now, deleted_at = @now
WHERE id = @id AND deleted_at IS NULL
RETURNING *;

-- name: DeleteExperiment :execrows
DELETE FROM experiments WHERE id = @id;

-- name: ListVersionExperimentStates :many
-- Every live experiment of a version with its state, for promotion gates.
-- @readonly
SELECT name, state FROM experiments
WHERE version_id = @version_id AND deleted_at IS NULL
ORDER BY name, id;
