package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
)

// handlerFunc is an HTTP handler that returns its error instead of writing
// it, so that every error goes through one mapping (Server.writeError).
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// handle adapts a handlerFunc to http.Handler.
func (s *server) handle(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.registry != nil {
			r = r.WithContext(context.WithValue(r.Context(), resolverKey{}, s.registry))
		}
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

// writeError is the one place where errors become responses: a *Problem is
// written as it is, the registry's typed errors become their problems, and
// anything else is logged and answered with a 500 that
// carries the request id and nothing of the error itself.
func (s *server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var p *Problem
	if errors.As(err, &p) {
		writeProblem(w, r, p)
		return
	}
	if p := registryProblem(err); p != nil {
		if store := s.blobStoreLabel(err); store != "" {
			s.metrics.blobStoreError(store)
		}
		if p.Status >= 500 {
			s.logger.ErrorContext(r.Context(), "request failed",
				"method", r.Method, "path", r.URL.Path,
				"request_id", requestIDFrom(r.Context()), "err", err)
		}
		writeProblem(w, r, p)
		return
	}
	s.logger.ErrorContext(r.Context(), "request failed",
		"method", r.Method, "path", r.URL.Path,
		"request_id", requestIDFrom(r.Context()), "err", err)
	writeProblem(w, r, newProblem(kindInternal, "the server failed to handle the request; quote the request id when reporting it"))
}

// writeJSON writes v as a JSON response with the given status. It fails
// only when v cannot be encoded, before anything is written; a failed write
// means the client is gone and there is no one left to tell.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
	return nil
}
