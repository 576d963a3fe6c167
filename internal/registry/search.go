package registry

import (
	"context"
	"errors"
	"fmt"

	"github.com/flymodel/flymodel/api"
	"github.com/flymodel/flymodel/internal/db"
	"github.com/flymodel/flymodel/internal/filter"
)

// QueryError is a filter, order or cursor that does not parse (HTTP 400
// invalid-filter). Param is the query parameter: filter, order_by or after.
type QueryError struct {
	Param    string
	Position int
	Expected string
	Found    string
}

func (e *QueryError) Error() string {
	if e.Position == 0 {
		return e.Param + ": " + e.Expected
	}
	if e.Found == "" {
		return fmt.Sprintf("%s at %d: %s", e.Param, e.Position, e.Expected)
	}
	return fmt.Sprintf("%s at %d: expected %s, found %s", e.Param, e.Position, e.Expected, e.Found)
}

// Is makes errors.Is(err, api.ErrBadRequest) true.
func (e *QueryError) Is(target error) bool { return target == api.ErrBadRequest }

func queryError(param string, err error) error {
	var fe *filter.Error
	if errors.As(err, &fe) {
		return &QueryError{Param: param, Position: fe.Pos, Expected: fe.Expected, Found: fe.Found}
	}
	if errors.Is(err, filter.ErrCursor) {
		return &QueryError{Param: param, Expected: err.Error()}
	}
	return err
}

// SearchRequest is a search across namespaces (or, through the list
// calls, within one): a filter (filter package), an order ("created_at
// desc" by default), the cursor of the previous page, and a page size.
type SearchRequest struct {
	Filter  string
	OrderBy string
	After   string
	Limit   int64 // 0: DefaultPageSize; at most MaxPageSize
	// Namespaces, when not nil, limits the search to these namespaces (a
	// scoped caller's); nil searches every namespace.
	Namespaces []string
}

// SearchPage is one page of a search: the rows and, when more may follow,
// the cursor of the next page. It has no total: counting every match
// costs as much as reading them all, which keyset pages avoid.
type SearchPage[T any] struct {
	Items []T
	Next  string
}

// search runs req over res, returning the hits of one page and the next
// cursor.
func (r *Registry) search(ctx context.Context, res filter.Resource, req SearchRequest, scope filter.Query) ([]db.SearchHit, string, error) {
	var v validation
	if req.Limit == 0 {
		req.Limit = DefaultPageSize
	}
	if req.Limit < 1 || req.Limit > MaxPageSize {
		v.addf("limit", "must be between 1 and %d", MaxPageSize)
	}
	if err := v.err(); err != nil {
		return nil, "", err
	}
	expr, err := filter.Parse(req.Filter)
	if err != nil {
		return nil, "", queryError("filter", err)
	}
	order, err := filter.ParseOrder(res, req.OrderBy)
	if err != nil {
		return nil, "", queryError("order_by", err)
	}
	q := scope
	q.Resource, q.Filter, q.Order, q.Namespaces = res, expr, order, req.Namespaces
	if req.After != "" {
		if q.After, err = filter.DecodeCursor(res, order, req.After); err != nil {
			return nil, "", queryError("after", err)
		}
	}
	// One more row than the page tells whether another page follows.
	q.Limit = req.Limit + 1
	hits, err := r.db.Search(ctx, q)
	if err != nil {
		return nil, "", queryError("filter", err)
	}
	next := ""
	if int64(len(hits)) > req.Limit {
		hits = hits[:req.Limit]
		last := hits[len(hits)-1]
		next = filter.Cursor{Order: order, Key: last.Key, ID: last.ID}.Encode()
	}
	return hits, next, nil
}

// names caches namespace and model names while a page loads.
type names struct {
	r          *Registry
	namespaces map[int64]string
	models     map[int64]db.Model
}

func (r *Registry) names() *names {
	return &names{r: r, namespaces: map[int64]string{}, models: map[int64]db.Model{}}
}

func (n *names) namespace(ctx context.Context, id int64) (string, error) {
	if s, ok := n.namespaces[id]; ok {
		return s, nil
	}
	ns, err := n.r.db.GetNamespace(ctx, id)
	if err != nil {
		return "", err
	}
	n.namespaces[id] = ns.Name
	return ns.Name, nil
}

func (n *names) model(ctx context.Context, id int64) (db.Model, string, error) {
	m, ok := n.models[id]
	if !ok {
		var err error
		if m, err = n.r.db.GetModel(ctx, id); err != nil {
			return db.Model{}, "", err
		}
		n.models[id] = m
	}
	ns, err := n.namespace(ctx, m.NamespaceID)
	return m, ns, err
}

// gone skips a row deleted between the search and its load.
func gone(err error) bool { return errors.Is(err, db.ErrNotFound) }

// SearchVersions returns a page of the live versions the filter selects.
func (r *Registry) SearchVersions(ctx context.Context, req SearchRequest) (SearchPage[Version], error) {
	return r.searchVersions(ctx, req, filter.Query{})
}

func (r *Registry) searchVersions(ctx context.Context, req SearchRequest, scope filter.Query) (SearchPage[Version], error) {
	hits, next, err := r.search(ctx, filter.Versions, req, scope)
	if err != nil {
		return SearchPage[Version]{}, err
	}
	items, err := r.loadVersions(ctx, hits)
	return SearchPage[Version]{Items: items, Next: next}, err
}

// loadVersions loads the versions of hits, in order, with the existing
// queries (so a search shows a version as every other call does).
func (r *Registry) loadVersions(ctx context.Context, hits []db.SearchHit) ([]Version, error) {
	out := []Version{}
	n := r.names()
	for _, h := range hits {
		row, err := r.db.GetVersion(ctx, h.ID)
		if gone(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		m, ns, err := n.model(ctx, row.ModelID)
		if err != nil {
			return nil, err
		}
		v, err := withTags(ctx, r.db, toVersion(ns, m.Name)(row), nil)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// SearchModels returns a page of the models the filter selects.
func (r *Registry) SearchModels(ctx context.Context, req SearchRequest) (SearchPage[Model], error) {
	return r.searchModels(ctx, req, filter.Query{})
}

func (r *Registry) searchModels(ctx context.Context, req SearchRequest, scope filter.Query) (SearchPage[Model], error) {
	hits, next, err := r.search(ctx, filter.Models, req, scope)
	if err != nil {
		return SearchPage[Model]{}, err
	}
	items, err := r.loadModels(ctx, hits)
	return SearchPage[Model]{Items: items, Next: next}, err
}

// loadModels loads the models of hits, in order.
func (r *Registry) loadModels(ctx context.Context, hits []db.SearchHit) ([]Model, error) {
	out := []Model{}
	n := r.names()
	for _, h := range hits {
		row, err := r.db.GetModel(ctx, h.ID)
		if gone(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		ns, err := n.namespace(ctx, row.NamespaceID)
		if err != nil {
			return nil, err
		}
		m, err := r.toModel(ctx, r.db, ns, row)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// SearchExperiments returns a page of the live experiments (of live
// versions) the filter selects.
func (r *Registry) SearchExperiments(ctx context.Context, req SearchRequest) (SearchPage[Experiment], error) {
	return r.searchExperiments(ctx, req, filter.Query{})
}

func (r *Registry) searchExperiments(ctx context.Context, req SearchRequest, scope filter.Query) (SearchPage[Experiment], error) {
	hits, next, err := r.search(ctx, filter.Experiments, req, scope)
	if err != nil {
		return SearchPage[Experiment]{}, err
	}
	items, err := r.loadExperiments(ctx, hits)
	return SearchPage[Experiment]{Items: items, Next: next}, err
}

// loadExperiments loads the experiments of hits, in order.
func (r *Registry) loadExperiments(ctx context.Context, hits []db.SearchHit) ([]Experiment, error) {
	out := []Experiment{}
	n := r.names()
	versions := map[int64]db.ModelVersion{}
	for _, h := range hits {
		row, err := r.db.GetExperiment(ctx, h.ID)
		if gone(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		v, ok := versions[row.VersionID]
		if !ok {
			if v, err = r.db.GetVersion(ctx, row.VersionID); gone(err) {
				continue
			} else if err != nil {
				return nil, err
			}
			versions[row.VersionID] = v
		}
		m, ns, err := n.model(ctx, v.ModelID)
		if err != nil {
			return nil, err
		}
		out = append(out, toExperiment(Ref{Namespace: ns, Model: m.Name, Version: v.Version})(row))
	}
	return out, nil
}

// The list calls' filter: a page-numbered list (with its totals) of the
// rows of one namespace, model or version that a filter selects, in the
// list's own order, combined with the list's other filters.

// listWhere parses src, ANDs it with the list's own conditions, and
// returns the page's hits and the total.
func (r *Registry) listWhere(ctx context.Context, res filter.Resource, src string, and []*filter.Predicate, order string, scope filter.Query, page PageRequest) ([]db.SearchHit, int64, error) {
	var v validation
	off, lim := page.validate(&v)
	if err := v.err(); err != nil {
		return nil, 0, err
	}
	expr, err := filter.Parse(src)
	if err != nil {
		return nil, 0, queryError("filter", err)
	}
	for _, p := range and {
		if p != nil {
			expr = &filter.Logical{Op: "AND", L: expr, R: p}
		}
	}
	q := scope
	q.Resource, q.Filter, q.Limit, q.Offset = res, expr, lim, off
	if q.Order, err = filter.ParseOrder(res, order); err != nil {
		return nil, 0, err
	}
	hits, err := r.db.Search(ctx, q)
	if err != nil {
		return nil, 0, queryError("filter", err)
	}
	total, err := r.db.SearchCount(ctx, q)
	if err != nil {
		return nil, 0, queryError("filter", err)
	}
	return hits, total, nil
}

// equals is the condition field = value, nil when value is empty.
func equals(field, value string) *filter.Predicate {
	if value == "" {
		return nil
	}
	return &filter.Predicate{Field: field, Op: "=", Values: []filter.Value{{Kind: filter.KindString, Str: value}}}
}

// ListExperimentsWhere is ListExperiments with a filter of the query
// language ANDed with state (oldest first, page-numbered, with totals).
func (r *Registry) ListExperimentsWhere(ctx context.Context, ref Ref, state, src string, page PageRequest) (Page[Experiment], error) {
	if state != "" {
		var v validation
		oneOf(&v, "state", state, ExperimentStates)
		if err := v.err(); err != nil {
			return Page[Experiment]{}, err
		}
	}
	res, err := r.version(ctx, r.db, ref)
	if err != nil {
		return Page[Experiment]{}, err
	}
	hits, total, err := r.listWhere(ctx, filter.Experiments, src, []*filter.Predicate{equals("state", state)},
		"created_at asc", filter.Query{VersionID: res.version.ID}, page)
	if err != nil {
		return Page[Experiment]{}, err
	}
	items, err := r.loadExperiments(ctx, hits)
	return newPage(items, page, total), err
}
