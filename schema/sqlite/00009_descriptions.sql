-- +goose Up
-- Models and versions get a Markdown description (issue 14), empty by
-- default; the registry limits its length (api.MaxDescriptionBytes). Keep
-- it identical to schema/postgres/00009_descriptions.sql.
ALTER TABLE models ADD COLUMN description TEXT NOT NULL DEFAULT '';
ALTER TABLE model_versions ADD COLUMN description TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE model_versions DROP COLUMN description;
ALTER TABLE models DROP COLUMN description;
