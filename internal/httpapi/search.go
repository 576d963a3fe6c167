package httpapi

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/flymodel/flymodel/api"
	"github.com/flymodel/flymodel/internal/registry"
)

// searchRequest reads a search's query parameters: filter, order_by,
// after (or cursor), limit; the caller's namespaces scope it.
func searchRequest(r *http.Request) (registry.SearchRequest, error) {
	q := r.URL.Query()
	req := registry.SearchRequest{Filter: q.Get("filter"), OrderBy: q.Get("order_by"), After: q.Get("after")}
	if req.After == "" {
		req.After = q.Get("cursor")
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return req, newProblem(kindMalformed, fmt.Sprintf("query parameter limit must be an integer, not %q", s)).with(api.BadRequestProblem{Field: "limit"})
		}
		req.Limit = n
	}
	// A scoped principal searches the namespaces it reaches, no others.
	req.Namespaces = principalFrom(r.Context()).Namespaces()
	return req, nil
}

func writeSearch[T any](w http.ResponseWriter, p registry.SearchPage[T]) error {
	return writeJSON(w, http.StatusOK, api.SearchPage[T]{Data: p.Items, Next: p.Next})
}

func (s *server) handleSearchModels(w http.ResponseWriter, r *http.Request) error {
	req, err := searchRequest(r)
	if err != nil {
		return err
	}
	page, err := s.registry.SearchModels(r.Context(), req)
	if err != nil {
		return err
	}
	return writeSearch(w, page)
}

func (s *server) handleSearchVersions(w http.ResponseWriter, r *http.Request) error {
	req, err := searchRequest(r)
	if err != nil {
		return err
	}
	page, err := s.registry.SearchVersions(r.Context(), req)
	if err != nil {
		return err
	}
	return writeSearch(w, page)
}

func (s *server) handleSearchExperiments(w http.ResponseWriter, r *http.Request) error {
	req, err := searchRequest(r)
	if err != nil {
		return err
	}
	page, err := s.registry.SearchExperiments(r.Context(), req)
	if err != nil {
		return err
	}
	return writeSearch(w, page)
}
