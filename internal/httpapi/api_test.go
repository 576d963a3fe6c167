package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flymodel/flymodel/internal/audit"
	"github.com/flymodel/flymodel/internal/auth"
	"github.com/flymodel/flymodel/internal/db"
	"github.com/flymodel/flymodel/internal/db/dbtest"
	"github.com/flymodel/flymodel/internal/db/postgres"
	"github.com/flymodel/flymodel/internal/db/sqlite"
	"github.com/flymodel/flymodel/internal/httpapi"
	"github.com/flymodel/flymodel/internal/registry"
)

// api drives the real router over one engine's fresh database.
type api struct {
	t     *testing.T
	h     http.Handler
	store db.DB
	// token is sent with every request (an unscoped admin, see adminToken);
	// "" sends none.
	token string
	// auditSeen is the last audit record checkAudit has looked at.
	auditSeen int64
	// secrets are texts no answer may carry (the store's and the staging
	// folder's paths): checked on every answer of request.
	secrets []string
}

// adminToken creates an unscoped admin token for a suite's requests.
func adminToken(t *testing.T, reg *registry.Registry) string {
	t.Helper()
	_, secret, err := reg.CreateToken(context.Background(), registry.NewToken{Name: "test-admin", Role: "admin", Namespaces: []string{"*"}})
	if err != nil {
		t.Fatal(err)
	}
	return secret
}

// newServer is the server of reg, authenticating with the tokens of s and
// otherwise as a laptop server does (anonymous write while no token exists).
func newServer(reg *registry.Registry, s db.DB, opts httpapi.Options) http.Handler {
	return httpapi.NewServer(reg, auth.New(auth.Options{DB: s, Loopback: true}), opts)
}

// engines runs fn against the real handler on SQLite and on PostgreSQL.
func engines(t *testing.T, fn func(t *testing.T, a *api)) {
	gates := map[string]registry.Gate{
		"stage": {RequireAllPassed: true},
		"prod":  {Require: []string{"eval"}},
	}
	eachEngine(t, func(t *testing.T, s db.DB) {
		reg := registry.New(registry.Options{DB: s, Gates: gates})
		a := &api{t: t, h: newServer(reg, s, httpapi.Options{}), store: s, token: adminToken(t, reg)}
		a.skipAudit()
		fn(t, a)
	})
}

// eachEngine runs fn over a fresh, migrated store of each engine: SQLite,
// and PostgreSQL when it is configured (or required).
func eachEngine(t *testing.T, fn func(t *testing.T, s db.DB)) {
	run := func(t *testing.T, s db.DB) {
		t.Cleanup(func() { s.Close() })
		if _, err := s.Migrate(context.Background(), db.MigrateOptions{}); err != nil {
			t.Fatal(err)
		}
		fn(t, s)
	}
	t.Run("sqlite", func(t *testing.T) {
		s, err := sqlite.Open(context.Background(), dbtest.SQLitePath(t))
		if err != nil {
			t.Fatal(err)
		}
		run(t, s)
	})
	t.Run("postgres", func(t *testing.T) {
		if os.Getenv(dbtest.PostgresEnv) == "" && os.Getenv(dbtest.RequireServicesEnv) != "1" {
			t.Skip(dbtest.PostgresEnv + " not set: skipping PostgreSQL")
		}
		s, err := postgres.Open(context.Background(), dbtest.PostgresURL(t))
		if err != nil {
			t.Fatal(err)
		}
		run(t, s)
	})
}

// response is a recorded answer with its decoded JSON body.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, r.body)
	}
	return m
}

// request sends a raw request; body "" sends none. The content type is JSON
// unless contentType says otherwise.
func (a *api) request(method, path, contentType, body string) response {
	a.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	a.sign(req)
	rec := httptest.NewRecorder()
	a.h.ServeHTTP(rec, req)
	res := response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
	a.checkAudit(method, path, res)
	a.checkSecrets(method, path, res)
	return res
}

// checkSecrets fails when an answer's body or headers carry one of the
// suite's secrets (a file-system path of the server).
func (a *api) checkSecrets(method, path string, res response) {
	a.t.Helper()
	if res.header.Get("Content-Type") != "application/problem+json" && res.header.Get("Content-Type") != "application/json" {
		return // artifact bytes are the client's own
	}
	for _, secret := range a.secrets {
		if secret == "" {
			continue
		}
		if bytes.Contains(res.body, []byte(secret)) || strings.Contains(fmt.Sprint(res.header), secret) {
			a.t.Fatalf("%s %s: the answer carries %q\n%s", method, path, secret, res.body)
		}
	}
}

// skipAudit marks the audit records so far as seen: those of the suite's
// setup, or of requests sent around request().
func (a *api) skipAudit() {
	a.t.Helper()
	for {
		items, next, err := audit.List(context.Background(), a.store, audit.Filter{After: a.auditSeen, Limit: audit.MaxLimit})
		check(a.t, err)
		if len(items) > 0 {
			a.auditSeen = items[len(items)-1].ID
		}
		if next == 0 {
			return
		}
	}
}

// checkAudit holds every request of the suites to the audit rule: a
// creation (201) leaves at least one audit record of its own, with outcome
// ok, a refused request (4xx, 5xx) and a read none with outcome ok, and no
// request leaves records under another request's id. (A 200 or 204 may be
// a change or an idempotent no-op; the suites check those records where
// they know which.)
func (a *api) checkAudit(method, path string, res response) {
	a.t.Helper()
	if a.store == nil {
		return
	}
	id := res.header.Get("X-Request-Id")
	var ok, other int
	for {
		items, next, err := audit.List(context.Background(), a.store, audit.Filter{After: a.auditSeen, Limit: audit.MaxLimit})
		check(a.t, err)
		for _, it := range items {
			a.auditSeen = it.ID
			switch {
			case it.RequestID != id:
				other++
			case it.Outcome == audit.OK:
				ok++
			}
		}
		if next == 0 {
			break
		}
	}
	mutation := method != "GET" && method != "HEAD"
	switch {
	case other > 0:
		a.t.Fatalf("%s %s: %d audit records under other request ids", method, path, other)
	case mutation && res.status == 201 && ok == 0:
		a.t.Fatalf("%s %s: %d without an audit record", method, path, res.status)
	case res.status >= 400 && ok > 0:
		a.t.Fatalf("%s %s: refused with %d but audited as done", method, path, res.status)
	case !mutation && ok > 0:
		a.t.Fatalf("%s %s: a read left an audit record", method, path)
	}
}

// sign adds the suite's token to req.
func (a *api) sign(req *http.Request) {
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
}

// send sends a signed request over a real connection (url is absolute).
func (a *api) send(method, url, contentType string, body io.Reader) (*http.Response, error) {
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	a.sign(req)
	return http.DefaultClient.Do(req)
}

// do sends body (encoded as JSON unless it is a string) and checks the
// status, printing the body on a mismatch.
func (a *api) do(method, path string, body any, want int) response {
	a.t.Helper()
	var raw string
	switch b := body.(type) {
	case nil:
	case string:
		raw = b
	default:
		enc, err := json.Marshal(b)
		if err != nil {
			a.t.Fatal(err)
		}
		raw = string(enc)
	}
	ct := ""
	if raw != "" {
		ct = "application/json"
	}
	res := a.request(method, path, ct, raw)
	if res.status != want {
		a.t.Fatalf("%s %s: status %d, want %d\n%s", method, path, res.status, want, res.body)
	}
	return res
}

// problem checks a problem+json answer: status and type slug.
func (a *api) problem(res response, status int, slug string) map[string]any {
	a.t.Helper()
	if res.status != status {
		a.t.Fatalf("status %d, want %d\n%s", res.status, status, res.body)
	}
	if ct := res.header.Get("Content-Type"); ct != "application/problem+json" {
		a.t.Fatalf("content type %q, want application/problem+json\n%s", ct, res.body)
	}
	p := res.json(a.t)
	if p["type"] != "https://flymodel.dev/problems/"+slug || p["status"] != float64(status) {
		a.t.Fatalf("problem = %v, want type %s", p, slug)
	}
	if p["request_id"] == "" || p["title"] == "" {
		a.t.Fatalf("problem without request id or title: %v", p)
	}
	return p
}

// snapshot dumps every row reachable through the store (the registry's
// tree, artifacts included, and the tokens), so that a refused request can
// be shown to have changed nothing.
func (a *api) snapshot() string {
	a.t.Helper()
	ctx := context.Background()
	s := a.store
	var b strings.Builder
	all := int64(100000)
	nss, err := s.ListNamespaces(ctx, db.ListNamespacesParams{PageLimit: all})
	check(a.t, err)
	for _, ns := range nss {
		fmt.Fprintf(&b, "ns %s\n", dump(ns))
		buckets, err := s.ListBuckets(ctx, db.ListBucketsParams{NamespaceID: ns.ID, PageLimit: all})
		check(a.t, err)
		fmt.Fprintf(&b, "  buckets %s\n", dump(buckets))
		tags, err := s.ListTags(ctx, db.ListTagsParams{NamespaceID: ns.ID, PageLimit: all})
		check(a.t, err)
		fmt.Fprintf(&b, "  tags %s\n", dump(tags))
		models, err := s.ListModels(ctx, db.ListModelsParams{NamespaceID: ns.ID, PageLimit: all})
		check(a.t, err)
		for _, m := range models {
			mt, err := s.ListLinkedTags(ctx, db.ListLinkedTagsParams{ModelID: &m.ID})
			check(a.t, err)
			fmt.Fprintf(&b, "  model %s tags %d\n", dump(m), len(mt))
			versions, err := s.ListVersions(ctx, db.ListVersionsParams{ModelID: m.ID, PageLimit: all})
			check(a.t, err)
			for _, v := range versions {
				hist, err := s.ListStateChanges(ctx, v.ID)
				check(a.t, err)
				vt, err := s.ListLinkedTags(ctx, db.ListLinkedTagsParams{VersionID: &v.ID})
				check(a.t, err)
				arts, err := s.ListArtifactsWithBlob(ctx, db.ListArtifactsWithBlobParams{VersionID: v.ID, PageLimit: all})
				check(a.t, err)
				parents, err := s.ListVersionParents(ctx, v.ID)
				check(a.t, err)
				fmt.Fprintf(&b, "    version %s history %d tags %d artifacts %s parents %s\n", dump(v), len(hist), len(vt), dump(arts), dump(parents))
				exps, err := s.ListExperiments(ctx, db.ListExperimentsParams{VersionID: v.ID, PageLimit: all})
				check(a.t, err)
				for _, e := range exps {
					earts, err := s.ListArtifactsWithBlob(ctx, db.ListArtifactsWithBlobParams{VersionID: v.ID, ExperimentKey: e.ID, PageLimit: all})
					check(a.t, err)
					fmt.Fprintf(&b, "      experiment %s artifacts %s\n", dump(e), dump(earts))
				}
			}
			aliases, err := s.ListAliases(ctx, m.ID)
			check(a.t, err)
			fmt.Fprintf(&b, "    aliases %s\n", dump(aliases))
			n, err := s.CountModelVersions(ctx, m.ID)
			check(a.t, err)
			fmt.Fprintf(&b, "    all versions %d\n", n)
		}
	}
	tokens, err := s.ListTokens(ctx)
	check(a.t, err)
	fmt.Fprintf(&b, "tokens %s\n", dump(tokens))
	return b.String()
}

// dump prints a row with its pointers followed.
func dump(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return err.Error()
	}
	return string(b)
}

func check(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

const base = "/api/v1"

// seed creates namespace canada, model llm.sm, version v1 with experiment eval.
func (a *api) seed() {
	a.t.Helper()
	a.do("POST", base+"/namespaces", map[string]any{"name": "canada", "description": "Flymodel Canada"}, 201)
	a.do("POST", base+"/namespaces/canada/models", map[string]any{"name": "llm.sm"}, 201)
	a.do("POST", base+"/namespaces/canada/models/llm.sm/versions", map[string]any{"version": "v1"}, 201)
	a.do("POST", base+"/namespaces/canada/models/llm.sm/versions/v1/experiments", map[string]any{"name": "eval"}, 201)
}

func TestNamespacesModelsBucketsTags(t *testing.T) {
	engines(t, func(t *testing.T, a *api) {
		res := a.do("POST", base+"/namespaces", map[string]any{"name": "canada", "description": "Flymodel Canada"}, 201)
		if loc := res.header.Get("Location"); loc != base+"/namespaces/canada" {
			t.Fatalf("Location = %q", loc)
		}
		ns := res.json(t)
		if ns["name"] != "canada" || ns["description"] != "Flymodel Canada" || !isUTC(ns["created_at"]) {
			t.Fatalf("namespace = %v", ns)
		}
		for _, n := range []string{"usa", "mexico", "brazil"} {
			a.do("POST", base+"/namespaces", map[string]any{"name": n}, 201)
		}
		list := a.do("GET", base+"/namespaces?page=2&size=3", nil, 200).json(t)
		data := list["data"].([]any)
		if len(data) != 1 || data[0].(map[string]any)["name"] != "usa" || list["total_items"] != 4.0 || list["total_pages"] != 2.0 {
			t.Fatalf("page 2 = %v", list)
		}
		if p := list["page"].(map[string]any); p["page"] != 2.0 || p["size"] != 3.0 {
			t.Fatalf("page = %v", p)
		}
		def := a.do("GET", base+"/namespaces", nil, 200).json(t)
		if p := def["page"].(map[string]any); p["page"] != 1.0 || p["size"] != 25.0 {
			t.Fatalf("default page = %v", p)
		}
		upd := a.do("PATCH", base+"/namespaces/mexico", map[string]any{"description": "MX"}, 200).json(t)
		if upd["name"] != "mexico" || upd["description"] != "MX" {
			t.Fatalf("patched = %v", upd)
		}
		a.do("PATCH", base+"/namespaces/mexico", map[string]any{"name": "mx"}, 200)
		a.do("GET", base+"/namespaces/mexico", nil, 404)
		a.do("DELETE", base+"/namespaces/mx", nil, 204)
		a.do("DELETE", base+"/namespaces/mx", nil, 404)

		// Models: the same name in two namespaces, filters, rename, tags.
		for _, m := range []string{"llm.sm", "llm.lg", "vision"} {
			res := a.do("POST", base+"/namespaces/canada/models", map[string]any{"name": m}, 201)
			if loc := res.header.Get("Location"); loc != base+"/namespaces/canada/models/"+m {
				t.Fatalf("Location = %q", loc)
			}
		}
		a.do("POST", base+"/namespaces/usa/models", map[string]any{"name": "llm.sm"}, 201)
		got := a.do("GET", base+"/namespaces/canada/models?name=LLM", nil, 200).json(t)
		if names(got) != "llm.lg,llm.sm" || got["total_items"] != 2.0 {
			t.Fatalf("name filter = %v", got)
		}
		a.do("POST", base+"/namespaces/canada/tags", map[string]any{"tag": "nlp", "color": "#00ff00"}, 201)
		a.do("PUT", base+"/namespaces/canada/models/llm.lg/tags/nlp", nil, 204)
		a.do("PUT", base+"/namespaces/canada/models/llm.lg/tags/nlp", nil, 204) // idempotent
		got = a.do("GET", base+"/namespaces/canada/models?tag=nlp", nil, 200).json(t)
		if names(got) != "llm.lg" {
			t.Fatalf("tag filter = %v", got)
		}
		m := a.do("GET", base+"/namespaces/canada/models/llm.lg", nil, 200).json(t)
		if fmt.Sprint(m["tags"]) != "[nlp]" || m["namespace"] != "canada" {
			t.Fatalf("model = %v", m)
		}
		a.do("DELETE", base+"/namespaces/canada/models/llm.lg/tags/nlp", nil, 204)
		a.do("PATCH", base+"/namespaces/canada/models/vision", map[string]any{"name": "vision2"}, 200)
		a.do("GET", base+"/namespaces/canada/models/vision2", nil, 200)
		a.do("DELETE", base+"/namespaces/canada/models/vision2", nil, 204)
		tags := a.do("GET", base+"/namespaces/canada/tags", nil, 200).json(t)
		if tags["total_items"] != 1.0 {
			t.Fatalf("tags = %v", tags)
		}
		a.do("DELETE", base+"/namespaces/canada/tags/nlp", nil, 204)

		// Buckets: one per role.
		b := a.do("POST", base+"/namespaces/canada/buckets", map[string]any{"name": "ml-prod", "region": "ca-local", "role": "prod"}, 201).json(t)
		a.problem(a.request("POST", base+"/namespaces/canada/buckets", "application/json", `{"name":"ml-prod-2","region":"ca-local","role":"prod"}`), 409, "conflict")
		bl := a.do("GET", base+"/namespaces/canada/buckets", nil, 200).json(t)
		if bl["total_items"] != 1.0 {
			t.Fatalf("buckets = %v", bl)
		}
		a.do("DELETE", fmt.Sprintf("%s/namespaces/canada/buckets/%v", base, b["id"]), nil, 204)
		a.problem(a.request("DELETE", base+"/namespaces/canada/buckets/abc", "", ""), 400, "malformed-request")

		// A namespace that holds models needs cascade.
		a.problem(a.request("DELETE", base+"/namespaces/canada", "", ""), 409, "conflict")
		a.do("DELETE", base+"/namespaces/canada?cascade=true", nil, 204)
		a.do("GET", base+"/namespaces/canada/models/llm.sm", nil, 404)
	})
}

func names(list map[string]any) string {
	var out []string
	for _, d := range list["data"].([]any) {
		out = append(out, d.(map[string]any)["name"].(string))
	}
	return strings.Join(out, ",")
}

func isUTC(v any) bool {
	s, ok := v.(string)
	if !ok || !strings.HasSuffix(s, "Z") {
		return false
	}
	_, err := time.Parse(time.RFC3339Nano, s)
	return err == nil
}

func TestVersionLifecycle(t *testing.T) {
	engines(t, func(t *testing.T, a *api) {
		a.seed()
		vpath := base + "/namespaces/canada/models/llm.sm/versions/v1"
		v := a.do("GET", vpath, nil, 200).json(t)
		if v["state"] != "test" || v["sealed"] != false || v["digest"] != "" || v["namespace"] != "canada" || v["model"] != "llm.sm" ||
			!isUTC(v["created_at"]) || !isUTC(v["updated_at"]) || !isUTC(v["state_changed_at"]) || v["sealed_at"] != nil {
			t.Fatalf("version = %v", v)
		}
		qa := a.do("PUT", vpath+"/state", map[string]any{"state": "qa"}, 200).json(t)
		if qa["state"] != "qa" || qa["sealed"] != true || !isUTC(qa["sealed_at"]) {
			t.Fatalf("after qa = %v", qa)
		}

		// prod is gated on eval passed; stage on every experiment passed.
		before := a.snapshot()
		p := a.problem(a.request("PUT", vpath+"/state", "application/json", `{"state":"prod"}`), 409, "promotion-gate")
		if fmt.Sprint(p["not_passed"]) != "[eval]" || fmt.Sprint(p["missing"]) != "[]" || p["to"] != "prod" {
			t.Fatalf("gate problem = %v", p)
		}
		a.problem(a.request("PUT", vpath+"/state", "application/json", `{"state":"stage"}`), 409, "promotion-gate")
		if after := a.snapshot(); after != before {
			t.Fatalf("refused promotion changed the database:\n%s\nvs\n%s", before, after)
		}
		epath := vpath + "/experiments/eval"
		a.do("PUT", epath+"/state", map[string]any{"state": "running"}, 200)
		a.do("PUT", epath+"/state", map[string]any{"state": "passed", "duration_ms": 42, "metrics": map[string]any{"acc": 0.9}}, 200)
		a.do("PUT", vpath+"/state", map[string]any{"state": "stage"}, 200)
		a.do("PUT", vpath+"/state", map[string]any{"state": "prod"}, 200)

		hist := a.do("GET", vpath+"/history", nil, 200).json(t)["data"].([]any)
		var steps []string
		for _, h := range hist {
			m := h.(map[string]any)
			steps = append(steps, fmt.Sprintf("%v>%v", m["from"], m["to"]))
			if m["actor"] != "test-admin" || !isUTC(m["changed_at"]) {
				t.Fatalf("history entry = %v", m)
			}
		}
		if strings.Join(steps, " ") != "<nil>>test test>qa qa>stage stage>prod" {
			t.Fatalf("history = %v", steps)
		}

		// Filters, pagination, newest first.
		for _, name := range []string{"v2", "v3", "v4"} {
			a.do("POST", base+"/namespaces/canada/models/llm.sm/versions", map[string]any{"version": name}, 201)
		}
		a.do("POST", base+"/namespaces/canada/models/llm.sm/versions", map[string]any{"version": "v5", "state": "qa"}, 201)
		list := a.do("GET", base+"/namespaces/canada/models/llm.sm/versions?size=2", nil, 200).json(t)
		if versions(list) != "v5,v4" || list["total_items"] != 5.0 || list["total_pages"] != 3.0 {
			t.Fatalf("versions = %v", list)
		}
		if got := versions(a.do("GET", base+"/namespaces/canada/models/llm.sm/versions?state=test", nil, 200).json(t)); got != "v4,v3,v2" {
			t.Fatalf("state filter = %v", got)
		}
		a.do("POST", base+"/namespaces/canada/tags", map[string]any{"tag": "candidate", "color": "#abcdef"}, 201)
		a.do("PUT", base+"/namespaces/canada/models/llm.sm/versions/v3/tags/candidate", nil, 204)
		if got := versions(a.do("GET", base+"/namespaces/canada/models/llm.sm/versions?tag=candidate", nil, 200).json(t)); got != "v3" {
			t.Fatalf("tag filter = %v", got)
		}
		vt := a.do("GET", base+"/namespaces/canada/models/llm.sm/versions/v3/tags", nil, 200).json(t)["data"].([]any)
		if len(vt) != 1 {
			t.Fatalf("version tags = %v", vt)
		}
		a.do("DELETE", base+"/namespaces/canada/models/llm.sm/versions/v3/tags/candidate", nil, 204)

		// Soft delete hides and keeps the name; hard delete frees it.
		a.do("DELETE", base+"/namespaces/canada/models/llm.sm/versions/v4", nil, 204)
		a.do("GET", base+"/namespaces/canada/models/llm.sm/versions/v4", nil, 404)
		p = a.problem(a.request("POST", base+"/namespaces/canada/models/llm.sm/versions", "application/json", `{"version":"v4"}`), 409, "conflict")
		if p["existing"] != base+"/namespaces/canada/models/llm.sm/versions/v4" {
			t.Fatalf("conflict = %v", p)
		}
		a.do("DELETE", base+"/namespaces/canada/models/llm.sm/versions/v2?hard=true", nil, 204)
		a.do("POST", base+"/namespaces/canada/models/llm.sm/versions", map[string]any{"version": "v2"}, 201)
		a.problem(a.request("DELETE", base+"/namespaces/canada/models/llm.sm/versions/v2?hard=maybe", "", ""), 400, "malformed-request")

		// A model with versions needs cascade.
		a.problem(a.request("DELETE", base+"/namespaces/canada/models/llm.sm", "", ""), 409, "conflict")
		a.do("DELETE", base+"/namespaces/canada/models/llm.sm?cascade=true", nil, 204)
	})
}

func versions(list map[string]any) string {
	var out []string
	for _, d := range list["data"].([]any) {
		out = append(out, d.(map[string]any)["version"].(string))
	}
	return strings.Join(out, ",")
}

func TestExperiments(t *testing.T) {
	engines(t, func(t *testing.T, a *api) {
		a.seed()
		vpath := base + "/namespaces/canada/models/llm.sm/versions/v1"
		e := a.do("POST", vpath+"/experiments", map[string]any{"name": "load", "params": map[string]any{"rps": 100}}, 201).json(t)
		if e["state"] != "created" || fmt.Sprint(e["params"]) != "map[rps:100]" || e["metrics"] != nil || e["retries"] != 0.0 {
			t.Fatalf("experiment = %v", e)
		}
		epath := vpath + "/experiments/load"
		a.do("PUT", epath+"/state", map[string]any{"state": "running"}, 200)
		r := a.do("PUT", epath+"/state", map[string]any{"state": "running"}, 200).json(t)
		if r["retries"] != 1.0 {
			t.Fatalf("retry = %v", r)
		}
		done := a.do("PUT", epath+"/state", map[string]any{"state": "failed", "metrics": map[string]any{"p99_ms": 12.5}}, 200).json(t)
		if done["state"] != "failed" || done["duration_ms"] == nil || !isUTC(done["finished_at"]) || fmt.Sprint(done["metrics"]) != "map[p99_ms:12.5]" {
			t.Fatalf("finished = %v", done)
		}
		before := a.snapshot()
		for _, next := range []string{"passed", "running", "failed"} {
			p := a.problem(a.request("PUT", epath+"/state", "application/json", `{"state":"`+next+`"}`), 409, "invalid-transition")
			if p["from"] != "failed" || p["to"] != next {
				t.Fatalf("transition problem = %v", p)
			}
		}
		if after := a.snapshot(); after != before {
			t.Fatalf("a refused transition changed the database:\n%s\nvs\n%s", before, after)
		}
		list := a.do("GET", vpath+"/experiments?state=failed", nil, 200).json(t)
		if names(list) != "load" {
			t.Fatalf("state filter = %v", list)
		}
		a.do("POST", base+"/namespaces/canada/tags", map[string]any{"tag": "nightly", "color": "#123456"}, 201)
		a.do("PUT", epath+"/tags/nightly", nil, 204)
		if tags := a.do("GET", epath+"/tags", nil, 200).json(t)["data"].([]any); len(tags) != 1 {
			t.Fatalf("experiment tags = %v", tags)
		}
		a.do("DELETE", epath+"/tags/nightly", nil, 204)
		a.do("DELETE", epath, nil, 204)
		a.do("GET", epath, nil, 404)
		a.problem(a.request("POST", vpath+"/experiments", "application/json", `{"name":"load"}`), 409, "conflict")
		a.do("DELETE", vpath+"/experiments/eval?hard=true", nil, 204)
		a.do("POST", vpath+"/experiments", map[string]any{"name": "eval"}, 201)
	})
}

// TestBadInput: every refused request answers with the right status and
// problem type and leaves the database exactly as it was.
func TestBadInput(t *testing.T) {
	long := strings.Repeat("x", 256)
	vpath := base + "/namespaces/canada/models/llm.sm/versions/v1"
	cases := []struct {
		name, method, path, contentType, body string
		status                                int
		slug                                  string
	}{
		{"malformed JSON", "POST", base + "/namespaces", "application/json", `{"name":`, 400, "malformed-request"},
		{"not an object", "POST", base + "/namespaces", "application/json", `["x"]`, 400, "malformed-request"},
		{"unknown field", "POST", base + "/namespaces", "application/json", `{"name":"x","colour":"red"}`, 400, "malformed-request"},
		{"wrong type", "POST", base + "/namespaces", "application/json", `{"name":5}`, 400, "malformed-request"},
		{"trailing data", "POST", base + "/namespaces", "application/json", `{"name":"x"} {"name":"y"}`, 400, "malformed-request"},
		{"empty body", "POST", base + "/namespaces", "application/json", ``, 400, "malformed-request"},
		{"no content type", "POST", base + "/namespaces", "", `{"name":"x"}`, 415, "unsupported-media-type"},
		{"text content type", "POST", base + "/namespaces", "text/plain", `{"name":"x"}`, 415, "unsupported-media-type"},
		{"oversized body", "POST", base + "/namespaces", "application/json", `{"name":"x","description":"` + strings.Repeat("a", 2<<20) + `"}`, 413, "too-large"},
		{"empty name", "POST", base + "/namespaces", "application/json", `{"name":""}`, 422, "validation"},
		{"dot dot name", "POST", base + "/namespaces", "application/json", `{"name":".."}`, 422, "validation"},
		{"dot name", "POST", base + "/namespaces", "application/json", `{"name":"."}`, 422, "validation"},
		{"slash name", "POST", base + "/namespaces/canada/models", "application/json", `{"name":"a/b"}`, 422, "validation"},
		{"long name", "POST", base + "/namespaces/canada/models", "application/json", `{"name":"` + long + `"}`, 422, "validation"},
		{"control character", "POST", base + "/namespaces/canada/models", "application/json", `{"name":"a\u0001b"}`, 422, "validation"},
		{"surrounding space", "POST", base + "/namespaces/canada/models", "application/json", `{"name":" llm"}`, 422, "validation"},
		{"bad version name", "POST", base + "/namespaces/canada/models/llm.sm/versions", "application/json", `{"version":"../v1"}`, 422, "validation"},
		{"bad experiment name", "POST", vpath + "/experiments", "application/json", `{"name":"a\nb"}`, 422, "validation"},
		{"params not an object", "POST", vpath + "/experiments", "application/json", `{"name":"x","params":[1,2]}`, 422, "validation"},
		{"unknown lifecycle on create", "POST", base + "/namespaces/canada/models/llm.sm/versions", "application/json", `{"version":"v9","state":"production"}`, 422, "validation"},
		{"unknown lifecycle", "PUT", vpath + "/state", "application/json", `{"state":"Stage"}`, 422, "validation"},
		{"unknown run state", "PUT", vpath + "/experiments/eval/state", "application/json", `{"state":"done"}`, 422, "validation"},
		{"negative duration", "PUT", vpath + "/experiments/eval/state", "application/json", `{"state":"passed","duration_ms":-1}`, 422, "validation"},
		{"result before running", "PUT", vpath + "/experiments/eval/state", "application/json", `{"state":"passed"}`, 409, "invalid-transition"},
		{"back to created", "PUT", vpath + "/experiments/eval/state", "application/json", `{"state":"created"}`, 409, "invalid-transition"},
		{"bad tag colour", "POST", base + "/namespaces/canada/tags", "application/json", `{"tag":"t","color":"red"}`, 422, "validation"},
		{"bad bucket", "POST", base + "/namespaces/canada/buckets", "application/json", `{"name":"B","region":"","role":"gold"}`, 422, "validation"},
		{"duplicate namespace", "POST", base + "/namespaces", "application/json", `{"name":"canada"}`, 409, "conflict"},
		{"duplicate model", "POST", base + "/namespaces/canada/models", "application/json", `{"name":"llm.sm"}`, 409, "conflict"},
		{"duplicate version", "POST", base + "/namespaces/canada/models/llm.sm/versions", "application/json", `{"version":"v1"}`, 409, "conflict"},
		{"duplicate experiment", "POST", vpath + "/experiments", "application/json", `{"name":"eval"}`, 409, "conflict"},
		{"gated promotion", "PUT", vpath + "/state", "application/json", `{"state":"prod"}`, 409, "promotion-gate"},
		{"rename onto existing", "PATCH", base + "/namespaces/canada/models/llm.sm", "application/json", `{"name":"llm.lg"}`, 409, "conflict"},
		{"delete non-empty namespace", "DELETE", base + "/namespaces/canada", "", ``, 409, "conflict"},
		{"page zero", "GET", base + "/namespaces?page=0", "", ``, 422, "validation"},
		{"page too large", "GET", base + "/namespaces?size=1001", "", ``, 422, "validation"},
		{"page not a number", "GET", base + "/namespaces?page=abc", "", ``, 400, "malformed-request"},
		{"negative size", "GET", base + "/namespaces/canada/models?size=-1", "", ``, 422, "validation"},
		{"unknown state filter", "GET", base + "/namespaces/canada/models/llm.sm/versions?state=gold", "", ``, 422, "validation"},
		{"path dot dot encoded", "GET", base + "/namespaces/%2e%2e", "", ``, 400, "invalid-name"},
		{"path dot dot", "GET", base + "/namespaces/..", "", ``, 400, "invalid-name"},
		{"path dot dot in model", "GET", base + "/namespaces/canada/models/../versions", "", ``, 400, "invalid-name"},
		{"path encoded slash", "GET", base + "/namespaces/canada/models/a%2Fb", "", ``, 400, "invalid-name"},
		{"path NUL", "GET", base + "/namespaces/a%00b", "", ``, 400, "invalid-name"},
		{"path long name", "GET", base + "/namespaces/" + long, "", ``, 400, "invalid-name"},
		{"path bad name on write", "PUT", base + "/namespaces/canada/models/llm.sm/versions/%2e%2e/state", "application/json", `{"state":"qa"}`, 400, "invalid-name"},
		{"unknown namespace", "GET", base + "/namespaces/nowhere", "", ``, 404, "not-found"},
		{"unknown model", "POST", base + "/namespaces/canada/models/nope/versions", "application/json", `{"version":"v1"}`, 404, "not-found"},
		{"unknown version", "PUT", base + "/namespaces/canada/models/llm.sm/versions/v9/state", "application/json", `{"state":"qa"}`, 404, "not-found"},
		{"unknown experiment", "PUT", vpath + "/experiments/nope/state", "application/json", `{"state":"running"}`, 404, "not-found"},
		{"unknown tag", "PUT", base + "/namespaces/canada/models/llm.sm/tags/nope", "", ``, 404, "not-found"},
		{"unknown route", "GET", base + "/nothing", "", ``, 404, "not-found"},
		{"wrong method", "POST", vpath, "application/json", `{}`, 405, "method-not-allowed"},
	}
	engines(t, func(t *testing.T, a *api) {
		a.seed()
		a.do("POST", base+"/namespaces/canada/models", map[string]any{"name": "llm.lg"}, 201)
		before := a.snapshot()
		for _, c := range cases {
			res := a.request(c.method, c.path, c.contentType, c.body)
			if res.status != c.status {
				t.Errorf("%s: %s %s: status %d, want %d\n%s", c.name, c.method, c.path, res.status, c.status, truncate(res.body))
				continue
			}
			a.problem(res, c.status, c.slug)
			if after := a.snapshot(); after != before {
				t.Fatalf("%s: the refused request changed the database", c.name)
			}
		}
		res := a.request("POST", vpath, "application/json", `{}`)
		if allow := res.header.Get("Allow"); allow != "DELETE, GET, PATCH" {
			t.Errorf("Allow = %q", allow)
		}
		v := a.problem(a.request("POST", base+"/namespaces", "application/json", `{"name":"..","description":""}`), 422, "validation")
		errs := v["errors"].([]any)
		if len(errs) != 1 || errs[0].(map[string]any)["field"] != "name" {
			t.Errorf("validation errors = %v", errs)
		}
	})
}

func truncate(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "…"
	}
	return string(b)
}

// TestConcurrentCreate: 16 clients create the same version at once over
// real HTTP; exactly one wins.
func TestConcurrentCreate(t *testing.T) {
	engines(t, func(t *testing.T, a *api) {
		a.seed()
		srv := httptest.NewServer(a.h)
		defer srv.Close()
		const clients = 16
		statuses := make([]int, clients)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				res, err := a.send("POST", srv.URL+base+"/namespaces/canada/models/llm.sm/versions", "application/json",
					bytes.NewReader([]byte(`{"version":"v2.0.0"}`)))
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				statuses[i] = res.StatusCode
			}()
		}
		close(start)
		wg.Wait()
		a.skipAudit()
		sort.Ints(statuses)
		counts := map[int]int{}
		for _, s := range statuses {
			counts[s]++
		}
		if counts[201] != 1 || counts[409] != clients-1 {
			t.Fatalf("statuses = %v, want one 201 and %d 409", statuses, clients-1)
		}
		list := a.do("GET", base+"/namespaces/canada/models/llm.sm/versions", nil, 200).json(t)
		if list["total_items"] != 2.0 {
			t.Fatalf("versions = %v", list)
		}
		hist := a.do("GET", base+"/namespaces/canada/models/llm.sm/versions/v2.0.0/history", nil, 200).json(t)["data"].([]any)
		if len(hist) != 1 {
			t.Fatalf("history of the one created version = %v", hist)
		}
	})
}
