package httpapi_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/flymodel/flymodel/internal/registry"
)

// seedSearch makes canada/llm.sm v1 (prod, eval accuracy 0.95) and v2
// (test, 0.8), and usa/m2 v1 (prod, 0.97), in this order.
func (a *api) seedSearch() {
	a.t.Helper()
	a.seed() // canada/llm.sm/v1 with experiment eval
	a.do("POST", base+"/namespaces", map[string]any{"name": "usa"}, 201)
	a.do("POST", base+"/namespaces/usa/models", map[string]any{"name": "m2"}, 201)
	a.do("POST", base+"/namespaces/canada/models/llm.sm/versions", map[string]any{"version": "v2"}, 201)
	a.do("POST", base+"/namespaces/usa/models/m2/versions", map[string]any{"version": "v1"}, 201)
	for _, v := range []struct {
		path     string
		accuracy float64
		prod     bool
	}{
		{"/namespaces/canada/models/llm.sm/versions/v1", 0.95, true},
		{"/namespaces/canada/models/llm.sm/versions/v2", 0.8, false},
		{"/namespaces/usa/models/m2/versions/v1", 0.97, true},
	} {
		if !strings.HasPrefix(v.path, "/namespaces/canada/models/llm.sm/versions/v1") {
			a.do("POST", base+v.path+"/experiments", map[string]any{"name": "eval", "params": map[string]any{"lr": 0.01}}, 201)
		}
		a.do("PUT", base+v.path+"/experiments/eval/state", map[string]any{"state": "running"}, 200)
		a.do("PUT", base+v.path+"/experiments/eval/state", map[string]any{"state": "passed", "metrics": map[string]any{"accuracy": v.accuracy}}, 200)
		if v.prod {
			a.do("PUT", base+v.path+"/state", map[string]any{"state": "prod"}, 200)
		}
	}
}

// paths are the "namespace/model/version[/experiment]" of a search page.
func paths(page map[string]any) string {
	var out []string
	for _, d := range page["data"].([]any) {
		m := d.(map[string]any)
		p := fmt.Sprint(m["namespace"], "/", m["model"], "/", m["version"])
		if _, ok := m["retries"]; ok {
			p += "/" + m["name"].(string)
		} else if _, ok := m["version"]; !ok {
			p = fmt.Sprint(m["namespace"], "/", m["name"])
		}
		out = append(out, p)
	}
	return strings.Join(out, ",")
}

func q(filter string) string { return url.QueryEscape(filter) }

func TestSearch(t *testing.T) {
	engines(t, func(t *testing.T, a *api) {
		a.seedSearch()
		a.skipAudit()

		page := a.do("GET", base+"/versions?filter="+q(`state = "prod" AND experiments.eval.metrics.accuracy >= 0.9`), nil, 200).json(t)
		if got := paths(page); got != "usa/m2/v1,canada/llm.sm/v1" || page["next"] != nil {
			t.Fatalf("prod versions with eval ≥ 0.9 = %s (next %v)", got, page["next"])
		}
		if _, ok := page["total_items"]; ok {
			t.Fatalf("a search page has no total: %v", page)
		}
		exps := a.do("GET", base+"/experiments?filter="+q(`metrics.accuracy >= 0.9`)+"&order_by="+q("metrics.accuracy desc"), nil, 200).json(t)
		if got := paths(exps); got != "usa/m2/v1/eval,canada/llm.sm/v1/eval" {
			t.Fatalf("experiments by accuracy = %s", got)
		}
		models := a.do("GET", base+"/models?filter="+q(`name LIKE "llm%" OR namespace = "usa"`)+"&order_by=name", nil, 200).json(t)
		if got := paths(models); got != "canada/llm.sm,usa/m2" {
			t.Fatalf("models = %s", got)
		}

		// A page at a time: every version once, newest first; the last
		// page has no next; ?cursor= is ?after=.
		var all []string
		next := ""
		for i := 0; ; i++ {
			param := "after"
			if i%2 == 1 {
				param = "cursor"
			}
			page := a.do("GET", base+"/versions?limit=1&"+param+"="+url.QueryEscape(next), nil, 200).json(t)
			all = append(all, paths(page))
			n, ok := page["next"].(string)
			if !ok {
				break
			}
			next = n
			if i > 5 {
				t.Fatalf("pages never end: %v", all)
			}
		}
		if got := strings.Join(all, ","); got != "usa/m2/v1,canada/llm.sm/v2,canada/llm.sm/v1" {
			t.Fatalf("pages = %s", got)
		}

		// A scoped token searches its namespaces only.
		_, secret, err := registry.New(registry.Options{DB: a.store}).CreateToken(context.Background(), registry.NewToken{Name: "reader", Role: "read", Namespaces: []string{"canada"}})
		check(t, err)
		r := &api{t: t, h: a.h, store: a.store, token: secret}
		r.skipAudit()
		a.skipAudit()
		if got := paths(r.do("GET", base+"/versions", nil, 200).json(t)); got != "canada/llm.sm/v2,canada/llm.sm/v1" {
			t.Fatalf("scoped search = %s", got)
		}
		if got := paths(r.do("GET", base+"/versions?filter="+q(`namespace = "usa"`), nil, 200).json(t)); got != "" {
			t.Fatalf("scoped search of another namespace = %s", got)
		}
		if got := paths(r.do("GET", base+"/experiments", nil, 200).json(t)); got != "canada/llm.sm/v2/eval,canada/llm.sm/v1/eval" {
			t.Fatalf("scoped experiments = %s", got)
		}
		if got := paths(r.do("GET", base+"/models", nil, 200).json(t)); got != "canada/llm.sm" {
			t.Fatalf("scoped models = %s", got)
		}

		// The list routes take filter, within their scope, with totals.
		list := a.do("GET", base+"/namespaces/canada/models/llm.sm/versions?filter="+q(`experiments.eval.metrics.accuracy < 0.9`), nil, 200).json(t)
		if versions(list) != "v2" || list["total_items"] != 1.0 {
			t.Fatalf("filtered version list = %v", list)
		}
		list = a.do("GET", base+"/namespaces/canada/models/llm.sm/versions?state=prod&filter="+q(`sealed = true`), nil, 200).json(t)
		if versions(list) != "v1" || list["total_items"] != 1.0 {
			t.Fatalf("filtered version list with state = %v", list)
		}
		list = a.do("GET", base+"/namespaces/canada/models?name=LLM&filter="+q(`name != "x"`), nil, 200).json(t)
		if names(list) != "llm.sm" || list["total_items"] != 1.0 {
			t.Fatalf("filtered model list = %v", list)
		}
		list = a.do("GET", base+"/namespaces/canada/models?filter="+q(`namespace = "usa"`), nil, 200).json(t)
		if names(list) != "" || list["total_items"] != 0.0 {
			t.Fatalf("model list filtered out of its namespace = %v", list)
		}
		list = a.do("GET", base+"/namespaces/usa/models/m2/versions/v1/experiments?filter="+q(`params.lr = 0.01 AND metrics.accuracy > 0.9`), nil, 200).json(t)
		if names(list) != "eval" || list["total_items"] != 1.0 {
			t.Fatalf("filtered experiment list = %v", list)
		}
	})
}

// TestSearchRefusals: a filter, order or cursor that does not parse is 400
// invalid-filter naming the parameter, the position and what was expected;
// nothing reaches the database as text.
func TestSearchRefusals(t *testing.T) {
	engines(t, func(t *testing.T, a *api) {
		a.seedSearch()
		a.skipAudit()
		for _, c := range []struct {
			path, field string
			position    float64
			expected    string
		}{
			{"/versions?filter=" + q(`state >=`), "filter", 9, "a value after '>='"},
			{"/versions?filter=" + q(`state = "prod" AND`), "filter", 19, "a field, NOT or '(' after 'AND'"},
			{"/versions?filter=" + q(`bogus = 1`), "filter", 1, "a field of versions ("},
			{"/experiments?filter=" + q(`metrics.accuracy = null`), "filter", 20, "a string, a number or true/false"},
			{"/models?filter=" + q(`name = 'x'; DROP TABLE models; --`), "filter", 11, "a field, a value, an operator or a parenthesis"},
			{"/models?filter=" + q(strings.Repeat("(", 40)+`name = "a"`+strings.Repeat(")", 40)), "filter", 33, "at most 32 nested"},
			{"/versions?order_by=" + q("metrics.accuracy desc"), "order_by", 1, "an order of versions"},
			{"/experiments?order_by=" + q("name upward"), "order_by", 6, "asc or desc"},
			{"/versions?after=not-a-cursor", "after", 0, "the cursor is not one"},
			{"/namespaces/canada/models/llm.sm/versions?filter=" + q(`state = "live"`), "filter", 9, "one of test, qa, stage, prod"},
			{"/namespaces/canada/models?filter=" + q(`(`), "filter", 2, "a field, NOT or '('"},
			{"/namespaces/canada/models/llm.sm/versions/v1/experiments?filter=" + q(`tags > 1`), "filter", 6, "=, !=, IN, NOT IN"},
		} {
			p := a.problem(a.request("GET", base+c.path, "", ""), 400, "invalid-filter")
			if p["field"] != c.field || p["position"] != c.position || !strings.HasPrefix(p["expected"].(string), c.expected) {
				t.Errorf("%s: problem %v, want field %s position %v expected %q", c.path, p, c.field, c.position, c.expected)
			}
		}
		// A cursor of another order.
		page := a.do("GET", base+"/versions?limit=1", nil, 200).json(t)
		p := a.problem(a.request("GET", base+"/versions?limit=1&order_by=name&after="+url.QueryEscape(page["next"].(string)), "", ""), 400, "invalid-filter")
		if p["field"] != "after" {
			t.Errorf("cursor of another order: %v", p)
		}
		a.problem(a.request("GET", base+"/versions?limit=ten", "", ""), 400, "malformed-request")
		a.problem(a.request("GET", base+"/versions?limit=5000", "", ""), 422, "validation")
		a.problem(a.request("GET", base+"/versions?limit=-1", "", ""), 422, "validation")
		a.problem(a.request("GET", base+"/namespaces/nowhere/models?filter="+q(`name = "a"`), "", ""), 404, "not-found")
		// Too long.
		a.problem(a.request("GET", base+"/versions?filter="+q(`name = "`+strings.Repeat("a", 5000)+`"`), "", ""), 400, "invalid-filter")
	})
}
