package httpapi_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/flymodel/flymodel/internal/registry"
)

// TestTagsForPeople: a tag without a colour gets one chosen by its name,
// the write role attaches and detaches existing tags (creating and deleting
// them stays admin), and versions show their tags, one by one and in lists.
func TestTagsForPeople(t *testing.T) {
	engines(t, func(t *testing.T, a *api) {
		a.seed()
		a.do("POST", base+"/namespaces", map[string]any{"name": "usa"}, 201)
		nlp := a.do("POST", base+"/namespaces/canada/tags", map[string]any{"tag": "nlp"}, 201).json(t)
		again := a.do("POST", base+"/namespaces/usa/tags", map[string]any{"tag": "nlp"}, 201).json(t)
		if nlp["color"] != registry.DefaultTagColor("nlp") || again["color"] != nlp["color"] {
			t.Fatalf("default colours %v and %v, want %s in both namespaces", nlp["color"], again["color"], registry.DefaultTagColor("nlp"))
		}
		a.do("POST", base+"/namespaces/canada/tags", map[string]any{"tag": "gold", "color": "#ffd700"}, 201)
		a.problem(a.request("POST", base+"/namespaces/canada/tags", "application/json", `{"tag":"bad","color":"gold"}`), 422, "validation")

		_, secret, err := registry.New(registry.Options{DB: a.store}).CreateToken(context.Background(), registry.NewToken{Name: "writer", Role: "write", Namespaces: []string{"canada"}})
		check(t, err)
		w := &api{t: t, h: a.h, store: a.store, token: secret}
		w.skipAudit()
		vp := base + "/namespaces/canada/models/llm.sm/versions/v1"
		for _, path := range []string{base + "/namespaces/canada/models/llm.sm", vp, vp + "/experiments/eval"} {
			w.do("PUT", path+"/tags/nlp", nil, 204)
			w.do("PUT", path+"/tags/gold", nil, 204)
			w.do("DELETE", path+"/tags/gold", nil, 204)
		}
		w.problem(w.request("POST", base+"/namespaces/canada/tags", "application/json", `{"tag":"silver"}`), 403, "forbidden")
		w.problem(w.request("DELETE", base+"/namespaces/canada/tags/gold", "", ""), 403, "forbidden")
		a.skipAudit()

		v := a.do("GET", vp, nil, 200).json(t)
		if fmt.Sprint(v["tags"]) != "[nlp]" {
			t.Fatalf("version tags = %v", v["tags"])
		}
		a.do("POST", base+"/namespaces/canada/models/llm.sm/versions", map[string]any{"version": "v2"}, 201)
		a.do("PUT", base+"/namespaces/canada/models/llm.sm/versions/v2/tags/gold", nil, 204)
		a.do("PUT", base+"/namespaces/canada/models/llm.sm/versions/v2/tags/nlp", nil, 204)
		a.do("POST", base+"/namespaces/canada/models/llm.sm/versions", map[string]any{"version": "v3"}, 201)
		list := a.do("GET", base+"/namespaces/canada/models/llm.sm/versions", nil, 200).json(t)
		var got []string
		for _, it := range list["data"].([]any) {
			m := it.(map[string]any)
			got = append(got, fmt.Sprintf("%s%v", m["version"], m["tags"]))
		}
		if strings.Join(got, " ") != "v3[] v2[gold nlp] v1[nlp]" {
			t.Fatalf("version list tags: %v", got)
		}
		one := a.do("GET", base+"/namespaces/canada/models/llm.sm/versions?size=1&page=2", nil, 200).json(t)
		if d := one["data"].([]any); len(d) != 1 || fmt.Sprint(d[0].(map[string]any)["tags"]) != "[gold nlp]" {
			t.Fatalf("page 2 of 1: %v", one["data"])
		}
	})
}

// TestDescriptions: models and versions carry a Markdown description, set
// at creation or by PATCH (write role, a sealed version too), audited with
// its value before and after, and limited in length.
func TestDescriptions(t *testing.T) {
	engines(t, func(t *testing.T, a *api) {
		a.do("POST", base+"/namespaces", map[string]any{"name": "canada"}, 201)
		md := "# llm.sm\n\nA *small* model."
		m := a.do("POST", base+"/namespaces/canada/models", map[string]any{"name": "llm.sm", "description": md}, 201).json(t)
		if m["description"] != md {
			t.Fatalf("model = %v", m)
		}
		if got := a.do("GET", base+"/namespaces/canada/models/llm.sm", nil, 200).json(t); got["description"] != md {
			t.Fatalf("GET model = %v", got)
		}
		mp := base + "/namespaces/canada/models/llm.sm"
		m = a.do("PATCH", mp, map[string]any{"description": "changed"}, 200).json(t)
		if m["description"] != "changed" || m["name"] != "llm.sm" {
			t.Fatalf("patched model = %v", m)
		}
		a.do("PATCH", mp, map[string]any{"name": "llm.small", "description": "both"}, 200)
		mp = base + "/namespaces/canada/models/llm.small"

		v := a.do("POST", mp+"/versions", map[string]any{"version": "v1", "description": "first"}, 201).json(t)
		if v["description"] != "first" || fmt.Sprint(v["tags"]) != "[]" {
			t.Fatalf("version = %v", v)
		}
		vp := mp + "/versions/v1"
		if got := a.do("GET", vp, nil, 200).json(t); got["description"] != "first" {
			t.Fatalf("GET version = %v", got)
		}
		a.do("PUT", vp+"/state", map[string]any{"state": "qa"}, 200)
		v = a.do("PATCH", vp, map[string]any{"description": "sealed, still described"}, 200).json(t)
		if v["description"] != "sealed, still described" || v["sealed"] != true {
			t.Fatalf("patched sealed version = %v", v)
		}
		a.do("PATCH", vp, map[string]any{}, 200) // nothing to change: no audit record

		// Too long: 422, nothing changed.
		before := a.snapshot()
		long := strings.Repeat("x", 64<<10+1)
		for _, c := range []struct{ method, path, body string }{
			{"PATCH", vp, `{"description":"` + long + `"}`},
			{"PATCH", mp, `{"description":"` + long + `"}`},
			{"POST", mp + "/versions", `{"version":"v2","description":"` + long + `"}`},
			{"POST", base + "/namespaces/canada/models", `{"name":"m2","description":"` + long + `"}`},
		} {
			p := a.problem(a.request(c.method, c.path, "application/json", c.body), 422, "validation")
			if !strings.Contains(fmt.Sprint(p["errors"]), "description") {
				t.Fatalf("%s %s: %v", c.method, c.path, p)
			}
		}
		if a.snapshot() != before {
			t.Fatal("a refused description changed the database")
		}
		a.do("PATCH", vp, map[string]any{"description": strings.Repeat("é", 32<<10)}, 200)

		// The audit log holds each change before and after.
		log := a.do("GET", base+"/audit?action=version.update", nil, 200).json(t)
		items := log["items"].([]any)
		if len(items) != 2 {
			t.Fatalf("version.update records: %v", items)
		}
		if d := fmt.Sprint(items[0].(map[string]any)["detail"]); d != "map[description:[first sealed, still described]]" {
			t.Fatalf("detail = %s", d)
		}
		log = a.do("GET", base+"/audit?action=model.update", nil, 200).json(t)
		items = log["items"].([]any)
		if len(items) != 2 || fmt.Sprint(items[1].(map[string]any)["detail"]) != "map[description:[changed both] name:[llm.sm llm.small]]" {
			t.Fatalf("model.update records: %v", items)
		}
	})
}
