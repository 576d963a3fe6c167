package client

import (
	"context"
	"iter"
	"net/http"
	"net/url"
	"strconv"

	"github.com/flymodel/flymodel/api"
)

// SearchPage is one page of a search across namespaces: the rows and the
// cursor of the next page (empty on the last). It has no total.
type SearchPage[T any] = api.SearchPage[T]

// SearchOptions order and size a search's pages.
type SearchOptions struct {
	// OrderBy is a field and asc or desc, e.g. "created_at desc" (the
	// default, newest first), "name", "metrics.accuracy desc"
	// (experiments).
	OrderBy string
	// Limit is the number of rows per page (0: the server's default, 25;
	// at most MaxPageSize).
	Limit int64
}

func (o SearchOptions) values(filter, after string) url.Values {
	q := url.Values{}
	if filter != "" {
		q.Set("filter", filter)
	}
	if o.OrderBy != "" {
		q.Set("order_by", o.OrderBy)
	}
	if o.Limit != 0 {
		q.Set("limit", strconv.FormatInt(o.Limit, 10))
	}
	if after != "" {
		q.Set("after", after)
	}
	return q
}

// SearchModelsPage returns one page of the models, in every namespace the
// caller reads, that filter selects (empty: all), after the cursor after
// (empty: the first page). A filter that does not parse is an *Error of
// type invalid-filter naming the position and what was expected.
func (c *Client) SearchModelsPage(ctx context.Context, filter string, opts SearchOptions, after string) (SearchPage[Model], error) {
	var p SearchPage[Model]
	err := c.doJSON(ctx, http.MethodGet, apiPrefix+"/models", opts.values(filter, after), nil, &p)
	return p, err
}

// SearchVersionsPage is SearchModelsPage for live versions, e.g. filter
// `state = "prod" AND experiments.eval.metrics.accuracy >= 0.9`.
func (c *Client) SearchVersionsPage(ctx context.Context, filter string, opts SearchOptions, after string) (SearchPage[Version], error) {
	var p SearchPage[Version]
	err := c.doJSON(ctx, http.MethodGet, apiPrefix+"/versions", opts.values(filter, after), nil, &p)
	return p, err
}

// SearchExperimentsPage is SearchModelsPage for live experiments, e.g.
// filter `metrics.accuracy >= 0.9` with OrderBy "metrics.accuracy desc".
func (c *Client) SearchExperimentsPage(ctx context.Context, filter string, opts SearchOptions, after string) (SearchPage[Experiment], error) {
	var p SearchPage[Experiment]
	err := c.doJSON(ctx, http.MethodGet, apiPrefix+"/experiments", opts.values(filter, after), nil, &p)
	return p, err
}

// SearchModels iterates over every model filter selects, following the
// pages' cursors, stopping at the first error. Keyset pages neither skip
// nor repeat a row when rows are added or removed meanwhile.
func (c *Client) SearchModels(ctx context.Context, filter string, opts SearchOptions) iter.Seq2[Model, error] {
	return searchAll(ctx, filter, opts, c.SearchModelsPage)
}

// SearchVersions iterates over every version filter selects (see
// SearchModels).
func (c *Client) SearchVersions(ctx context.Context, filter string, opts SearchOptions) iter.Seq2[Version, error] {
	return searchAll(ctx, filter, opts, c.SearchVersionsPage)
}

// SearchExperiments iterates over every experiment filter selects (see
// SearchModels).
func (c *Client) SearchExperiments(ctx context.Context, filter string, opts SearchOptions) iter.Seq2[Experiment, error] {
	return searchAll(ctx, filter, opts, c.SearchExperimentsPage)
}

func searchAll[T any](ctx context.Context, filter string, opts SearchOptions, page func(context.Context, string, SearchOptions, string) (SearchPage[T], error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		after := ""
		for {
			p, err := page(ctx, filter, opts, after)
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, item := range p.Data {
				if !yield(item, nil) {
					return
				}
			}
			if p.Next == "" || p.Next == after {
				return
			}
			after = p.Next
		}
	}
}
