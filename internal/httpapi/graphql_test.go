package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/flymodel/flymodel/internal/audit"
	"github.com/flymodel/flymodel/internal/registry"
)

// gql sends a GraphQL document and returns the decoded answer.
func (a *api) gql(document string, want int) map[string]any {
	a.t.Helper()
	body, _ := json.Marshal(map[string]string{"query": document})
	res := a.request("POST", "/graphql", "application/json", string(body))
	if res.status != want {
		a.t.Fatalf("graphql %q: status %d, want %d\n%s", document, res.status, want, res.body)
	}
	return res.json(a.t)
}

// TestGraphQL: the original flymodel's GraphQL API goes through the
// registry's rules (bad input is a GraphQL error naming the problem),
// the caller's roles (a read token cannot run a mutation; a scoped token
// sees only its namespaces) and the audit log.
func TestGraphQL(t *testing.T) {
	engines(t, func(t *testing.T, a *api) {
		ctx := context.Background()
		a.seed()
		a.do("POST", base+"/namespaces", map[string]any{"name": "mexico"}, 201)
		reg := registry.New(registry.Options{DB: a.store})
		ids := map[string]float64{}
		for _, ns := range a.gql(`{ namespace { totalItems data { id name } } }`, 200)["data"].(map[string]any)["namespace"].(map[string]any)["data"].([]any) {
			n := ns.(map[string]any)
			ids[n["name"].(string)] = n["id"].(float64)
		}
		if len(ids) != 2 {
			t.Fatalf("namespaces = %v", ids)
		}

		// Bad input: a GraphQL error carrying the problem, nothing changed.
		before := a.snapshot()
		for doc, want := range map[string]string{
			fmt.Sprintf(`mutation { createModel(namespace: %v, name: "a/b") { id } }`, ids["canada"]):    "validation",
			fmt.Sprintf(`mutation { createModel(namespace: %v, name: "llm.sm") { id } }`, ids["canada"]): "conflict",
			`mutation { createModel(namespace: 999, name: "m") { id } }`:                                 "not-found",
			`mutation { createExperiment(modelVersion: 999, name: "e") { id } }`:                         "not-found",
		} {
			res := a.gql(doc, 200)
			errs, _ := res["errors"].([]any)
			if len(errs) != 1 || !strings.HasSuffix(fmt.Sprint(errs[0].(map[string]any)["extensions"].(map[string]any)["type"]), "/"+want) {
				t.Errorf("%s = %v, want a %s error", doc, res, want)
			}
		}
		if res := a.gql(`{ nope }`, 200); res["errors"] == nil {
			t.Errorf("unknown field = %v", res)
		}
		a.problem(a.request("POST", "/graphql", "application/json", `{"query": ""}`), 400, "malformed-request")
		a.problem(a.request("POST", "/graphql", "application/graphql", `{ namespace { totalItems } }`), 415, "unsupported-media-type")
		if after := a.snapshot(); after != before {
			t.Fatal("refused GraphQL mutations changed the database")
		}

		// A read token reads, and cannot run a mutation: 403, audited as
		// denied, nothing changed.
		_, readSecret, err := reg.CreateToken(ctx, registry.NewToken{Name: "reader", Role: "read", Namespaces: []string{"*"}})
		check(t, err)
		_, scopedSecret, err := reg.CreateToken(ctx, registry.NewToken{Name: "mexican", Role: "write", Namespaces: []string{"mexico"}})
		check(t, err)
		a.skipAudit()
		admin := a.token
		v1 := a.do("GET", base+"/namespaces/canada/models/llm.sm/versions/v1", nil, 200).json(t)["id"]
		m1 := a.do("GET", base+"/namespaces/canada/models/llm.sm", nil, 200).json(t)["id"]
		a.token = readSecret
		if got := a.gql(`{ namespace { totalItems } }`, 200); fmt.Sprint(got["data"]) != "map[namespace:map[totalItems:2]]" {
			t.Errorf("namespaces as a reader = %v", got)
		}
		before = a.snapshot()
		a.problem(a.request("POST", "/graphql", "application/json",
			fmt.Sprintf(`{"query": "mutation { createModel(namespace: %v, name: \"r\") { id } }"}`, ids["canada"])), 403, "forbidden")
		a.problem(a.request("POST", "/graphql", "application/json", `{"query": "mutation { createNamespace(name: \"r\") { id } }"}`), 403, "forbidden")
		if after := a.snapshot(); after != before {
			t.Fatal("a read token's mutation changed the database")
		}

		// A token scoped to mexico sees mexico only and writes there; an id
		// in canada is to it an unknown id, its use audited as denied; the
		// mutation fields after a refusal are not run.
		a.token = scopedSecret
		if got := a.gql(`{ namespace { totalItems data { name } } }`, 200); fmt.Sprint(got["data"]) != "map[namespace:map[data:[map[name:mexico]] totalItems:1]]" {
			t.Errorf("namespaces as a mexico writer = %v", got)
		}
		if got := a.gql(fmt.Sprintf(`{ namespace(id: %v) { totalItems } model(namespace: %v) { totalItems } }`, ids["canada"], ids["canada"]), 200); fmt.Sprint(got["data"]) != "map[model:map[totalItems:0] namespace:map[totalItems:0]]" {
			t.Errorf("canada as a mexico writer = %v", got)
		}
		created := a.gql(fmt.Sprintf(`mutation { createModel(namespace: %v, name: "m") { id name namespaceId } }`, ids["mexico"]), 200)
		if m := created["data"].(map[string]any)["createModel"].(map[string]any); m["name"] != "m" || m["namespaceId"] != ids["mexico"] {
			t.Errorf("createModel in mexico = %v", created)
		}
		before = a.snapshot()
		for doc, id := range map[string]any{
			`mutation { createModel(namespace: %v, name: "x") { id } }`:           ids["canada"],
			`mutation { createModelVersion(model: %v, name: "x") { id } }`:        m1,
			`mutation { createExperiment(modelVersion: %v, name: "x") { id } }`:   v1,
			`mutation { updateModelVersionState(id: %v, state: PROD) { state } }`: v1,
		} {
			send := func(id any) response {
				body, _ := json.Marshal(map[string]string{"query": fmt.Sprintf(doc, id)})
				return a.request("POST", "/graphql", "application/json", string(body))
			}
			theirs, unknown := send(id), send(999999)
			norm := func(r response, id any) string {
				return strings.ReplaceAll(string(r.body), fmt.Sprintf("with id %v ", id), "with id N ")
			}
			if got := norm(theirs, id); theirs.status != 200 || unknown.status != 200 ||
				got != norm(unknown, 999999) || !strings.Contains(got, "not-found") || strings.Contains(got, "canada") {
				t.Errorf("%s: canada's id %d %s, an unknown id %d %s: want the same not-found answer", doc, theirs.status, theirs.body, unknown.status, unknown.body)
			}
		}
		// Audited as denied: one record, the repeats counted on it.
		denied, _, err := audit.List(ctx, a.store, audit.Filter{Outcome: audit.Denied, Actor: "mexican", Namespace: "canada", Limit: audit.MaxLimit})
		check(t, err)
		if len(denied) != 1 || denied[0].Repeats != 3 || denied[0].Target != "/graphql" {
			t.Errorf("denied records of the mutations by canada's ids = %+v, want one with 3 repeats", denied)
		}
		a.problem(a.request("POST", "/graphql", "application/json", fmt.Sprintf(
			`{"query": "mutation { a: createNamespace(name: \"x\") { id } b: createModel(namespace: %v, name: \"later\") { id } }"}`,
			ids["mexico"])), 403, "forbidden")
		if after := a.snapshot(); after != before {
			t.Fatal("a mutation by canada's ids, or a field after a refused one, changed the database")
		}

		// A lifecycle change through GraphQL is the registry's: history and gates.
		a.token = admin
		v := a.do("GET", base+"/namespaces/canada/models/llm.sm/versions/v1", nil, 200).json(t)
		st := a.gql(fmt.Sprintf(`mutation { updateModelVersionState(id: %v, state: QA) { versionId state } }`, v["id"]), 200)
		if fmt.Sprint(st["data"]) != fmt.Sprintf("map[updateModelVersionState:map[state:QA versionId:%v]]", v["id"]) {
			t.Errorf("updateModelVersionState = %v", st)
		}
		if h := a.do("GET", base+"/namespaces/canada/models/llm.sm/versions/v1/history", nil, 200).body; !strings.Contains(string(h), `"to":"qa"`) {
			t.Errorf("history = %s", h)
		}
	})
}
