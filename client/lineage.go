package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/flymodel/flymodel/api"
)

// Model cards, lineage and diff (issue 17). Metadata is set with the
// Metadata members of NewModel, ModelUpdate, NewVersion and VersionUpdate
// (a JSON object; an update replaces the whole object); parents at
// creation with NewVersion.Parents, later with SetParents.

// ModelMetadata documents the metadata keys the server checks (license,
// framework, task, base_model, datasets, code, parameters); marshal it, or
// any JSON object with more keys, into a Metadata member.
type ModelMetadata = api.ModelMetadata

// ParentRef names a parent: Version alone as a path "/ns/model/version",
// or the names (namespace and model default to the child's).
type ParentRef = api.ParentRef

// Parent is a parent of a version, as listed.
type Parent = api.Parent

// Lineage is the graph around a version: nodes (with their depth from the
// root: negative for ancestors) and edges (child, parent, relation);
// Hidden counts the versions in namespaces the caller may not read.
type Lineage = api.Lineage

// Diff compares two versions: artifacts, description, metadata and the
// metrics of same-named experiments.
type Diff = api.Diff

// The relations of a version to a parent.
const (
	RelationFineTuned = api.RelationFineTuned
	RelationDistilled = api.RelationDistilled
	RelationDerived   = api.RelationDerived
	RelationQuantized = api.RelationQuantized
	RelationMerged    = api.RelationMerged
)

// Path is the version's lineage path, /ns/model/version (what a ParentRef
// and DiffWith take).
func (v VersionRef) Path() string {
	return "/" + url.PathEscape(v.Namespace) + "/" + url.PathEscape(v.Model) + "/" + url.PathEscape(v.Version)
}

// Parents lists a version's parents.
func (c *Client) Parents(ctx context.Context, v VersionRef) ([]Parent, error) {
	var out api.List[Parent]
	err := c.doJSON(ctx, http.MethodGet, v.path()+"/parents", nil, nil, &out)
	return out.Data, err
}

// SetParents replaces a version's parents (none: removes them) while it
// is not sealed (ErrConflict, problem type sealed, once it is). A parent
// must be a live version the caller may read (ErrNotFound otherwise) that
// does not descend from v (ErrInvalid: a cycle).
func (c *Client) SetParents(ctx context.Context, v VersionRef, parents []ParentRef) ([]Parent, error) {
	if parents == nil {
		parents = []ParentRef{}
	}
	var out api.List[Parent]
	err := c.doJSON(ctx, http.MethodPut, v.path()+"/parents", nil, api.ParentsUpdate{Parents: parents}, &out)
	return out.Data, err
}

// Lineage returns a version's lineage graph, depth links each way (0: the
// server's default, 3; at most 10).
func (c *Client) Lineage(ctx context.Context, v VersionRef, depth int) (Lineage, error) {
	q := url.Values{}
	if depth != 0 {
		q.Set("depth", strconv.Itoa(depth))
	}
	var out Lineage
	err := c.doJSON(ctx, http.MethodGet, v.path()+"/lineage", q, nil, &out)
	return out, err
}

// Diff compares version a with version b of the same model.
func (c *Client) Diff(ctx context.Context, a VersionRef, b string) (Diff, error) {
	var out Diff
	err := c.doJSON(ctx, http.MethodGet, a.path()+"/diff/"+url.PathEscape(b), nil, nil, &out)
	return out, err
}

// DiffWith compares version a with version b of any model.
func (c *Client) DiffWith(ctx context.Context, a, b VersionRef) (Diff, error) {
	var out Diff
	err := c.doJSON(ctx, http.MethodGet, a.path()+"/diff", url.Values{"other": {b.Path()}}, nil, &out)
	return out, err
}

// DeleteVersionCascade is DeleteVersion that also deletes a version live
// versions name as a parent, removing those links (DeleteVersion refuses
// it: ErrConflict).
func (c *Client) DeleteVersionCascade(ctx context.Context, v VersionRef, hard bool) error {
	q := flag("hard", hard)
	if q == nil {
		q = url.Values{}
	}
	q.Set("cascade", "true")
	return c.doJSON(ctx, http.MethodDelete, v.path(), q, nil, nil)
}
