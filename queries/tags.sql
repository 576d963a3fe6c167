-- name: CreateTag :one
INSERT INTO tags (namespace_id, tag, color, created_at)
VALUES (@namespace_id, @tag, @color, @now)
RETURNING *;

-- name: GetTagByName :one
-- @readonly
SELECT * FROM tags WHERE namespace_id = @namespace_id AND tag = @tag;

-- name: ListTags :many
-- @readonly
SELECT * FROM tags
WHERE namespace_id = @namespace_id
ORDER BY tag, id
LIMIT CAST(@page_limit AS BIGINT) OFFSET CAST(@page_offset AS BIGINT);

-- name: CountTags :one
-- @readonly
SELECT CAST(COUNT(*) AS BIGINT) FROM tags WHERE namespace_id = @namespace_id;

-- name: DeleteTag :execrows
DELETE FROM tags WHERE id = @id;

-- name: AttachModelTag :execrows
INSERT INTO model_tags (model_id, tag_id) VALUES (@model_id, @tag_id)
ON CONFLICT DO NOTHING;

-- name: DetachModelTag :execrows
DELETE FROM model_tags WHERE model_id = @model_id AND tag_id = @tag_id;

-- name: ListModelTags :many
-- @readonly
SELECT t.* FROM tags t JOIN model_tags mt ON mt.tag_id = t.id
WHERE mt.model_id = @model_id
ORDER BY t.tag, t.id;

-- name: AttachVersionTag :execrows
INSERT INTO version_tags (version_id, tag_id) VALUES (@version_id, @tag_id)
ON CONFLICT DO NOTHING;

-- name: DetachVersionTag :execrows
DELETE FROM version_tags WHERE version_id = @version_id AND tag_id = @tag_id;

-- name: ListVersionTags :many
-- @readonly
SELECT t.* FROM tags t JOIN version_tags vt ON vt.tag_id = t.id
WHERE vt.version_id = @version_id
ORDER BY t.tag, t.id;

-- name: AttachExperimentTag :execrows
INSERT INTO experiment_tags (experiment_id, tag_id) VALUES (@experiment_id, @tag_id)
ON CONFLICT DO NOTHING;

-- name: DetachExperimentTag :execrows
DELETE FROM experiment_tags WHERE experiment_id = @experiment_id AND tag_id = @tag_id;

-- name: ListExperimentTags :many
-- @readonly
SELECT t.* FROM tags t JOIN experiment_tags et ON et.tag_id = t.id
WHERE et.experiment_id = @experiment_id
ORDER BY t.tag, t.id;
