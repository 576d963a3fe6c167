-- +goose Up
-- Enumerations are CHECK constraints here and enum types on PostgreSQL;
-- keep the value lists identical to schema/postgres/00001_init.sql.
CREATE TABLE namespaces (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX namespaces_name_key ON namespaces (name);

CREATE TABLE buckets (
    id           INTEGER PRIMARY KEY,
    namespace_id INTEGER NOT NULL REFERENCES namespaces (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    region       TEXT NOT NULL,
    role         TEXT NOT NULL CHECK (role IN ('test', 'qa', 'stage', 'prod')),
    created_at   TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX buckets_namespace_name_region_key ON buckets (namespace_id, name, region);
CREATE UNIQUE INDEX buckets_namespace_role_key ON buckets (namespace_id, role);

CREATE TABLE models (
    id           INTEGER PRIMARY KEY,
    namespace_id INTEGER NOT NULL REFERENCES namespaces (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX models_namespace_name_key ON models (namespace_id, name);

CREATE TABLE model_versions (
    id               INTEGER PRIMARY KEY,
    model_id         INTEGER NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    version          TEXT NOT NULL,
    state            TEXT NOT NULL DEFAULT 'test' CHECK (state IN ('test', 'qa', 'stage', 'prod')),
    state_changed_at TIMESTAMP NOT NULL,
    digest           TEXT NOT NULL DEFAULT '',
    sealed_at        TIMESTAMP,
    deleted_at       TIMESTAMP,
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX model_versions_model_version_key ON model_versions (model_id, version);
CREATE INDEX model_versions_state_idx ON model_versions (state, state_changed_at);

CREATE TABLE version_state_changes (
    id         INTEGER PRIMARY KEY,
    version_id INTEGER NOT NULL REFERENCES model_versions (id) ON DELETE CASCADE,
    from_state TEXT CHECK (from_state IN ('test', 'qa', 'stage', 'prod')),
    to_state   TEXT NOT NULL CHECK (to_state IN ('test', 'qa', 'stage', 'prod')),
    actor      TEXT NOT NULL,
    changed_at TIMESTAMP NOT NULL
);
CREATE INDEX version_state_changes_version_idx ON version_state_changes (version_id, id);

CREATE TABLE experiments (
    id          INTEGER PRIMARY KEY,
    version_id  INTEGER NOT NULL REFERENCES model_versions (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    state       TEXT NOT NULL DEFAULT 'created' CHECK (state IN ('created', 'running', 'passed', 'failed')),
    retries     INTEGER NOT NULL DEFAULT 0 CHECK (retries >= 0),
    params      TEXT CHECK (params IS NULL OR json_valid(params)),
    metrics     TEXT CHECK (metrics IS NULL OR json_valid(metrics)),
    started_at  TIMESTAMP,
    finished_at TIMESTAMP,
    duration_ms INTEGER CHECK (duration_ms >= 0),
    deleted_at  TIMESTAMP,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX experiments_version_name_key ON experiments (version_id, name);

CREATE TABLE blobs (
    id              INTEGER PRIMARY KEY,
    bucket          TEXT NOT NULL,
    key             TEXT NOT NULL,
    storage_version TEXT NOT NULL DEFAULT '',
    size            INTEGER NOT NULL CHECK (size >= 0),
    sha256          TEXT NOT NULL CHECK (length(sha256) = 64),
    created_at      TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX blobs_bucket_key_key ON blobs (bucket, key);
CREATE INDEX blobs_sha256_idx ON blobs (sha256);

CREATE TABLE version_artifacts (
    id           INTEGER PRIMARY KEY,
    version_id   INTEGER NOT NULL REFERENCES model_versions (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    file_name    TEXT NOT NULL,
    blob_id      INTEGER NOT NULL REFERENCES blobs (id) ON DELETE RESTRICT,
    content_type TEXT NOT NULL,
    format       TEXT CHECK (format IN (
        'json', 'jsonl', 'arrow', 'parquet', 'msgpack', 'xml', 'csv', 'xls', 'jpeg',
        'png', 'wav', 'mov', 'mp4', 'pdf', 'html', 'txt', 'md')),
    encoding     TEXT NOT NULL DEFAULT 'uncompressed' CHECK (encoding IN (
        'uncompressed', 'zip', 'gzip', 'tar', 'tgz', 'snappy', 'lz4', 'zstd')),
    extra        TEXT CHECK (extra IS NULL OR json_valid(extra)),
    created_at   TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX version_artifacts_version_name_key ON version_artifacts (version_id, name);
CREATE INDEX version_artifacts_blob_idx ON version_artifacts (blob_id);

CREATE TABLE experiment_artifacts (
    id            INTEGER PRIMARY KEY,
    experiment_id INTEGER NOT NULL REFERENCES experiments (id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    file_name     TEXT NOT NULL,
    blob_id       INTEGER NOT NULL REFERENCES blobs (id) ON DELETE RESTRICT,
    content_type  TEXT NOT NULL,
    format        TEXT CHECK (format IN (
        'json', 'jsonl', 'arrow', 'parquet', 'msgpack', 'xml', 'csv', 'xls', 'jpeg',
        'png', 'wav', 'mov', 'mp4', 'pdf', 'html', 'txt', 'md')),
    encoding      TEXT NOT NULL DEFAULT 'uncompressed' CHECK (encoding IN (
        'uncompressed', 'zip', 'gzip', 'tar', 'tgz', 'snappy', 'lz4', 'zstd')),
    created_at    TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX experiment_artifacts_experiment_name_key ON experiment_artifacts (experiment_id, name);
CREATE INDEX experiment_artifacts_blob_idx ON experiment_artifacts (blob_id);

CREATE TABLE tags (
    id           INTEGER PRIMARY KEY,
    namespace_id INTEGER NOT NULL REFERENCES namespaces (id) ON DELETE CASCADE,
    tag          TEXT NOT NULL,
    color        TEXT NOT NULL CHECK (color GLOB '#[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]'),
    created_at   TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX tags_namespace_tag_key ON tags (namespace_id, tag);

CREATE TABLE model_tags (
    model_id INTEGER NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    tag_id   INTEGER NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    PRIMARY KEY (model_id, tag_id)
);
CREATE INDEX model_tags_tag_idx ON model_tags (tag_id);

CREATE TABLE version_tags (
    version_id INTEGER NOT NULL REFERENCES model_versions (id) ON DELETE CASCADE,
    tag_id     INTEGER NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    PRIMARY KEY (version_id, tag_id)
);
CREATE INDEX version_tags_tag_idx ON version_tags (tag_id);

CREATE TABLE experiment_tags (
    experiment_id INTEGER NOT NULL REFERENCES experiments (id) ON DELETE CASCADE,
    tag_id        INTEGER NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    PRIMARY KEY (experiment_id, tag_id)
);
CREATE INDEX experiment_tags_tag_idx ON experiment_tags (tag_id);

-- +goose Down
DROP TABLE experiment_tags;
DROP TABLE version_tags;
DROP TABLE model_tags;
DROP TABLE tags;
DROP TABLE experiment_artifacts;
DROP TABLE version_artifacts;
DROP TABLE blobs;
DROP TABLE experiments;
DROP TABLE version_state_changes;
DROP TABLE model_versions;
DROP TABLE models;
DROP TABLE buckets;
DROP TABLE namespaces;
