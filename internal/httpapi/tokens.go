package httpapi

import (
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gorilla/mux"

	"github.com/flymodel/flymodel/api"
	"github.com/flymodel/flymodel/internal/audit"
	"github.com/flymodel/flymodel/internal/registry"
)

func (s *server) handleListTokens(w http.ResponseWriter, r *http.Request) error {
	tokens, err := s.registry.ListTokens(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, api.TokenList{Items: tokens})
}

func (s *server) handleCreateToken(w http.ResponseWriter, r *http.Request) error {
	var in api.TokenCreate
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	t, secret, err := s.registry.CreateToken(r.Context(), registry.NewToken{Name: in.Name, Role: in.Role, Namespaces: in.Namespaces, ExpiresIn: in.ExpiresIn})
	if err != nil {
		return err
	}
	// The secret is in this response and nowhere else: keep it out of caches.
	w.Header().Set("Cache-Control", "no-store")
	return writeCreated(w, registry.TokenPath(t.Name), api.CreatedToken{Token: t, Secret: secret})
}

func (s *server) handleRevokeToken(w http.ResponseWriter, r *http.Request) error {
	name, err := url.PathUnescape(mux.Vars(r)["token"])
	if err != nil {
		return newProblem(kindInvalidName, "token name is not a valid path segment").with("field", "token")
	}
	if _, err := s.registry.RevokeToken(r.Context(), name); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// handleAudit lists the audit log, oldest first, a page at a time: the
// response's next goes in ?after= for the following page.
func (s *server) handleAudit(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := audit.Filter{Namespace: q.Get("namespace"), Actor: q.Get("actor"), Action: q.Get("action"), Outcome: q.Get("outcome")}
	if f.Outcome != "" && f.Outcome != audit.OK && f.Outcome != audit.Denied {
		return newProblem(kindMalformed, "query parameter outcome must be ok or denied").with("field", "outcome")
	}
	for _, t := range []struct {
		key string
		dst *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		if v := q.Get(t.key); v != "" {
			at, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return newProblem(kindMalformed, "query parameter "+t.key+" must be an RFC 3339 time").with("field", t.key)
			}
			*t.dst = at
		}
	}
	for _, n := range []struct {
		key string
		dst *int64
		max int64
	}{{"after", &f.After, 1<<63 - 1}, {"limit", &f.Limit, audit.MaxLimit}} {
		if v := q.Get(n.key); v != "" {
			i, err := strconv.ParseInt(v, 10, 64)
			if err != nil || i < 0 || i > n.max {
				return newProblem(kindMalformed, "query parameter "+n.key+" must be an integer from 0 to "+strconv.FormatInt(n.max, 10)).with("field", n.key)
			}
			*n.dst = i
		}
	}
	items, next, err := s.registry.Audit(r.Context(), f)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, api.AuditPage{Items: items, Next: next})
}
