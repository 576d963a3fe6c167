-- +goose Up
-- A blob's column names the blob store that holds its object (an S3 store
-- is named after its S3 bucket, a filesystem store "local" or
-- "local-<role>"), not a namespace's bucket: it is called store. Keep it
-- identical to schema/sqlite/00005_blob_store_column.sql.
ALTER TABLE blobs RENAME COLUMN bucket TO store;
ALTER INDEX blobs_bucket_key_key RENAME TO blobs_store_key_key;

-- +goose Down
ALTER INDEX blobs_store_key_key RENAME TO blobs_bucket_key_key;
ALTER TABLE blobs RENAME COLUMN store TO bucket;
