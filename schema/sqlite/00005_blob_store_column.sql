-- +goose Up
-- A blob's column names the blob store that holds its object (an S3 store
-- is named after its S3 bucket, a filesystem store "local" or
-- "local-<role>"), not a namespace's bucket: it is called store. Keep it
-- identical to schema/postgres/00005_blob_store_column.sql. SQLite renames
-- no index: the unique index is made anew under its new name.
ALTER TABLE blobs RENAME COLUMN bucket TO store;
DROP INDEX blobs_bucket_key_key;
CREATE UNIQUE INDEX blobs_store_key_key ON blobs (store, key);

-- +goose Down
DROP INDEX blobs_store_key_key;
ALTER TABLE blobs RENAME COLUMN store TO bucket;
CREATE UNIQUE INDEX blobs_bucket_key_key ON blobs (bucket, key);
