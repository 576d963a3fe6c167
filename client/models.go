package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/flymodel/flymodel/api"
)

// CreateModel creates a model in a namespace; ErrConflict when the name is
// taken there.
func (c *Client) CreateModel(ctx context.Context, ns, name string) (Model, error) {
	var m Model
	in := api.ModelCreate{Name: name}
	err := c.doJSON(ctx, http.MethodPost, namespacePath(ns)+"/models", nil, in, &m)
	return m, err
}

// NewModel is a model to create: its name and its Markdown description.
type NewModel = api.ModelCreate

// CreateModelWith creates a model with its description; ErrConflict when
// the name is taken in the namespace.
func (c *Client) CreateModelWith(ctx context.Context, ns string, in NewModel) (Model, error) {
	var m Model
	err := c.doJSON(ctx, http.MethodPost, namespacePath(ns)+"/models", nil, in, &m)
	return m, err
}

// ModelUpdate renames a model and/or changes its description; nil members
// are kept.
type ModelUpdate = api.ModelUpdate

// UpdateModel changes a model's name and/or description.
func (c *Client) UpdateModel(ctx context.Context, ns, name string, u ModelUpdate) (Model, error) {
	var m Model
	err := c.doJSON(ctx, http.MethodPatch, modelPath(ns, name), nil, u, &m)
	return m, err
}

// GetModel returns a model with its tags.
func (c *Client) GetModel(ctx context.Context, ns, name string) (Model, error) {
	var m Model
	err := c.doJSON(ctx, http.MethodGet, modelPath(ns, name), nil, nil, &m)
	return m, err
}

// ModelFilter narrows a model list; empty fields do not filter.
type ModelFilter struct {
	// Name keeps models whose name contains it (case-insensitive).
	Name string
	// Tag keeps models that carry the tag.
	Tag string
	// Filter keeps models a filter of the query language selects (README:
	// Search: the filter language), e.g. `tags = "nlp"`.
	Filter string
}

// ListModels returns one page of a namespace's models, by name.
func (c *Client) ListModels(ctx context.Context, ns string, f ModelFilter, opts ListOptions) (Page[Model], error) {
	q := opts.values()
	if f.Name != "" {
		q.Set("name", f.Name)
	}
	if f.Tag != "" {
		q.Set("tag", f.Tag)
	}
	if f.Filter != "" {
		q.Set("filter", f.Filter)
	}
	var p Page[Model]
	err := c.doJSON(ctx, http.MethodGet, namespacePath(ns)+"/models", q, nil, &p)
	return p, err
}

// RenameModel renames a model; its versions follow.
func (c *Client) RenameModel(ctx context.Context, ns, name, newName string) (Model, error) {
	var m Model
	in := api.ModelUpdate{Name: &newName}
	err := c.doJSON(ctx, http.MethodPatch, modelPath(ns, name), nil, in, &m)
	return m, err
}

// DeleteModel deletes a model. One with versions (soft-deleted ones count)
// is only deleted with cascade, else the answer is ErrConflict.
func (c *Client) DeleteModel(ctx context.Context, ns, name string, cascade bool) error {
	return c.doJSON(ctx, http.MethodDelete, modelPath(ns, name), flag("cascade", cascade), nil, nil)
}

// TagModel attaches a tag of the namespace to a model (idempotent).
func (c *Client) TagModel(ctx context.Context, ns, model, tag string) error {
	return c.doJSON(ctx, http.MethodPut, modelPath(ns, model)+"/tags/"+url.PathEscape(tag), nil, nil, nil)
}

// UntagModel detaches a tag from a model (idempotent).
func (c *Client) UntagModel(ctx context.Context, ns, model, tag string) error {
	return c.doJSON(ctx, http.MethodDelete, modelPath(ns, model)+"/tags/"+url.PathEscape(tag), nil, nil, nil)
}
