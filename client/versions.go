package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/flymodel/flymodel/api"
)

// NewVersion is a version to create: its name (e.g. "v0.1.0") and the
// lifecycle to start in; empty means test. Starting outside test is
// subject to the promotion gates (ErrGate).
type NewVersion = api.VersionCreate

// CreateVersion creates a version of a model; ErrConflict when the name is
// taken (soft-deleted versions keep theirs).
func (c *Client) CreateVersion(ctx context.Context, ns, model string, v NewVersion) (Version, error) {
	var out Version
	err := c.doJSON(ctx, http.MethodPost, modelPath(ns, model)+"/versions", nil, v, &out)
	return out, err
}

// VersionUpdate changes a version's description; nil members are kept.
type VersionUpdate = api.VersionUpdate

// UpdateVersion changes a version's description (a sealed version's too).
func (c *Client) UpdateVersion(ctx context.Context, v VersionRef, u VersionUpdate) (Version, error) {
	var out Version
	err := c.doJSON(ctx, http.MethodPatch, v.path(), nil, u, &out)
	return out, err
}

// GetVersion returns a live (not deleted) version, with its tags.
func (c *Client) GetVersion(ctx context.Context, v VersionRef) (Version, error) {
	var out Version
	err := c.doJSON(ctx, http.MethodGet, v.path(), nil, nil, &out)
	return out, err
}

// VersionFilter narrows a version list; empty fields do not filter.
type VersionFilter struct {
	State string
	Tag   string
	// Filter keeps versions a filter of the query language selects
	// (README: Search: the filter language), e.g.
	// `experiments.eval.metrics.accuracy >= 0.9`.
	Filter string
}

// ListVersions returns one page of a model's live versions, newest first.
func (c *Client) ListVersions(ctx context.Context, ns, model string, f VersionFilter, opts ListOptions) (Page[Version], error) {
	q := opts.values()
	if f.State != "" {
		q.Set("state", f.State)
	}
	if f.Tag != "" {
		q.Set("tag", f.Tag)
	}
	if f.Filter != "" {
		q.Set("filter", f.Filter)
	}
	var p Page[Version]
	err := c.doJSON(ctx, http.MethodGet, modelPath(ns, model)+"/versions", q, nil, &p)
	return p, err
}

// DeleteVersion soft-deletes a version (hidden, its name still taken) or,
// with hard, removes it and frees its name.
func (c *Client) DeleteVersion(ctx context.Context, v VersionRef, hard bool) error {
	return c.doJSON(ctx, http.MethodDelete, v.path(), flag("hard", hard), nil, nil)
}

// SetVersionState moves a version to a lifecycle (test, qa, stage, prod).
// Leaving test seals it; entering a gated lifecycle needs its experiments
// passed (ErrGate); moving to the current state changes nothing.
func (c *Client) SetVersionState(ctx context.Context, v VersionRef, state string) (Version, error) {
	var out Version
	in := api.VersionStateUpdate{State: state}
	err := c.doJSON(ctx, http.MethodPut, v.path()+"/state", nil, in, &out)
	return out, err
}

// VersionHistory returns a version's lifecycle changes, oldest first.
func (c *Client) VersionHistory(ctx context.Context, v VersionRef) ([]StateChange, error) {
	var out api.List[StateChange]
	err := c.doJSON(ctx, http.MethodGet, v.path()+"/history", nil, nil, &out)
	return out.Data, err
}

// VersionTags returns the tags attached to a version.
func (c *Client) VersionTags(ctx context.Context, v VersionRef) ([]Tag, error) {
	var out api.List[Tag]
	err := c.doJSON(ctx, http.MethodGet, v.path()+"/tags", nil, nil, &out)
	return out.Data, err
}

// TagVersion attaches a tag of the namespace to a version (idempotent).
func (c *Client) TagVersion(ctx context.Context, v VersionRef, tag string) error {
	return c.doJSON(ctx, http.MethodPut, v.path()+"/tags/"+url.PathEscape(tag), nil, nil, nil)
}

// UntagVersion detaches a tag from a version (idempotent).
func (c *Client) UntagVersion(ctx context.Context, v VersionRef, tag string) error {
	return c.doJSON(ctx, http.MethodDelete, v.path()+"/tags/"+url.PathEscape(tag), nil, nil, nil)
}
