-- Lineage (issue 17): version_parents links a version (child) to the
-- versions it was made from (parents), in any model of any namespace.
-- The graph is walked with recursive CTEs (WITH RECURSIVE, both engines);
-- UNION (not UNION ALL) keeps each (version, depth) once, so a walk ends
-- on any graph and reads at most depth+1 rows per version.

-- name: AddVersionParent :exec
INSERT INTO version_parents (child_id, parent_id, relation)
VALUES (@child_id, @parent_id, @relation);

-- name: DeleteVersionParents :execrows
-- Removes the links of a child to its parents.
DELETE FROM version_parents WHERE child_id = @child_id;

-- name: DeleteParentLinks :execrows
-- Removes the links that name a version as a parent (a cascade delete of
-- the parent).
DELETE FROM version_parents WHERE parent_id = @parent_id;

-- name: DeleteModelParentLinks :execrows
-- Removes the links that name any version of a model as a parent (a
-- cascade delete of the model).
DELETE FROM version_parents
WHERE parent_id IN (SELECT v.id FROM model_versions v WHERE v.model_id = @model_id);

-- name: DeleteNamespaceParentLinks :execrows
-- Removes the links that name any version of a namespace as a parent (a
-- cascade delete of the namespace).
DELETE FROM version_parents
WHERE parent_id IN (SELECT v.id FROM model_versions v
                    JOIN models m ON m.id = v.model_id
                    WHERE m.namespace_id = @namespace_id);

-- name: ListVersionParents :many
-- The parents of a version, by namespace, model and version name.
-- @readonly
SELECT p.relation, v.id, v.version, v.state, v.digest, v.deleted_at,
       m.name AS model, n.name AS namespace
FROM version_parents p
JOIN model_versions v ON v.id = p.parent_id
JOIN models m ON m.id = v.model_id
JOIN namespaces n ON n.id = m.namespace_id
WHERE p.child_id = @child_id
ORDER BY n.name, m.name, v.version;

-- name: ListLiveChildren :many
-- The live (not soft-deleted) versions that name a version as a parent,
-- at most page_limit of them.
-- @readonly
SELECT v.id, v.version, m.name AS model, n.name AS namespace
FROM version_parents p
JOIN model_versions v ON v.id = p.child_id
JOIN models m ON m.id = v.model_id
JOIN namespaces n ON n.id = m.namespace_id
WHERE p.parent_id = @parent_id AND v.deleted_at IS NULL
ORDER BY n.name, m.name, v.version
LIMIT CAST(@page_limit AS BIGINT);

-- name: CountAncestorPaths :one
-- Counts the walks from a version up to ancestor (itself included, at
-- depth 0): more than 0 when ancestor is the version or one of its
-- ancestors. Linking a child to a parent makes a cycle exactly when the
-- child is the parent or one of its ancestors.
-- @readonly
WITH RECURSIVE up(id) AS (
    SELECT CAST(@id AS BIGINT)
    UNION
    SELECT p.parent_id FROM version_parents p JOIN up ON p.child_id = up.id
)
SELECT CAST(COUNT(*) AS BIGINT) FROM up WHERE up.id = CAST(@ancestor AS BIGINT);

-- name: ListLineageEdges :many
-- The links within max_depth of a version, both ways: its ancestors'
-- (walking child -> parent) and its descendants' (parent -> child), each
-- with both ends named. Soft-deleted versions are walked too; the caller
-- decides what to show.
-- @readonly
WITH RECURSIVE up(id, depth) AS (
    SELECT CAST(@id AS BIGINT), CAST(0 AS BIGINT)
    UNION
    SELECT p.parent_id, up.depth + 1 FROM version_parents p JOIN up ON p.child_id = up.id
    WHERE up.depth < CAST(@max_depth AS BIGINT)
), down(id, depth) AS (
    SELECT CAST(@id AS BIGINT), CAST(0 AS BIGINT)
    UNION
    SELECT p.child_id, down.depth + 1 FROM version_parents p JOIN down ON p.parent_id = down.id
    WHERE down.depth < CAST(@max_depth AS BIGINT)
), links(child_id, parent_id, relation) AS (
    SELECT p.child_id, p.parent_id, p.relation FROM version_parents p
    WHERE p.child_id IN (SELECT up.id FROM up WHERE up.depth < CAST(@max_depth AS BIGINT))
    UNION
    SELECT p.child_id, p.parent_id, p.relation FROM version_parents p
    WHERE p.parent_id IN (SELECT down.id FROM down WHERE down.depth < CAST(@max_depth AS BIGINT))
)
SELECT l.relation,
       c.id AS child_id, c.version AS child_version, c.state AS child_state, c.digest AS child_digest,
       c.deleted_at AS child_deleted_at, cm.name AS child_model, cn.name AS child_namespace,
       pv.id AS parent_id, pv.version AS parent_version, pv.state AS parent_state, pv.digest AS parent_digest,
       pv.deleted_at AS parent_deleted_at, pm.name AS parent_model, pn.name AS parent_namespace
FROM links l
JOIN model_versions c ON c.id = l.child_id
JOIN models cm ON cm.id = c.model_id
JOIN namespaces cn ON cn.id = cm.namespace_id
JOIN model_versions pv ON pv.id = l.parent_id
JOIN models pm ON pm.id = pv.model_id
JOIN namespaces pn ON pn.id = pm.namespace_id
ORDER BY cn.name, cm.name, c.version, pn.name, pm.name, pv.version;
