package httpapi_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/flymodel/flymodel/internal/audit"
	"github.com/flymodel/flymodel/internal/blob"
	"github.com/flymodel/flymodel/internal/blob/fsblob"
	"github.com/flymodel/flymodel/internal/db"
	"github.com/flymodel/flymodel/internal/httpapi"
	"github.com/flymodel/flymodel/internal/registry"
)

// aliasEngines runs fn on each engine against a server whose alias
// champion is protected (admin, prod), with tokens of each role.
func aliasEngines(t *testing.T, fn func(t *testing.T, a *api, tokens map[string]string)) {
	eachEngine(t, func(t *testing.T, s db.DB) {
		fs, err := fsblob.New(t.TempDir())
		check(t, err)
		check(t, fs.Ensure(context.Background()))
		stores := registry.BlobStores{ByName: map[string]blob.Store{"main": fs},
			ForRole: map[string]string{"test": "main", "qa": "main", "stage": "main", "prod": "main"}}
		reg := registry.New(registry.Options{DB: s, Blobs: stores, ProtectedAliases: []registry.AliasRule{
			{Name: "champion", Role: "admin", Lifecycle: "prod"},
		}})
		tokens := map[string]string{}
		for _, role := range []string{"read", "write", "admin"} {
			_, secret, err := reg.CreateToken(context.Background(), registry.NewToken{Name: "alias-" + role, Role: role, Namespaces: []string{"*"}})
			check(t, err)
			tokens[role] = secret
		}
		a := &api{t: t, h: newServer(reg, s, httpapi.Options{}), store: s, token: tokens["admin"]}
		a.skipAudit()
		a.seed()
		fn(t, a, tokens)
	})
}

const mbase = base + "/namespaces/canada/models/llm.sm"

func aliasNames(v any) string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return strings.Join(out, ",")
}

func TestAliases(t *testing.T) {
	aliasEngines(t, func(t *testing.T, a *api, tokens map[string]string) {
		a.do("POST", mbase+"/versions", map[string]any{"version": "v2"}, 201)
		a.token = tokens["write"]
		got := a.do("PUT", mbase+"/aliases/canary", map[string]any{"version": "v1"}, 200).json(t)
		if got["alias"] != "canary" || got["version"] != "v1" || got["model"] != "llm.sm" || got["namespace"] != "canada" ||
			got["updated_by"] != "alias-write" || !isUTC(got["updated_at"]) {
			t.Fatalf("PUT alias = %v", got)
		}
		a.do("PUT", mbase+"/aliases/best", map[string]any{"version": "v1"}, 200)

		// Listed on the model and on the version, in gets and lists.
		if m := a.do("GET", mbase, nil, 200).json(t); aliasNames(m["aliases"]) != "best,canary" {
			t.Errorf("model aliases = %v", m["aliases"])
		}
		models := a.do("GET", base+"/namespaces/canada/models", nil, 200).json(t)["data"].([]any)
		if aliasNames(models[0].(map[string]any)["aliases"]) != "best,canary" {
			t.Errorf("model list aliases = %v", models[0])
		}
		if v := a.do("GET", mbase+"/versions/v1", nil, 200).json(t); aliasNames(v["aliases"]) != "best,canary" {
			t.Errorf("version aliases = %v", v["aliases"])
		}
		vs := a.do("GET", mbase+"/versions", nil, 200).json(t)["data"].([]any)
		if len(vs) != 2 || aliasNames(vs[0].(map[string]any)["aliases"]) != "" || aliasNames(vs[1].(map[string]any)["aliases"]) != "best,canary" {
			t.Errorf("version list = %v", vs)
		}
		list := a.do("GET", mbase+"/aliases", nil, 200).json(t)["data"].([]any)
		if len(list) != 2 || list[0].(map[string]any)["alias"] != "best" || list[1].(map[string]any)["version"] != "v1" {
			t.Errorf("alias list = %v", list)
		}
		if one := a.do("GET", mbase+"/aliases/canary", nil, 200).json(t); one["version"] != "v1" {
			t.Errorf("GET alias = %v", one)
		}

		// Every version route takes a selector as its version segment.
		if v := a.do("GET", mbase+"/versions/@canary", nil, 200).json(t); v["version"] != "v1" {
			t.Errorf("@canary = %v", v)
		}
		for _, sel := range []string{"@test", "@TEST"} {
			if v := a.do("GET", mbase+"/versions/"+sel, nil, 200).json(t); v["version"] != "v2" {
				t.Errorf("%s = %v", sel, v)
			}
		}
		if v := a.do("GET", mbase+"/versions/@staging", nil, 404).json(t); !strings.Contains(fmt.Sprint(v["detail"]), "no version of canada/llm.sm is in stage") {
			t.Errorf("@staging = %v", v)
		}
		p := a.problem(a.do("GET", mbase+"/versions/@prod", nil, 404), 404, "not-found")
		if p["detail"] != "no version of canada/llm.sm is in prod" {
			t.Errorf("@prod detail = %v", p["detail"])
		}
		p = a.problem(a.do("GET", mbase+"/versions/@nope/artifacts", nil, 404), 404, "not-found")
		if p["detail"] != "no alias nope on canada/llm.sm" {
			t.Errorf("@nope detail = %v", p["detail"])
		}
		a.problem(a.do("GET", base+"/namespaces/canada/models/nope/versions/@prod", nil, 404), 404, "not-found")
		a.token = tokens["admin"]
		res := a.request("PUT", mbase+"/versions/@canary/artifacts/a.txt", "application/octet-stream", "hello")
		if res.status != 201 || !strings.Contains(res.header.Get("Location"), "/versions/v1/artifacts/a.txt") {
			t.Fatalf("PUT via @canary: %d %s %s", res.status, res.header.Get("Location"), res.body)
		}
		if res := a.request("GET", mbase+"/versions/@canary/artifacts/a.txt", "", ""); res.status != 200 || string(res.body) != "hello" {
			t.Errorf("GET via @canary: %d %s", res.status, res.body)
		}
		a.do("GET", mbase+"/versions/@canary/archive", nil, 200)
		if e := a.do("GET", mbase+"/versions/@best/experiments/eval", nil, 200).json(t); e["name"] != "eval" {
			t.Errorf("experiment via @best = %v", e)
		}
		a.do("GET", mbase+"/versions/@best/history", nil, 200)
		a.do("PATCH", mbase+"/versions/@best", map[string]any{"description": "the best"}, 200)
		if v := a.do("GET", mbase+"/versions/v1", nil, 200).json(t); v["description"] != "the best" {
			t.Errorf("PATCH via @best: %v", v)
		}

		// Moving, by a selector; setting again changes nothing.
		a.token = tokens["write"]
		if got := a.do("PUT", mbase+"/aliases/canary", map[string]any{"version": "@test"}, 200).json(t); got["version"] != "v2" {
			t.Fatalf("move = %v", got)
		}
		a.do("PUT", mbase+"/aliases/canary", map[string]any{"version": "v2"}, 200)
		h := a.do("GET", mbase+"/aliases/canary/history", nil, 200).json(t)
		items := h["data"].([]any)
		if h["total_items"] != 2.0 || len(items) != 2 {
			t.Fatalf("history = %v", h)
		}
		first, second := items[0].(map[string]any), items[1].(map[string]any)
		if first["from"] != "v1" || first["to"] != "v2" || first["actor"] != "alias-write" || second["from"] != nil || second["to"] != "v1" {
			t.Errorf("history = %v", items)
		}
		if h := a.do("GET", mbase+"/aliases/canary/history?size=1&page=2", nil, 200).json(t); len(h["data"].([]any)) != 1 || h["total_pages"] != 2.0 {
			t.Errorf("history page 2 = %v", h)
		}
		recs, _, err := audit.List(context.Background(), a.store, audit.Filter{Action: "alias.set", Limit: 100})
		check(t, err)
		if len(recs) != 3 || recs[2].Target != "/namespaces/canada/models/llm.sm/aliases/canary" ||
			!strings.Contains(string(recs[2].Detail), `"from":"v1"`) || !strings.Contains(string(recs[2].Detail), `"to":"v2"`) {
			t.Errorf("alias.set records = %+v", recs)
		}

		// Delete.
		a.do("DELETE", mbase+"/aliases/best", nil, 204)
		a.problem(a.do("GET", mbase+"/aliases/best", nil, 404), 404, "not-found")
		h = a.do("GET", mbase+"/aliases/best/history", nil, 200).json(t)
		if top := h["data"].([]any)[0].(map[string]any); top["from"] != "v1" || top["to"] != nil {
			t.Errorf("history after delete = %v", h)
		}
		a.problem(a.do("GET", mbase+"/versions/@best", nil, 404), 404, "not-found")
	})
}

func TestAliasRefusals(t *testing.T) {
	aliasEngines(t, func(t *testing.T, a *api, tokens map[string]string) {
		before := a.snapshot()
		a.problem(a.do("PUT", mbase+"/aliases/canary", map[string]any{"version": "v9"}, 404), 404, "not-found")
		a.problem(a.do("PUT", mbase+"/aliases/canary", map[string]any{"version": "@prod"}, 404), 404, "not-found")
		a.problem(a.do("PUT", base+"/namespaces/canada/models/nope/aliases/canary", map[string]any{"version": "v1"}, 404), 404, "not-found")
		for _, bad := range []string{"prod", "staging", "Prod", "@x", "%40x"} {
			p := a.problem(a.do("PUT", mbase+"/aliases/"+bad, map[string]any{"version": "v1"}, 422), 422, "validation")
			if !strings.Contains(fmt.Sprint(p["errors"]), "alias") {
				t.Errorf("alias %s: %v", bad, p)
			}
		}
		a.problem(a.do("PUT", mbase+"/aliases/a%00b", map[string]any{"version": "v1"}, 400), 400, "invalid-name")
		a.problem(a.do("PUT", mbase+"/aliases/canary", map[string]any{}, 422), 422, "validation")
		a.problem(a.do("PUT", mbase+"/aliases/canary", `{"version": "v1", "extra": 1}`, 400), 400, "malformed-request")
		a.problem(a.do("DELETE", mbase+"/aliases/canary", nil, 404), 404, "not-found")
		a.problem(a.do("GET", mbase+"/aliases/canary", nil, 404), 404, "not-found")
		a.problem(a.do("GET", mbase+"/aliases/canary/history", nil, 404), 404, "not-found")
		a.problem(a.do("GET", mbase+"/aliases/canary/history?size=0", nil, 422), 422, "validation")
		// New version names may not start with '@'.
		p := a.problem(a.do("POST", mbase+"/versions", map[string]any{"version": "@v2"}, 422), 422, "validation")
		if !strings.Contains(fmt.Sprint(p["errors"]), "must not start with") {
			t.Errorf("@v2: %v", p)
		}
		// A reader may not set or delete.
		a.token = tokens["read"]
		a.problem(a.do("PUT", mbase+"/aliases/canary", map[string]any{"version": "v1"}, 403), 403, "forbidden")
		if a.snapshot() != before {
			t.Error("a refused request changed the database")
		}
	})
}

func TestProtectedAlias(t *testing.T) {
	aliasEngines(t, func(t *testing.T, a *api, tokens map[string]string) {
		a.do("POST", mbase+"/versions", map[string]any{"version": "v2", "state": "prod"}, 201)
		before := a.snapshot()
		a.skipAudit()
		// Moving it needs the rule's role.
		a.token = tokens["write"]
		p := a.problem(a.do("PUT", mbase+"/aliases/champion", map[string]any{"version": "v2"}, 403), 403, "forbidden")
		if d := fmt.Sprint(p["detail"]); !strings.Contains(d, `aliases.protected "champion" (role = "admin", lifecycle = "prod")`) || !strings.Contains(d, "admin role") {
			t.Errorf("403 detail = %q", d)
		}
		denied, _, err := audit.List(context.Background(), a.store, audit.Filter{Outcome: audit.Denied, Action: "alias.set"})
		check(t, err)
		if len(denied) != 1 || denied[0].Actor != "alias-write" || denied[0].Target != "/namespaces/canada/models/llm.sm/aliases/champion" {
			t.Errorf("denied records = %+v", denied)
		}
		// And a target in the rule's lifecycle.
		a.token = tokens["admin"]
		p = a.problem(a.do("PUT", mbase+"/aliases/champion", map[string]any{"version": "v1"}, 409), 409, "alias-protected")
		if p["alias"] != "champion" || p["lifecycle"] != "prod" || p["rule"] != `aliases.protected "champion" (role = "admin", lifecycle = "prod")` ||
			!strings.Contains(fmt.Sprint(p["detail"]), "v1 is in test") {
			t.Errorf("409 = %v", p)
		}
		if a.snapshot() != before {
			t.Error("a refused request changed the database")
		}
		if got := a.do("PUT", mbase+"/aliases/champion", map[string]any{"version": "@prod"}, 200).json(t); got["version"] != "v2" {
			t.Errorf("champion = %v", got)
		}
		a.token = tokens["write"]
		a.problem(a.do("DELETE", mbase+"/aliases/champion", nil, 403), 403, "forbidden")
		// Other aliases need write only.
		a.do("PUT", mbase+"/aliases/canary", map[string]any{"version": "v1"}, 200)
		// Promoting the target away leaves the alias where it is.
		a.token = tokens["admin"]
		a.do("PUT", mbase+"/versions/v1/state", map[string]any{"state": "prod"}, 200)
		a.do("PUT", mbase+"/aliases/champion", map[string]any{"version": "v1"}, 200)
		a.do("PUT", mbase+"/versions/v1/state", map[string]any{"state": "qa"}, 200)
		if got := a.do("GET", mbase+"/aliases/champion", nil, 200).json(t); got["version"] != "v1" {
			t.Errorf("champion after its version left prod = %v", got)
		}
		// Setting it again is refused now (its target is not in prod).
		a.problem(a.do("PUT", mbase+"/aliases/champion", map[string]any{"version": "v1"}, 409), 409, "alias-protected")
		a.do("DELETE", mbase+"/aliases/champion", nil, 204)
	})
}

// Deleting a version removes the aliases that point to it, each with its
// history entry and audit record.
func TestAliasVersionDelete(t *testing.T) {
	aliasEngines(t, func(t *testing.T, a *api, tokens map[string]string) {
		a.do("POST", mbase+"/versions", map[string]any{"version": "v2"}, 201)
		a.do("PUT", mbase+"/aliases/canary", map[string]any{"version": "v1"}, 200)
		a.do("PUT", mbase+"/aliases/shadow", map[string]any{"version": "v1"}, 200)
		a.do("PUT", mbase+"/aliases/next", map[string]any{"version": "v2"}, 200)
		a.do("DELETE", mbase+"/versions/v1", nil, 204) // soft
		if list := a.do("GET", mbase+"/aliases", nil, 200).json(t)["data"].([]any); len(list) != 1 || list[0].(map[string]any)["alias"] != "next" {
			t.Errorf("aliases after the soft delete = %v", list)
		}
		h := a.do("GET", mbase+"/aliases/canary/history", nil, 200).json(t)["data"].([]any)
		if top := h[0].(map[string]any); top["from"] != "v1" || top["to"] != nil || top["actor"] != "alias-admin" {
			t.Errorf("history = %v", h)
		}
		recs, _, err := audit.List(context.Background(), a.store, audit.Filter{Action: "alias.delete", Limit: 100})
		check(t, err)
		if len(recs) != 2 || !strings.Contains(string(recs[0].Detail), "version deleted") {
			t.Errorf("alias.delete records = %+v", recs)
		}
		// Hard, via the selector.
		a.do("DELETE", mbase+"/versions/@next?hard=true", nil, 204)
		a.problem(a.do("GET", mbase+"/aliases/next", nil, 404), 404, "not-found")
		h = a.do("GET", mbase+"/aliases/next/history", nil, 200).json(t)["data"].([]any)
		if top := h[0].(map[string]any); top["from"] != "v2" || top["to"] != nil {
			t.Errorf("history after the hard delete = %v", h)
		}
		if m := a.do("GET", mbase, nil, 200).json(t); aliasNames(m["aliases"]) != "" {
			t.Errorf("model aliases = %v", m["aliases"])
		}
	})
}
