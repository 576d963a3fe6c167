package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/flymodel/flymodel/api"
)

// Alias is a named, movable pointer from a model to one of its versions
// (`champion`, `canary`, …); "@<alias>" names that version wherever a
// version is named (ResolveVersion, Pull, every VersionRef).
type Alias = api.Alias

// AliasChange is one entry of an alias's history: a move, its creation
// (From nil) or its removal (To nil).
type AliasChange = api.AliasChange

func aliasPath(ns, model, alias string) string {
	return modelPath(ns, model) + "/aliases/" + url.PathEscape(alias)
}

// SetAlias points a model's alias to a version — a name, or a selector
// such as "@prod" resolved by the server now — creating or moving it.
// A name that is a lifecycle or starts with '@' is ErrInvalid, an unknown
// version ErrNotFound; a protected alias (the server's aliases.protected)
// needs its rule's role (ErrForbidden) and a version in its rule's
// lifecycle (ErrConflict, problem type alias-protected).
func (c *Client) SetAlias(ctx context.Context, ns, model, alias, version string) (Alias, error) {
	var out Alias
	err := c.doJSON(ctx, http.MethodPut, aliasPath(ns, model, alias), nil, api.SetAliasRequest{Version: version}, &out)
	return out, err
}

// DeleteAlias removes a model's alias; ErrNotFound when it has none of
// that name.
func (c *Client) DeleteAlias(ctx context.Context, ns, model, alias string) error {
	return c.doJSON(ctx, http.MethodDelete, aliasPath(ns, model, alias), nil, nil, nil)
}

// GetAlias returns one alias of a model.
func (c *Client) GetAlias(ctx context.Context, ns, model, alias string) (Alias, error) {
	var out Alias
	err := c.doJSON(ctx, http.MethodGet, aliasPath(ns, model, alias), nil, nil, &out)
	return out, err
}

// ListAliases returns every alias of a model, by name.
func (c *Client) ListAliases(ctx context.Context, ns, model string) ([]Alias, error) {
	var out api.List[Alias]
	err := c.doJSON(ctx, http.MethodGet, modelPath(ns, model)+"/aliases", nil, nil, &out)
	return out.Data, err
}

// AliasHistory returns one page of an alias's changes, newest first. A
// removed alias keeps its history; one that never existed is ErrNotFound.
func (c *Client) AliasHistory(ctx context.Context, ns, model, alias string, opts ListOptions) (Page[AliasChange], error) {
	var p Page[AliasChange]
	err := c.doJSON(ctx, http.MethodGet, aliasPath(ns, model, alias)+"/history", opts.values(), nil, &p)
	return p, err
}
