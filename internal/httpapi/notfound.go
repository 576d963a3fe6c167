package httpapi

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/gorilla/mux"
)

func (s *server) handleNotFound(w http.ResponseWriter, r *http.Request) error {
	// gorilla/mux reports a method mismatch inside a sub-router as "not
	// found": a path that some route serves under another method is a 405.
	if len(s.allowedMethods(r)) > 0 {
		return s.handleMethodNotAllowed(w, r)
	}
	return newProblem(kindNotFound, fmt.Sprintf("no resource at %s", r.URL.Path))
}

// handleMethodNotAllowed answers 405 with the Allow header that RFC 9110
// requires, computed from the routes that match the path.
func (s *server) handleMethodNotAllowed(w http.ResponseWriter, r *http.Request) error {
	allowed := s.allowedMethods(r)
	if len(allowed) > 0 {
		w.Header().Set("Allow", strings.Join(allowed, ", "))
	}
	return newProblem(kindMethodNotAllowed,
		fmt.Sprintf("%s is not allowed on %s; allowed: %s", r.Method, r.URL.Path, strings.Join(allowed, ", ")))
}

// allowedMethods lists the methods some route accepts for r's path, by
// asking each route whether it would match r under each of its methods.
func (s *server) allowedMethods(r *http.Request) []string {
	var allowed []string
	_ = s.router.Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		methods, err := route.GetMethods()
		if err != nil {
			return nil // a route without a method matcher
		}
		for _, m := range methods {
			if slices.Contains(allowed, m) {
				continue
			}
			probe := r.Clone(r.Context())
			probe.Method = m
			var match mux.RouteMatch
			if route.Match(probe, &match) && match.MatchErr == nil {
				allowed = append(allowed, m)
			}
		}
		return nil
	})
	slices.Sort(allowed)
	return allowed
}
