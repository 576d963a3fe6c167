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

-- name: AttachTag :execrows
-- Links a tag to one target: exactly one of model_id, version_id and
-- experiment_id is set. Attaching twice changes nothing.
INSERT INTO tag_links (tag_id, model_id, version_id, experiment_id)
VALUES (@tag_id, sqlc.narg(model_id), sqlc.narg(version_id), sqlc.narg(experiment_id))
ON CONFLICT DO NOTHING;

-- name: DetachTag :execrows
-- The ids left NULL match nothing, so only the one target set is unlinked.
DELETE FROM tag_links
WHERE tag_id = @tag_id
  AND (model_id = sqlc.narg(model_id) OR version_id = sqlc.narg(version_id) OR experiment_id = sqlc.narg(experiment_id));

-- name: ListLinkedTags :many
-- The tags linked to one target (exactly one id set, as for AttachTag):
-- the target's links from their index, then each tag by its key. CROSS
-- JOIN keeps that order on SQLite (with statistics it would otherwise
-- read every tag of the registry and probe the links of each); PostgreSQL
-- plans it as an inner join.
-- @readonly
SELECT t.* FROM tag_links l CROSS JOIN tags t
WHERE t.id = l.tag_id
  AND (l.model_id = sqlc.narg(model_id) OR l.version_id = sqlc.narg(version_id) OR l.experiment_id = sqlc.narg(experiment_id))
ORDER BY t.tag, t.id;

-- name: ListVersionTagsInRange :many
-- The tags linked to the versions whose ids are from lo to hi, for a page
-- of versions in one query (the caller keeps the page's own): tag links
-- are few, and the range is read from the index of tag_links.version_id.
-- @readonly
SELECT CAST(l.version_id AS BIGINT) AS version_id, t.tag FROM tag_links l JOIN tags t ON t.id = l.tag_id
WHERE l.version_id >= @lo AND l.version_id <= @hi
ORDER BY l.version_id, t.tag, t.id;
