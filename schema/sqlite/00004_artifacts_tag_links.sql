-- +goose Up
-- One artifacts table for both owners: a version's own artifacts
-- (experiment_id NULL) and the artifacts of its experiments. Keep it
-- identical to schema/postgres/00004_artifacts_tag_links.sql.
--
-- experiment_key is what the owner's uniqueness and lookups key on: NULLs
-- are distinct in a unique index, so (version_id, experiment_id, name)
-- would not keep a version's own names unique.
--
-- The original flymodel's endpoints address artifacts by id, version
-- artifacts and experiment artifacts each numbered apart (two tables). Here
-- id is the row's own key; number is the artifact's id on the API, unique
-- within its kind. Each kind's counter in artifact_counters hands out the
-- next number, never one handed out before (even after its artifact is
-- deleted); it starts at the old table's largest id (the old tables kept
-- no sequence: a new row took the largest id + 1). An old row keeps its id
-- as its number.
--
-- The composite foreign key keeps an experiment's artifact on that
-- experiment's version (and cascades with the experiment).
CREATE UNIQUE INDEX experiments_id_version_key ON experiments (id, version_id);

CREATE TABLE artifacts (
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
CREATE UNIQUE INDEX artifacts_owner_name_key ON artifacts (version_id, experiment_key, name);
CREATE UNIQUE INDEX artifacts_kind_number_key ON artifacts (kind, number);
CREATE INDEX artifacts_blob_idx ON artifacts (blob_id);

INSERT INTO artifacts (id, version_id, name, file_name, blob_id, content_type, format, encoding, extra, number, created_at)
SELECT id, version_id, name, file_name, blob_id, content_type, format, encoding, extra, id, created_at
FROM version_artifacts;

INSERT INTO artifacts (id, version_id, experiment_id, name, file_name, blob_id, content_type, format, encoding, number, created_at)
SELECT ea.id + (SELECT COALESCE(MAX(va.id), 0) FROM version_artifacts va), e.version_id, ea.experiment_id,
       ea.name, ea.file_name, ea.blob_id, ea.content_type, ea.format, ea.encoding, ea.id, ea.created_at
FROM experiment_artifacts ea JOIN experiments e ON e.id = ea.experiment_id;

CREATE TABLE artifact_counters (
    kind        TEXT PRIMARY KEY,
    last_number INTEGER NOT NULL CHECK (last_number >= 0)
);
INSERT INTO artifact_counters (kind, last_number)
SELECT 'version', COALESCE(MAX(id), 0) FROM version_artifacts;
INSERT INTO artifact_counters (kind, last_number)
SELECT 'experiment', COALESCE(MAX(id), 0) FROM experiment_artifacts;

DROP TABLE experiment_artifacts;
DROP TABLE version_artifacts;

-- One tag link table: each link attaches a tag to exactly one model,
-- version or experiment, with a real foreign key (and cascade) for each.
CREATE TABLE tag_links (
    tag_id        INTEGER NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    model_id      INTEGER REFERENCES models (id) ON DELETE CASCADE,
    version_id    INTEGER REFERENCES model_versions (id) ON DELETE CASCADE,
    experiment_id INTEGER REFERENCES experiments (id) ON DELETE CASCADE,
    CHECK ((model_id IS NOT NULL) + (version_id IS NOT NULL) + (experiment_id IS NOT NULL) = 1)
);
CREATE UNIQUE INDEX tag_links_model_key ON tag_links (model_id, tag_id) WHERE model_id IS NOT NULL;
CREATE UNIQUE INDEX tag_links_version_key ON tag_links (version_id, tag_id) WHERE version_id IS NOT NULL;
CREATE UNIQUE INDEX tag_links_experiment_key ON tag_links (experiment_id, tag_id) WHERE experiment_id IS NOT NULL;
CREATE INDEX tag_links_tag_idx ON tag_links (tag_id);

INSERT INTO tag_links (tag_id, model_id) SELECT tag_id, model_id FROM model_tags;
INSERT INTO tag_links (tag_id, version_id) SELECT tag_id, version_id FROM version_tags;
INSERT INTO tag_links (tag_id, experiment_id) SELECT tag_id, experiment_id FROM experiment_tags;

DROP TABLE experiment_tags;
DROP TABLE version_tags;
DROP TABLE model_tags;

-- +goose Down
-- The tables of 00001_init.sql, refilled. An artifact's number is its id
-- again (the tables then number after their largest row, as before).
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

INSERT INTO model_tags (model_id, tag_id) SELECT model_id, tag_id FROM tag_links WHERE model_id IS NOT NULL;
INSERT INTO version_tags (version_id, tag_id) SELECT version_id, tag_id FROM tag_links WHERE version_id IS NOT NULL;
INSERT INTO experiment_tags (experiment_id, tag_id) SELECT experiment_id, tag_id FROM tag_links WHERE experiment_id IS NOT NULL;
DROP TABLE tag_links;

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

INSERT INTO version_artifacts (id, version_id, name, file_name, blob_id, content_type, format, encoding, extra, created_at)
SELECT number, version_id, name, file_name, blob_id, content_type, format, encoding, extra, created_at
FROM artifacts WHERE experiment_id IS NULL;
INSERT INTO experiment_artifacts (id, experiment_id, name, file_name, blob_id, content_type, format, encoding, created_at)
SELECT number, experiment_id, name, file_name, blob_id, content_type, format, encoding, created_at
FROM artifacts WHERE experiment_id IS NOT NULL;
DROP TABLE artifact_counters;
DROP TABLE artifacts;
DROP INDEX experiments_id_version_key;
