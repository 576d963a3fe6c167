-- Model cards (issue 17): the metadata object of models and versions.
-- The registry validates it; the column holds a JSON object.

-- name: SetModelMetadata :one
UPDATE models SET metadata = @metadata, updated_at = @now
WHERE id = @id
RETURNING *;

-- name: SetVersionMetadata :one
UPDATE model_versions SET metadata = @metadata, updated_at = @now
WHERE id = @id
RETURNING *;
