-- +goose Up
-- The web UI's overview pages (internal/registry/overview.go): the versions
-- now in a lifecycle, newest state change first, live ones only.
CREATE INDEX model_versions_live_state_changed_idx ON model_versions (state, state_changed_at DESC, id DESC)
    WHERE deleted_at IS NULL;

-- +goose Down
DROP INDEX model_versions_live_state_changed_idx;
