-- +goose Up
-- Version lists are newest first and often filtered by state; these partial
-- indexes hold only live (not soft-deleted) versions in that order, so a
-- page is read straight off the index instead of sorting the model's versions.
CREATE INDEX model_versions_live_idx ON model_versions (model_id, created_at DESC, id DESC)
    WHERE deleted_at IS NULL;
CREATE INDEX model_versions_live_state_idx ON model_versions (model_id, state, created_at DESC, id DESC)
    WHERE deleted_at IS NULL;

-- +goose Down
DROP INDEX model_versions_live_state_idx;
DROP INDEX model_versions_live_idx;
