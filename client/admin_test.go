package client_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flymodel/flymodel/client"
)

// tokenClient returns a client of the server s sending the token secret.
func tokenClient(t *testing.T, s *testServer, secret string) *client.Client {
	t.Helper()
	c, err := client.New(s.URL, client.WithToken(secret))
	check(t, err)
	return c
}

// findToken returns the listed token called name that has the given id.
func findToken(t *testing.T, tokens []client.Token, id int64) client.Token {
	t.Helper()
	for _, tok := range tokens {
		if tok.ID == id {
			return tok
		}
	}
	t.Fatalf("token %d not listed in %+v", id, tokens)
	return client.Token{}
}

func TestTokens(t *testing.T) {
	c, s := newServer(t, serverConfig{})
	for _, ns := range []string{"canada", "yukon"} {
		_, err := c.CreateNamespace(ctx, ns, "")
		check(t, err)
	}

	before := time.Now()
	tok, err := c.CreateToken(ctx, client.NewToken{Name: "ci-canada", Role: "write", Namespaces: []string{"canada"}, ExpiresIn: "90d"})
	check(t, err)
	if tok.ID == 0 || tok.Name != "ci-canada" || tok.Role != "write" || !slices.Equal(tok.Namespaces, []string{"canada"}) ||
		tok.Status != client.TokenActive || tok.CreatedBy != "test-admin" || tok.CreatedAt.Location() != time.UTC ||
		tok.RevokedAt != nil || !strings.HasPrefix(tok.Secret, "fm_") {
		t.Fatalf("created %+v", tok)
	}
	if tok.ExpiresAt == nil || tok.ExpiresAt.Before(before.Add(90*24*time.Hour-time.Minute)) || tok.ExpiresAt.After(time.Now().Add(90*24*time.Hour+time.Minute)) {
		t.Fatalf("expires at %v, want in 90 days", tok.ExpiresAt)
	}

	// The scoped write token works in its namespace, and only there.
	ci := tokenClient(t, s, tok.Secret)
	m, err := ci.CreateModel(ctx, "canada", "llm.sm")
	check(t, err)
	if m.Namespace != "canada" || m.Name != "llm.sm" {
		t.Fatalf("model %+v", m)
	}
	if _, err := ci.CreateModel(ctx, "yukon", "llm.sm"); !errors.Is(err, client.ErrForbidden) {
		t.Fatalf("create in another namespace: %v, want ErrForbidden", err)
	}
	// Tokens are for unscoped admins only.
	if _, err := ci.ListTokens(ctx); !errors.Is(err, client.ErrForbidden) {
		t.Fatalf("list tokens with a write token: %v, want ErrForbidden", err)
	}
	if _, err := ci.CreateToken(ctx, client.NewToken{Name: "escalate", Role: "admin"}); !errors.Is(err, client.ErrForbidden) {
		t.Fatalf("create token with a write token: %v, want ErrForbidden", err)
	}

	tokens, err := c.ListTokens(ctx)
	check(t, err)
	if len(tokens) != 2 || tokens[0].Name != "test-admin" || tokens[0].Role != "admin" || !slices.Equal(tokens[0].Namespaces, []string{"*"}) || tokens[0].ExpiresAt != nil {
		t.Fatalf("tokens %+v", tokens)
	}
	if got := findToken(t, tokens, tok.ID); !reflect.DeepEqual(got, tok.Token) {
		t.Fatalf("listed %+v, created %+v", got, tok.Token)
	}

	// A live name is taken; invalid values are listed by field.
	if _, err := c.CreateToken(ctx, client.NewToken{Name: "ci-canada", Role: "read", Namespaces: []string{"*"}}); !errors.Is(err, client.ErrConflict) {
		t.Fatalf("duplicate name: %v, want ErrConflict", err)
	}
	_, err = c.CreateToken(ctx, client.NewToken{Name: "bad", Role: "owner", ExpiresIn: "soon"})
	var apiErr *client.Error
	if !errors.Is(err, client.ErrValidation) || !errors.As(err, &apiErr) {
		t.Fatalf("bad role: %v, want ErrValidation", err)
	}
	var fields []string
	for _, f := range apiErr.FieldErrors() {
		fields = append(fields, f.Field)
	}
	slices.Sort(fields)
	if !slices.Equal(fields, []string{"expires_in", "namespaces", "role"}) { // no namespaces: not every one
		t.Fatalf("invalid fields %v", fields)
	}

	// Revoked: refused from then on, listed as revoked, the name free.
	check(t, c.RevokeToken(ctx, "ci-canada"))
	if _, err := ci.CreateModel(ctx, "canada", "llm.lg"); !errors.Is(err, client.ErrUnauthorized) {
		t.Fatalf("create with a revoked token: %v, want ErrUnauthorized", err)
	}
	if err := c.RevokeToken(ctx, "ci-canada"); !errors.Is(err, client.ErrNotFound) {
		t.Fatalf("revoke again: %v, want ErrNotFound", err)
	}
	tokens, err = c.ListTokens(ctx)
	check(t, err)
	if got := findToken(t, tokens, tok.ID); got.Status != client.TokenRevoked || got.RevokedAt == nil || got.RevokedAt.Before(got.CreatedAt) {
		t.Fatalf("revoked token listed as %+v", got)
	}
	again, err := c.CreateToken(ctx, client.NewToken{Name: "ci-canada", Role: "read", Namespaces: []string{"*"}})
	check(t, err)
	if again.ID == tok.ID || again.Status != client.TokenActive || !slices.Equal(again.Namespaces, []string{"*"}) || again.ExpiresAt != nil {
		t.Fatalf("name reused by %+v", again)
	}

	// A name that needs escaping in the path.
	odd := "ci bot é&+=;x" // ('?', '#' and '%' are refused in names)
	_, err = c.CreateToken(ctx, client.NewToken{Name: odd, Role: "read", Namespaces: []string{"*"}})
	check(t, err)
	check(t, c.RevokeToken(ctx, odd))
	if err := c.RevokeToken(ctx, odd); !errors.Is(err, client.ErrNotFound) {
		t.Fatalf("revoke %q again: %v, want ErrNotFound", odd, err)
	}
	tokens, err = c.ListTokens(ctx)
	check(t, err)
	if last := tokens[len(tokens)-1]; last.Name != odd || last.Status != client.TokenRevoked {
		t.Fatalf("last token %+v", last)
	}
}

// auditScenario makes a server whose log holds: token.create of
// test-admin by system (the test server's setup), namespace.create ×2 and
// token.create by test-admin, model.create by ci in canada, a refused
// model creation by ci in yukon, token.revoke by test-admin.
func auditScenario(t *testing.T) (*client.Client, *testServer) {
	t.Helper()
	c, s := newServer(t, serverConfig{})
	for _, ns := range []string{"canada", "yukon"} {
		_, err := c.CreateNamespace(ctx, ns, "")
		check(t, err)
	}
	tok, err := c.CreateToken(ctx, client.NewToken{Name: "ci", Role: "write", Namespaces: []string{"canada"}})
	check(t, err)
	ci := tokenClient(t, s, tok.Secret)
	_, err = ci.CreateModel(ctx, "canada", "llm.sm")
	check(t, err)
	if _, err := ci.CreateModel(ctx, "yukon", "llm.sm"); !errors.Is(err, client.ErrForbidden) {
		t.Fatalf("create in another namespace: %v, want ErrForbidden", err)
	}
	check(t, c.RevokeToken(ctx, "ci"))
	return c, s
}

func TestAudit(t *testing.T) {
	c, s := auditScenario(t)

	page, err := c.Audit(ctx, client.AuditFilter{})
	check(t, err)
	all := page.Items
	if page.Next != 0 {
		t.Fatalf("next %d on the only page", page.Next)
	}
	type rec struct{ actor, action, target, namespace, outcome string }
	var got []rec
	for i, r := range all {
		got = append(got, rec{r.Actor, r.Action, r.Target, r.Namespace, r.Outcome})
		if r.ID == 0 || r.At.IsZero() || r.At.Location() != time.UTC || (r.RequestID == "") != (r.Actor == "system") || (i > 0 && r.ID <= all[i-1].ID) {
			t.Errorf("record %+v", r)
		}
	}
	want := []rec{
		{"system", "token.create", "/tokens/test-admin", "", client.OutcomeOK}, // made by the test server itself
		{"test-admin", "namespace.create", "/namespaces/canada", "canada", client.OutcomeOK},
		{"test-admin", "namespace.create", "/namespaces/yukon", "yukon", client.OutcomeOK},
		{"test-admin", "token.create", "/tokens/ci", "", client.OutcomeOK},
		{"ci", "model.create", "/namespaces/canada/models/llm.sm", "canada", client.OutcomeOK},
		{"ci", "request.post", "/namespaces/yukon/models", "yukon", client.OutcomeDenied},
		{"test-admin", "token.revoke", "/tokens/ci", "", client.OutcomeOK},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("log\n%v\nwant\n%v", got, want)
	}
	var detail struct {
		Role       string   `json:"role"`
		Namespaces []string `json:"namespaces"`
	}
	check(t, json.Unmarshal(all[3].Detail, &detail))
	if detail.Role != "write" || !slices.Equal(detail.Namespaces, []string{"canada"}) {
		t.Fatalf("token.create detail %s", all[3].Detail)
	}
	if string(all[5].Detail) != `{"needs":"write"}` || all[4].Detail != nil {
		t.Fatalf("details %s, %s", all[5].Detail, all[4].Detail)
	}

	// Filters, alone and combined.
	for _, tc := range []struct {
		f    client.AuditFilter
		want []client.AuditRecord
	}{
		{client.AuditFilter{Actor: "ci"}, all[4:6]},
		{client.AuditFilter{Action: "token.create"}, []client.AuditRecord{all[0], all[3]}},
		{client.AuditFilter{Action: "token.revoke"}, all[6:7]},
		{client.AuditFilter{Outcome: client.OutcomeDenied}, all[5:6]},
		{client.AuditFilter{Namespace: "canada"}, []client.AuditRecord{all[1], all[4]}},
		{client.AuditFilter{Actor: "test-admin", Outcome: client.OutcomeOK, Namespace: "yukon"}, all[2:3]},
		{client.AuditFilter{Actor: "nobody"}, nil},
		{client.AuditFilter{After: all[4].ID}, all[5:]},
		{client.AuditFilter{Limit: 2}, all[:2]},
	} {
		p, err := c.Audit(ctx, tc.f)
		check(t, err)
		if len(p.Items) != len(tc.want) || (len(tc.want) > 0 && !reflect.DeepEqual(p.Items, tc.want)) {
			t.Errorf("Audit(%+v) = %+v, want %+v", tc.f, p.Items, tc.want)
		}
	}

	// Since is inclusive, Until exclusive, in any time zone.
	zone := time.FixedZone("UTC-7", -7*3600)
	mid := all[4].At
	since, err := c.Audit(ctx, client.AuditFilter{Since: mid.In(zone)})
	check(t, err)
	until, err := c.Audit(ctx, client.AuditFilter{Until: mid.In(zone)})
	check(t, err)
	var wantSince, wantUntil []client.AuditRecord
	for _, r := range all {
		if r.At.Before(mid) {
			wantUntil = append(wantUntil, r)
		} else {
			wantSince = append(wantSince, r)
		}
	}
	if len(wantSince) == len(all) || len(wantUntil) == len(all) {
		t.Fatalf("the records are not spread in time: %+v", all)
	}
	if !reflect.DeepEqual(since.Items, wantSince) || !reflect.DeepEqual(until.Items, wantUntil) {
		t.Fatalf("since %v: %+v\nuntil: %+v", mid, since.Items, until.Items)
	}
	window, err := c.Audit(ctx, client.AuditFilter{Since: all[3].At, Until: all[6].At})
	check(t, err)
	if !slices.Equal(ids(window.Items), ids(all[3:6])) {
		t.Fatalf("window %+v", window.Items)
	}

	// Values the server cannot take.
	for _, f := range []client.AuditFilter{{Outcome: "maybe"}, {Limit: 1001}, {Limit: -1}, {After: -1}} {
		if _, err := c.Audit(ctx, f); !errors.Is(err, client.ErrBadRequest) {
			t.Errorf("Audit(%+v): %v, want ErrBadRequest", f, err)
		}
	}

	// A read token (even unscoped) does not read the log.
	rt, err := c.CreateToken(ctx, client.NewToken{Name: "reader", Role: "read", Namespaces: []string{"*"}})
	check(t, err)
	reader := tokenClient(t, s, rt.Secret)
	if _, err := reader.Audit(ctx, client.AuditFilter{}); !errors.Is(err, client.ErrForbidden) {
		t.Fatalf("Audit with a read token: %v, want ErrForbidden", err)
	}
	if _, err := reader.AllAudit(ctx, client.AuditFilter{}); !errors.Is(err, client.ErrForbidden) {
		t.Fatalf("AllAudit with a read token: %v, want ErrForbidden", err)
	}
	// Without a token at all: the server has tokens, so it is closed.
	anon := tokenClient(t, s, "")
	if _, err := anon.Audit(ctx, client.AuditFilter{}); !errors.Is(err, client.ErrUnauthorized) {
		t.Fatalf("Audit without a token: %v, want ErrUnauthorized", err)
	}
}

func ids(rs []client.AuditRecord) []int64 {
	var out []int64
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}

func TestAuditPaging(t *testing.T) {
	c, _ := auditScenario(t)
	page, err := c.Audit(ctx, client.AuditFilter{})
	check(t, err)
	all := page.Items

	// One record a page, following Next by hand.
	var paged []client.AuditRecord
	f := client.AuditFilter{Limit: 1}
	for requests := 0; ; requests++ {
		if requests > len(all) {
			t.Fatalf("more than %d pages", len(all))
		}
		p, err := c.Audit(ctx, f)
		check(t, err)
		if len(p.Items) != 1 {
			t.Fatalf("page %+v", p)
		}
		paged = append(paged, p.Items...)
		if p.Next == 0 {
			break
		}
		if p.Next != p.Items[0].ID {
			t.Fatalf("next %d after record %d", p.Next, p.Items[0].ID)
		}
		f.After = p.Next
	}
	if !reflect.DeepEqual(paged, all) {
		t.Fatalf("paged %+v\nwant %+v", paged, all)
	}

	for _, f := range []client.AuditFilter{{}, {Limit: 1}, {Limit: 2}, {Limit: 1000}} {
		got, err := c.AllAudit(ctx, f)
		check(t, err)
		if !reflect.DeepEqual(got, all) {
			t.Errorf("AllAudit(%+v) = %+v", f, got)
		}
	}
	got, err := c.AllAudit(ctx, client.AuditFilter{Actor: "test-admin", Limit: 1, After: all[1].ID})
	check(t, err)
	if !slices.Equal(ids(got), []int64{all[2].ID, all[3].ID, all[6].ID}) {
		t.Fatalf("AllAudit by test-admin after the first: %+v", got)
	}
	got, err = c.AllAudit(ctx, client.AuditFilter{Actor: "nobody"})
	check(t, err)
	if len(got) != 0 {
		t.Fatalf("AllAudit of nobody: %+v", got)
	}
}

// TestAdminRequests checks what the admin methods send, and that only the
// token creation is never sent twice.
func TestAdminRequests(t *testing.T) {
	var calls atomic.Int32
	var sent atomic.Pointer[http.Request]
	c := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		sent.Store(r)
		problem(w, http.StatusServiceUnavailable, "unavailable")
	})
	since := time.Date(2025, 1, 2, 3, 4, 5, 600, time.FixedZone("CEST", 2*3600))
	for _, tc := range []struct {
		name     string
		call     func() error
		method   string
		path     string
		query    string
		attempts int32
	}{
		{"create", func() error {
			_, err := c.CreateToken(ctx, client.NewToken{Name: "x", Role: "read"})
			return err
		}, http.MethodPost, "/api/v1/tokens", "", 1},
		{"list", func() error { _, err := c.ListTokens(ctx); return err }, http.MethodGet, "/api/v1/tokens", "", 3},
		{"revoke", func() error { return c.RevokeToken(ctx, "ci bot/1?") }, http.MethodDelete, "/api/v1/tokens/ci%20bot%2F1%3F", "", 3},
		{"audit", func() error {
			_, err := c.Audit(ctx, client.AuditFilter{})
			return err
		}, http.MethodGet, "/api/v1/audit", "", 3},
		{"audit filtered", func() error {
			_, err := c.Audit(ctx, client.AuditFilter{Namespace: "canada", Actor: "oidc:a b", Action: "token.create", Outcome: "ok",
				Since: since, Until: since.Add(time.Hour), After: 7, Limit: 50})
			return err
		}, http.MethodGet, "/api/v1/audit",
			"action=token.create&actor=oidc%3Aa+b&after=7&limit=50&namespace=canada&outcome=ok&since=2025-01-02T01%3A04%3A05.0000006Z&until=2025-01-02T02%3A04%3A05.0000006Z",
			3},
	} {
		calls.Store(0)
		err := tc.call()
		if !errors.Is(err, client.ErrUnavailable) {
			t.Errorf("%s: %v, want ErrUnavailable", tc.name, err)
		}
		if calls.Load() != tc.attempts {
			t.Errorf("%s: %d attempts, want %d", tc.name, calls.Load(), tc.attempts)
		}
		last := sent.Load()
		if last.Method != tc.method || last.URL.EscapedPath() != tc.path || last.URL.RawQuery != tc.query {
			t.Errorf("%s: sent %s %s?%s, want %s %s?%s", tc.name, last.Method, last.URL.EscapedPath(), last.URL.RawQuery, tc.method, tc.path, tc.query)
		}
	}
}

// adminExampleServer is exampleServer with an unscoped admin token, which
// managing tokens and reading the audit log need.
func adminExampleServer() (url, token string, stop func()) {
	dir, err := os.MkdirTemp("", "flymodel-example-")
	if err != nil {
		panic(err)
	}
	s, err := startServer(serverConfig{dir: dir, withToken: true})
	if err != nil {
		panic(errors.Join(err, os.RemoveAll(dir)))
	}
	return s.URL, s.Token, func() {
		s.Close()
		os.RemoveAll(dir)
	}
}
