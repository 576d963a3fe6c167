package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/flymodel/flymodel/api"
)

// CreateNamespace creates a namespace; ErrConflict when the name is taken.
func (c *Client) CreateNamespace(ctx context.Context, name, description string) (Namespace, error) {
	var ns Namespace
	in := api.NamespaceCreate{Name: name, Description: description}
	err := c.doJSON(ctx, http.MethodPost, apiPrefix+"/namespaces", nil, in, &ns)
	return ns, err
}

// GetNamespace returns a namespace.
func (c *Client) GetNamespace(ctx context.Context, name string) (Namespace, error) {
	var ns Namespace
	err := c.doJSON(ctx, http.MethodGet, namespacePath(name), nil, nil, &ns)
	return ns, err
}

// ListNamespaces returns one page of the namespaces, by name.
func (c *Client) ListNamespaces(ctx context.Context, opts ListOptions) (Page[Namespace], error) {
	var p Page[Namespace]
	err := c.doJSON(ctx, http.MethodGet, apiPrefix+"/namespaces", opts.values(), nil, &p)
	return p, err
}

// NamespaceUpdate changes a namespace; nil fields stay as they are.
type NamespaceUpdate = api.NamespaceUpdate

// UpdateNamespace renames a namespace or changes its description.
func (c *Client) UpdateNamespace(ctx context.Context, name string, u NamespaceUpdate) (Namespace, error) {
	var ns Namespace
	err := c.doJSON(ctx, http.MethodPatch, namespacePath(name), nil, u, &ns)
	return ns, err
}

// DeleteNamespace deletes a namespace. One that holds models, buckets or
// tags is only deleted with cascade (everything in it goes too), else the
// answer is ErrConflict.
func (c *Client) DeleteNamespace(ctx context.Context, name string, cascade bool) error {
	return c.doJSON(ctx, http.MethodDelete, namespacePath(name), flag("cascade", cascade), nil, nil)
}

// NewBucket is a bucket to record: one per namespace and role (lifecycle).
type NewBucket = api.BucketCreate

// CreateBucket records a storage bucket of a namespace.
func (c *Client) CreateBucket(ctx context.Context, ns string, b NewBucket) (Bucket, error) {
	var out Bucket
	err := c.doJSON(ctx, http.MethodPost, namespacePath(ns)+"/buckets", nil, b, &out)
	return out, err
}

// ListBuckets returns one page of a namespace's buckets, by name.
func (c *Client) ListBuckets(ctx context.Context, ns string, opts ListOptions) (Page[Bucket], error) {
	var p Page[Bucket]
	err := c.doJSON(ctx, http.MethodGet, namespacePath(ns)+"/buckets", opts.values(), nil, &p)
	return p, err
}

// DeleteBucket removes a bucket's record (not the bucket itself).
func (c *Client) DeleteBucket(ctx context.Context, ns string, id int64) error {
	return c.doJSON(ctx, http.MethodDelete, namespacePath(ns)+"/buckets/"+strconv.FormatInt(id, 10), nil, nil, nil)
}

// CreateTag creates a tag of a namespace; color is "#rrggbb" (lowercase),
// or "" for the server's default (chosen by the tag's name).
func (c *Client) CreateTag(ctx context.Context, ns, tag, color string) (Tag, error) {
	var out Tag
	in := api.TagCreate{Tag: tag, Color: color}
	err := c.doJSON(ctx, http.MethodPost, namespacePath(ns)+"/tags", nil, in, &out)
	return out, err
}

// ListTags returns one page of a namespace's tags, by name.
func (c *Client) ListTags(ctx context.Context, ns string, opts ListOptions) (Page[Tag], error) {
	var p Page[Tag]
	err := c.doJSON(ctx, http.MethodGet, namespacePath(ns)+"/tags", opts.values(), nil, &p)
	return p, err
}

// DeleteTag deletes a tag and detaches it everywhere.
func (c *Client) DeleteTag(ctx context.Context, ns, tag string) error {
	return c.doJSON(ctx, http.MethodDelete, namespacePath(ns)+"/tags/"+url.PathEscape(tag), nil, nil, nil)
}

// flag is a boolean query parameter, sent only when set.
func flag(key string, on bool) url.Values {
	if !on {
		return nil
	}
	return url.Values{key: {"true"}}
}
