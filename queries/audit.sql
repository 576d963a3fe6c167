-- name: CreateAuditRecord :one
INSERT INTO audit_log (at, actor, action, target, namespace, outcome, request_id, detail)
VALUES (@at, @actor, @action, @target, @namespace, @outcome, @request_id, sqlc.narg(detail))
RETURNING *;

-- name: RepeatDeniedAudit :execrows
-- Counts a refusal on the newest denied record of the same actor, action,
-- target and namespace written at or after since, if there is one.
UPDATE audit_log SET repeats = repeats + 1, last_at = @at
WHERE id = (
    SELECT d.id FROM audit_log d
    WHERE d.outcome = 'denied' AND d.actor = @actor AND d.target = @target
      AND d.action = @action AND d.namespace = @namespace AND d.at >= @since
    ORDER BY d.id DESC
    LIMIT 1
);

-- name: ListAudit :many
-- Oldest first, from after_id on, in [since, until), filtered by any of
-- the optional fields. The time bounds choose the index on at: use
-- ListAuditAnyTime when there are none.
-- @readonly
SELECT * FROM audit_log
WHERE id > CAST(@after_id AS BIGINT)
  AND (CAST(sqlc.narg(namespace) AS TEXT) IS NULL OR namespace = CAST(sqlc.narg(namespace) AS TEXT))
  AND (CAST(sqlc.narg(actor) AS TEXT) IS NULL OR actor = CAST(sqlc.narg(actor) AS TEXT))
  AND (CAST(sqlc.narg(action) AS TEXT) IS NULL OR action = CAST(sqlc.narg(action) AS TEXT))
  AND (CAST(sqlc.narg(outcome) AS TEXT) IS NULL OR outcome = CAST(sqlc.narg(outcome) AS TEXT))
  AND at >= @since AND at < @until
ORDER BY id
LIMIT CAST(@page_limit AS BIGINT);

-- name: ListAuditAnyTime :many
-- ListAudit without time bounds: read along the primary key from after_id,
-- stopping at page_limit matches. (With an unbounded range on at in the
-- statement, SQLite, which has no statistics, reads the index on at and
-- sorts every record for one page.)
-- @readonly
SELECT * FROM audit_log
WHERE id > CAST(@after_id AS BIGINT)
  AND (CAST(sqlc.narg(namespace) AS TEXT) IS NULL OR namespace = CAST(sqlc.narg(namespace) AS TEXT))
  AND (CAST(sqlc.narg(actor) AS TEXT) IS NULL OR actor = CAST(sqlc.narg(actor) AS TEXT))
  AND (CAST(sqlc.narg(action) AS TEXT) IS NULL OR action = CAST(sqlc.narg(action) AS TEXT))
  AND (CAST(sqlc.narg(outcome) AS TEXT) IS NULL OR outcome = CAST(sqlc.narg(outcome) AS TEXT))
ORDER BY id
LIMIT CAST(@page_limit AS BIGINT);

-- name: ListAuditNewest :many
-- ListAudit newest first, before before_id, in [since, until): the records
-- of the range are read from the index on at and sorted by id, so the cost
-- is the range's size. Use ListAuditNewestAnyTime when there are no bounds.
-- @readonly
SELECT * FROM audit_log
WHERE id < CAST(@before_id AS BIGINT)
  AND (CAST(sqlc.narg(namespace) AS TEXT) IS NULL OR namespace = CAST(sqlc.narg(namespace) AS TEXT))
  AND (CAST(sqlc.narg(actor) AS TEXT) IS NULL OR actor = CAST(sqlc.narg(actor) AS TEXT))
  AND (CAST(sqlc.narg(action) AS TEXT) IS NULL OR action = CAST(sqlc.narg(action) AS TEXT))
  AND (CAST(sqlc.narg(outcome) AS TEXT) IS NULL OR outcome = CAST(sqlc.narg(outcome) AS TEXT))
  AND at >= @since AND at < @until
ORDER BY id DESC
LIMIT CAST(@page_limit AS BIGINT);

-- name: ListAuditNewestAnyTime :many
-- ListAuditNewest without time bounds: read backwards along the primary
-- key from before_id, stopping at page_limit matches.
-- @readonly
SELECT * FROM audit_log
WHERE id < CAST(@before_id AS BIGINT)
  AND (CAST(sqlc.narg(namespace) AS TEXT) IS NULL OR namespace = CAST(sqlc.narg(namespace) AS TEXT))
  AND (CAST(sqlc.narg(actor) AS TEXT) IS NULL OR actor = CAST(sqlc.narg(actor) AS TEXT))
  AND (CAST(sqlc.narg(action) AS TEXT) IS NULL OR action = CAST(sqlc.narg(action) AS TEXT))
  AND (CAST(sqlc.narg(outcome) AS TEXT) IS NULL OR outcome = CAST(sqlc.narg(outcome) AS TEXT))
ORDER BY id DESC
LIMIT CAST(@page_limit AS BIGINT);
