-- +goose Up
-- The search routes (internal/filter, GET /api/v1/versions, /models,
-- /experiments) answer newest first across every model and namespace, a
-- keyset page at a time: these indexes hand the rows over in that order
-- (live rows only, as the searches read them), so a page reads about its
-- own rows instead of sorting every match. The versions index carries the
-- lifecycle, the commonest filter, so that it is checked in the index.
CREATE INDEX model_versions_live_created_idx ON model_versions (created_at DESC, id DESC, state) WHERE deleted_at IS NULL;
CREATE INDEX experiments_live_created_idx ON experiments (created_at DESC, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX models_created_idx ON models (created_at DESC, id DESC);

-- +goose Down
DROP INDEX models_created_idx;
DROP INDEX experiments_live_created_idx;
DROP INDEX model_versions_live_created_idx;
