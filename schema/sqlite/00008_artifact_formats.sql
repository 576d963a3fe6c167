-- +goose Up
-- The formats of model and array files, so that an upload's format can say
-- what ML files are (api.Formats; the server and upsert infer them from the
-- extension: api.TypeByName). Keep it the same list as
-- schema/postgres/00008_artifact_formats.sql. SQLite cannot change a CHECK:
-- the artifacts table of 00004_artifacts_tag_links.sql is made again with
-- the longer list, its rows copied (no table refers to artifacts).
CREATE TABLE artifacts_00008 (
    id             INTEGER PRIMARY KEY,
    version_id     INTEGER NOT NULL REFERENCES model_versions (id) ON DELETE CASCADE,
    experiment_id  INTEGER,
    experiment_key INTEGER NOT NULL GENERATED ALWAYS AS (COALESCE(experiment_id, 0)) STORED,
    name           TEXT NOT NULL,
    file_name      TEXT NOT NULL,
    blob_id        INTEGER NOT NULL REFERENCES blobs (id) ON DELETE RESTRICT,
    content_type   TEXT NOT NULL,
    format         TEXT CHECK (format IN (
        'json', 'jsonl', 'arrow', 'parquet', 'msgpack', 'xml', 'csv', 'xls', 'jpeg',
        'png', 'wav', 'mov', 'mp4', 'pdf', 'html', 'txt', 'md',
        'safetensors', 'gguf', 'onnx', 'pt', 'pkl', 'npy', 'npz', 'h5', 'yaml')),
    encoding       TEXT NOT NULL DEFAULT 'uncompressed' CHECK (encoding IN (
        'uncompressed', 'zip', 'gzip', 'tar', 'tgz', 'snappy', 'lz4', 'zstd')),
    extra          TEXT CHECK (extra IS NULL OR (json_valid(extra) AND experiment_id IS NULL)),
    kind           TEXT NOT NULL GENERATED ALWAYS AS (CASE WHEN experiment_id IS NULL THEN 'version' ELSE 'experiment' END) STORED,
    number         INTEGER NOT NULL CHECK (number > 0),
    created_at     TIMESTAMP NOT NULL,
    FOREIGN KEY (experiment_id, version_id) REFERENCES experiments (id, version_id) ON DELETE CASCADE
);
INSERT INTO artifacts_00008 (id, version_id, experiment_id, name, file_name, blob_id, content_type, format, encoding, extra, number, created_at)
SELECT id, version_id, experiment_id, name, file_name, blob_id, content_type, format, encoding, extra, number, created_at FROM artifacts;
DROP TABLE artifacts;
ALTER TABLE artifacts_00008 RENAME TO artifacts;
CREATE UNIQUE INDEX artifacts_owner_name_key ON artifacts (version_id, experiment_key, name);
CREATE UNIQUE INDEX artifacts_kind_number_key ON artifacts (kind, number);
CREATE INDEX artifacts_blob_idx ON artifacts (blob_id);

-- +goose Down
-- The table again with the list of 00004. While an artifact has one of the
-- formats above, the copy fails its CHECK and the migration is refused
-- (nothing is lost silently).
CREATE TABLE artifacts_00008 (
    id             INTEGER PRIMARY KEY,
    version_id     INTEGER NOT NULL REFERENCES model_versions (id) ON DELETE CASCADE,
    experiment_id  INTEGER,
    experiment_key INTEGER NOT NULL GENERATED ALWAYS AS (COALESCE(experiment_id, 0)) STORED,
    name           TEXT NOT NULL,
    file_name      TEXT NOT NULL,
    blob_id        INTEGER NOT NULL REFERENCES blobs (id) ON DELETE RESTRICT,
    content_type   TEXT NOT NULL,
    format         TEXT CHECK (format IN (
        'json', 'jsonl', 'arrow', 'parquet', 'msgpack', 'xml', 'csv', 'xls', 'jpeg',
        'png', 'wav', 'mov', 'mp4', 'pdf', 'html', 'txt', 'md')),
    encoding       TEXT NOT NULL DEFAULT 'uncompressed' CHECK (encoding IN (
        'uncompressed', 'zip', 'gzip', 'tar', 'tgz', 'snappy', 'lz4', 'zstd')),
    extra          TEXT CHECK (extra IS NULL OR (json_valid(extra) AND experiment_id IS NULL)),
    kind           TEXT NOT NULL GENERATED ALWAYS AS (CASE WHEN experiment_id IS NULL THEN 'version' ELSE 'experiment' END) STORED,
    number         INTEGER NOT NULL CHECK (number > 0),
    created_at     TIMESTAMP NOT NULL,
    FOREIGN KEY (experiment_id, version_id) REFERENCES experiments (id, version_id) ON DELETE CASCADE
);
INSERT INTO artifacts_00008 (id, version_id, experiment_id, name, file_name, blob_id, content_type, format, encoding, extra, number, created_at)
SELECT id, version_id, experiment_id, name, file_name, blob_id, content_type, format, encoding, extra, number, created_at FROM artifacts;
DROP TABLE artifacts;
ALTER TABLE artifacts_00008 RENAME TO artifacts;
CREATE UNIQUE INDEX artifacts_owner_name_key ON artifacts (version_id, experiment_key, name);
CREATE UNIQUE INDEX artifacts_kind_number_key ON artifacts (kind, number);
CREATE INDEX artifacts_blob_idx ON artifacts (blob_id);
