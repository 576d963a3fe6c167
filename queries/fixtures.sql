-- name: DeleteNamespaceByName :execrows
DELETE FROM namespaces WHERE name = @name;

-- name: UpsertModel :one
-- Only the id: the migration tests load fixtures into older schemas.
INSERT INTO models (namespace_id, name, created_at, updated_at)
VALUES (@namespace_id, @name, @now, @now)
ON CONFLICT (namespace_id, name) DO UPDATE SET name = excluded.name
RETURNING id;

-- name: InsertVersionIfMissing :execrows
INSERT INTO model_versions (model_id, version, state, state_changed_at, created_at, updated_at)
VALUES (@model_id, @version, @state, @now, @now, @now)
ON CONFLICT (model_id, version) DO NOTHING;

-- name: SeedExperiment :exec
-- A finished experiment in one statement, for seeding large test and
-- benchmark databases (registrytest.Seed).
INSERT INTO experiments (version_id, name, state, metrics, started_at, finished_at, duration_ms, created_at, updated_at)
VALUES (@version_id, @name, @state, sqlc.narg(metrics), @now, @now, CAST(@duration_ms AS BIGINT), @now, @now);
