package dbtest

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flymodel/flymodel/internal/db"
)

// testTokens: a token is found by its secret's hash only; a live name is
// unique, a revoked one can be reused; the role is checked; revoking
// twice finds nothing. A token's namespaces are held by id: they follow a
// rename, go with a deleted namespace (not to a new one of the same name),
// and a token limited to namespaces that are all gone reaches none.
func testTokens(t *testing.T, s db.DB) {
	ctx := context.Background()
	at := now()
	exp := at.Add(24 * time.Hour)
	canada := must(s.CreateNamespace(ctx, db.CreateNamespaceParams{Name: "canada", Now: at}))
	usa := must(s.CreateNamespace(ctx, db.CreateNamespaceParams{Name: "usa", Now: at}))
	create := func(name, hash, role string) (db.ApiToken, error) {
		return s.CreateToken(ctx, db.CreateTokenParams{Name: name, SecretHash: hash, Role: role, CreatedBy: "local:test", Now: at, ExpiresAt: &exp})
	}
	ci := must(create("ci", "hash-1", "write"))
	if ci.AllNamespaces || ci.RevokedAt != nil {
		t.Fatalf("token = %+v", ci)
	}
	for _, ns := range []int64{canada.ID, usa.ID} {
		if err := s.AddTokenNamespace(ctx, db.AddTokenNamespaceParams{TokenID: ci.ID, NamespaceID: ns}); err != nil {
			t.Fatal(err)
		}
	}
	wantErr(t, s.AddTokenNamespace(ctx, db.AddTokenNamespaceParams{TokenID: ci.ID, NamespaceID: usa.ID + 1000}), db.ErrForeignKey)
	wantTime(t, "expires_at", *ci.ExpiresAt, exp)
	byHash := func(hash string) string {
		t.Helper()
		var out []string
		for _, r := range must(s.GetTokenByHash(ctx, hash)) {
			out = append(out, fmt.Sprintf("%d:%s:%s:%v:%s", r.ID-ci.ID, r.Name, r.Role, r.AllNamespaces, r.Namespace))
		}
		slices.Sort(out)
		return strings.Join(out, " ")
	}
	if got := byHash("hash-1"); got != "0:ci:write:false:canada 0:ci:write:false:usa" {
		t.Fatalf("by hash = %s", got)
	}
	if got := byHash("hash-2"); got != "" {
		t.Fatalf("unknown hash = %s", got)
	}
	// Renamed, the namespace stays the token's; a namespace made under the
	// old name is not; deleted, it goes from the token.
	must(s.UpdateNamespace(ctx, db.UpdateNamespaceParams{ID: canada.ID, Name: "ghost", Now: at}))
	must(s.CreateNamespace(ctx, db.CreateNamespaceParams{Name: "canada", Now: at}))
	if got := byHash("hash-1"); got != "0:ci:write:false:ghost 0:ci:write:false:usa" {
		t.Fatalf("by hash after a rename = %s", got)
	}
	must(s.DeleteNamespace(ctx, usa.ID))
	must(s.CreateNamespace(ctx, db.CreateNamespaceParams{Name: "usa", Now: at}))
	must(s.DeleteNamespace(ctx, canada.ID))
	if got := byHash("hash-1"); got != "0:ci:write:false:" {
		t.Fatalf("by hash after deletes = %s", got)
	}
	global := must(s.CreateToken(ctx, db.CreateTokenParams{Name: "root", SecretHash: "hash-g", Role: "admin", AllNamespaces: true, CreatedBy: "local:test", Now: at}))
	if got := byHash("hash-g"); !global.AllNamespaces || got != fmt.Sprintf("%d:root:admin:true:", global.ID-ci.ID) {
		t.Fatalf("global token = %+v, by hash %s", global, got)
	}
	_, err := create("ci", "hash-2", "read")
	wantConflict(t, err, "api_tokens", "name")
	_, err = create("other", "hash-1", "read")
	wantConflict(t, err, "api_tokens", "secret_hash")
	_, err = create("bad", "hash-3", "superuser")
	wantErr(t, err, db.ErrInvalid)
	if n := must(s.CountLiveTokens(ctx)); n != 2 {
		t.Fatalf("live tokens = %d", n)
	}

	later := at.Add(time.Minute)
	revoked := must(s.RevokeToken(ctx, db.RevokeTokenParams{Name: "ci", Now: &later}))
	wantTime(t, "revoked_at", *revoked.RevokedAt, later)
	_, err = s.RevokeToken(ctx, db.RevokeTokenParams{Name: "ci", Now: &later})
	wantErr(t, err, db.ErrNotFound)
	if n := must(s.CountLiveTokens(ctx)); n != 1 {
		t.Fatalf("live tokens after revoke = %d", n)
	}
	// The name is free again; the revoked token stays listed.
	again := must(create("ci", "hash-4", "read"))
	other := must(s.CreateNamespace(ctx, db.CreateNamespaceParams{Name: "other", Now: at}))
	if err := s.AddTokenNamespace(ctx, db.AddTokenNamespaceParams{TokenID: again.ID, NamespaceID: other.ID}); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tk := range must(s.ListTokens(ctx)) {
		names = append(names, fmt.Sprintf("%s:%s:%v:%v", tk.Name, tk.Role, tk.AllNamespaces, tk.RevokedAt != nil))
	}
	if want := []string{"ci:write:false:true", "root:admin:true:false", "ci:read:false:false"}; !slices.Equal(names, want) {
		t.Fatalf("tokens = %v, want %v", names, want)
	}
	grants := func(token *int64) []string {
		var out []string
		for _, g := range must(s.ListTokenNamespaces(ctx, token)) {
			out = append(out, fmt.Sprintf("%d:%s", g.TokenID-ci.ID, g.Name))
		}
		return out
	}
	if got, want := grants(nil), []string{fmt.Sprintf("%d:other", again.ID-ci.ID)}; !slices.Equal(got, want) {
		t.Fatalf("token namespaces = %v, want %v", got, want)
	}
	if got := grants(&ci.ID); len(got) != 0 {
		t.Fatalf("namespaces of ci = %v", got)
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
		if !c.p.Since.IsZero() || !c.p.Until.IsZero() {
			continue
		}
		// Without time bounds, the primary key walks (ListAuditAnyTime,
		// ListAuditNewestAnyTime) list the same, forwards and backwards.
		limit := cmp.Or(c.p.PageLimit, 100)
		var fwd, back []string
		for _, r := range must(s.ListAuditAnyTime(ctx, db.ListAuditAnyTimeParams{AfterID: c.p.AfterID, Namespace: c.p.Namespace,
			Actor: c.p.Actor, Action: c.p.Action, Outcome: c.p.Outcome, PageLimit: limit})) {
			fwd = append(fwd, r.RequestID)
		}
		for _, r := range must(s.ListAuditNewestAnyTime(ctx, db.ListAuditNewestAnyTimeParams{BeforeID: math.MaxInt64,
			Namespace: c.p.Namespace, Actor: c.p.Actor, Action: c.p.Action, Outcome: c.p.Outcome, PageLimit: limit})) {
			back = append(back, r.RequestID)
		}
		wantBack := slices.Clone(c.want)
		slices.Reverse(wantBack)
		if c.name == "page" {
			wantBack = []string{"req-4", "req-3"}
		}
		if !slices.Equal(fwd, c.want) || !slices.Equal(back, wantBack) {
			t.Errorf("%s any time: %v and newest first %v, want %v and %v", c.name, fwd, back, c.want, wantBack)
		}
	}
	// Keyset paging: after the second record's id.
	first := must(s.ListAudit(ctx, db.ListAuditParams{Until: end, PageLimit: 2}))
	if got := list(db.ListAuditParams{AfterID: first[1].ID, PageLimit: 2}); !slices.Equal(got, []string{"req-2", "req-3"}) {
		t.Errorf("after %d: %v", first[1].ID, got)
	}

	// A repeated refusal is counted on the denied record of the same actor,
	// action, target and namespace, when it is recent enough.
	last := base.Add(time.Minute)
	repeat := func(actor, action, ns string, since time.Time) int64 {
		t.Helper()
		return must(s.RepeatDeniedAudit(ctx, db.RepeatDeniedAuditParams{At: &last, Actor: actor, Action: action,
			Target: "/namespaces/" + ns, Namespace: ns, Since: since}))
	}
	for _, c := range []struct {
		actor, action, ns string
		since             time.Time
		want              int64
	}{
		{"bob", "request.delete", "canada", base, 1},
		{"bob", "request.delete", "canada", base, 1},
		{"bob", "request.delete", "canada", base.Add(4 * time.Second), 0}, // too old
		{"alice", "request.delete", "canada", base, 0},                    // another actor
		{"bob", "request.post", "canada", base, 0},                        // another action
		{"bob", "request.delete", "usa", base, 0},                         // another target
		{"alice", "namespace.create", "canada", base, 0},                  // not a refusal
	} {
		if n := repeat(c.actor, c.action, c.ns, c.since); n != c.want {
			t.Errorf("repeat %+v: %d rows, want %d", c, n, c.want)
		}
	}
	for _, r := range must(s.ListAudit(ctx, db.ListAuditParams{Until: end, PageLimit: 100})) {
		switch {
		case r.RequestID == "req-3" && (r.Repeats != 2 || r.LastAt == nil || !r.LastAt.Equal(last)):
			t.Errorf("repeated record: repeats %d, last_at %v, want 2 and %v", r.Repeats, r.LastAt, last)
		case r.RequestID != "req-3" && (r.Repeats != 0 || r.LastAt != nil):
			t.Errorf("record %s: repeats %d, last_at %v", r.RequestID, r.Repeats, r.LastAt)
		}
	}
}
