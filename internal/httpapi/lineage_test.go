package httpapi_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/flymodel/flymodel/internal/registry"
)

// TestModelCards: models and versions carry a metadata object ({} by
// default) set at creation and replaced by PATCH (a sealed version's
// too), audited before and after; its documented keys are checked and
// each refusal is a 422 naming the member, changing nothing.
func TestModelCards(t *testing.T) {
	engines(t, func(t *testing.T, a *api) {
		a.do("POST", base+"/namespaces", map[string]any{"name": "canada"}, 201)
		card := map[string]any{
			"license": "apache-2.0", "framework": "pytorch", "task": "text-generation", "base_model": "llama-3",
			"datasets":   []any{map[string]any{"name": "wiki", "digest": "sha256:" + strings.Repeat("ab", 32), "url": "https://example.com/wiki"}, map[string]any{"name": "books"}},
			"code":       map[string]any{"repository": "https://git.example.com/llm", "commit": "0123abc"},
			"parameters": 7000000000, "team.owner": "nlp", "free": map[string]any{"nested": []any{1, "two", nil}},
		}
		m := a.do("POST", base+"/namespaces/canada/models", map[string]any{"name": "llm.sm", "metadata": map[string]any{"task": "qa"}}, 201).json(t)
		if fmt.Sprint(m["metadata"]) != "map[task:qa]" {
			t.Fatalf("model = %v", m)
		}
		mp := base + "/namespaces/canada/models/llm.sm"
		v := a.do("POST", mp+"/versions", map[string]any{"version": "v1", "metadata": card}, 201).json(t)
		got := v["metadata"].(map[string]any)
		if got["parameters"] != float64(7000000000) || got["license"] != "apache-2.0" || len(got["datasets"].([]any)) != 2 || got["team.owner"] != "nlp" {
			t.Fatalf("version metadata = %v", got)
		}
		if e := a.do("POST", mp+"/versions", map[string]any{"version": "v2"}, 201).json(t); fmt.Sprint(e["metadata"]) != "map[]" {
			t.Fatalf("default metadata = %v", e["metadata"])
		}
		vp := mp + "/versions/v1"
		if g := a.do("GET", vp, nil, 200).json(t); fmt.Sprint(g["metadata"]) != fmt.Sprint(got) {
			t.Fatalf("GET metadata = %v", g["metadata"])
		}
		list := a.do("GET", mp+"/versions", nil, 200).json(t)["data"].([]any)
		if fmt.Sprint(list[1].(map[string]any)["metadata"]) != fmt.Sprint(got) {
			t.Fatalf("listed metadata = %v", list[1])
		}

		// PATCH replaces the whole object; null or absent keeps it; a
		// sealed version is still annotated.
		a.do("PUT", vp+"/state", map[string]any{"state": "qa"}, 200)
		v = a.do("PATCH", vp, map[string]any{"metadata": map[string]any{"license": "mit"}}, 200).json(t)
		if fmt.Sprint(v["metadata"]) != "map[license:mit]" || v["sealed"] != true {
			t.Fatalf("patched = %v", v)
		}
		v = a.do("PATCH", vp, `{"metadata":null,"description":"kept"}`, 200).json(t)
		if fmt.Sprint(v["metadata"]) != "map[license:mit]" {
			t.Fatalf("null metadata changed it: %v", v["metadata"])
		}
		m = a.do("PATCH", mp, map[string]any{"metadata": map[string]any{}}, 200).json(t)
		if fmt.Sprint(m["metadata"]) != "map[]" || m["name"] != "llm.sm" {
			t.Fatalf("model cleared = %v", m)
		}
		a.do("PATCH", vp, map[string]any{"metadata": map[string]any{"license": "mit"}}, 200) // the same: no record

		log := a.do("GET", base+"/audit?action=version.update", nil, 200).json(t)["items"].([]any)
		if len(log) != 2 {
			t.Fatalf("version.update records: %v", log)
		}
		d := log[0].(map[string]any)["detail"].(map[string]any)["metadata"].([]any)
		if d[0].(map[string]any)["framework"] != "pytorch" || fmt.Sprint(d[1]) != "map[license:mit]" {
			t.Fatalf("metadata before/after = %v", d)
		}
		mlog := a.do("GET", base+"/audit?action=model.update", nil, 200).json(t)["items"].([]any)
		if len(mlog) != 1 || fmt.Sprint(mlog[0].(map[string]any)["detail"]) != "map[metadata:[map[task:qa] map[]]]" {
			t.Fatalf("model.update records: %v", mlog)
		}

		before := a.snapshot()
		for _, c := range []struct{ body, field string }{
			{`[1]`, "metadata"},
			{`"card"`, "metadata"},
			{`{"a b":1}`, "metadata"},
			{`{"` + strings.Repeat("k", 129) + `":1}`, "metadata"},
			{`{"license":3}`, "metadata.license"},
			{`{"framework":["torch"]}`, "metadata.framework"},
			{`{"task":null}`, "metadata.task"},
			{`{"base_model":{}}`, "metadata.base_model"},
			{`{"parameters":-1}`, "metadata.parameters"},
			{`{"parameters":1.5}`, "metadata.parameters"},
			{`{"parameters":"7B"}`, "metadata.parameters"},
			{`{"datasets":{"name":"wiki"}}`, "metadata.datasets"},
			{`{"datasets":["wiki"]}`, "metadata.datasets[0]"},
			{`{"datasets":[{"digest":"sha256:` + strings.Repeat("0", 64) + `"}]}`, "metadata.datasets[0].name"},
			{`{"datasets":[{"name":"wiki","digest":"md5:00"}]}`, "metadata.datasets[0].digest"},
			{`{"datasets":[{"name":"wiki","digest":"sha256:` + strings.Repeat("A", 64) + `"}]}`, "metadata.datasets[0].digest"},
			{`{"datasets":[{"name":"wiki"},{"name":"x","rows":10}]}`, "metadata.datasets[1]"},
			{`{"datasets":[{"name":7}]}`, "metadata.datasets[0].name"},
			{`{"datasets":[{"name":"wiki","url":false}]}`, "metadata.datasets[0].url"},
			{`{"code":"https://git"}`, "metadata.code"},
			{`{"code":{"repository":"r","branch":"main"}}`, "metadata.code"},
			{`{"code":{"commit":1}}`, "metadata.code.commit"},
			{`{"big":"` + strings.Repeat("x", 64<<10) + `"}`, "metadata"},
		} {
			for _, req := range []struct{ method, path, body string }{
				{"PATCH", vp, `{"metadata":` + c.body + `}`},
				{"PATCH", mp, `{"metadata":` + c.body + `}`},
				{"POST", mp + "/versions", `{"version":"v9","metadata":` + c.body + `}`},
				{"POST", base + "/namespaces/canada/models", `{"name":"m9","metadata":` + c.body + `}`},
			} {
				p := a.problem(a.request(req.method, req.path, "application/json", req.body), 422, "validation")
				var fields []string
				for _, e := range p["errors"].([]any) {
					fields = append(fields, e.(map[string]any)["field"].(string))
				}
				if len(fields) == 0 || fields[0] != c.field {
					t.Fatalf("%s %s %s: errors %v, want field %s", req.method, req.path, c.body, p["errors"], c.field)
				}
			}
		}
		if a.snapshot() != before {
			t.Fatal("refused metadata changed the database")
		}
		// Malformed JSON is the decoder's 400.
		a.problem(a.request("PATCH", vp, "application/json", `{"metadata":{"a":}}`), 400, "malformed-request")
		a.problem(a.request("PATCH", vp, "application/json", `{"metadata":{"a":1,"a":2}}`), 400, "malformed-request")
	})
}

// lineageNames lists a lineage graph as "path@depth" nodes and
// "child>parent:relation" edges.
func lineageNames(l map[string]any) (nodes, edges string) {
	var ns, es []string
	for _, n := range l["nodes"].([]any) {
		m := n.(map[string]any)
		ns = append(ns, fmt.Sprintf("%s@%v", m["path"], m["depth"]))
	}
	for _, e := range l["edges"].([]any) {
		m := e.(map[string]any)
		es = append(es, fmt.Sprintf("%s>%s:%s", m["child"], m["parent"], m["relation"]))
	}
	sort.Strings(es)
	return strings.Join(ns, " "), strings.Join(es, " ")
}

// TestLineage: parents named at creation or replaced while not sealed, in
// any model of a readable namespace; no cycles; the graph both ways to a
// depth, hiding what the caller may not read; deletes of a parent of a
// live child refused unless cascade.
func TestLineage(t *testing.T) {
	engines(t, func(t *testing.T, a *api) {
		a.seed()
		a.do("POST", base+"/namespaces", map[string]any{"name": "usa"}, 201)
		a.do("POST", base+"/namespaces/usa/models", map[string]any{"name": "small"}, 201)
		mp := base + "/namespaces/canada/models/llm.sm"
		sp := base + "/namespaces/usa/models/small"

		v2 := a.do("POST", mp+"/versions", map[string]any{"version": "v2", "parents": []any{
			map[string]any{"version": "v1", "relation": "fine-tuned"}}}, 201).json(t)
		if v2["version"] != "v2" {
			t.Fatalf("v2 = %v", v2)
		}
		ps := a.do("GET", mp+"/versions/v2/parents", nil, 200).json(t)
		if fmt.Sprint(ps["data"]) != "[map[model:llm.sm namespace:canada path:/canada/llm.sm/v1 relation:fine-tuned version:v1]]" {
			t.Fatalf("parents of v2 = %v", ps)
		}
		// By path, by names, across namespaces.
		a.do("POST", sp+"/versions", map[string]any{"version": "s1", "parents": []any{
			map[string]any{"version": "/canada/llm.sm/v2", "relation": "distilled"}}}, 201)
		a.do("POST", sp+"/versions", map[string]any{"version": "s2", "parents": []any{
			map[string]any{"namespace": "usa", "model": "small", "version": "s1", "relation": "quantized"},
			map[string]any{"version": "/api/v1/namespaces/canada/models/llm.sm/versions/v1", "relation": "merged"}}}, 201)
		ps = a.do("GET", sp+"/versions/s2/parents", nil, 200).json(t)
		if len(ps["data"].([]any)) != 2 {
			t.Fatalf("parents of s2 = %v", ps)
		}

		// Refusals: nothing changes.
		before := a.snapshot()
		for _, c := range []struct {
			body         string
			status       int
			slug, detail string
		}{
			{`{"version":"s9","parents":[{"version":"v1","relation":"copied"}]}`, 422, "validation", "parents[0].relation"},
			{`{"version":"s9","parents":[{"version":"v1"}]}`, 422, "validation", "parents[0].relation"},
			{`{"version":"s9","parents":[{"version":"/canada/llm.sm","relation":"derived"}]}`, 422, "validation", "parents[0].version"},
			{`{"version":"s9","parents":[{"version":"s1","relation":"derived"},{"version":"/usa/small/s1","relation":"merged"}]}`, 422, "validation", "parents[1].version"},
			{`{"version":"s9","parents":[{"version":"nope","relation":"derived"}]}`, 404, "not-found", "parent version /namespaces/usa/models/small/versions/nope not found"},
			{`{"version":"s9","parents":[{"version":"/mexico/m/v","relation":"derived"}]}`, 404, "not-found", "parent version /namespaces/mexico/models/m/versions/v not found"},
			{`{"version":"s9","parents":[{"version":"s1","relation":"derived","extra":1}]}`, 400, "malformed-request", "extra"},
			{`{"version":"s9","parents":{"version":"s1"}}`, 400, "malformed-request", "parents"},
		} {
			p := a.problem(a.request("POST", sp+"/versions", "application/json", c.body), c.status, c.slug)
			if !strings.Contains(fmt.Sprint(p), c.detail) {
				t.Fatalf("%s: %v, want %q", c.body, p, c.detail)
			}
		}
		// A cycle: v1 from s2 (which descends from v1), or from itself.
		for _, body := range []string{`{"parents":[{"version":"/usa/small/s2","relation":"derived"}]}`, `{"parents":[{"version":"v1","relation":"derived"}]}`} {
			p := a.problem(a.request("PUT", mp+"/versions/v1/parents", "application/json", body), 422, "validation")
			if !strings.Contains(fmt.Sprint(p["errors"]), "cycle") {
				t.Fatalf("cycle: %v", p)
			}
		}
		a.problem(a.request("PUT", mp+"/versions/v1/parents", "application/json", `{}`), 422, "validation")
		if a.snapshot() != before {
			t.Fatal("a refused lineage change changed the database")
		}

		// PUT replaces, and is audited; a sealed version's parents are fixed.
		a.do("POST", mp+"/versions", map[string]any{"version": "v3"}, 201)
		got := a.do("PUT", mp+"/versions/v3/parents", map[string]any{"parents": []any{map[string]any{"version": "v2", "relation": "derived"}}}, 200).json(t)
		if fmt.Sprint(got["data"]) != "[map[model:llm.sm namespace:canada path:/canada/llm.sm/v2 relation:derived version:v2]]" {
			t.Fatalf("PUT parents = %v", got)
		}
		got = a.do("PUT", mp+"/versions/v3/parents", map[string]any{"parents": []any{}}, 200).json(t)
		if fmt.Sprint(got["data"]) != "[]" {
			t.Fatalf("PUT no parents = %v", got)
		}
		if log := a.do("GET", base+"/audit?action=version.parents", nil, 200).json(t)["items"].([]any); len(log) != 2 {
			t.Fatalf("version.parents records: %v", log)
		}
		a.do("PUT", mp+"/versions/v2/state", map[string]any{"state": "qa"}, 200)
		p := a.problem(a.request("PUT", mp+"/versions/v2/parents", "application/json", `{"parents":[]}`), 409, "sealed")
		if !strings.Contains(p["detail"].(string), "parents") {
			t.Fatalf("sealed: %v", p)
		}

		// The graph: v1 <- v2 <- s1 <- s2, and v1 <- s2.
		l := a.do("GET", mp+"/versions/v2/lineage?depth=1", nil, 200).json(t)
		nodes, edges := lineageNames(l)
		if l["root"] != "/canada/llm.sm/v2" || nodes != "/canada/llm.sm/v1@-1 /canada/llm.sm/v2@0 /usa/small/s1@1" ||
			edges != "/canada/llm.sm/v2>/canada/llm.sm/v1:fine-tuned /usa/small/s1>/canada/llm.sm/v2:distilled" || l["hidden"] != float64(0) {
			t.Fatalf("lineage of v2, depth 1: %v | %v | %v", nodes, edges, l)
		}
		l = a.do("GET", mp+"/versions/v1/lineage", nil, 200).json(t)
		nodes, edges = lineageNames(l)
		if nodes != "/canada/llm.sm/v1@0 /canada/llm.sm/v2@1 /usa/small/s2@1 /usa/small/s1@2" || l["depth"] != float64(3) ||
			edges != "/canada/llm.sm/v2>/canada/llm.sm/v1:fine-tuned /usa/small/s1>/canada/llm.sm/v2:distilled /usa/small/s2>/canada/llm.sm/v1:merged /usa/small/s2>/usa/small/s1:quantized" {
			t.Fatalf("lineage of v1: %v | %v", nodes, edges)
		}
		for _, q := range []string{"0", "11", "-1"} {
			a.problem(a.request("GET", mp+"/versions/v1/lineage?depth="+q, "", ""), 422, "validation")
		}
		a.problem(a.request("GET", mp+"/versions/v1/lineage?depth=x", "", ""), 400, "malformed-request")
		a.problem(a.request("GET", mp+"/versions/nope/lineage", "", ""), 404, "not-found")

		// A caller who reads usa only: canada's versions are hidden, and a
		// parent there is not found, as a missing one.
		_, secret, err := registry.New(registry.Options{DB: a.store}).CreateToken(context.Background(), registry.NewToken{Name: "usa-writer", Role: "write", Namespaces: []string{"usa"}})
		check(t, err)
		a.skipAudit()
		u := &api{t: t, h: a.h, store: a.store, token: secret}
		u.skipAudit()
		l = u.do("GET", sp+"/versions/s2/lineage?depth=10", nil, 200).json(t)
		nodes, edges = lineageNames(l)
		if nodes != "/usa/small/s1@-1 /usa/small/s2@0" || edges != "/usa/small/s2>/usa/small/s1:quantized" || l["hidden"] != float64(2) {
			t.Fatalf("lineage as usa: %v | %v | hidden %v", nodes, edges, l["hidden"])
		}
		if ps := u.do("GET", sp+"/versions/s2/parents", nil, 200).json(t); fmt.Sprint(ps["data"]) != "[map[model:small namespace:usa path:/usa/small/s1 relation:quantized version:s1]]" {
			t.Fatalf("s2's parents as usa: %v", ps)
		}
		hidden := u.problem(u.request("POST", sp+"/versions", "application/json", `{"version":"s9","parents":[{"version":"/canada/llm.sm/v1","relation":"derived"}]}`), 404, "not-found")
		missing := u.problem(u.request("POST", sp+"/versions", "application/json", `{"version":"s9","parents":[{"version":"/canada/llm.sm/v404","relation":"derived"}]}`), 404, "not-found")
		if strings.Replace(hidden["detail"].(string), "v1", "v404", 1) != missing["detail"] {
			t.Fatalf("an unreadable parent (%v) does not look like a missing one (%v)", hidden["detail"], missing["detail"])
		}
		u.problem(u.request("GET", sp+"/versions/s1/diff?other=/canada/llm.sm/v1", "", ""), 404, "not-found")
		u.problem(u.request("GET", mp+"/versions/v1/lineage", "", ""), 403, "forbidden")

		// Deleting a parent of live children: refused (soft and hard),
		// unless cascade, which removes the links.
		for _, q := range []string{"", "?hard=true"} {
			p := a.problem(a.request("DELETE", mp+"/versions/v1"+q, "", ""), 409, "conflict")
			if !strings.Contains(p["detail"].(string), "/canada/llm.sm/v2, /usa/small/s2") {
				t.Fatalf("delete refused: %v", p)
			}
		}
		a.problem(a.request("DELETE", mp+"/versions/v1?cascade=maybe", "", ""), 400, "malformed-request")
		a.do("DELETE", mp+"/versions/v1?cascade=true", nil, 204)
		if ps := a.do("GET", mp+"/versions/v2/parents", nil, 200).json(t); fmt.Sprint(ps["data"]) != "[]" {
			t.Fatalf("v2's parents after the cascade = %v", ps)
		}
		log := a.do("GET", base+"/audit?action=version.delete", nil, 200).json(t)["items"].([]any)
		if d := fmt.Sprint(log[len(log)-1].(map[string]any)["detail"]); d != "map[cascade:true hard:false unlinked_children:2]" {
			t.Fatalf("version.delete detail = %s", d)
		}
		// A soft-deleted child does not hold its parent; a hard delete of
		// the parent removes that link.
		a.do("DELETE", sp+"/versions/s2", nil, 204)
		a.do("DELETE", sp+"/versions/s1?hard=true", nil, 204)
		// A model's cascade delete removes the links naming its versions.
		a.do("POST", sp+"/versions", map[string]any{"version": "s3", "parents": []any{map[string]any{"version": "/canada/llm.sm/v2", "relation": "derived"}}}, 201)
		a.problem(a.request("DELETE", mp, "", ""), 409, "conflict")
		a.do("DELETE", mp+"?cascade=true", nil, 204)
		if ps := a.do("GET", sp+"/versions/s3/parents", nil, 200).json(t); fmt.Sprint(ps["data"]) != "[]" {
			t.Fatalf("s3's parents after its parent's model went = %v", ps)
		}
		// And a namespace's.
		a.do("POST", mp[:len(base+"/namespaces/canada")]+"/models", map[string]any{"name": "llm.sm"}, 201)
		a.do("POST", mp+"/versions", map[string]any{"version": "w1"}, 201)
		a.do("PUT", sp+"/versions/s3/parents", map[string]any{"parents": []any{map[string]any{"version": "/canada/llm.sm/w1", "relation": "derived"}}}, 200)
		a.do("DELETE", base+"/namespaces/canada?cascade=true", nil, 204)
		if ps := a.do("GET", sp+"/versions/s3/parents", nil, 200).json(t); fmt.Sprint(ps["data"]) != "[]" {
			t.Fatalf("s3's parents after its parent's namespace went = %v", ps)
		}
	})
}
