-- +goose Up
-- The formats of model and array files, so that an upload's format can say
-- what ML files are (api.Formats; the server and upsert infer them from the
-- extension: api.TypeByName). Keep it the same list as
-- schema/sqlite/00008_artifact_formats.sql.
ALTER TYPE artifact_format ADD VALUE IF NOT EXISTS 'safetensors';
ALTER TYPE artifact_format ADD VALUE IF NOT EXISTS 'gguf';
ALTER TYPE artifact_format ADD VALUE IF NOT EXISTS 'onnx';
ALTER TYPE artifact_format ADD VALUE IF NOT EXISTS 'pt';
ALTER TYPE artifact_format ADD VALUE IF NOT EXISTS 'pkl';
ALTER TYPE artifact_format ADD VALUE IF NOT EXISTS 'npy';
ALTER TYPE artifact_format ADD VALUE IF NOT EXISTS 'npz';
ALTER TYPE artifact_format ADD VALUE IF NOT EXISTS 'h5';
ALTER TYPE artifact_format ADD VALUE IF NOT EXISTS 'yaml';

-- +goose Down
-- Nothing: an enum value cannot be dropped, and making the type again
-- would change its identity under every running connection. The values
-- stay, unused by the code of 00007 (hence IF NOT EXISTS above).
