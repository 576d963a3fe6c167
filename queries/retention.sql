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
SELECT e.id, e.name, e.created_at, v.version, m.name AS model, n.name AS namespace
FROM experiments e
JOIN model_versions v ON v.id = e.version_id
JOIN models m ON m.id = v.model_id
JOIN namespaces n ON n.id = m.namespace_id
WHERE v.state = @state AND e.created_at < @before AND e.id > @after_id
ORDER BY e.id
LIMIT CAST(@page_limit AS BIGINT);

-- name: ListVersionBlobIDs :many
-- The blobs a version's artifacts and its experiments' artifacts use.
-- @readonly
SELECT va.blob_id FROM version_artifacts va WHERE va.version_id = @version_id
UNION
SELECT ea.blob_id FROM experiment_artifacts ea
JOIN experiments e ON e.id = ea.experiment_id
WHERE e.version_id = @version_id;

-- name: ListExperimentBlobIDs :many
-- @readonly
SELECT blob_id FROM experiment_artifacts WHERE experiment_id = @experiment_id;
