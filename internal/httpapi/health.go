package httpapi

import (
	"context"
	"errors"
	"net/http"
	"time"
)

// readyTimeout bounds each readiness check, so that a hung database makes
// /readyz answer 503 rather than hang the prober.
const readyTimeout = 2 * time.Second

// handleHealthz answers whether the process is alive; it checks nothing else,
// so that a slow database never gets a healthy process restarted.
func (s *server) handleHealthz(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// handleReadyz answers whether the server can do its work: 200 when every
// dependency answers within readyTimeout, else 503 naming the failed checks.
func (s *server) handleReadyz(w http.ResponseWriter, r *http.Request) error {
	checks := map[string]string{}
	ready := true

	if err := s.pingDatabase(r.Context()); err != nil {
		ready = false
		checks["database"] = "failed"
		s.logger.WarnContext(r.Context(), "readiness check failed",
			"check", "database", "request_id", requestIDFrom(r.Context()), "err", err)
	} else {
		checks["database"] = "ok"
	}

	if !ready {
		return newProblem(kindNotReady, "a dependency of the server is not available").with("checks", checks)
	}
	return writeJSON(w, http.StatusOK, map[string]any{"status": "ready", "checks": checks})
}

func (s *server) pingDatabase(ctx context.Context) error {
	if s.store == nil {
		return errors.New("no database configured")
	}
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	return s.store.Ping(ctx)
}
