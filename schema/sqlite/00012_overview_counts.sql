-- +goose Up
-- The web UI's counts and lists at 100,000 versions (internal/registry/
-- overview.go, measured by internal/cmd/benchui). The partial indexes of
-- 00002 leave deleted_at out of their columns, so SQLite read the row of
-- every version it counted to check it (a 10,000-version count took
-- 30-45 ms). These carry deleted_at as a key column after the equality
-- columns (IS NULL is a seek) and replace them: counting a model's live
-- versions, or those in one lifecycle, reads the index alone, and lists
-- still come off the index in order (created_at DESC, id DESC). The last
-- column, state, lets counts filtered by an optional state stay in the
-- index. The names of a version's live experiments likewise.
DROP INDEX model_versions_live_idx;
DROP INDEX model_versions_live_state_idx;
CREATE INDEX model_versions_live_key_idx ON model_versions (model_id, deleted_at, created_at DESC, id DESC, state);
CREATE INDEX model_versions_live_state_key_idx ON model_versions (model_id, state, deleted_at, created_at DESC, id DESC);
CREATE INDEX experiments_live_name_idx ON experiments (version_id, deleted_at, name);

-- +goose Down
DROP INDEX experiments_live_name_idx;
DROP INDEX model_versions_live_state_key_idx;
DROP INDEX model_versions_live_key_idx;
CREATE INDEX model_versions_live_idx ON model_versions (model_id, created_at DESC, id DESC)
    WHERE deleted_at IS NULL;
CREATE INDEX model_versions_live_state_idx ON model_versions (model_id, state, created_at DESC, id DESC)
    WHERE deleted_at IS NULL;
