-- Read-only queries of the web UI's overview pages (internal/registry/overview.go).

-- name: CountNamespaceLiveVersions :one
-- The live versions of a namespace's models, counted up to count_cap (a
-- namespace may hold any number: the count stays bounded).
-- @readonly
SELECT CAST(COUNT(*) AS BIGINT) FROM (
  SELECT 1 FROM model_versions v
  JOIN models m ON m.id = v.model_id
  WHERE m.namespace_id = @namespace_id AND v.deleted_at IS NULL
  LIMIT CAST(@count_cap AS BIGINT)
) AS c;

-- name: ListNamespaceVersionsInState :many
-- The live versions of a namespace now in one lifecycle, newest state
-- change first (model_versions_live_state_changed_idx). The unary + keeps
-- SQLite from looking the versions up model by model (then sorting every
-- version in the lifecycle): the page is read off the index in order.
-- @readonly
SELECT m.name AS model, v.version, v.state_changed_at, v.created_at FROM model_versions v
JOIN models m ON m.id = +v.model_id
WHERE m.namespace_id = @namespace_id AND v.state = @state AND v.deleted_at IS NULL
ORDER BY v.state_changed_at DESC, v.id DESC
LIMIT CAST(@page_limit AS BIGINT);

-- name: CountNamespaceVersionsInState :one
-- The live versions of a namespace now in one lifecycle, counted up to
-- count_cap: model by model, each from the index of its live versions by
-- state alone. CROSS JOIN keeps that order on SQLite, which otherwise reads
-- the lifecycle's versions of every namespace off the index on
-- (state, state_changed_at) and fetches each row for its model (12 ms for
-- a count of 10,000 instead of 1); PostgreSQL plans it as an inner join.
-- @readonly
SELECT CAST(COUNT(*) AS BIGINT) FROM (
  SELECT 1 FROM models m CROSS JOIN model_versions v
  WHERE v.model_id = m.id AND m.namespace_id = @namespace_id AND v.state = @state AND v.deleted_at IS NULL
  LIMIT CAST(@count_cap AS BIGINT)
) AS c;

-- name: ListModelsSorted :many
-- ListModels in the order sort names: name, -created, created, -updated,
-- updated (anything else sorts by name).
-- @readonly
WITH o AS (SELECT CAST(@sort AS TEXT) AS sort)
SELECT m.* FROM models m, o
WHERE m.namespace_id = @namespace_id
  AND (CAST(sqlc.narg(name_contains) AS TEXT) IS NULL
       OR replace(lower(m.name), lower(CAST(sqlc.narg(name_contains) AS TEXT)), '') <> lower(m.name))
  AND (CAST(sqlc.narg(tag) AS TEXT) IS NULL OR EXISTS (
       SELECT 1 FROM tag_links l JOIN tags t ON t.id = l.tag_id
       WHERE l.model_id = m.id AND t.tag = CAST(sqlc.narg(tag) AS TEXT)))
ORDER BY
  CASE WHEN o.sort = '-created' THEN m.created_at END DESC,
  CASE WHEN o.sort = 'created' THEN m.created_at END ASC,
  CASE WHEN o.sort = '-updated' THEN m.updated_at END DESC,
  CASE WHEN o.sort = 'updated' THEN m.updated_at END ASC,
  m.name, m.id
LIMIT CAST(@page_limit AS BIGINT) OFFSET CAST(@page_offset AS BIGINT);

-- name: ListModelPageHeads :many
-- ListModelHeads for every model of the page ListModelsSorted returns for
-- the same parameters, in one statement (one per model cost a statement
-- re-preparation each on SQLite, whose planner weighs the bound model id
-- against its statistics), with each model's count of live versions;
-- rows by model, newest first. A model without live versions has none.
-- The LIMIT of heads changes nothing (page has that many rows at most) but
-- keeps SQLite from flattening heads into the join, which ran its
-- subqueries once per row of the join instead of once per model (3x the
-- work; sqlc parses no MATERIALIZED).
-- @readonly
WITH o AS (SELECT CAST(@sort AS TEXT) AS sort),
page AS (
  SELECT m.id FROM models m, o
  WHERE m.namespace_id = @namespace_id
    AND (CAST(sqlc.narg(name_contains) AS TEXT) IS NULL
         OR replace(lower(m.name), lower(CAST(sqlc.narg(name_contains) AS TEXT)), '') <> lower(m.name))
    AND (CAST(sqlc.narg(tag) AS TEXT) IS NULL OR EXISTS (
         SELECT 1 FROM tag_links l JOIN tags t ON t.id = l.tag_id
         WHERE l.model_id = m.id AND t.tag = CAST(sqlc.narg(tag) AS TEXT)))
  ORDER BY
    CASE WHEN o.sort = '-created' THEN m.created_at END DESC,
    CASE WHEN o.sort = 'created' THEN m.created_at END ASC,
    CASE WHEN o.sort = '-updated' THEN m.updated_at END DESC,
    CASE WHEN o.sort = 'updated' THEN m.updated_at END ASC,
    m.name, m.id
  LIMIT CAST(@page_limit AS BIGINT) OFFSET CAST(@page_offset AS BIGINT)
),
heads AS (
  SELECT p.id AS model_id,
    (SELECT x.id FROM model_versions x WHERE x.model_id = p.id AND x.state = 'test' AND x.deleted_at IS NULL
     ORDER BY x.created_at DESC, x.id DESC LIMIT 1) AS test_id,
    (SELECT x.id FROM model_versions x WHERE x.model_id = p.id AND x.state = 'qa' AND x.deleted_at IS NULL
     ORDER BY x.created_at DESC, x.id DESC LIMIT 1) AS qa_id,
    (SELECT x.id FROM model_versions x WHERE x.model_id = p.id AND x.state = 'stage' AND x.deleted_at IS NULL
     ORDER BY x.created_at DESC, x.id DESC LIMIT 1) AS stage_id,
    (SELECT x.id FROM model_versions x WHERE x.model_id = p.id AND x.state = 'prod' AND x.deleted_at IS NULL
     ORDER BY x.created_at DESC, x.id DESC LIMIT 1) AS prod_id,
    (SELECT COUNT(*) FROM model_versions c WHERE c.model_id = p.id AND c.deleted_at IS NULL) AS live
  FROM page p
  LIMIT CAST(@page_limit AS BIGINT)
)
SELECT v.model_id, v.version, v.state, v.state_changed_at, v.created_at, v.id, CAST(h.live AS BIGINT) AS live
FROM heads h JOIN model_versions v ON v.id IN (h.test_id, h.qa_id, h.stage_id, h.prod_id)
ORDER BY v.model_id, v.created_at DESC, v.id DESC;

-- name: ListVersionsCreatedAsc :many
-- ListVersions, oldest first.
-- @readonly
SELECT * FROM model_versions v
WHERE v.model_id = @model_id
  AND v.deleted_at IS NULL
  AND (CAST(sqlc.narg(state) AS TEXT) IS NULL OR CAST(v.state AS TEXT) = CAST(sqlc.narg(state) AS TEXT))
  AND (CAST(sqlc.narg(tag) AS TEXT) IS NULL OR EXISTS (
       SELECT 1 FROM tag_links l JOIN tags t ON t.id = l.tag_id
       WHERE l.version_id = v.id AND t.tag = CAST(sqlc.narg(tag) AS TEXT)))
ORDER BY v.created_at, v.id
LIMIT CAST(@page_limit AS BIGINT) OFFSET CAST(@page_offset AS BIGINT);

-- name: ListVersionsByName :many
-- ListVersions by version name (model_versions_model_version_key).
-- @readonly
SELECT * FROM model_versions v
WHERE v.model_id = @model_id
  AND v.deleted_at IS NULL
  AND (CAST(sqlc.narg(state) AS TEXT) IS NULL OR CAST(v.state AS TEXT) = CAST(sqlc.narg(state) AS TEXT))
  AND (CAST(sqlc.narg(tag) AS TEXT) IS NULL OR EXISTS (
       SELECT 1 FROM tag_links l JOIN tags t ON t.id = l.tag_id
       WHERE l.version_id = v.id AND t.tag = CAST(sqlc.narg(tag) AS TEXT)))
ORDER BY v.version, v.id
LIMIT CAST(@page_limit AS BIGINT) OFFSET CAST(@page_offset AS BIGINT);

-- name: ListVersionsByNameDesc :many
-- ListVersions by version name, descending.
-- @readonly
SELECT * FROM model_versions v
WHERE v.model_id = @model_id
  AND v.deleted_at IS NULL
  AND (CAST(sqlc.narg(state) AS TEXT) IS NULL OR CAST(v.state AS TEXT) = CAST(sqlc.narg(state) AS TEXT))
  AND (CAST(sqlc.narg(tag) AS TEXT) IS NULL OR EXISTS (
       SELECT 1 FROM tag_links l JOIN tags t ON t.id = l.tag_id
       WHERE l.version_id = v.id AND t.tag = CAST(sqlc.narg(tag) AS TEXT)))
ORDER BY v.version DESC, v.id DESC
LIMIT CAST(@page_limit AS BIGINT) OFFSET CAST(@page_offset AS BIGINT);

-- name: VersionArtifactTotals :one
-- A version's own artifacts: how many, and their bytes
-- (artifacts_owner_name_key).
-- @readonly
SELECT CAST(COUNT(*) AS BIGINT) AS artifacts, CAST(COALESCE(SUM(b.size), 0) AS BIGINT) AS bytes
FROM artifacts a JOIN blobs b ON b.id = a.blob_id
WHERE a.version_id = @version_id AND a.experiment_key = 0;

-- name: ListExperimentSeries :many
-- One experiment name over a model's live versions, newest version first
-- (model_versions_live_idx, then experiments_version_name_key per version).
-- @readonly
SELECT v.version, v.created_at, e.state, e.metrics FROM model_versions v
JOIN experiments e ON e.version_id = v.id AND e.name = @name AND e.deleted_at IS NULL
WHERE v.model_id = @model_id AND v.deleted_at IS NULL
ORDER BY v.created_at DESC, v.id DESC
LIMIT CAST(@page_limit AS BIGINT);

-- name: ListModelExperimentNames :many
-- The distinct names of the live experiments of a model's live versions.
-- @readonly
SELECT DISTINCT e.name FROM experiments e
JOIN model_versions v ON v.id = e.version_id
WHERE v.model_id = @model_id AND v.deleted_at IS NULL AND e.deleted_at IS NULL
ORDER BY e.name
LIMIT CAST(@page_limit AS BIGINT);
