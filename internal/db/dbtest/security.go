package dbtest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/flymodel/flymodel/internal/db"
)

// testTokens: a token is found by its secret's hash only; a live name is
// unique, a revoked one can be reused; the role is checked; revoking
// twice finds nothing.
func testTokens(t *testing.T, s db.DB) {
	ctx := context.Background()
	at := now()
	exp := at.Add(24 * time.Hour)
	create := func(name, hash, role string) (db.ApiToken, error) {
		return s.CreateToken(ctx, db.CreateTokenParams{Name: name, SecretHash: hash, Role: role, Namespaces: "canada/usa", CreatedBy: "local:test", Now: at, ExpiresAt: &exp})
	}
	ci := must(create("ci", "hash-1", "write"))
	if ci.Namespaces != "canada/usa" || ci.RevokedAt != nil {
		t.Fatalf("token = %+v", ci)
	}
	wantTime(t, "expires_at", *ci.ExpiresAt, exp)
	got := must(s.GetTokenByHash(ctx, "hash-1"))
	if got.ID != ci.ID || got.Name != "ci" || got.Role != "write" {
		t.Fatalf("by hash = %+v", got)
	}
	_, err := s.GetTokenByHash(ctx, "hash-2")
	wantErr(t, err, db.ErrNotFound)
	_, err = create("ci", "hash-2", "read")
	wantConflict(t, err, "api_tokens", "name")
	_, err = create("other", "hash-1", "read")
	wantConflict(t, err, "api_tokens", "secret_hash")
	_, err = create("root", "hash-3", "superuser")
	wantErr(t, err, db.ErrInvalid)
	if n := must(s.CountLiveTokens(ctx)); n != 1 {
		t.Fatalf("live tokens = %d", n)
	}

	later := at.Add(time.Minute)
	revoked := must(s.RevokeToken(ctx, db.RevokeTokenParams{Name: "ci", Now: &later}))
	wantTime(t, "revoked_at", *revoked.RevokedAt, later)
	_, err = s.RevokeToken(ctx, db.RevokeTokenParams{Name: "ci", Now: &later})
	wantErr(t, err, db.ErrNotFound)
	if n := must(s.CountLiveTokens(ctx)); n != 0 {
		t.Fatalf("live tokens after revoke = %d", n)
	}
	// The name is free again; the revoked token stays listed.
	must(create("ci", "hash-4", "read"))
	var names []string
	for _, tk := range must(s.ListTokens(ctx)) {
		names = append(names, fmt.Sprintf("%s:%s:%v", tk.Name, tk.Role, tk.RevokedAt != nil))
	}
	if want := []string{"ci:write:true", "ci:read:false"}; !slices.Equal(names, want) {
		t.Fatalf("tokens = %v, want %v", names, want)
	}
}

// testAudit: records read back oldest first, filtered by every field and
// by time, page by page after an id.
func testAudit(t *testing.T, s db.DB) {
	ctx := context.Background()
	base := now()
	detail := `{"state": ["test", "qa"]}`
	for i, r := range []struct{ actor, action, ns, outcome string }{
		{"alice", "namespace.create", "canada", "ok"},
		{"alice", "model.create", "canada", "ok"},
		{"bob", "model.create", "usa", "ok"},
		{"bob", "request.delete", "canada", "denied"},
		{"alice", "version.state", "canada", "ok"},
	} {
		rec := must(s.CreateAuditRecord(ctx, db.CreateAuditRecordParams{
			At: base.Add(time.Duration(i) * time.Second), Actor: r.actor, Action: r.action, Target: "/namespaces/" + r.ns,
			Namespace: r.ns, Outcome: r.outcome, RequestID: fmt.Sprint("req-", i), Detail: &detail,
		}))
		if rec.Detail == nil || rec.RequestID != fmt.Sprint("req-", i) {
			t.Fatalf("record = %+v", rec)
		}
	}
	_, err := s.CreateAuditRecord(ctx, db.CreateAuditRecordParams{At: base, Actor: "x", Action: "y", Target: "/", Outcome: "maybe"})
	wantErr(t, err, db.ErrInvalid)

	end := base.Add(time.Hour)
	list := func(p db.ListAuditParams) []string {
		t.Helper()
		if p.Until.IsZero() {
			p.Until = end
		}
		if p.PageLimit == 0 {
			p.PageLimit = 100
		}
		var out []string
		for _, r := range must(s.ListAudit(ctx, p)) {
			out = append(out, r.RequestID)
		}
		return out
	}
	for _, c := range []struct {
		name string
		p    db.ListAuditParams
		want []string
	}{
		{"all", db.ListAuditParams{}, []string{"req-0", "req-1", "req-2", "req-3", "req-4"}},
		{"namespace", db.ListAuditParams{Namespace: ptr("canada")}, []string{"req-0", "req-1", "req-3", "req-4"}},
		{"actor", db.ListAuditParams{Actor: ptr("bob")}, []string{"req-2", "req-3"}},
		{"action", db.ListAuditParams{Action: ptr("model.create")}, []string{"req-1", "req-2"}},
		{"outcome", db.ListAuditParams{Outcome: ptr("denied")}, []string{"req-3"}},
		{"since", db.ListAuditParams{Since: base.Add(3 * time.Second)}, []string{"req-3", "req-4"}},
		{"until", db.ListAuditParams{Until: base.Add(2 * time.Second)}, []string{"req-0", "req-1"}},
		{"page", db.ListAuditParams{PageLimit: 2}, []string{"req-0", "req-1"}},
		{"combined", db.ListAuditParams{Namespace: ptr("canada"), Actor: ptr("alice"), Outcome: ptr("ok"), Since: base.Add(time.Second)}, []string{"req-1", "req-4"}},
	} {
		if got := list(c.p); !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	// Keyset paging: after the second record's id.
	first := must(s.ListAudit(ctx, db.ListAuditParams{Until: end, PageLimit: 2}))
	if got := list(db.ListAuditParams{AfterID: first[1].ID, PageLimit: 2}); !slices.Equal(got, []string{"req-2", "req-3"}) {
		t.Errorf("after %d: %v", first[1].ID, got)
	}
}
