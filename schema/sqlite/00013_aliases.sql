-- +goose Up
-- Aliases (issue 17): named, movable pointers from a model to one of its
-- versions (champion, canary, …), unique per model, and the history of
-- every move (to_version_id NULL: the alias was removed). Deleting the
-- version an alias points to removes the alias (the registry records the
-- removal in the history first; a cascade covers the rest). A history
-- entry outlives the versions it names (their ids become NULL).
-- Keep it identical to schema/postgres/00013_aliases.sql.
CREATE TABLE model_aliases (
    id         INTEGER PRIMARY KEY,
    model_id   INTEGER NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    alias      TEXT NOT NULL,
    version_id INTEGER NOT NULL REFERENCES model_versions (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    updated_by TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX model_aliases_model_alias_key ON model_aliases (model_id, alias);
CREATE INDEX model_aliases_version_idx ON model_aliases (version_id);

CREATE TABLE alias_history (
    id              INTEGER PRIMARY KEY,
    model_id        INTEGER NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    alias           TEXT NOT NULL,
    from_version_id INTEGER REFERENCES model_versions (id) ON DELETE SET NULL,
    to_version_id   INTEGER REFERENCES model_versions (id) ON DELETE SET NULL,
    from_version    TEXT,
    to_version      TEXT,
    actor           TEXT NOT NULL,
    changed_at      TIMESTAMP NOT NULL
);
CREATE INDEX alias_history_model_alias_idx ON alias_history (model_id, alias, id);
CREATE INDEX alias_history_from_version_idx ON alias_history (from_version_id);
CREATE INDEX alias_history_to_version_idx ON alias_history (to_version_id);

-- +goose Down
DROP TABLE alias_history;
DROP TABLE model_aliases;
