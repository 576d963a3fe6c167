-- +goose Up
-- The same bytes in one blob store are one blob per namespace (blobs are
-- shared within a namespace only, so that an upload's blob id never shows
-- that another namespace holds the same bytes): namespace_id is the
-- namespace whose artifacts share the blob, and (store, namespace_id,
-- sha256, size) is unique, so two uploads of identical content into one
-- namespace that race each other (in different versions, under no common
-- row lock) record one blob row and keep one object, the loser's object
-- version being removed (queries/artifacts.sql, PutBlob). A blob of a
-- namespace deleted since, or referenced by several namespaces' artifacts
-- (recorded before sharing stopped at the namespace), has no namespace and
-- is never shared again. Keep it identical to schema/postgres/00007_blob_content_key.sql.
ALTER TABLE blobs ADD COLUMN namespace_id INTEGER REFERENCES namespaces (id) ON DELETE SET NULL;
UPDATE blobs SET namespace_id = (
    SELECT MIN(m.namespace_id) FROM artifacts a
    JOIN model_versions v ON v.id = a.version_id
    JOIN models m ON m.id = v.model_id
    WHERE a.blob_id = blobs.id)
WHERE (SELECT COUNT(DISTINCT m.namespace_id) FROM artifacts a
    JOIN model_versions v ON v.id = a.version_id
    JOIN models m ON m.id = v.model_id
    WHERE a.blob_id = blobs.id) = 1;
-- Duplicates that races made before are merged: every artifact points at
-- the oldest blob row of its bytes in its store and namespace, and the
-- other rows go; their objects, which no row records any more, are removed
-- by the next `flymodel gc` (orphans, every version of them).
UPDATE artifacts SET blob_id = (
    SELECT MIN(d.id) FROM blobs d JOIN blobs b
        ON d.store = b.store AND d.namespace_id = b.namespace_id AND d.sha256 = b.sha256 AND d.size = b.size
    WHERE b.id = artifacts.blob_id)
WHERE EXISTS (
    SELECT 1 FROM blobs d JOIN blobs b
        ON d.store = b.store AND d.namespace_id = b.namespace_id AND d.sha256 = b.sha256 AND d.size = b.size
    WHERE b.id = artifacts.blob_id AND d.id < b.id);
DELETE FROM blobs WHERE EXISTS (
    SELECT 1 FROM blobs d
    WHERE d.store = blobs.store AND d.namespace_id = blobs.namespace_id
      AND d.sha256 = blobs.sha256 AND d.size = blobs.size AND d.id < blobs.id);
CREATE UNIQUE INDEX blobs_store_content_key ON blobs (store, namespace_id, sha256, size);
CREATE INDEX blobs_namespace_idx ON blobs (namespace_id);

-- +goose Down
DROP INDEX blobs_namespace_idx;
DROP INDEX blobs_store_content_key;
ALTER TABLE blobs DROP COLUMN namespace_id;
