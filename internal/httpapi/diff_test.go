package httpapi_test

import (
	"fmt"
	"strings"
	"testing"
)

// TestDiff: two versions side by side: artifacts added, removed, changed
// (both sha256 and sizes) and unchanged, the descriptions, the metadata
// keys that differ, and the metrics of same-named experiments; in the
// same model (/diff/{other}) or another (?other=).
func TestDiff(t *testing.T) {
	artifactEngines(t, artifactSetup{}, func(t *testing.T, a *artifactAPI) {
		a.do("POST", base+"/namespaces", map[string]any{"name": "canada"}, 201)
		a.do("POST", base+"/namespaces/canada/models", map[string]any{"name": "llm.sm"}, 201)
		mp := base + "/namespaces/canada/models/llm.sm"
		a.do("POST", mp+"/versions", map[string]any{"version": "v1", "description": "first",
			"metadata": map[string]any{"license": "mit", "framework": "pytorch", "parameters": 7}}, 201)
		a.do("POST", mp+"/versions", map[string]any{"version": "v2", "description": "second",
			"metadata": map[string]any{"license": "mit", "framework": "jax", "task": "qa"}}, 201)
		for v, files := range map[string]map[string]string{
			"v1": {"same.txt": "same", "changed.bin": "old bytes", "gone.txt": "bye"},
			"v2": {"same.txt": "same", "changed.bin": "new, longer bytes", "new.txt": "hello"},
		} {
			for name, content := range files {
				a.put(mp+"/versions/"+v+"/artifacts/"+name, []byte(content), nil, 201)
			}
		}
		for v, metrics := range map[string]string{"v1": `{"accuracy":0.9,"loss":0.3}`, "v2": `{"accuracy":0.93,"f1":0.8}`} {
			a.do("POST", mp+"/versions/"+v+"/experiments", map[string]any{"name": "eval"}, 201)
			a.do("PUT", mp+"/versions/"+v+"/experiments/eval/state", map[string]any{"state": "running"}, 200)
			a.do("PUT", mp+"/versions/"+v+"/experiments/eval/state", `{"state":"passed","metrics":`+metrics+`}`, 200)
		}
		a.do("POST", mp+"/versions/v1/experiments", map[string]any{"name": "bench"}, 201)

		d := a.do("GET", mp+"/versions/v1/diff/v2", nil, 200).json(t)
		names := func(key string) string {
			var out []string
			for _, x := range d["artifacts"].(map[string]any)[key].([]any) {
				out = append(out, x.(map[string]any)["name"].(string))
			}
			return strings.Join(out, ",")
		}
		if names("added") != "new.txt" || names("removed") != "gone.txt" || names("unchanged") != "same.txt" || names("changed") != "changed.bin" {
			t.Fatalf("artifacts = %v", d["artifacts"])
		}
		ch := d["artifacts"].(map[string]any)["changed"].([]any)[0].(map[string]any)
		if ch["a_sha256"] != sha([]byte("old bytes")) || ch["b_sha256"] != sha([]byte("new, longer bytes")) || ch["a_size"] != float64(9) || ch["b_size"] != float64(17) {
			t.Fatalf("changed = %v", ch)
		}
		av, bv := d["a"].(map[string]any), d["b"].(map[string]any)
		if av["version"] != "v1" || bv["version"] != "v2" || !strings.HasPrefix(av["digest"].(string), "sha256:") || av["digest"] == bv["digest"] {
			t.Fatalf("a, b = %v, %v", av, bv)
		}
		if fmt.Sprint(d["description"]) != "map[a:first b:second]" {
			t.Fatalf("description = %v", d["description"])
		}
		if got := fmt.Sprint(d["metadata"]); got != "[map[a:pytorch b:jax key:framework] map[a:7 b:<nil> key:parameters] map[a:<nil> b:qa key:task]]" {
			t.Fatalf("metadata = %s", got)
		}
		if got := fmt.Sprint(d["experiments"]); got != "[map[a_state:created b_state:<nil> metrics:[] name:bench] "+
			"map[a_state:passed b_state:passed metrics:[map[a:0.9 b:0.93 key:accuracy] map[a:<nil> b:0.8 key:f1] map[a:0.3 b:<nil> key:loss]] name:eval]]" {
			t.Fatalf("experiments = %s", got)
		}

		// The same comparison through ?other=, and across models.
		other := a.do("GET", mp+"/versions/v1/diff?other=/canada/llm.sm/v2", nil, 200).json(t)
		if fmt.Sprint(other) != fmt.Sprint(d) {
			t.Fatalf("?other= answers otherwise:\n%v\n%v", other, d)
		}
		// Selectors on both sides: @test is the newest version in test (v2),
		// an alias names v1.
		a.do("PUT", mp+"/aliases/baseline", map[string]any{"version": "v1"}, 200)
		sel := a.do("GET", mp+"/versions/@baseline/diff/@test", nil, 200).json(t)
		sa, sb := sel["a"].(map[string]any), sel["b"].(map[string]any)
		if sa["version"] != "v1" || sb["version"] != "v2" || fmt.Sprint(sel["artifacts"]) != fmt.Sprint(d["artifacts"]) ||
			fmt.Sprint(sel["experiments"]) != fmt.Sprint(d["experiments"]) {
			t.Fatalf("@baseline/diff/@test answers otherwise:\n%v\n%v", sel, d)
		}
		a.do("GET", mp+"/versions/v1/diff/@nosuch", nil, 404)

		a.do("POST", base+"/namespaces/canada/models", map[string]any{"name": "llm.lg"}, 201)
		a.do("POST", base+"/namespaces/canada/models/llm.lg/versions", map[string]any{"version": "v1", "description": "first"}, 201)
		x := a.do("GET", mp+"/versions/v1/diff?other=/canada/llm.lg/v1", nil, 200).json(t)
		if names := x["artifacts"].(map[string]any)["removed"].([]any); len(names) != 3 || x["description"] != nil {
			t.Fatalf("cross-model diff = %v", x)
		}
		// A version with itself: nothing differs.
		same := a.do("GET", mp+"/versions/v2/diff/v2", nil, 200).json(t)
		if fmt.Sprint(same["metadata"]) != "[]" || same["description"] != nil || len(same["artifacts"].(map[string]any)["unchanged"].([]any)) != 3 {
			t.Fatalf("self diff = %v", same)
		}

		// Refusals.
		a.problem(a.request("GET", mp+"/versions/v1/diff/v404", "", ""), 404, "not-found")
		a.problem(a.request("GET", mp+"/versions/v404/diff/v1", "", ""), 404, "not-found")
		a.problem(a.request("GET", mp+"/versions/v1/diff", "", ""), 400, "malformed-request")
		a.problem(a.request("GET", mp+"/versions/v1/diff?other=v2", "", ""), 400, "malformed-request")
		a.problem(a.request("GET", mp+"/versions/v1/diff?other=/canada/llm.sm/v2/x", "", ""), 400, "malformed-request")
		a.problem(a.request("GET", mp+"/versions/v1/diff?other=/mexico/m/v", "", ""), 404, "not-found")
		a.problem(a.request("GET", mp+"/versions/v1/diff/%2e%2e", "", ""), 400, "invalid-name")
	})
}
