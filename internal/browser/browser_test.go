package browser_test

import (
	"bytes"
	"html"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp/kb"
	"github.com/flymodel/flymodel/internal/browser"
)

// One Chromium for the package; each test opens its own isolated tab.
func TestMain(m *testing.M) { os.Exit(browser.Main(m)) }

const head = `<!doctype html><html><head><meta charset="utf-8">` +
	`<meta name="viewport" content="width=device-width, initial-scale=1">` +
	`<link rel="icon" href="data:,"><title>t</title></head><body>`

var payload = []byte("weights\x00\x01\x02 of a model\n")

// server serves the hand-written pages of the self-tests.
func server(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	page := func(path, csp, body string) {
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			if csp != "" {
				w.Header().Set("Content-Security-Policy", csp)
			}
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Write([]byte(head + body + `</body></html>`))
		})
	}
	page("/{$}", "", `<h1>Home</h1><a id="next" href="/next">next</a>
		<button id="b" type="button">press</button><p id="out"></p>
		<script>document.getElementById("b").addEventListener("click", () => { document.getElementById("out").textContent = "pressed"; });</script>`)
	page("/next", "", `<h1 data-page="next">Next page</h1>`)
	page("/form", "", `<form id="f" method="post" action="/echo"><input name="name" id="name"><input name="note" id="note"><button>Send</button></form>`)
	mux.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "seen", Value: "yes", Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(head + `<p id="got">` + html.EscapeString(r.PostFormValue("name")+"|"+r.PostFormValue("note")) + `</p></body></html>`))
	})
	page("/csp", "default-src 'self'; img-src 'self' data:; script-src 'self'", `<p>strict</p><script>document.title = "ran";</script>`)
	page("/alert", "", `<p>hi</p><script>alert("boo");</script>`)
	page("/error", "", `<script>console.error("something broke"); throw new Error("uncaught");</script>`)
	page("/foreign", "", `<img id="i" alt="x" src="http://localhost:2/pixel.png"><img alt="y" src="https://fonts.example.invalid/font.png">`)
	page("/download", "", `<a id="dl" href="/file">download</a>`)
	mux.HandleFunc("/file", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Disposition", `attachment; filename="model.bin"`)
		w.Write(payload)
	})
	page("/tall", "", `<div style="height:3000px;background:linear-gradient(#fff,#000)">tall</div>`)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestNavigateAndClick(t *testing.T) {
	srv := server(t)
	tab := browser.Shared(t).NewTab(t, srv.URL)
	tab.Navigate("/")
	if got := tab.Text("h1"); got != "Home" {
		t.Errorf("h1 = %q, want Home", got)
	}
	tab.Click("#b")
	tab.Eval(`new Promise(r => setTimeout(r, 0))`, nil)
	if got := tab.Text("#out"); got != "pressed" {
		t.Errorf("#out after the click = %q, want pressed", got)
	}
	tab.ClickNav("#next")
	if got := tab.Location(); got != srv.URL+"/next" {
		t.Errorf("location = %q, want %s/next", got, srv.URL)
	}
	if v, ok := tab.Attr("h1", "data-page"); !ok || v != "next" {
		t.Errorf("h1[data-page] = %q, %v", v, ok)
	}
	if _, ok := tab.Attr("h1", "nope"); ok {
		t.Error("h1[nope] exists")
	}
	if !tab.Exists("h1") || tab.Exists("#b") || tab.Count("h1") != 1 {
		t.Errorf("Exists(h1)=%v Exists(#b)=%v Count(h1)=%d", tab.Exists("h1"), tab.Exists("#b"), tab.Count("h1"))
	}
	var sum int
	tab.Eval(`1 + 2`, &sum)
	if sum != 3 {
		t.Errorf("Eval(1 + 2) = %d", sum)
	}
	tab.AssertClean(t)
}

func TestKeyboard(t *testing.T) {
	tab := browser.Shared(t).NewTab(t, server(t).URL)
	tab.Navigate("/")
	if got := tab.Focused(); got != "body" {
		t.Errorf("focus on a fresh page: %s", got)
	}
	tab.Press(kb.Tab)
	if got := tab.Focused(); got != `a#next "next"` {
		t.Errorf("focus after Tab: %s, want the link", got)
	}
	tab.Press(kb.Tab)
	tab.Press(kb.Enter) // the button: no navigation
	if got := tab.Text("#out"); got != "pressed" {
		t.Errorf("#out after Enter on the button = %q", got)
	}
	tab.AssertClean(t)
}

func TestFormSubmitAndCookies(t *testing.T) {
	srv := server(t)
	tab := browser.Shared(t).NewTab(t, srv.URL)
	tab.Navigate("/form")
	tab.SetValue("#name", "llm.sm")
	tab.SendKeys("#note", "typed <b>")
	tab.Submit("#f")
	if got := tab.Text("#got"); got != "llm.sm|typed <b>" {
		t.Errorf("echo = %q", got)
	}
	c := tab.Cookie("seen")
	if c == nil || c.Value != "yes" || !c.HTTPOnly {
		t.Errorf("cookie seen = %+v", c)
	}
	tab.AssertClean(t)

	// Another tab is another incognito context: no cookie.
	other := browser.Shared(t).NewTab(t, srv.URL)
	other.Navigate("/form")
	if c := other.Cookie("seen"); c != nil {
		t.Errorf("a fresh tab sees the other tab's cookie: %+v", c)
	}
}

func TestRecordsCSPViolation(t *testing.T) {
	tab := browser.Shared(t).NewTab(t, server(t).URL)
	tab.Navigate("/csp")
	var title string
	tab.Eval(`document.title`, &title)
	if title == "ran" {
		t.Fatal("the inline script ran under script-src 'self'")
	}
	got := tab.EventsOf(browser.CSPViolation)
	if len(got) != 1 || !strings.Contains(got[0].Text, "script-src") {
		t.Errorf("CSP violations = %v, want one on script-src (all: %v)", got, tab.Events())
	}
	ft := &fakeT{}
	tab.AssertClean(ft)
	if len(ft.errors) == 0 {
		t.Error("AssertClean passed a page with a CSP violation")
	}
}

func TestRecordsDialog(t *testing.T) {
	tab := browser.Shared(t).NewTab(t, server(t).URL)
	tab.Navigate("/alert") // would hang on the alert were it not dismissed
	got := tab.EventsOf(browser.Dialog)
	if len(got) != 1 || got[0].Text != "alert: boo" {
		t.Errorf("dialogs = %v, want [alert: boo]", got)
	}
	if got := tab.Text("p"); got != "hi" {
		t.Errorf("p = %q after the dialog", got)
	}
}

func TestRecordsConsoleErrorAndException(t *testing.T) {
	tab := browser.Shared(t).NewTab(t, server(t).URL)
	tab.Navigate("/error")
	var console, exception bool
	for _, e := range tab.Events() {
		console = console || (e.Kind == browser.ConsoleError && strings.Contains(e.Text, "something broke"))
		exception = exception || (e.Kind == browser.Exception && strings.Contains(e.Text, "uncaught"))
	}
	if !console || !exception {
		t.Errorf("events = %v, want the console error and the exception", tab.Events())
	}
	tab.Reset()
	tab.AssertClean(t)
}

func TestRecordsForeignRequest(t *testing.T) {
	tab := browser.Shared(t).NewTab(t, server(t).URL)
	tab.Navigate("/foreign")
	var got []string
	for _, e := range tab.EventsOf(browser.ForeignRequest) {
		got = append(got, e.URL)
		if !strings.Contains(e.Text, "blocked") {
			t.Errorf("%s was not blocked", e)
		}
	}
	slices.Sort(got)
	want := []string{"http://localhost:2/pixel.png", "https://fonts.example.invalid/font.png"}
	if !slices.Equal(got, want) {
		t.Errorf("foreign requests = %v, want %v (all: %v)", got, want, tab.Events())
	}
	t.Logf("recorded: %v", tab.Events())
	var complete bool
	tab.Eval(`[...document.images].every(i => i.complete && i.naturalWidth === 0)`, &complete)
	if !complete {
		t.Error("the images on other hosts did not fail")
	}
}

func TestDownload(t *testing.T) {
	tab := browser.Shared(t).NewTab(t, server(t).URL)
	tab.Navigate("/download")
	path := tab.Download("#dl")
	if filepath.Base(path) != "model.bin" {
		t.Errorf("downloaded as %s, want model.bin", path)
	}
	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, payload) {
		t.Errorf("downloaded %q (%v), want %q", got, err, payload)
	}
	tab.AssertClean(t)
}

func TestScreenshot(t *testing.T) {
	tab := browser.Shared(t).NewTab(t, server(t).URL)
	dir := t.TempDir()
	for _, c := range []struct {
		page     string
		view     browser.Viewport
		tall     bool
		filename string
	}{
		{"/", browser.Laptop, false, "home-laptop.png"},
		{"/", browser.Phone, false, "home-phone.png"},
		{"/tall", browser.Laptop, true, "tall-laptop.png"},
	} {
		tab.Navigate(c.page)
		path := filepath.Join(dir, c.filename)
		tab.Screenshot(path, c.view)
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: not a PNG: %v", c.filename, err)
		}
		w, h := img.Bounds().Dx(), img.Bounds().Dy()
		if w != c.view.Width || (!c.tall && h != c.view.Height) || (c.tall && h < 3000) {
			t.Errorf("%s: %dx%d, want width %d and height %d (tall: %v)", c.filename, w, h, c.view.Width, c.view.Height, c.tall)
		}
	}
	tab.AssertClean(t)
}

// fakeT records what AssertClean reports.
type fakeT struct {
	testing.TB
	errors []string
}

func (f *fakeT) Helper() {}
func (f *fakeT) Errorf(format string, args ...any) {
	f.errors = append(f.errors, format)
}
