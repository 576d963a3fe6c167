-- +goose Up
-- The web UI's overview pages (internal/registry/overview.go): the versions
-- now in a lifecycle, newest state change first, live ones only; and the
-- audit log filtered by actor, newest first.
CREATE INDEX model_versions_live_state_changed_idx ON model_versions (state, state_changed_at DESC, id DESC)
    WHERE deleted_at IS NULL;
CREATE INDEX audit_log_actor_idx ON audit_log (actor, id);

-- +goose Down
DROP INDEX audit_log_actor_idx;
DROP INDEX model_versions_live_state_changed_idx;
