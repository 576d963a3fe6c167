-- name: ListExpiredVersions :many
-- Versions that have been in a lifecycle since before a cut-off (soft-
-- deleted ones included), with their path names, for retention.
-- @readonly
SELECT v.id, v.version, v.state_changed_at, m.name AS model, n.name AS namespace
FROM model_versions v
JOIN models m ON m.id = v.model_id
JOIN namespaces n ON n.id = m.namespace_id
WHERE v.state = @state AND v.state_changed_at < @before AND v.id > @after_id
ORDER BY v.id
LIMIT CAST(@page_limit AS BIGINT);

-- name: ListExpiredExperiments :many
-- Experiments created before a cut-off on versions in a lifecycle.
-- @readonly
SELECT e.id, e.version_id, e.name, e.created_at, v.version, m.name AS model, n.name AS namespace
FROM experiments e
JOIN model_versions v ON v.id = e.version_id
JOIN models m ON m.id = v.model_id
JOIN namespaces n ON n.id = m.namespace_id
WHERE v.state = @state AND e.created_at < @before AND e.id > @after_id
ORDER BY e.id
LIMIT CAST(@page_limit AS BIGINT);

-- name: ListArtifactBlobIDs :many
-- The blobs the artifacts of a version (its own and its experiments') use,
-- or with experiment_id those of that experiment of the version.
-- @readonly
SELECT DISTINCT a.blob_id FROM artifacts a
WHERE a.version_id = @version_id
  AND (CAST(sqlc.narg(experiment_id) AS BIGINT) IS NULL OR a.experiment_id = CAST(sqlc.narg(experiment_id) AS BIGINT))
ORDER BY a.blob_id;
