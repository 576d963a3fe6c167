package main

// The browsing pages of the web UI (home, namespace, model) in Chromium
// against a real `flymodel serve`: clicking through, the hostile names,
// the phone width, the keyboard.

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/flymodel/flymodel/internal/browser"
	"github.com/flymodel/flymodel/internal/db"
	"github.com/flymodel/flymodel/internal/db/sqlite"
	"github.com/flymodel/flymodel/internal/registry"
)

// The names a page would run as script if it wrote them as HTML.
const (
	uiHostileImg    = `<img src=x onerror=alert(1)>`
	uiHostileScript = `"><script>alert(1)</script>`
)

// browseServer seeds a registry (metadata with the registry, artifacts
// through the server with the CLI) and serves it: namespace shop (models
// ranker with v1 in prod, v2 in stage, v3 in test; search with s1 in qa;
// a few more), namespace lab (empty), and a namespace, model, version and
// tag named uiHostileImg with descriptions uiHostileScript.
func browseServer(t *testing.T) *server {
	t.Helper()
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "db", "flymodel.db")
	if err := os.MkdirAll(filepath.Dir(dbPath), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	store, err := sqlite.Open(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Migrate(ctx, db.MigrateOptions{}); err != nil {
		t.Fatal(err)
	}
	reg := registry.New(registry.Options{DB: store})
	check := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	check(reg.CreateNamespace(ctx, registry.NewNamespace{Name: "shop", Description: "Recommendation and search models of the shop."}))
	check(reg.CreateNamespace(ctx, registry.NewNamespace{Name: "lab"}))
	check(reg.CreateModelWith(ctx, "shop", registry.NewModel{Name: "ranker",
		Description: "# Ranker\n\nRanks **products** for the home page. Trained weekly on `clicks`.\n\n- inputs: user, candidates\n- output: scores"}))
	for _, tag := range []string{"gold", "nightly"} {
		check(reg.CreateTag(ctx, "shop", registry.NewTag{Tag: tag}))
	}
	if err := reg.TagModel(ctx, "shop", "ranker", "gold", false); err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"embedder", "fraud-detector-with-a-rather-long-name-for-wrapping"} {
		check(reg.CreateModel(ctx, "shop", m))
	}
	check(reg.CreateNamespace(ctx, registry.NewNamespace{Name: uiHostileImg, Description: uiHostileScript}))
	check(reg.CreateModelWith(ctx, uiHostileImg, registry.NewModel{Name: uiHostileImg, Description: uiHostileScript + "\n\n" + uiHostileImg}))
	check(reg.CreateTag(ctx, uiHostileImg, registry.NewTag{Tag: uiHostileImg}))
	if err := reg.TagModel(ctx, uiHostileImg, uiHostileImg, uiHostileImg, false); err != nil {
		t.Fatal(err)
	}
	check(reg.CreateVersion(ctx, uiHostileImg, uiHostileImg, registry.NewVersion{Version: uiHostileImg, State: "prod", Description: uiHostileScript}))
	if err := reg.TagVersion(ctx, registry.Ref{Namespace: uiHostileImg, Model: uiHostileImg, Version: uiHostileImg}, uiHostileImg, false); err != nil {
		t.Fatal(err)
	}
	store.Close()

	s := startServe(t, dir, nil, "-p", "0", "-d", "sqlite:"+dbPath)
	for i, c := range []struct{ model, version, state string }{
		{"ranker", "v1", "prod"}, {"ranker", "v2", "stage"}, {"ranker", "v3", "test"}, {"search", "s1", "qa"},
	} {
		file := filepath.Join(dir, c.version+".bin")
		if err := os.WriteFile(file, []byte(strings.Repeat("w", 1500*(i+1))), 0o644); err != nil {
			t.Fatal(err)
		}
		flymodel(t, dir, nil, "upsert", "--server", "http://"+s.addr, "--namespace", "shop", "--model", c.model, "--version", c.version,
			"--artifact", "weights.bin="+file, "--artifact", "config.json="+file, "--state", c.state).expectCode(t, 0)
	}
	return s
}

// shots is where the test writes its screenshots: $FLYMODEL_UI_SHOTS, or
// none.
func shots(t *testing.T, tab *browser.Tab, name string) {
	t.Helper()
	dir := os.Getenv("FLYMODEL_UI_SHOTS")
	if dir == "" {
		return
	}
	tab.Screenshot(filepath.Join(dir, name+"-laptop.png"), browser.Laptop)
	tab.Screenshot(filepath.Join(dir, name+"-phone.png"), browser.Phone)
	tab.SetViewport(browser.Laptop)
}

// fitsWidth checks that the page does not scroll sideways at the phone's
// width.
func fitsWidth(t *testing.T, tab *browser.Tab, path string) {
	t.Helper()
	tab.SetViewport(browser.Phone)
	defer tab.SetViewport(browser.Laptop)
	tab.Navigate(path)
	var w struct{ Scroll, Inner int }
	tab.Eval(`({Scroll: document.documentElement.scrollWidth, Inner: window.innerWidth})`, &w)
	if w.Scroll > w.Inner {
		t.Errorf("%s at phone width: the page is %dpx wide in a %dpx window", path, w.Scroll, w.Inner)
	}
}

func TestUIBrowseClickThrough(t *testing.T) {
	s := browseServer(t)
	tab := browser.Shared(t).NewTab(t, "http://"+s.addr)

	tab.Navigate("/")
	if got := tab.Text("h1"); got != "Namespaces" {
		t.Fatalf("home h1 = %q", got)
	}
	if got := tab.Text(`td[data-label="Versions"]`); got == "" {
		t.Error("no version count on the home page")
	}
	// What is in prod in shop links to its version.
	if !tab.Exists(`a[href="/ns/shop/models/ranker/versions/v1"]`) {
		t.Error("home does not show ranker v1 in prod")
	}
	shots(t, tab, "home")

	tab.ClickNav(`a[href="/ns/shop"]`)
	if got := tab.Text("h1"); got != "shop" {
		t.Fatalf("namespace h1 = %q", got)
	}
	for lc, want := range map[string]string{"prod": "v1", "stage": "v2", "qa": "s1", "test": "v3"} {
		if got := tab.Text(`section.lane[aria-label="` + lc + `"] .v`); got != want {
			t.Errorf("board lane %s shows %q, want %q", lc, got, want)
		}
	}
	shots(t, tab, "namespace")
	// A sortable header sorts, in the URL.
	tab.ClickNav(`th a.sort[href*="sort=-created"]`)
	if loc := tab.Location(); !strings.Contains(loc, "sort=-created") {
		t.Errorf("the Created header led to %s", loc)
	}
	if got, _ := tab.Attr(`th[aria-sort]`, "aria-sort"); got != "descending" {
		t.Errorf("aria-sort = %q after sorting by -created", got)
	}
	// The search form filters, in the URL.
	tab.SetValue(`input[name="q"]`, "rank")
	tab.Submit(`input[name="q"]`)
	if loc := tab.Location(); !strings.Contains(loc, "q=rank") || !strings.Contains(loc, "sort=-created") {
		t.Errorf("the search led to %s", loc)
	}
	if n := tab.Count("a.model"); n != 1 {
		t.Errorf("%d models match rank, want 1", n)
	}
	// A tag link filters.
	tab.Navigate("/ns/shop")
	tab.ClickNav(`section[aria-labelledby="tags-h"] a[href="/ns/shop?tag=gold"]`)
	if n := tab.Count("a.model"); n != 1 {
		t.Errorf("%d models tagged gold, want 1", n)
	}

	tab.ClickNav(`a.model[href="/ns/shop/models/ranker"]`)
	if got := tab.Text("h1"); got != "Ranker" && got != "ranker" {
		t.Fatalf("model h1 = %q", got)
	}
	if n := tab.Count("table.versions tbody tr"); n != 3 {
		t.Errorf("%d versions listed, want 3", n)
	}
	if got := tab.Text(`table.versions tbody tr:first-child td[data-label="Size"]`); got != "8.8 KiB" {
		t.Errorf("v3's size = %q, want 8.8 KiB", got)
	}
	if !tab.Exists(`a[href="/ns/shop/models/ranker/metrics"]`) || !tab.Exists(`form[action="/ns/shop/models/ranker/compare"]`) {
		t.Error("no metrics link or compare form")
	}
	shots(t, tab, "model")
	// The compare form and the metrics link lead to those pages.
	tab.Submit(`form.compare`)
	if loc := tab.Location(); !strings.Contains(loc, "/ns/shop/models/ranker/compare?a=v2&b=v3") || tab.Exists("section.error") {
		t.Errorf("the compare form led to %s (%s)", loc, tab.Text("h1"))
	}
	tab.Navigate("/ns/shop/models/ranker")
	tab.ClickNav(`a[href="/ns/shop/models/ranker/metrics"]`)
	if tab.Exists("section.error") {
		t.Errorf("the metrics link led to an error: %s", tab.Text("h1"))
	}
	tab.Navigate("/ns/shop/models/ranker")
	// The lifecycle filter.
	tab.SetValue(`select[name="state"]`, "prod")
	tab.Submit(`select[name="state"]`)
	if n := tab.Count("table.versions tbody tr"); n != 1 || !strings.Contains(tab.Location(), "state=prod") {
		t.Errorf("?state=prod: %d rows at %s", n, tab.Location())
	}
	tab.ClickNav(`a.version[href="/ns/shop/models/ranker/versions/v1"]`)
	if got := tab.Text("h1"); !strings.Contains(got, "v1") {
		t.Errorf("version h1 = %q", got)
	}
	tab.AssertClean(t)
}

func TestUIBrowseHostileNames(t *testing.T) {
	s := browseServer(t)
	tab := browser.Shared(t).NewTab(t, "http://"+s.addr)
	esc := url.PathEscape(uiHostileImg)
	nsURL := "/ns/" + esc
	modelURL := nsURL + "/models/" + esc
	versionURL := modelURL + "/versions/" + esc

	// No element the names would make, and only the UI's own script.
	noInjection := func(where string) {
		t.Helper()
		if n := tab.Count(`img[src="x"], script:not([src])`); n != 0 {
			t.Errorf("%s: %d injected elements", where, n)
		}
		if n := tab.Count("script"); n != 1 {
			t.Errorf("%s: %d scripts, want the UI's one", where, n)
		}
	}
	tab.Navigate("/")
	if got := tab.Text(`a[href="` + nsURL + `"]`); got != uiHostileImg {
		t.Errorf("home shows the namespace as %q", got)
	}
	if got := tab.Text(`a[href="` + nsURL + `"] + .desc`); got != uiHostileScript {
		t.Errorf("home shows the description as %q", got)
	}
	if got := tab.Text(`a[href="` + versionURL + `"] .v`); got != uiHostileImg {
		t.Errorf("home shows the version in prod as %q", got)
	}
	noInjection("home")

	tab.ClickNav(`a[href="` + nsURL + `"]`)
	if got := tab.Text("h1"); got != uiHostileImg {
		t.Errorf("namespace h1 = %q", got)
	}
	if got := tab.Text("p.lead"); got != uiHostileScript {
		t.Errorf("namespace description = %q", got)
	}
	if got := tab.Text(`section[aria-labelledby="tags-h"] a.tag`); got != uiHostileImg {
		t.Errorf("namespace tag = %q", got)
	}
	noInjection("namespace")

	tab.ClickNav(`a.model[href="` + modelURL + `"]`)
	if got := tab.Text("h1"); got != uiHostileImg {
		t.Errorf("model h1 = %q", got)
	}
	// Markdown: the raw HTML in the description reads as itself.
	if got := tab.Text(".markdown"); !strings.Contains(got, uiHostileScript) {
		t.Errorf("model description shows %q, want it to hold %q literally", got, uiHostileScript)
	}
	if got := tab.Text(`table.versions a.tag`); got != uiHostileImg {
		t.Errorf("version tag = %q", got)
	}
	noInjection("model")
	// The tag filters by the hostile tag, as text.
	tab.ClickNav(`table.versions a.tag`)
	if got, _ := tab.Attr(`input[name="tag"]`, "value"); got != uiHostileImg {
		t.Errorf("the tag filter holds %q", got)
	}
	if n := tab.Count("table.versions tbody tr"); n != 1 {
		t.Errorf("%d versions with the hostile tag, want 1", n)
	}
	noInjection("model filtered by tag")

	tab.ClickNav(`a.version[href="` + versionURL + `"]`)
	noInjection("version")
	tab.AssertClean(t)
	shots(t, tab, "hostile-version")
}

func TestUIBrowsePhoneAndKeyboard(t *testing.T) {
	s := browseServer(t)
	tab := browser.Shared(t).NewTab(t, "http://"+s.addr)
	esc := url.PathEscape(uiHostileImg)
	pages := []string{"/", "/ns/shop", "/ns/shop/models/ranker", "/ns/lab", "/ns/" + esc, "/ns/" + esc + "/models/" + esc,
		"/ns/shop/models/fraud-detector-with-a-rather-long-name-for-wrapping"}
	for _, p := range pages {
		fitsWidth(t, tab, p)
	}
	tab.Navigate("/ns/lab")
	shots(t, tab, "namespace-empty")
	// Dark mode fits too (and is looked at in the screenshots).
	tab.Run(chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}})
		return err
	}))
	tab.Navigate("/ns/shop")
	shots(t, tab, "namespace-dark")
	tab.Run(chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "light"}}})
		return err
	}))

	// Keyboard: the skip link is the first Tab stop on each page, and
	// Enter on it moves the focus to the content.
	for _, p := range pages[:3] {
		tab.Navigate(p)
		tab.Press(kb.Tab)
		if got := tab.Focused(); got != `a "Skip to content"` {
			t.Errorf("%s: the first Tab stop is %s", p, got)
			continue
		}
		tab.Press(kb.Enter)
		if got := tab.Focused(); !strings.HasPrefix(got, "main#main") {
			t.Errorf("%s: Enter on the skip link focused %s", p, got)
		}
	}
	// From the content, Tab reaches the sortable headers and Enter follows.
	tab.Navigate("/ns/shop/models/ranker")
	tab.Eval(`document.querySelector('th a.sort[href*="sort=version"]').focus(), true`, nil)
	tab.Press(kb.Enter)
	tab.WaitVisible(`th[aria-sort="ascending"]`)
	if loc := tab.Location(); !strings.Contains(loc, "sort=version") {
		t.Errorf("Enter on the Version header led to %s", loc)
	}
	tab.AssertClean(t)
}
