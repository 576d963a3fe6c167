package web

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/flymodel/flymodel/internal/audit"
	"github.com/flymodel/flymodel/internal/auth"
)

// TestPagesRunAsTheCaller: a page's context carries the principal and
// the audit caller (actor and request id), so the registry audits what a
// page changes as it audits the API's calls.
func TestPagesRunAsTheCaller(t *testing.T) {
	u := &ui{principal: func(*http.Request) (auth.Principal, error) {
		return auth.Principal{Name: "alice", Grants: []auth.Grant{{Role: auth.Write}}}, nil
	}}
	u.loadAssets()
	u.pages = u.parseTemplates()
	var caller audit.Caller
	var p auth.Principal
	h := u.page(func(r *http.Request) (View, error) {
		caller, p = audit.CallerFrom(r.Context()), Principal(r.Context())
		return View{}, errStop
	})
	rec := httptest.NewRecorder()
	rec.Header().Set("X-Request-Id", "req-1") // as the API's middleware sets it
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/x", nil))
	if rec.Code != 418 {
		t.Errorf("status %d", rec.Code)
	}
	if caller != (audit.Caller{Actor: "alice", RequestID: "req-1"}) || p.Name != "alice" {
		t.Errorf("caller %+v, principal %+v", caller, p)
	}
}

var errStop = &Error{Status: 418, Title: "stop"}
