-- name: CreateBlob :one
INSERT INTO blobs (store, key, storage_version, size, sha256, created_at)
VALUES (@store, @key, @storage_version, @size, @sha256, @now)
RETURNING *;

-- name: PutBlob :one
-- Records a stored object as a blob of a namespace, or, when the store
-- already records these bytes (same sha256 and size) for the namespace
-- (schema 00007), returns that blob instead: its key is then not the one
-- given, and the object given is not needed. Atomic on both engines, so
-- that racing uploads of the same bytes make one blob. The no-op update
-- locks the row until the transaction ends, so garbage collection cannot
-- remove it before an artifact references it (its delete then fails on
-- the reference).
INSERT INTO blobs (store, namespace_id, key, storage_version, size, sha256, created_at)
VALUES (@store, sqlc.narg(namespace_id), @key, @storage_version, @size, @sha256, @now)
ON CONFLICT (store, namespace_id, sha256, size) DO UPDATE SET store = excluded.store
RETURNING *;

-- name: SetBlobStorageVersion :execrows
-- Records the object version of a blob: verify records the version whose
-- bytes it checked for a blob written before version ids were recorded.
UPDATE blobs SET storage_version = @storage_version WHERE id = @id;

-- name: GetBlob :one
-- @readonly
SELECT * FROM blobs WHERE id = @id;

-- name: GetBlobByKey :one
-- @readonly
SELECT * FROM blobs WHERE store = @store AND key = @key;

-- name: ListUnreferencedBlobs :many
-- Blobs no artifact references and created before the grace cut-off.
-- @readonly
SELECT * FROM blobs b
WHERE b.created_at < @created_before
  AND NOT EXISTS (SELECT 1 FROM artifacts a WHERE a.blob_id = b.id)
ORDER BY b.id
LIMIT CAST(@page_limit AS BIGINT);

-- name: DeleteBlob :execrows
-- Deletes the row only while nothing references it (a racing insert wins).
DELETE FROM blobs
WHERE blobs.id = @id
  AND NOT EXISTS (SELECT 1 FROM artifacts a WHERE a.blob_id = blobs.id);

-- name: NextArtifactNumber :one
-- The next number (API id) of an artifact of this kind ('version' or
-- 'experiment', artifacts.kind), for CreateArtifact in the same
-- transaction: the counter's row stays locked until it ends (PostgreSQL),
-- so two uploads never take one number, and once it commits the number is
-- never handed out again (deleting its artifact does not free it).
UPDATE artifact_counters SET last_number = last_number + 1
WHERE kind = @kind
RETURNING last_number;

-- name: CreateArtifact :one
-- An artifact of a version (experiment_id NULL) or of one of its
-- experiments; only a version's own artifacts carry extra.
INSERT INTO artifacts (version_id, experiment_id, number, name, file_name, blob_id, content_type, format, encoding, extra, created_at)
VALUES (@version_id, sqlc.narg(experiment_id), @number, @name, @file_name, @blob_id, @content_type, sqlc.narg(format), @encoding, sqlc.narg(extra), @now)
RETURNING *;

-- name: CountArtifacts :one
-- An owner's artifacts: experiment_key is the experiment's id, or 0 for the
-- version's own.
-- @readonly
SELECT CAST(COUNT(*) AS BIGINT) FROM artifacts WHERE version_id = @version_id AND experiment_key = @experiment_key;

-- name: ListVersionArtifactDigests :many
-- The (name, sha256) list a version's content digest is computed over: its
-- own artifacts, not its experiments'.
-- @readonly
SELECT a.name, b.sha256 FROM artifacts a JOIN blobs b ON b.id = a.blob_id
WHERE a.version_id = @version_id AND a.experiment_key = 0
ORDER BY a.name;

-- name: GetBlobBySha :one
-- A stored blob with this content in this blob store that an artifact of
-- this namespace still references, for de-duplication (an unreferenced one
-- may be collected). Only within a namespace: a blob shared with another
-- namespace would tell its uploader that the other holds the same bytes.
-- @readonly
SELECT * FROM blobs b WHERE b.store = @store AND b.sha256 = @sha256
  AND EXISTS (SELECT 1 FROM artifacts a
    JOIN model_versions v ON v.id = a.version_id
    JOIN models m ON m.id = v.model_id
    WHERE a.blob_id = b.id AND m.namespace_id = @namespace_id)
ORDER BY b.id LIMIT 1;

-- name: LockUnsealedVersion :one
-- Takes the version's row lock (PostgreSQL) inside an upload transaction and
-- returns the version only while it is live and unsealed, so an artifact can
-- never be added after a concurrent promotion sealed the version.
UPDATE model_versions SET updated_at = @now
WHERE id = @id AND sealed_at IS NULL AND deleted_at IS NULL
RETURNING *;

-- name: GetArtifactWithBlob :one
-- @readonly
SELECT a.*, b.store, b.key, b.storage_version, b.size, b.sha256
FROM artifacts a JOIN blobs b ON b.id = a.blob_id
WHERE a.version_id = @version_id AND a.experiment_key = @experiment_key AND a.name = @name;

-- name: ListArtifactsWithBlob :many
-- @readonly
SELECT a.*, b.store, b.key, b.storage_version, b.size, b.sha256
FROM artifacts a JOIN blobs b ON b.id = a.blob_id
WHERE a.version_id = @version_id AND a.experiment_key = @experiment_key
ORDER BY a.name, a.id
LIMIT CAST(@page_limit AS BIGINT) OFFSET CAST(@page_offset AS BIGINT);

-- name: GetArtifactWithBlobByNumber :one
-- The artifact the original flymodel's endpoints know by this id: each
-- kind is numbered apart.
-- @readonly
SELECT a.*, b.store, b.key, b.storage_version, b.size, b.sha256
FROM artifacts a JOIN blobs b ON b.id = a.blob_id
WHERE a.kind = @kind AND a.number = @number;

-- name: ListArtifactBlobs :many
-- Every artifact with its blob and path names (experiment NULL for a
-- version's own), in id order from after_id, optionally in one namespace:
-- what verify re-reads.
-- @readonly
SELECT a.id, a.name, b.id AS blob_id, b.store, b.key, b.storage_version, b.size, b.sha256, n.name AS namespace, m.name AS model, v.version, e.name AS experiment
FROM artifacts a
JOIN blobs b ON b.id = a.blob_id
JOIN model_versions v ON v.id = a.version_id
JOIN models m ON m.id = v.model_id
JOIN namespaces n ON n.id = m.namespace_id
LEFT JOIN experiments e ON e.id = a.experiment_id
WHERE a.id > @after_id
  AND (CAST(sqlc.narg(namespace) AS TEXT) IS NULL OR n.name = CAST(sqlc.narg(namespace) AS TEXT))
ORDER BY a.id
LIMIT CAST(@page_limit AS BIGINT);

-- name: ListVersionBlobs :many
-- Every artifact of a version (its own and those of its experiments) with its
-- blob: what a state change places in the store of the target lifecycle.
-- @readonly
SELECT a.id, a.name, e.name AS experiment, b.id AS blob_id, b.store, b.key, b.storage_version, b.size, b.sha256
FROM artifacts a
JOIN blobs b ON b.id = a.blob_id
LEFT JOIN experiments e ON e.id = a.experiment_id
WHERE a.version_id = @version_id
ORDER BY a.id;

-- name: SetArtifactBlob :execrows
-- Points an artifact at the copy of its bytes in another store (same
-- size and sha256), when its version changes lifecycle.
UPDATE artifacts SET blob_id = @blob_id WHERE id = @id;
