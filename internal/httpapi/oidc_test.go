package httpapi_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/flymodel/flymodel/internal/audit"
	"github.com/flymodel/flymodel/internal/auth"
	"github.com/flymodel/flymodel/internal/auth/oidctest"
	"github.com/flymodel/flymodel/internal/db"
	"github.com/flymodel/flymodel/internal/httpapi"
	"github.com/flymodel/flymodel/internal/registry"
)

// oidcAudience is the audience the server's OIDC configuration expects.
const oidcAudience = "flymodel-api"

// oidcEngines runs fn against a server authenticating with authenticator
// over a fresh, migrated store of each engine (skipping PostgreSQL as
// engines does). newAuth builds the server's authenticator over the store.
func oidcEngines(t *testing.T, newAuth func(db.DB) *auth.Authenticator, fn func(t *testing.T, a *api, reg *registry.Registry)) {
	eachEngine(t, func(t *testing.T, s db.DB) {
		reg := registry.New(registry.Options{DB: s})
		a := &api{t: t, h: httpapi.NewServer(reg, newAuth(s), httpapi.Options{}), store: s}
		a.skipAudit()
		fn(t, a, reg)
	})
}

// auditOf returns the audit records written under a response's request id.
func auditOf(t *testing.T, s db.DB, res response) []audit.Item {
	t.Helper()
	id := res.header.Get("X-Request-Id")
	if id == "" {
		t.Fatal("response without X-Request-Id")
	}
	var out []audit.Item
	var after int64
	for {
		items, next, err := audit.List(context.Background(), s, audit.Filter{After: after, Limit: audit.MaxLimit})
		check(t, err)
		for _, it := range items {
			if it.RequestID == id {
				out = append(out, it)
			}
		}
		if next == 0 {
			return out
		}
		after = next
	}
}

// wantActor checks that a response left at least one audit record, each
// by actor with the given outcome.
func wantActor(t *testing.T, s db.DB, res response, actor, outcome string) {
	t.Helper()
	items := auditOf(t, s, res)
	if len(items) == 0 {
		t.Fatalf("no audit record for request %s", res.header.Get("X-Request-Id"))
	}
	for _, it := range items {
		if it.Actor != actor || it.Outcome != outcome {
			t.Fatalf("audit record %+v: want actor %q, outcome %q", it, actor, outcome)
		}
	}
}

// TestOIDCBearerTokens: a server configured with an OIDC issuer accepts
// the issuer's JWTs with the grants their groups map to, refuses expired,
// misdirected and forged ones with an invalid_token challenge, still
// accepts API tokens, and answers anonymous requests 401 even on a
// loopback server without tokens.
func TestOIDCBearerTokens(t *testing.T) {
	iss := oidctest.NewIssuer(t, "RS256")
	key := oidctest.NewRSAKey(t, "test-rs256")
	iss.Serve(key)
	// jwt signs valid claims for subject sub, with extra merged in (a nil
	// value deletes the claim), with the issuer's key.
	jwt := func(t *testing.T, sub string, extra map[string]any) string {
		t.Helper()
		return oidctest.Sign(t, key, iss.Claims(oidcAudience, sub, extra))
	}
	oidc, err := auth.NewOIDC(t.Context(), auth.OIDCConfig{
		Issuer:    iss.URL,
		Audience:  oidcAudience,
		RoleClaim: "groups",
		Roles:     map[string]string{"ml-admins": "admin", "ml-readers": "read:canada"},
	}, iss.Client())
	if err != nil {
		t.Fatalf("NewOIDC: %v", err)
	}
	newAuth := func(s db.DB) *auth.Authenticator {
		// Loopback, no anonymous policy: without OIDC this server would
		// let anonymous requests write until a token exists.
		return auth.New(auth.Options{DB: s, OIDC: oidc, Loopback: true})
	}
	adminJWT := jwt(t, "alice", map[string]any{"groups": []any{"ml-admins"}})
	readerJWT := jwt(t, "bob", map[string]any{"groups": []any{"ml-readers"}})

	oidcEngines(t, newAuth, func(t *testing.T, a *api, reg *registry.Registry) {
		challenge := func(res response, wantInvalid bool) {
			t.Helper()
			a.problem(res, 401, "unauthorized")
			h := res.header.Get("WWW-Authenticate")
			if !strings.HasPrefix(h, "Bearer ") {
				t.Fatalf("WWW-Authenticate = %q, want a Bearer challenge", h)
			}
			if got := strings.Contains(h, `error="invalid_token"`); got != wantInvalid {
				t.Fatalf("WWW-Authenticate = %q: error=\"invalid_token\" present %v, want %v", h, got, wantInvalid)
			}
		}

		// Anonymous: OIDC configured makes the default policy none, even
		// on a loopback server where no API token exists yet.
		a.token = ""
		challenge(a.request("GET", base+"/namespaces", "", ""), false)
		before := a.snapshot()
		challenge(a.request("POST", base+"/namespaces", "application/json", `{"name":"canada"}`), false)
		if after := a.snapshot(); after != before {
			t.Fatal("an anonymous request changed the database")
		}

		// An admin by its groups claim creates namespaces; the audit log
		// names it by its subject.
		a.token = adminJWT
		res := a.do("POST", base+"/namespaces", map[string]any{"name": "canada"}, 201)
		wantActor(t, a.store, res, "oidc:alice", audit.OK)
		a.do("POST", base+"/namespaces", map[string]any{"name": "mexico"}, 201)
		a.do("POST", base+"/namespaces/canada/models", map[string]any{"name": "llm.sm"}, 201)
		a.do("GET", base+"/tokens", nil, 200)

		// A reader of canada reads canada, and nothing more.
		a.token = readerJWT
		if got := a.do("GET", base+"/namespaces/canada", nil, 200).json(t); got["name"] != "canada" {
			t.Fatalf("namespace = %v", got)
		}
		a.do("GET", base+"/namespaces/canada/models/llm.sm", nil, 200)
		if got := names(a.do("GET", base+"/namespaces", nil, 200).json(t)); got != "canada" {
			t.Fatalf("a reader of canada lists %q", got)
		}
		before = a.snapshot()
		res = a.request("POST", base+"/namespaces/canada/models", "application/json", `{"name":"vision"}`)
		a.problem(res, 403, "forbidden")
		wantActor(t, a.store, res, "oidc:bob", audit.Denied)
		a.problem(a.request("GET", base+"/namespaces/mexico", "", ""), 403, "forbidden")
		a.problem(a.request("POST", base+"/namespaces", "application/json", `{"name":"usa"}`), 403, "forbidden")
		if after := a.snapshot(); after != before {
			t.Fatal("a reader's refused requests changed the database")
		}

		// Tokens that fail verification: 401 with invalid_token, whatever
		// groups they claim.
		admins := map[string]any{"groups": []any{"ml-admins"}}
		bad := map[string]string{
			"expired": jwt(t, "alice", map[string]any{
				"groups": []any{"ml-admins"}, "iat": time.Now().Add(-2 * time.Hour).Unix(), "exp": time.Now().Add(-time.Hour).Unix()}),
			"other audience":            jwt(t, "alice", map[string]any{"groups": []any{"ml-admins"}, "aud": "another-api"}),
			"unknown key":               oidctest.Sign(t, oidctest.NewRSAKey(t, "intruder"), iss.Claims(oidcAudience, "alice", admins)),
			"unknown key, issuer's kid": oidctest.Sign(t, oidctest.NewRSAKey(t, key.KID), iss.Claims(oidcAudience, "alice", admins)),
		}
		for name, tok := range bad {
			a.token = tok
			res := a.request("GET", base+"/namespaces/canada", "", "")
			if res.status != 401 {
				t.Fatalf("%s JWT: status %d, want 401\n%s", name, res.status, res.body)
			}
			challenge(res, true)
			challenge(a.request("POST", base+"/namespaces", "application/json", `{"name":"usa"}`), true)
		}

		// A valid JWT whose groups map to nothing is authenticated but
		// allowed nothing: 403, not 401.
		for _, extra := range []map[string]any{{"groups": []any{"data-science"}}, {"groups": "ml-writers"}, nil} {
			a.token = jwt(t, "carol", extra)
			a.problem(a.request("GET", base+"/namespaces/canada", "", ""), 403, "forbidden")
			a.problem(a.request("GET", base+"/namespaces", "", ""), 403, "forbidden")
		}

		// API tokens work beside OIDC.
		_, secret, err := reg.CreateToken(context.Background(), registry.NewToken{Name: "ci-bot", Role: "write", Namespaces: []string{"canada"}})
		check(t, err)
		a.skipAudit()
		a.token = secret
		a.do("GET", base+"/namespaces/canada", nil, 200)
		res = a.do("POST", base+"/namespaces/canada/models", map[string]any{"name": "vision"}, 201)
		wantActor(t, a.store, res, "ci-bot", audit.OK)
		a.problem(a.request("GET", base+"/namespaces/mexico", "", ""), 403, "forbidden")
		a.token = "fm_" + strings.Repeat("x", 52)
		challenge(a.request("GET", base+"/namespaces/canada", "", ""), true)

		// The JWTs still work, and anonymous requests are still refused.
		a.token = readerJWT
		a.do("GET", base+"/namespaces/canada/models/vision", nil, 200)
		a.token = ""
		challenge(a.request("GET", base+"/namespaces/canada", "", ""), false)
	})
}
