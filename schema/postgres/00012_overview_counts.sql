-- +goose Up
-- The web UI's lists at 100,000 versions (internal/registry/overview.go,
-- measured by internal/cmd/benchui): the names of the live experiments of
-- a model's versions (ExperimentNames) were found by reading every
-- experiment (a hash join over a sequential scan); this partial index
-- answers them one version at a time from the index alone. The counts need
-- nothing here: PostgreSQL counts live versions from the partial indexes
-- of 00002 alone (deleted_at is their predicate, not a column to check).
-- SQLite's 00012 re-keys those on deleted_at for the same effect.
CREATE INDEX experiments_live_name_idx ON experiments (version_id, name) WHERE deleted_at IS NULL;

-- +goose Down
DROP INDEX experiments_live_name_idx;
