package web_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/flymodel/flymodel/internal/auth"
	"github.com/flymodel/flymodel/internal/blob"
	"github.com/flymodel/flymodel/internal/blob/fsblob"
	"github.com/flymodel/flymodel/internal/db"
	"github.com/flymodel/flymodel/internal/db/dbtest"
	"github.com/flymodel/flymodel/internal/db/sqlite"
	"github.com/flymodel/flymodel/internal/httpapi"
	"github.com/flymodel/flymodel/internal/registry"
	"github.com/flymodel/flymodel/internal/web"
)

// hostile is a name that runs script if a page writes it as HTML.
const hostile = `<img src=x onerror=alert(1)>`

// site is the whole server (API and UI, as `flymodel serve` builds it)
// over a fresh SQLite registry with a filesystem blob store.
type site struct {
	t   *testing.T
	h   http.Handler
	reg *registry.Registry
}

func newSite(t *testing.T) *site {
	t.Helper()
	return newSiteWith(t, func(*auth.Authenticator) web.Options { return web.Options{Version: "v9.9.9-test"} })
}

// newSiteWith is newSite with the UI's options of opts.
func newSiteWith(t *testing.T, opts func(*auth.Authenticator) web.Options) *site {
	t.Helper()
	reg, s := newRegistry(t, nil)
	authn := auth.New(auth.Options{DB: s, Loopback: true})
	ui := web.New(reg, authn, opts(authn))
	return &site{t: t, reg: reg, h: httpapi.NewServer(reg, authn, httpapi.Options{UI: ui, LoopbackBind: true})}
}

// newRegistry is a registry over a fresh, migrated SQLite database and one
// filesystem store serving every lifecycle, with the promotion gates of
// gates (nil: none).
func newRegistry(t *testing.T, gates map[string]registry.Gate) (*registry.Registry, db.DB) {
	t.Helper()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, dbtest.SQLitePath(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(ctx, db.MigrateOptions{}); err != nil {
		t.Fatal(err)
	}
	fs, err := fsblob.New(filepath.Join(t.TempDir(), "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	if err := fs.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	stores := registry.BlobStores{ByName: map[string]blob.Store{"main": fs},
		ForRole: map[string]string{"test": "main", "qa": "main", "stage": "main", "prod": "main"}}
	return registry.New(registry.Options{DB: s, Blobs: stores, Gates: gates}), s
}

// get sends GET target with the headers of kv (name, value, …).
func (s *site) get(target string, kv ...string) *httptest.ResponseRecorder {
	return s.do(http.MethodGet, target, kv...)
}

func (s *site) do(method, target string, kv ...string) *httptest.ResponseRecorder {
	s.t.Helper()
	req := httptest.NewRequest(method, target, nil)
	req.Host = "localhost:9009" // the loopback server answers loopback hosts only
	for i := 0; i+1 < len(kv); i += 2 {
		req.Header.Set(kv[i], kv[i+1])
	}
	rec := httptest.NewRecorder()
	s.h.ServeHTTP(rec, req)
	return rec
}

// page checks that rec is an HTML page with status and the UI's headers,
// and returns its body.
func page(t *testing.T, rec *httptest.ResponseRecorder, status int) string {
	t.Helper()
	body := rec.Body.String()
	if rec.Code != status {
		t.Fatalf("status %d, want %d; body:\n%s", rec.Code, status, body)
	}
	h := rec.Header()
	for k, want := range map[string]string{
		"Content-Type":            "text/html; charset=utf-8",
		"Content-Security-Policy": web.CSP,
		"Cache-Control":           "no-store",
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "same-origin",
	} {
		if got := h.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if strings.Contains(body, "<script>") || strings.Contains(body, " style=") || strings.Contains(body, "<style") {
		t.Errorf("inline script or style in the page:\n%s", body)
	}
	return body
}

func contains(t *testing.T, body string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("page lacks %q; body:\n%s", w, body)
		}
	}
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// seed makes namespace team with model clf (described, tagged gold),
// version v1 (an artifact, a passed experiment, promoted to qa), and a
// model with a hostile name.
func (s *site) seed() registry.Ref {
	t := s.t
	ctx := context.Background()
	must[registry.Namespace](t)(s.reg.CreateNamespace(ctx, registry.NewNamespace{Name: "team", Description: "the team's models"}))
	must[registry.Model](t)(s.reg.CreateModelWith(ctx, "team", registry.NewModel{Name: "clf",
		Description: "# Classifier\n\nTrained on **cats**. <script>alert(1)</script>"}))
	must[registry.Tag](t)(s.reg.CreateTag(ctx, "team", registry.NewTag{Tag: "gold"}))
	if err := s.reg.TagModel(ctx, "team", "clf", "gold", false); err != nil {
		t.Fatal(err)
	}
	ref := registry.Ref{Namespace: "team", Model: "clf", Version: "v1"}
	must[registry.Version](t)(s.reg.CreateVersion(ctx, "team", "clf", registry.NewVersion{Version: "v1"}))
	content := strings.Repeat("x", 3*1024+512)
	must[registry.Artifact](t)(func() (registry.Artifact, error) {
		a, _, err := s.reg.PutArtifact(ctx, registry.Owner{Ref: ref}, registry.NewArtifact{Name: "weights/model.onnx"}, strings.NewReader(content))
		return a, err
	}())
	must[registry.Experiment](t)(s.reg.CreateExperiment(ctx, ref, registry.NewExperiment{Name: "eval", Params: json.RawMessage(`{"lr":0.01,"<b>":"x"}`)}))
	must[registry.Experiment](t)(s.reg.SetExperimentState(ctx, ref, "eval", registry.ExperimentUpdate{State: "running"}))
	ms := int64(90_000)
	must[registry.Experiment](t)(s.reg.SetExperimentState(ctx, ref, "eval", registry.ExperimentUpdate{State: "passed", DurationMs: &ms, Metrics: json.RawMessage(`{"accuracy":0.93}`)}))
	must[registry.Version](t)(s.reg.SetVersionState(ctx, ref, "qa"))
	must[registry.Model](t)(s.reg.CreateModel(ctx, "team", hostile))
	must[registry.Version](t)(s.reg.CreateVersion(ctx, "team", hostile, registry.NewVersion{Version: hostile}))
	return ref
}

func TestPages(t *testing.T) {
	s := newSite(t)
	s.seed()

	home := page(t, s.get("/"), http.StatusOK)
	contains(t, home, `<a href="/ns/team">team</a>`, "the team&#39;s models", "v9.9.9-test", `href="#main"`, `id="main"`)

	ns := page(t, s.get("/ns/team"), http.StatusOK)
	contains(t, ns, `href="/ns/team/models/clf"`, `href="/ns/team/models/clf/versions/v1"`, `badge badge-qa`, `>gold</a>`,
		`aria-current="page"`)

	model := page(t, s.get("/ns/team/models/clf"), http.StatusOK)
	contains(t, model, "<h1>Classifier</h1>", "<strong>cats</strong>", `data-copy="sha256:`, "sealed", `<option value="qa">`)
	if strings.Contains(model, "<script>alert") {
		t.Error("a description's raw HTML reached the page")
	}

	v := page(t, s.get("/ns/team/models/clf/versions/v1"), http.StatusOK)
	contains(t, v, "weights/model.onnx", "3.5 KiB", `href="/api/v1/namespaces/team/models/clf/versions/v1/artifacts/weights/model.onnx"`,
		"eval", "1m30s", "accuracy", "0.93", "&lt;b&gt;", `badge badge-passed`, "anonymous", `<time datetime="`)

	// The filters select and show.
	page(t, s.get("/ns/team?q=cl&tag=gold"), http.StatusOK)
	filtered := page(t, s.get("/ns/team/models/clf?state=prod"), http.StatusOK)
	contains(t, filtered, "No version matches these filters.", `<option value="prod" selected>`)

	// The download link is the API's.
	if rec := s.get("/api/v1/namespaces/team/models/clf/versions/v1/artifacts/weights/model.onnx"); rec.Code != http.StatusOK || rec.Body.Len() != 3*1024+512 {
		t.Errorf("download: %d, %d bytes", rec.Code, rec.Body.Len())
	}
}

func TestEmptyStates(t *testing.T) {
	s := newSite(t)
	contains(t, page(t, s.get("/"), http.StatusOK), "No namespaces yet.", `data-copy="flymodel upsert`)
	must[registry.Namespace](t)(s.reg.CreateNamespace(context.Background(), registry.NewNamespace{Name: "empty"}))
	contains(t, page(t, s.get("/ns/empty"), http.StatusOK), "No models yet.", "flymodel upsert --namespace empty")
}

// TestHostileNamesRenderAsText: names, tags and descriptions are text on
// every page.
func TestHostileNamesRenderAsText(t *testing.T) {
	s := newSite(t)
	s.seed()
	esc := url.PathEscape(hostile)
	for _, target := range []string{"/ns/team", "/ns/team/models/" + esc, "/ns/team/models/" + esc + "/versions/" + esc} {
		body := page(t, s.get(target), http.StatusOK)
		if strings.Contains(body, hostile) {
			t.Errorf("%s: the name was written as HTML:\n%s", target, body)
		}
		contains(t, body, "&lt;img src=x onerror=alert(1)&gt;")
	}
}

func TestErrorPages(t *testing.T) {
	s := newSite(t)
	s.seed()
	for _, c := range []struct {
		target string
		status int
		want   string
	}{
		{"/nope", http.StatusNotFound, "no page at /nope"},
		{"/ns/missing", http.StatusNotFound, "namespace /namespaces/missing not found"},
		{"/ns/team/models/none", http.StatusNotFound, "not found"},
		{"/ns/team/models/clf/versions/v7", http.StatusNotFound, "not found"},
		{"/ns/a%5Cb", http.StatusBadRequest, `must not contain &#39;\&#39;`},
		{"/ns/a%2Fb/models/m", http.StatusBadRequest, `must not contain &#39;/&#39;`},
		{"/ns/team?page=x", http.StatusBadRequest, "query parameter page must be an integer"},
		{"/ns/team?page=0", http.StatusUnprocessableEntity, "page"},
		{"/ns/team/models/clf?state=bogus", http.StatusUnprocessableEntity, "state"},
		{"/ui/static/app.css", http.StatusNotFound, "no page"},
	} {
		t.Run(c.target, func(t *testing.T) {
			contains(t, page(t, s.get(c.target), c.status), c.want)
		})
	}
	rec := s.do(http.MethodPost, "/ns/team")
	contains(t, page(t, rec, http.StatusMethodNotAllowed), "POST is not allowed")
	if rec.Header().Get("Allow") != "GET, HEAD" {
		t.Errorf("Allow = %q", rec.Header().Get("Allow"))
	}
}

// TestAPIPathsStayJSON: an unknown API path is the API's problem 404, not
// a page.
func TestAPIPathsStayJSON(t *testing.T) {
	s := newSite(t)
	for _, target := range []string{"/api/v1/nope", "/api", "/api/v2/x", "/healthz/x", "/upload/x", "/download/x", "/graphql/x"} {
		rec := s.get(target)
		if rec.Code != http.StatusNotFound || rec.Header().Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s: %d %s", target, rec.Code, rec.Header().Get("Content-Type"))
		}
	}
	if rec := s.get("/healthz"); rec.Code != http.StatusOK {
		t.Errorf("/healthz: %d", rec.Code)
	}
}

func TestAccess(t *testing.T) {
	s := newSite(t)
	s.seed()
	ctx := context.Background()
	must[registry.Namespace](t)(s.reg.CreateNamespace(ctx, registry.NewNamespace{Name: "other"}))
	// With a token in the database, anonymous callers may do nothing (the
	// laptop policy ends).
	_, other, err := s.reg.CreateToken(ctx, registry.NewToken{Name: "reader", Role: "read", Namespaces: []string{"other"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{"/", "/ns/team/models/clf"} {
		rec := s.get(target)
		if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/ui/signin?next="+url.QueryEscape(target) {
			t.Errorf("anonymous %s: %d to %q", target, rec.Code, rec.Header().Get("Location"))
		}
	}
	contains(t, page(t, s.get("/ui/signin?next=/ns/team"), http.StatusOK), "Sign in", `href="/ns/team"`)
	contains(t, page(t, s.get("/ui/signin?next=//evil.example"), http.StatusOK), `<a href="/">Try again</a>`)

	bearer := "Bearer " + other
	home := page(t, s.get("/", "Authorization", bearer), http.StatusOK)
	contains(t, home, `href="/ns/other"`, "reader")
	if strings.Contains(home, `href="/ns/team"`) {
		t.Error("home lists a namespace the token does not reach")
	}
	contains(t, page(t, s.get("/ns/team", "Authorization", bearer), http.StatusForbidden), "this page needs the read role in namespace team")
	page(t, s.get("/ns/other", "Authorization", bearer), http.StatusOK)
	contains(t, page(t, s.get("/", "Authorization", "Bearer nope"), http.StatusUnauthorized), "invalid")
}

func TestPagerKeepsFilters(t *testing.T) {
	s := newSite(t)
	ctx := context.Background()
	must[registry.Namespace](t)(s.reg.CreateNamespace(ctx, registry.NewNamespace{Name: "p"}))
	must[registry.Tag](t)(s.reg.CreateTag(ctx, "p", registry.NewTag{Tag: "t"}))
	for _, m := range []string{"m1", "m2", "m3", "m4", "m5"} {
		must[registry.Model](t)(s.reg.CreateModel(ctx, "p", m))
		if err := s.reg.TagModel(ctx, "p", m, "t", false); err != nil {
			t.Fatal(err)
		}
	}
	body := page(t, s.get("/ns/p?q=m&tag=t&size=2&page=2"), http.StatusOK)
	contains(t, body, "page 2 of 3", `href="/ns/p?page=1&amp;q=m&amp;size=2&amp;tag=t" rel="prev"`,
		`href="/ns/p?page=3&amp;q=m&amp;size=2&amp;tag=t" rel="next"`, `value="m"`)
	// A tag link filters and starts over at page 1, keeping the search.
	contains(t, body, `href="/ns/p?q=m&amp;size=2&amp;tag=t"`)
}

func TestStaticAssets(t *testing.T) {
	s := newSite(t)
	body := page(t, s.get("/"), http.StatusOK)
	for _, ext := range []string{"css", "js"} {
		i := strings.Index(body, "/ui/static/app.")
		if i < 0 {
			t.Fatalf("no asset link in %s", body)
		}
		var target string
		for _, attr := range []string{`href="`, `src="`} {
			for _, part := range strings.Split(body, attr)[1:] {
				u := part[:strings.Index(part, `"`)]
				if strings.HasPrefix(u, "/ui/static/") && strings.HasSuffix(u, "."+ext) {
					target = u
				}
			}
		}
		rec := s.get(target)
		if rec.Code != http.StatusOK || !strings.Contains(rec.Header().Get("Cache-Control"), "immutable") || rec.Header().Get("Content-Security-Policy") != web.CSP {
			t.Errorf("%s: %d %v", target, rec.Code, rec.Header())
		}
		if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, map[string]string{"css": "text/css", "js": "text/javascript"}[ext]) {
			t.Errorf("%s: Content-Type %q", target, ct)
		}
		if b, _ := io.ReadAll(rec.Body); len(b) == 0 || strings.Contains(string(b), "http://") || strings.Contains(string(b), "https://") {
			t.Errorf("%s: empty, or names another host", target)
		}
	}
}

func TestMarkdownIsSafe(t *testing.T) {
	got := string(web.Markdown("# T\n\n<script>alert(1)</script>\n\n<img src=x onerror=alert(1)>\n\n[x](javascript:alert(1)) [ok](https://example.com/a)\n\n![i](javascript:alert(2))\n\ninline <b onclick=\"x()\">bold</b> text"))
	// Raw HTML is shown as the text it is: escaped, never markup.
	for _, bad := range []string{"<script", "<img src=x", "javascript:"} {
		if strings.Contains(got, bad) {
			t.Errorf("rendered %q:\n%s", bad, got)
		}
	}
	for _, want := range []string{"<h1>T</h1>", `<a href="https://example.com/a">ok</a>`,
		"&lt;script&gt;alert(1)&lt;/script&gt;", "&lt;img src=x onerror=alert(1)&gt;",
		"inline &lt;b onclick=&#34;x()&#34;&gt;bold&lt;/b&gt; text"} {
		if !strings.Contains(got, want) {
			t.Errorf("lacks %q:\n%s", want, got)
		}
	}
}

func TestHelpers(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1536: "1.5 KiB", 20 << 20: "20.0 MiB", 3 << 30: "3.0 GiB"} {
		if got := web.HumanBytes(n); got != want {
			t.Errorf("HumanBytes(%d) = %q, want %q", n, got, want)
		}
	}
	now := time.Date(2026, 1, 10, 12, 0, 0, 0, time.UTC)
	for d, want := range map[time.Duration]string{10 * time.Second: "just now", time.Minute: "1 minute ago", 5 * time.Hour: "5 hours ago",
		72 * time.Hour: "3 days ago", -2 * time.Hour: "in 2 hours", 800 * 24 * time.Hour: "2 years ago"} {
		if got := web.Ago(now.Add(-d), now); got != want {
			t.Errorf("Ago(-%v) = %q, want %q", d, got, want)
		}
	}
	for in, want := range map[string]string{"team": "team", "v1.2-rc+1": "v1.2-rc+1", "a b": "'a b'", "it's": `'it'\''s'`, hostile: "'" + hostile + "'", "": "''"} {
		if got := web.ShellQuote(in); got != want {
			t.Errorf("ShellQuote(%q) = %s, want %s", in, got, want)
		}
	}
	u, _ := url.Parse("/ns/p?q=a&page=3&sort=name")
	if got := web.Link(u, "tag", "x"); got != "/ns/p?q=a&sort=name&tag=x" {
		t.Errorf("Link = %q", got)
	}
	if got := web.SortLink(u, web.Sort{Key: "name"}, "name"); got != "/ns/p?q=a&sort=-name" {
		t.Errorf("SortLink = %q", got)
	}
	def := web.Sort{Key: "created", Desc: true}
	for q, want := range map[string]web.Sort{"": def, "name": {Key: "name"}, "-created": {Key: "created", Desc: true}} {
		r := httptest.NewRequest("GET", "/x?sort="+q, nil)
		if got, err := web.ReadSort(r, []string{"name", "created"}, def); err != nil || got != want {
			t.Errorf("ReadSort(%q) = %v, %v", q, got, err)
		}
	}
	if _, err := web.ReadSort(httptest.NewRequest("GET", "/x?sort=password", nil), []string{"name"}, def); err == nil {
		t.Error("ReadSort accepted a key off the list")
	}
}

// TestPrincipalFunc: the principal comes from Options.Principal alone
// (where the session cookie plugs in), and pages obey its grants.
func TestPrincipalFunc(t *testing.T) {
	s := newSiteWith(t, func(authn *auth.Authenticator) web.Options {
		bearer := web.BearerPrincipal(authn)
		return web.Options{Principal: func(r *http.Request) (auth.Principal, error) {
			if c, err := r.Cookie("session"); err == nil && c.Value == "ok" {
				return auth.Principal{Name: "cookie-user", Grants: []auth.Grant{{Namespace: "team", Role: auth.Read}}}, nil
			}
			return bearer(r)
		}}
	})
	s.seed()
	must[registry.Namespace](t)(s.reg.CreateNamespace(context.Background(), registry.NewNamespace{Name: "other"}))
	home := page(t, s.get("/", "Cookie", "session=ok"), http.StatusOK)
	contains(t, home, "cookie-user", `href="/ns/team"`)
	if strings.Contains(home, `href="/ns/other"`) {
		t.Error("home lists a namespace outside the principal's grants")
	}
	page(t, s.get("/ns/team/models/clf", "Cookie", "session=ok"), http.StatusOK)
	page(t, s.get("/ns/other", "Cookie", "session=ok"), http.StatusForbidden)
	// Without the cookie: the API's rule (anonymous write on a laptop).
	contains(t, page(t, s.get("/ns/other"), http.StatusOK), "anonymous")
}

// TestFavicon: the /favicon.ico browsers ask for on their own is the UI's
// icon, not a 404 (which a browser logs as an error).
func TestFavicon(t *testing.T) {
	s := newSite(t)
	rec := s.get("/favicon.ico")
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "image/svg+xml" || !strings.Contains(rec.Body.String(), "<svg") {
		t.Errorf("GET /favicon.ico: %d %s\n%s", rec.Code, rec.Header().Get("Content-Type"), rec.Body.String())
	}
}

// TestStylesheetBalanced: every block of app.css is closed. An unclosed
// @media block (as a merge once left) silently turns every later rule
// into a phone-only rule.
func TestStylesheetBalanced(t *testing.T) {
	s := newSite(t)
	home := s.get("/")
	href := regexp.MustCompile(`href="(/ui/static/app\.[0-9a-f]+\.css)"`).FindStringSubmatch(home.Body.String())
	if href == nil {
		t.Fatalf("no stylesheet link in the home page:\n%s", home.Body.String())
	}
	css := s.get(href[1]).Body.String()
	depth, line := 0, 1
	for _, c := range css {
		switch c {
		case '\n':
			line++
		case '{':
			depth++
		case '}':
			depth--
			if depth < 0 {
				t.Fatalf("app.css line %d: a } closes nothing", line)
			}
		}
	}
	if depth != 0 {
		t.Errorf("app.css ends with %d blocks still open", depth)
	}
}
