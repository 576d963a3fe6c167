package httpapi_test

import (
	"context"
	"strings"
	"testing"

	"github.com/flymodel/flymodel/internal/auth"
	"github.com/flymodel/flymodel/internal/db"
	"github.com/flymodel/flymodel/internal/httpapi"
	"github.com/flymodel/flymodel/internal/registry"
)

// TestAnonymousPolicyLive: the default anonymous policy of a laptop server
// follows the tokens of the database on every replica, without a restart,
// and every 401 says how to get a token.
func TestAnonymousPolicyLive(t *testing.T) {
	eachEngine(t, func(t *testing.T, s db.DB) {
		ctx := context.Background()
		reg := registry.New(registry.Options{DB: s})
		// Two replicas of one database.
		// on marks the audit records so far as seen: the replicas share one log.
		on := func(a *api) *api { a.skipAudit(); return a }
		one := &api{t: t, h: newServer(reg, s, httpapi.Options{}), store: s}
		two := &api{t: t, h: newServer(reg, s, httpapi.Options{}), store: s}
		hint := func(res response, role string) {
			t.Helper()
			p := one.problem(res, 401, "unauthorized")
			detail, _ := p["detail"].(string)
			if !strings.Contains(detail, "flymodel token create --name NAME --role "+role) {
				t.Fatalf("401 without the way to a token: %q", detail)
			}
		}

		// No token: anonymous requests write, on both replicas, but do not delete.
		on(one).do("POST", base+"/namespaces", map[string]any{"name": "canada"}, 201)
		on(two).do("POST", base+"/namespaces/canada/models", map[string]any{"name": "llm.sm"}, 201)
		res := on(one).request("DELETE", base+"/namespaces/canada/models/llm.sm?cascade=true", "", "")
		hint(res, "admin")
		if d := res.json(t)["detail"].(string); !strings.Contains(d, "(anonymous requests may only write here)") {
			t.Fatalf("detail does not say what anonymous requests may do: %q", d)
		}

		// The first token closes both replicas at once, reads included.
		_, secret, err := reg.CreateToken(ctx, registry.NewToken{Name: "admin", Role: "admin", Namespaces: []string{"*"}})
		check(t, err)
		for _, a := range []*api{one, two} {
			hint(on(a).request("GET", base+"/namespaces/canada/models", "", ""), "read")
			hint(on(a).request("POST", base+"/namespaces/canada/models", "application/json", `{"name":"x"}`), "write")
		}
		// A bad token's 401 says so, with the same way out.
		bad := &api{t: t, h: one.h, store: s, token: auth.NewSecret()}
		hint(on(bad).request("GET", base+"/namespaces", "", ""), "read")
		good := &api{t: t, h: two.h, store: s, token: secret}
		on(good).do("GET", base+"/namespaces/canada", nil, 200)

		// Revoking the last token reopens both replicas, without a restart.
		_, err = reg.RevokeToken(ctx, "admin")
		check(t, err)
		for _, a := range []*api{one, two} {
			on(a).do("GET", base+"/namespaces/canada/models/llm.sm", nil, 200)
		}
		on(two).do("POST", base+"/namespaces/canada/models", map[string]any{"name": "llm.lg"}, 201)

		// An explicit policy is static: read stays read with no token.
		ro := &api{t: t, h: httpapi.NewServer(reg, auth.New(auth.Options{DB: s, Loopback: true, Anonymous: "read"}), httpapi.Options{}), store: s}
		on(ro).do("GET", base+"/namespaces/canada/models", nil, 200)
		res = on(ro).request("POST", base+"/namespaces/canada/models", "application/json", `{"name":"y"}`)
		hint(res, "write")
		if d := res.json(t)["detail"].(string); !strings.Contains(d, "(anonymous requests may only read here)") {
			t.Fatalf("detail = %q", d)
		}
		// Explicit admin: anonymous requests may delete.
		adm := &api{t: t, h: httpapi.NewServer(reg, auth.New(auth.Options{DB: s, Anonymous: "admin"}), httpapi.Options{}), store: s}
		on(adm).do("DELETE", base+"/namespaces/canada/models/llm.lg", nil, 204)
	})
}
