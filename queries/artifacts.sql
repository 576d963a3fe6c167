-- name: CreateBlob :one
INSERT INTO blobs (bucket, key, storage_version, size, sha256, created_at)
VALUES (@bucket, @key, @storage_version, @size, @sha256, @now)
RETURNING *;

-- name: GetBlob :one
-- @readonly
SELECT * FROM blobs WHERE id = @id;

-- name: GetBlobByKey :one
-- @readonly
SELECT * FROM blobs WHERE bucket = @bucket AND key = @key;

-- name: ListUnreferencedBlobs :many
-- Blobs no artifact references and created before the grace cut-off.
-- @readonly
SELECT * FROM blobs b
WHERE b.created_at < @created_before
  AND NOT EXISTS (SELECT 1 FROM version_artifacts va WHERE va.blob_id = b.id)
  AND NOT EXISTS (SELECT 1 FROM experiment_artifacts ea WHERE ea.blob_id = b.id)
ORDER BY b.id
LIMIT CAST(@page_limit AS BIGINT);

-- name: DeleteBlob :execrows
-- Deletes the row only while nothing references it (a racing insert wins).
DELETE FROM blobs
WHERE blobs.id = @id
  AND NOT EXISTS (SELECT 1 FROM version_artifacts va WHERE va.blob_id = blobs.id)
  AND NOT EXISTS (SELECT 1 FROM experiment_artifacts ea WHERE ea.blob_id = blobs.id);

-- name: CreateVersionArtifact :one
INSERT INTO version_artifacts (version_id, name, file_name, blob_id, content_type, format, encoding, extra, created_at)
VALUES (@version_id, @name, @file_name, @blob_id, @content_type, sqlc.narg(format), @encoding, sqlc.narg(extra), @now)
RETURNING *;

-- name: GetVersionArtifact :one
-- @readonly
SELECT * FROM version_artifacts WHERE id = @id;

-- name: GetVersionArtifactByName :one
-- @readonly
SELECT * FROM version_artifacts WHERE version_id = @version_id AND name = @name;

-- name: ListVersionArtifacts :many
-- @readonly
SELECT * FROM version_artifacts
WHERE version_id = @version_id
ORDER BY name, id
LIMIT CAST(@page_limit AS BIGINT) OFFSET CAST(@page_offset AS BIGINT);

-- name: CountVersionArtifacts :one
-- @readonly
SELECT CAST(COUNT(*) AS BIGINT) FROM version_artifacts WHERE version_id = @version_id;

-- name: ListVersionArtifactDigests :many
-- The (name, sha256) list a version's content digest is computed over.
-- @readonly
SELECT va.name, b.sha256 FROM version_artifacts va JOIN blobs b ON b.id = va.blob_id
WHERE va.version_id = @version_id
ORDER BY va.name;

-- name: DeleteVersionArtifact :execrows
DELETE FROM version_artifacts WHERE id = @id;

-- name: CreateExperimentArtifact :one
INSERT INTO experiment_artifacts (experiment_id, name, file_name, blob_id, content_type, format, encoding, created_at)
VALUES (@experiment_id, @name, @file_name, @blob_id, @content_type, sqlc.narg(format), @encoding, @now)
RETURNING *;

-- name: GetExperimentArtifact :one
-- @readonly
SELECT * FROM experiment_artifacts WHERE id = @id;

-- name: GetExperimentArtifactByName :one
-- @readonly
SELECT * FROM experiment_artifacts WHERE experiment_id = @experiment_id AND name = @name;

-- name: ListExperimentArtifacts :many
-- @readonly
SELECT * FROM experiment_artifacts
WHERE experiment_id = @experiment_id
ORDER BY name, id
LIMIT CAST(@page_limit AS BIGINT) OFFSET CAST(@page_offset AS BIGINT);

-- name: CountExperimentArtifacts :one
-- @readonly
SELECT CAST(COUNT(*) AS BIGINT) FROM experiment_artifacts WHERE experiment_id = @experiment_id;

-- name: DeleteExperimentArtifact :execrows
DELETE FROM experiment_artifacts WHERE id = @id;

-- name: GetBlobBySha :one
-- A stored blob with this content in this bucket that an artifact still
-- references, for de-duplication (an unreferenced one may be collected).
-- @readonly
SELECT * FROM blobs b WHERE b.bucket = @bucket AND b.sha256 = @sha256
  AND (EXISTS (SELECT 1 FROM version_artifacts va WHERE va.blob_id = b.id)
       OR EXISTS (SELECT 1 FROM experiment_artifacts ea WHERE ea.blob_id = b.id))
ORDER BY b.id LIMIT 1;

-- name: LockUnsealedVersion :one
-- Takes the version's row lock (PostgreSQL) inside an upload transaction and
-- returns the version only while it is live and unsealed, so an artifact can
-- never be added after a concurrent promotion sealed the version.
UPDATE model_versions SET updated_at = @now
WHERE id = @id AND sealed_at IS NULL AND deleted_at IS NULL
RETURNING *;

-- name: GetVersionArtifactWithBlob :one
-- @readonly
SELECT va.*, b.bucket, b.key, b.storage_version, b.size, b.sha256
FROM version_artifacts va JOIN blobs b ON b.id = va.blob_id
WHERE va.version_id = @version_id AND va.name = @name;

-- name: GetVersionArtifactWithBlobByID :one
-- @readonly
SELECT va.*, b.bucket, b.key, b.storage_version, b.size, b.sha256
FROM version_artifacts va JOIN blobs b ON b.id = va.blob_id
WHERE va.id = @id;

-- name: ListVersionArtifactsWithBlob :many
-- @readonly
SELECT va.*, b.bucket, b.key, b.storage_version, b.size, b.sha256
FROM version_artifacts va JOIN blobs b ON b.id = va.blob_id
WHERE va.version_id = @version_id
ORDER BY va.name, va.id
LIMIT CAST(@page_limit AS BIGINT) OFFSET CAST(@page_offset AS BIGINT);

-- name: GetExperimentArtifactWithBlob :one
-- @readonly
SELECT ea.*, b.bucket, b.key, b.storage_version, b.size, b.sha256
FROM experiment_artifacts ea JOIN blobs b ON b.id = ea.blob_id
WHERE ea.experiment_id = @experiment_id AND ea.name = @name;

-- name: GetExperimentArtifactWithBlobByID :one
-- @readonly
SELECT ea.*, b.bucket, b.key, b.storage_version, b.size, b.sha256
FROM experiment_artifacts ea JOIN blobs b ON b.id = ea.blob_id
WHERE ea.id = @id;

-- name: ListExperimentArtifactsWithBlob :many
-- @readonly
SELECT ea.*, b.bucket, b.key, b.storage_version, b.size, b.sha256
FROM experiment_artifacts ea JOIN blobs b ON b.id = ea.blob_id
WHERE ea.experiment_id = @experiment_id
ORDER BY ea.name, ea.id
LIMIT CAST(@page_limit AS BIGINT) OFFSET CAST(@page_offset AS BIGINT);

-- name: ListVersionArtifactBlobs :many
-- Every version artifact with its blob and path names, in id order from
-- after_id, optionally in one namespace: what verify re-reads.
-- @readonly
SELECT va.id, va.name, b.bucket, b.key, b.size, b.sha256, n.name AS namespace, m.name AS model, v.version
FROM version_artifacts va
JOIN blobs b ON b.id = va.blob_id
JOIN model_versions v ON v.id = va.version_id
JOIN models m ON m.id = v.model_id
JOIN namespaces n ON n.id = m.namespace_id
WHERE va.id > @after_id
  AND (CAST(sqlc.narg(namespace) AS TEXT) IS NULL OR n.name = CAST(sqlc.narg(namespace) AS TEXT))
ORDER BY va.id
LIMIT CAST(@page_limit AS BIGINT);

-- name: ListExperimentArtifactBlobs :many
-- @readonly
SELECT ea.id, ea.name, b.bucket, b.key, b.size, b.sha256, n.name AS namespace, m.name AS model, v.version, e.name AS experiment
FROM experiment_artifacts ea
JOIN blobs b ON b.id = ea.blob_id
JOIN experiments e ON e.id = ea.experiment_id
JOIN model_versions v ON v.id = e.version_id
JOIN models m ON m.id = v.model_id
JOIN namespaces n ON n.id = m.namespace_id
WHERE ea.id > @after_id
  AND (CAST(sqlc.narg(namespace) AS TEXT) IS NULL OR n.name = CAST(sqlc.narg(namespace) AS TEXT))
ORDER BY ea.id
LIMIT CAST(@page_limit AS BIGINT);
