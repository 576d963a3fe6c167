package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/flymodel/flymodel/internal/registry"
	"github.com/flymodel/flymodel/internal/web"
)

// hostileScript is a description or name that closes an attribute and
// opens a script if a page writes it as HTML.
const hostileScript = `"><script>alert(1)</script>`

// browseSeed makes namespace shop (described) with models ranker (tags
// gold and "<img …>" on v1; versions v1 in prod, v2 in stage, v3 in test,
// each with artifacts) and search (one version in qa), and namespace empty.
func (s *site) browseSeed() {
	t := s.t
	ctx := context.Background()
	must[registry.Namespace](t)(s.reg.CreateNamespace(ctx, registry.NewNamespace{Name: "shop", Description: "the shop's models"}))
	must[registry.Namespace](t)(s.reg.CreateNamespace(ctx, registry.NewNamespace{Name: "empty"}))
	must[registry.Model](t)(s.reg.CreateModelWith(ctx, "shop", registry.NewModel{Name: "ranker", Description: "Ranks **products**.\n\n" + hostileScript}))
	must[registry.Model](t)(s.reg.CreateModel(ctx, "shop", "search"))
	for _, tag := range []string{"gold", hostile} {
		must[registry.Tag](t)(s.reg.CreateTag(ctx, "shop", registry.NewTag{Tag: tag}))
	}
	if err := s.reg.TagModel(ctx, "shop", "ranker", "gold", false); err != nil {
		t.Fatal(err)
	}
	for i, c := range []struct{ version, state string }{{"v1", "prod"}, {"v2", "stage"}, {"v3", "test"}} {
		ref := registry.Ref{Namespace: "shop", Model: "ranker", Version: c.version}
		must[registry.Version](t)(s.reg.CreateVersion(ctx, "shop", "ranker", registry.NewVersion{Version: c.version}))
		for j := 0; j <= i; j++ {
			name := "part" + string(rune('a'+j)) + ".bin"
			if _, _, err := s.reg.PutArtifact(ctx, registry.Owner{Ref: ref}, registry.NewArtifact{Name: name}, strings.NewReader(strings.Repeat("y", 1024*(i+1)))); err != nil {
				t.Fatal(err)
			}
		}
		if c.state != "test" {
			must[registry.Version](t)(s.reg.SetVersionState(ctx, ref, c.state))
		}
	}
	if err := s.reg.TagVersion(ctx, registry.Ref{Namespace: "shop", Model: "ranker", Version: "v1"}, hostile, false); err != nil {
		t.Fatal(err)
	}
	must[registry.Version](t)(s.reg.CreateVersion(ctx, "shop", "search", registry.NewVersion{Version: "s1", State: "qa"}))
}

// before reports whether a comes before b in body (both present).
func before(t *testing.T, body, a, b string) bool {
	t.Helper()
	i, j := strings.Index(body, a), strings.Index(body, b)
	if i < 0 || j < 0 {
		t.Fatalf("page lacks %q or %q:\n%s", a, b, body)
	}
	return i < j
}

func TestHomePage(t *testing.T) {
	s := newSite(t)
	s.browseSeed()
	home := page(t, s.get("/"), http.StatusOK)
	// Counts (shop: 2 models, 4 versions) and what is in prod, linked.
	contains(t, home, `<a href="/ns/shop">shop</a>`, "the shop&#39;s models", `<td data-label="Models" class="num">2</td>`,
		`<td data-label="Versions" class="num">4</td>`, `href="/ns/shop/models/ranker/versions/v1"`, "nothing in prod")
	// Paged by name: empty, then shop.
	p2 := page(t, s.get("/?size=1&page=2"), http.StatusOK)
	contains(t, p2, "page 2 of 2", `href="/?page=1&amp;size=1" rel="prev"`, `href="/ns/shop"`)
	if strings.Contains(p2, `href="/ns/empty"`) {
		t.Error("page 2 shows page 1's namespace")
	}
	contains(t, page(t, s.get("/?page=9"), http.StatusOK), "No namespaces on this page.")
	page(t, s.get("/?size=0"), http.StatusUnprocessableEntity)
}

func TestHomeScopedToken(t *testing.T) {
	s := newSite(t)
	s.browseSeed()
	_, secret, err := s.reg.CreateToken(context.Background(), registry.NewToken{Name: "emptyreader", Role: "read", Namespaces: []string{"empty"}})
	if err != nil {
		t.Fatal(err)
	}
	home := page(t, s.get("/", "Authorization", "Bearer "+secret), http.StatusOK)
	contains(t, home, `href="/ns/empty"`, "1 in all")
	if strings.Contains(home, "/ns/shop") {
		t.Error("a token scoped to empty sees shop on the home page")
	}
	page(t, s.get("/ns/shop", "Authorization", "Bearer "+secret), http.StatusForbidden)
}

func TestNamespacePage(t *testing.T) {
	s := newSite(t)
	s.browseSeed()
	body := page(t, s.get("/ns/shop"), http.StatusOK)
	contains(t, body,
		"the shop&#39;s models",
		// Models with their newest version and the version in each lifecycle.
		`href="/ns/shop/models/ranker"`, `href="/ns/shop/models/search"`,
		`<li><span class="badge badge-prod">prod</span> <a href="/ns/shop/models/ranker/versions/v1">v1</a></li>`,
		`<li><span class="badge badge-stage">stage</span> <a href="/ns/shop/models/ranker/versions/v2">v2</a></li>`,
		`<li><span class="badge badge-qa">qa</span> <a href="/ns/shop/models/search/versions/s1">s1</a></li>`,
		// The board: one lane per lifecycle with its total.
		`aria-label="test"`, `aria-label="qa"`, `aria-label="stage"`, `aria-label="prod"`, `<span class="total">1</span>`,
		// Tags of the namespace as filter links (escaped).
		`href="/ns/shop?tag=gold"`, `href="/ns/shop?tag=%3Cimg&#43;src%3Dx&#43;onerror%3Dalert%281%29%3E"`,
		// The sortable headers, sorted by name now.
		`aria-sort="ascending"><a class="sort" href="/ns/shop?sort=name">Model`, `href="/ns/shop?sort=-updated">Updated`,
		`<option value="-created">newest first</option>`)
	if !before(t, body, `href="/ns/shop/models/ranker"`, `href="/ns/shop/models/search"`) {
		t.Error("models not sorted by name")
	}
	// Not an admin (the laptop's anonymous caller writes): no buckets.
	if strings.Contains(body, "Buckets") {
		t.Error("buckets shown to a non-admin")
	}

	// Search, tag filter, sort, all kept in the pager's links.
	contains(t, page(t, s.get("/ns/shop?q=rank"), http.StatusOK), `href="/ns/shop/models/ranker"`, `value="rank"`)
	if strings.Contains(page(t, s.get("/ns/shop?q=rank"), http.StatusOK), `href="/ns/shop/models/search"`) {
		t.Error("?q=rank shows search")
	}
	tagged := page(t, s.get("/ns/shop?tag=gold"), http.StatusOK)
	contains(t, tagged, `href="/ns/shop/models/ranker"`, `aria-current="true"`, "Clear filters")
	if strings.Contains(tagged, `href="/ns/shop/models/search"`) {
		t.Error("?tag=gold shows search")
	}
	contains(t, page(t, s.get("/ns/shop?q=zzz"), http.StatusOK), "No model matches these filters.")
	sorted := page(t, s.get("/ns/shop?sort=-created"), http.StatusOK)
	contains(t, sorted, `aria-sort="descending"><a class="sort" href="/ns/shop?sort=created">Created`, `<option value="-created" selected>`)
	if !before(t, sorted, `href="/ns/shop/models/search"`, `href="/ns/shop/models/ranker"`) {
		t.Error("?sort=-created does not list the newer model first")
	}
	contains(t, page(t, s.get("/ns/shop?sort=password"), http.StatusBadRequest), "query parameter sort must be one of name, -created")
	paged := page(t, s.get("/ns/shop?size=1&page=2&sort=name"), http.StatusOK)
	contains(t, paged, "page 2 of 2", `href="/ns/shop?page=1&amp;size=1&amp;sort=name" rel="prev"`, `href="/ns/shop/models/search"`)
	page(t, s.get("/ns/shop?tpage=x"), http.StatusBadRequest)

	// Empty states.
	empty := page(t, s.get("/ns/empty"), http.StatusOK)
	contains(t, empty, "No models yet.", "flymodel upsert --namespace empty --model MODEL", "No tags yet.", "<p class=\"muted\">none</p>")
}

func TestNamespaceBucketsAdminOnly(t *testing.T) {
	s := newSite(t)
	s.browseSeed()
	ctx := context.Background()
	must[registry.Bucket](t)(s.reg.CreateBucket(ctx, "shop", registry.NewBucket{Name: "main", Region: "ca-local", Role: "prod"}))
	must[registry.Bucket](t)(s.reg.CreateBucket(ctx, "shop", registry.NewBucket{Name: "main", Region: "ca-east", Role: "test"}))
	_, admin, err := s.reg.CreateToken(ctx, registry.NewToken{Name: "shopadmin", Role: "admin", Namespaces: []string{"shop", "empty"}})
	if err != nil {
		t.Fatal(err)
	}
	_, writer, err := s.reg.CreateToken(ctx, registry.NewToken{Name: "shopwriter", Role: "write", Namespaces: []string{"shop"}})
	if err != nil {
		t.Fatal(err)
	}
	body := page(t, s.get("/ns/shop", "Authorization", "Bearer "+admin), http.StatusOK)
	contains(t, body, "Buckets", "<code>main</code>", "ca-local", "ca-east")
	if !before(t, body, "ca-east", "ca-local") {
		t.Error("buckets not in promotion order")
	}
	contains(t, page(t, s.get("/ns/empty", "Authorization", "Bearer "+admin), http.StatusOK), "No buckets recorded", "/api/v1/namespaces/empty/buckets")
	if w := page(t, s.get("/ns/shop", "Authorization", "Bearer "+writer), http.StatusOK); strings.Contains(w, "ca-local") || strings.Contains(w, "Buckets") {
		t.Error("a writer sees the buckets")
	}
}

func TestModelPage(t *testing.T) {
	s := newSite(t)
	s.browseSeed()
	body := page(t, s.get("/ns/shop/models/ranker"), http.StatusOK)
	contains(t, body,
		"<strong>products</strong>", `href="/ns/shop?tag=gold"`,
		// Each version: lifecycle, sealed, digest with its copy button, artifacts and size.
		`href="/ns/shop/models/ranker/versions/v1"`, `badge badge-prod`, `badge badge-stage`, `badge badge-test`, "sealed",
		`data-copy="sha256:`, `<td data-label="Artifacts" class="num">3</td>`, `title="9216 bytes">9.0 KiB</td>`,
		`title="4096 bytes">4.0 KiB</td>`,
		// The tag of v1 filters the versions.
		`href="/ns/shop/models/ranker?tag=%3Cimg&#43;src%3Dx&#43;onerror%3Dalert%281%29%3E"`,
		// Links to the compare and metrics pages; the form proposes the two newest.
		`action="/ns/shop/models/ranker/compare"`, `name="a" value="v2"`, `name="b" value="v3"`,
		`href="/ns/shop/models/ranker/metrics"`,
		`aria-sort="descending"><a class="sort" href="/ns/shop/models/ranker?sort=created">Created`)
	if !before(t, body, "/versions/v3", "/versions/v1") {
		t.Error("versions not newest first")
	}
	asc := page(t, s.get("/ns/shop/models/ranker?sort=version"), http.StatusOK)
	contains(t, asc, `aria-sort="ascending"><a class="sort" href="/ns/shop/models/ranker?sort=-version">Version`)
	if !before(t, asc, "/versions/v1", "/versions/v3") {
		t.Error("?sort=version does not list v1 first")
	}
	if strings.Contains(body, `id="metadata"`) {
		t.Error("a model without metadata shows it")
	}
	if _, err := s.reg.UpdateModel(context.Background(), "shop", "ranker", registry.ModelChange{Metadata: json.RawMessage(`{"task":"ranking","team":"<b>"}`)}); err != nil {
		t.Fatal(err)
	}
	contains(t, page(t, s.get("/ns/shop/models/ranker"), http.StatusOK), `id="metadata"`,
		"<dt>task</dt><dd><code>&#34;ranking&#34;</code></dd>", "<code>&#34;&lt;b&gt;&#34;</code>")
	prod := page(t, s.get("/ns/shop/models/ranker?state=prod"), http.StatusOK)
	contains(t, prod, "/versions/v1", `<option value="prod" selected>`)
	if strings.Contains(prod, "/versions/v2") {
		t.Error("?state=prod shows v2")
	}
	tagged := page(t, s.get("/ns/shop/models/ranker?tag="+url.QueryEscape(hostile)), http.StatusOK)
	if strings.Contains(tagged, "/versions/v3") || !strings.Contains(tagged, "/versions/v1") {
		t.Error("the tag filter does not select v1 alone")
	}
	paged := page(t, s.get("/ns/shop/models/ranker?size=2&page=2&state="), http.StatusOK)
	contains(t, paged, "page 2 of 2", "/versions/v1")
	contains(t, page(t, s.get("/ns/shop/models/ranker?state=qa"), http.StatusOK), "No version matches these filters.", "Show every version")
	contains(t, page(t, s.get("/ns/shop/models/ranker?sort=size"), http.StatusBadRequest), "sort must be one of -created")
	page(t, s.get("/ns/shop/models/ranker?state=bogus"), http.StatusUnprocessableEntity)
	contains(t, page(t, s.get("/ns/shop/models/nope"), http.StatusNotFound), "not found")

	must[registry.Model](t)(s.reg.CreateModel(context.Background(), "shop", "fresh"))
	contains(t, page(t, s.get("/ns/shop/models/fresh"), http.StatusOK), "No versions yet.", "flymodel upsert --namespace shop --model fresh", "No description.")
}

// TestBrowseHostile: a namespace, model, version, tag and descriptions
// named to run script render as text on each browsing page.
func TestBrowseHostile(t *testing.T) {
	s := newSite(t)
	ctx := context.Background()
	must[registry.Namespace](t)(s.reg.CreateNamespace(ctx, registry.NewNamespace{Name: hostile, Description: hostileScript}))
	must[registry.Model](t)(s.reg.CreateModelWith(ctx, hostile, registry.NewModel{Name: hostile, Description: hostileScript + "\n\n<img src=x onerror=alert(2)>"}))
	must[registry.Tag](t)(s.reg.CreateTag(ctx, hostile, registry.NewTag{Tag: hostile}))
	if err := s.reg.TagModel(ctx, hostile, hostile, hostile, false); err != nil {
		t.Fatal(err)
	}
	must[registry.Version](t)(s.reg.CreateVersion(ctx, hostile, hostile, registry.NewVersion{Version: hostile, State: "prod", Description: hostileScript}))
	ns := url.PathEscape(hostile)
	for _, target := range []string{"/", "/ns/" + ns, "/ns/" + ns + "/models/" + ns} {
		body := page(t, s.get(target), http.StatusOK)
		for _, raw := range []string{hostile, "<script>alert", "<img src=x onerror=alert(2)>"} {
			if strings.Contains(body, raw) {
				t.Errorf("%s: %q written as HTML:\n%s", target, raw, body)
			}
		}
		contains(t, body, "&lt;img src=x onerror=alert(1)&gt;", "/ns/%3Cimg%20src=x%20onerror=alert%281%29%3E")
	}
}

func TestCount(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 9999: "9,999", registry.CountCap: "10,000+", 1234567: "1,234,567+"} {
		if got := web.Count(n).String(); got != want {
			t.Errorf("Count(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestMoreThanListed: past ten versions in a lifecycle, home and the board
// list the newest ten and say how many more there are.
func TestMoreThanListed(t *testing.T) {
	s := newSite(t)
	ctx := context.Background()
	must[registry.Namespace](t)(s.reg.CreateNamespace(ctx, registry.NewNamespace{Name: "big"}))
	must[registry.Model](t)(s.reg.CreateModel(ctx, "big", "m"))
	for i := range 12 {
		must[registry.Version](t)(s.reg.CreateVersion(ctx, "big", "m", registry.NewVersion{Version: "v" + string(rune('a'+i)), State: "prod"}))
	}
	home := page(t, s.get("/"), http.StatusOK)
	contains(t, home, `<td data-label="Versions" class="num">12</td>`, `href="/ns/big#board">and 2 more in prod</a>`)
	if n := strings.Count(home, `href="/ns/big/models/m/versions/`); n != 10 {
		t.Errorf("home lists %d versions in prod, want 10", n)
	}
	ns := page(t, s.get("/ns/big"), http.StatusOK)
	contains(t, ns, `<span class="total">12</span>`, "and 2 more")
}
