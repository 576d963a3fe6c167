package main

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/flymodel/flymodel/internal/db/dbtest"
)

// TestHostileSearch throws SQL injection at the filter language through a
// live `flymodel serve`, on SQLite and on PostgreSQL: quotes, comments,
// stacked statements, UNIONs, unicode look-alikes, JSON path tricks in
// meta./metrics./params. keys and experiment names, hostile order_by and
// forged cursors. Each is either refused 400 invalid-filter (never a 5xx,
// never a database error's text) or run with the input as a bound value,
// selecting only the rows whose values are that text; the database is
// unchanged after all of them.
func TestHostileSearch(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		dir := t.TempDir()
		hostileSearch(t, dir, "sqlite:"+filepath.Join(dir, "flymodel-data", "flymodel.db"))
	})
	t.Run("postgres", func(t *testing.T) {
		dir := t.TempDir()
		dbURL := dbtest.PostgresURL(t)
		flymodel(t, dir, nil, "migrate", "up", "-d", dbURL).expectCode(t, 0)
		hostileSearch(t, dir, dbURL)
	})
}

func hostileSearch(t *testing.T, dir, dbURL string) {
	admin := createToken(t, dir, dbURL, "hostile-admin", "admin")
	s := startServe(t, dir, nil, "-p", "0", "-d", dbURL)
	h := &hostileClient{addr: s.addr, token: admin}

	const (
		ns    = "/api/v1/namespaces/hostile"
		model = ns + "/models/m"
	)
	// A version whose name is an injection: a filter naming it finds it,
	// as text.
	evil := `v'); DROP TABLE model_versions; --`
	h.mustJSON(t, "POST", "/api/v1/namespaces", `{"name":"hostile"}`, http.StatusCreated)
	h.mustJSON(t, "POST", ns+"/models", `{"name":"m"}`, http.StatusCreated)
	h.mustJSON(t, "POST", model+"/versions", `{"version":"v1","description":"it's \"quoted\" -- not a comment"}`, http.StatusCreated)
	h.mustJSON(t, "POST", model+"/versions", fmt.Sprintf(`{"version":%q}`, evil), http.StatusCreated)
	h.mustJSON(t, "POST", model+"/versions", `{"version":"v-literal"}`, http.StatusCreated) // snapshot reads it
	h.mustJSON(t, "POST", model+"/versions/v1/experiments", `{"name":"e1","params":{"lr":0.1,"a'b":"x"}}`, http.StatusCreated)
	before := h.snapshot(t)

	get := func(path string) hostileResult {
		t.Helper()
		res := h.do(hostileReq{method: "GET", target: path})
		if res.err != nil {
			t.Fatalf("GET %s: %v", path, res.err)
		}
		checkNoLeak(t, res.body)
		for _, bad := range []string{"SQLSTATE", "syntax error", "sqlite", "SQL logic", "pq:", "near \""} {
			if strings.Contains(string(res.body), bad) {
				t.Errorf("GET %s: the answer shows the database's error (%q): %s", path, bad, res.body)
			}
		}
		return res
	}
	rows := func(t *testing.T, res hostileResult) []string {
		t.Helper()
		var out []string
		for _, line := range strings.Split(string(res.body), `"version":"`)[1:] {
			out = append(out, strings.SplitN(line, `"`, 2)[0])
		}
		return out
	}
	maxOr := strings.TrimSuffix(strings.Repeat(`name=''OR `, 409), "OR ")

	for _, c := range []struct {
		resource, filter string
		want             []string // nil: 400 invalid-filter; else the versions found (JSON-escaped)
	}{
		{"versions", `name = "x' OR '1'='1"`, []string{}},
		{"versions", `name = 'x'' OR 1=1 --'`, nil},
		{"versions", `name = "a" OR 1=1`, nil},
		{"versions", `name = "a"; DROP TABLE models`, nil},
		{"versions", `name = "a" -- comment`, nil},
		{"versions", `name = "a" /* comment */`, nil},
		{"versions", `name = "v'); DROP TABLE model_versions; --"`, []string{`v'); DROP TABLE model_versions; --`}},
		{"versions", `name LIKE "v'%"`, []string{`v'); DROP TABLE model_versions; --`}},
		{"versions", `description = "it's \"quoted\" -- not a comment"`, []string{"v1"}},
		{"versions", `description LIKE "%' UNION SELECT secret_hash FROM api_tokens --%"`, []string{}},
		{"versions", `name IN ("a", "b'); DELETE FROM models; --")`, []string{}},
		{"versions", `name = "ʼ OR 1=1 --" OR name = "＇ OR ＇1＇=＇1"`, []string{}},
		{"versions", "name = \"\u202e1=1\"", []string{}},
		{"versions", `name = "\u0027 OR 1=1"`, []string{}},
		{"versions", "name = 'a\x00'", nil},
		{"versions", `meta.x'||(SELECT 1)||' = 1`, nil},
		{"versions", `meta."$.a" = 1`, nil},
		{"versions", `meta.a[0] = 1`, nil},
		{"versions", `meta.$..a = 1`, nil},
		// (meta.<key> values need migration 00014's metadata columns: the
		// key's refusals above are the parser's, before any SQL.)
		{"experiments", `params.a.b = "'); DROP TABLE models; --"`, []string{}},
		{"versions", `experiments.e1'--.state = "passed"`, nil},
		{"versions", `experiments.e1.params.a'b = "x"`, nil},
		{"versions", `experiments.e1.params.lr = 0.1`, []string{"v1"}},
		{"versions", `experiments.e1.metrics.a = "'); DELETE FROM experiments; --"`, []string{}},
		{"versions", `state = "prod' OR '1'='1"`, nil},
		{"versions", `created_at > "2026-01-01'; DROP TABLE models; --"`, nil},
		{"versions", `sealed = true) OR (1=1`, nil},
		{"versions", `description LIKE "\\"`, []string{}},
		{"versions", maxOr, []string{}},
		{"versions", strings.Repeat("(", 33) + `name = "a"` + strings.Repeat(")", 33), nil},
		{"experiments", `metrics.accuracy >= 1e308 OR params.lr < -1e308`, []string{}},
		{"experiments", `params.a-b = "x" AND duration_ms IN (1e308, -0, 0.5)`, []string{}},
		{"models", `name = "m" AND tags IN ("'; --", "\\'")`, []string{}},
		{"models", `namespace = "hostile" OR namespace LIKE "%'--"`, []string{}},
	} {
		res := get("/api/v1/" + c.resource + "?filter=" + url.QueryEscape(c.filter))
		if c.want == nil {
			if res.status != http.StatusBadRequest || !strings.Contains(string(res.body), "problems/invalid-filter") {
				t.Errorf("%s %q: %d %s, want 400 invalid-filter", c.resource, c.filter, res.status, hostileTrim(res.body))
			}
			continue
		}
		if res.status != http.StatusOK {
			t.Errorf("%s %q: %d %s, want 200", c.resource, c.filter, res.status, hostileTrim(res.body))
			continue
		}
		if got := rows(t, res); c.resource == "versions" && !slices.Equal(got, c.want) && !(len(got) == 0 && len(c.want) == 0) {
			t.Errorf("%s %q: versions %q, want %q", c.resource, c.filter, got, c.want)
		}
	}
	// The models search found the model by name (not by the injection).
	if res := get("/api/v1/models?filter=" + url.QueryEscape(`namespace = "hostile" OR namespace LIKE "%'--"`)); !strings.Contains(string(res.body), `"name":"m"`) {
		t.Errorf("models: %s", res.body)
	}

	// Orders and cursors.
	forge := func(v string) string { return base64.RawURLEncoding.EncodeToString([]byte(v)) }
	for _, target := range []string{
		"/api/v1/versions?order_by=" + url.QueryEscape("name; DROP TABLE models"),
		"/api/v1/versions?order_by=" + url.QueryEscape("name desc, (SELECT 1)"),
		"/api/v1/experiments?order_by=" + url.QueryEscape("metrics.a'; -- desc"),
		"/api/v1/experiments?order_by=" + url.QueryEscape(`metrics."x" desc`),
		"/api/v1/versions?after=" + forge(`{"o":"created_at desc","k":"'); DROP TABLE models; --","i":1}`),
		"/api/v1/versions?after=" + forge(`{"o":"created_at desc","k":{"$gt":""},"i":1}`),
		"/api/v1/versions?after=" + forge(`{"o":"name; DROP TABLE models asc","k":"a","i":1}`),
		"/api/v1/versions?after=" + url.QueryEscape("'; DROP TABLE models; --"),
		"/api/v1/versions?limit=" + url.QueryEscape("1; DROP TABLE models"),
	} {
		res := get(target)
		if res.status != http.StatusBadRequest {
			t.Errorf("%s: %d %s, want 400", target, res.status, hostileTrim(res.body))
		}
	}
	// A forged cursor of the right shape is only a value.
	res := get("/api/v1/versions?order_by=name&after=" + forge(`{"o":"name asc","k":"'); DROP TABLE models; --","i":-1}`))
	if res.status != http.StatusOK {
		t.Errorf("forged text cursor: %d %s", res.status, hostileTrim(res.body))
	}
	// The scoped paths take the same filters.
	if res := get(model + "/versions?filter=" + url.QueryEscape(`name = "v'); DROP TABLE model_versions; --"`)); res.status != http.StatusOK || !strings.Contains(string(res.body), `"total_items":1`) {
		t.Errorf("scoped list: %d %s", res.status, hostileTrim(res.body))
	}

	after := h.snapshot(t)
	for key, want := range before {
		if got := after[key]; !slices.Equal(got, want) {
			t.Errorf("%s: %q, want %q", key, got, want)
		}
	}
	for line := range strings.SplitSeq(s.drainLogs(), "\n") {
		if strings.Contains(line, `"level":"ERROR"`) || strings.Contains(line, "panic") {
			t.Errorf("server logged: %.500s", line)
		}
	}
}
