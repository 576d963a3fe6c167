-- +goose Up
-- The same bytes in one blob store are one blob: (store, sha256, size) is
-- unique, so two uploads of identical content that race each other (in
-- different versions, under no common row lock) record one blob row and
-- keep one object, the loser's being removed (queries/artifacts.sql,
-- PutBlob). Keep it identical to schema/postgres/00006_blob_content_key.sql.
--
-- Duplicates that races made before are merged first: every artifact
-- points at the oldest blob row of its content in its store, and the other
-- rows go; their objects, which no row records any more, are removed by
-- the next `flymodel gc` (orphans, every version of them).
UPDATE artifacts SET blob_id = (
    SELECT MIN(d.id) FROM blobs d JOIN blobs b
        ON d.store = b.store AND d.sha256 = b.sha256 AND d.size = b.size
    WHERE b.id = artifacts.blob_id)
WHERE EXISTS (
    SELECT 1 FROM blobs d JOIN blobs b
        ON d.store = b.store AND d.sha256 = b.sha256 AND d.size = b.size
    WHERE b.id = artifacts.blob_id AND d.id < b.id);
DELETE FROM blobs WHERE EXISTS (
    SELECT 1 FROM blobs d
    WHERE d.store = blobs.store AND d.sha256 = blobs.sha256 AND d.size = blobs.size AND d.id < blobs.id);
CREATE UNIQUE INDEX blobs_store_content_key ON blobs (store, sha256, size);

-- +goose Down
DROP INDEX blobs_store_content_key;
