-- name: CreateBucket :one
INSERT INTO buckets (namespace_id, name, region, role, created_at)
VALUES (@namespace_id, @name, @region, @role, @now)
RETURNING *;

-- name: UpsertBucket :one
INSERT INTO buckets (namespace_id, name, region, role, created_at)
VALUES (@namespace_id, @name, @region, @role, @now)
ON CONFLICT (namespace_id, role) DO UPDATE SET name = excluded.name, region = excluded.region
RETURNING *;

-- name: GetBucketForRole :one
-- @readonly
SELECT * FROM buckets WHERE namespace_id = @namespace_id AND role = @role;

-- name: ListBuckets :many
-- @readonly
SELECT * FROM buckets
WHERE namespace_id = @namespace_id
ORDER BY name, region, id
LIMIT CAST(@page_limit AS BIGINT) OFFSET CAST(@page_offset AS BIGINT);

-- name: CountBuckets :one
-- @readonly
SELECT CAST(COUNT(*) AS BIGINT) FROM buckets WHERE namespace_id = @namespace_id;

-- name: DeleteBucket :execrows
DELETE FROM buckets WHERE id = @id AND namespace_id = @namespace_id;

-- name: ListAllBuckets :many
-- Every namespace's buckets, to find the lifecycles no blob store serves.
-- @readonly
SELECT n.name AS namespace, b.name, b.role FROM buckets b
JOIN namespaces n ON n.id = b.namespace_id
ORDER BY n.name, b.role, b.id;
