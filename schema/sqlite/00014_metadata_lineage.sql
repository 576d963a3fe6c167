-- +goose Up
-- Model cards and lineage (issue 17). Models and versions carry a JSON
-- object of metadata beside their Markdown description ('{}' by default;
-- the registry checks its documented keys and its size). A version may
-- name its parents, other versions of any model: version_parents is the
-- lineage graph (child -> parent, with the relation). Deleting a child
-- removes its links; a parent is not deleted while a link names it (the
-- registry refuses, or removes the links first when cascade is asked).
-- Keep it identical to schema/postgres/00014_metadata_lineage.sql.
ALTER TABLE models ADD COLUMN metadata TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata));
ALTER TABLE model_versions ADD COLUMN metadata TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata));

CREATE TABLE version_parents (
    child_id  INTEGER NOT NULL REFERENCES model_versions (id) ON DELETE CASCADE,
    parent_id INTEGER NOT NULL REFERENCES model_versions (id),
    relation  TEXT NOT NULL CHECK (relation IN ('fine-tuned', 'distilled', 'derived', 'quantized', 'merged')),
    PRIMARY KEY (child_id, parent_id)
);
CREATE INDEX version_parents_parent_idx ON version_parents (parent_id);

-- +goose Down
DROP INDEX version_parents_parent_idx;
DROP TABLE version_parents;
ALTER TABLE model_versions DROP COLUMN metadata;
ALTER TABLE models DROP COLUMN metadata;
