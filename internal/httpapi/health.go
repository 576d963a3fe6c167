package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/flymodel/flymodel/api"
)

// readyTimeout bounds the readiness checks, which run at once, so that a
// hung database makes /readyz answer 503 rather than hang the prober.
const readyTimeout = 2 * time.Second

// handleHealthz answers whether the process is alive; it checks nothing else,
// so that a slow database never gets a healthy process restarted.
func (s *server) handleHealthz(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, api.Health{Status: "ok"})
}

// handleReadyz answers whether the server can do its work: 200 when the
// registry's database and every blob store in use answer within
// readyTimeout ("degraded" when a store no lifecycle writes to does not),
// else 503 naming the failed checks.
func (s *server) handleReadyz(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	checks := map[string]api.CheckResult{}
	var unused []string
	ready, status := true, api.Ready
	for _, c := range s.registry.Ready(ctx) {
		if c.Unused {
			unused = append(unused, c.Name)
		}
		if c.Err != nil {
			if c.Unused {
				status = api.Degraded
			} else {
				ready = false
			}
			checks[c.Name] = api.CheckFailed
			s.logger.WarnContext(r.Context(), "readiness check failed",
				"check", c.Name, "request_id", requestIDFrom(r.Context()), "err", c.Err)
			continue
		}
		checks[c.Name] = api.CheckOK
	}
	// Lifecycles without a store are named, not a failure: the server
	// serves the others, and a restart would not help.
	var noStore []api.NoStoreProblem
	if missing, err := s.registry.MissingStores(ctx); err == nil {
		for _, m := range missing {
			noStore = append(noStore, api.NoStoreProblem{Namespace: m.Namespace, Lifecycle: m.Lifecycle, Bucket: m.Bucket, ConfigKey: m.ConfigKey()})
		}
	}
	if !ready {
		return newProblem(kindNotReady, "a dependency of the server is not available").with(api.ReadinessProblem{Checks: checks, Unused: unused, NoStore: noStore})
	}
	return writeJSON(w, http.StatusOK, api.Readiness{Status: status, Checks: checks, Unused: unused, NoStore: noStore})
}
