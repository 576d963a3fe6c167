package httpapi

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/flymodel/flymodel/api"
	"github.com/flymodel/flymodel/internal/blob"
)

// readyTimeout bounds each readiness check, so that a hung database makes
// /readyz answer 503 rather than hang the prober.
const readyTimeout = 2 * time.Second

// handleHealthz answers whether the process is alive; it checks nothing else,
// so that a slow database never gets a healthy process restarted.
func (s *server) handleHealthz(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, api.Health{Status: "ok"})
}

// handleReadyz answers whether the server can do its work: 200 when every
// dependency answers within readyTimeout, else 503 naming the failed checks.
func (s *server) handleReadyz(w http.ResponseWriter, r *http.Request) error {
	checks := map[string]api.CheckResult{}
	ready := true

	if err := s.pingDatabase(r.Context()); err != nil {
		ready = false
		checks["database"] = api.CheckFailed
		s.logger.WarnContext(r.Context(), "readiness check failed",
			"check", "database", "request_id", requestIDFrom(r.Context()), "err", err)
	} else {
		checks["database"] = api.CheckOK
	}

	for name, st := range s.stores.ByName {
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		// A stat of a key that is never written: any answer but "not
		// found" (or found) means the store cannot be reached.
		_, err := st.Stat(ctx, "probe/readyz")
		cancel()
		if err != nil && !errors.Is(err, blob.ErrNotFound) {
			ready = false
			checks["storage:"+name] = api.CheckFailed
			s.logger.WarnContext(r.Context(), "readiness check failed",
				"check", "storage", "store", st.String(), "request_id", requestIDFrom(r.Context()), "err", err)
			continue
		}
		checks["storage:"+name] = api.CheckOK
	}

	if !ready {
		return newProblem(kindNotReady, "a dependency of the server is not available").with("checks", checks)
	}
	return writeJSON(w, http.StatusOK, api.Readiness{Status: "ready", Checks: checks})
}

func (s *server) pingDatabase(ctx context.Context) error {
	if s.store == nil {
		return errors.New("no database configured")
	}
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	return s.store.Ping(ctx)
}
