package httpapi

import "net/http"

// routes registers every route of the API. It is the only place that does:
// reading it tells what the server answers.
func (s *server) routes() {
	r := s.router

	r.Handle("/healthz", s.handle(s.handleHealthz)).Methods(http.MethodGet, http.MethodHead)
	r.Handle("/readyz", s.handle(s.handleReadyz)).Methods(http.MethodGet, http.MethodHead)
}
