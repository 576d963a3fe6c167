package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/flymodel/flymodel/internal/browser"
)

// TestUIVersion drives the version page of a real `flymodel serve` whose
// prod lifecycle is gated on an `eval` experiment: an artifact downloads
// through the page's link with the bytes uploaded; a promotion to prod is
// refused while eval is missing (the page says so), and accepted once
// eval has passed.
func TestUIVersion(t *testing.T) {
	sdir, cdir := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(sdir, "flymodel.toml"), []byte("[promotion.prod]\nrequire = [\"eval\"]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServe(t, sdir, nil, "-c", "flymodel.toml", "-p", "0")
	base := "http://" + s.addr

	weights := make([]byte, 300<<10)
	if _, err := rand.Read(weights); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(weights)
	want := hex.EncodeToString(sum[:])
	if err := os.WriteFile(filepath.Join(cdir, "weights.bin"), weights, 0o644); err != nil {
		t.Fatal(err)
	}
	flymodel(t, cdir, nil, "upsert", "--server", base, "--namespace", "team", "--model", "clf", "--version", "v1",
		"--artifact", "weights.bin=weights.bin").expectCode(t, 0)

	tab := browser.Shared(t).NewTab(t, base)
	shots := filepath.Join(os.TempDir(), "flymodel-ui-version")
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}

	// From home to the version, by links.
	tab.Navigate("/")
	tab.ClickNav(`a[href="/ns/team"]`)
	tab.ClickNav(`a[href="/ns/team/models/clf"]`)
	tab.ClickNav(`a[href="/ns/team/models/clf/versions/v1"]`)
	if h := tab.Text("h1"); !strings.Contains(h, "v1") {
		t.Fatalf("h1 = %q", h)
	}
	if got, _ := tab.Attr("td.digest button.copy", "data-copy"); got != want {
		t.Errorf("the page's sha256 = %q, want %q", got, want)
	}
	tab.AssertClean(t)

	// The artifact downloads through the page's link, byte for byte.
	p := tab.Download("a.download")
	got, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if h := sha256.Sum256(got); hex.EncodeToString(h[:]) != want {
		t.Errorf("downloaded %d bytes with sha256 %x, want %s", len(got), h, want)
	}
	tab.AssertClean(t)

	// prod is gated: the preview says eval is missing before the click…
	prod := `li.gate[data-to="prod"]`
	if txt := tab.Text(prod + " .missing"); !strings.Contains(txt, "eval") {
		t.Errorf("the prod gate's preview: %q", txt)
	}
	if v := tab.Text(prod + " .verdict"); v != "blocked" {
		t.Errorf("prod verdict %q before eval", v)
	}
	tab.Screenshot(filepath.Join(shots, "version-laptop.png"), browser.Laptop)
	tab.Screenshot(filepath.Join(shots, "version-phone.png"), browser.Phone)
	tab.SetViewport(browser.Laptop)
	// …and the server refuses the click, in context (a 409 page is no
	// console error of the page's own).
	tab.Submit(prod + " form")
	if txt := tab.Text(".notice-error"); !strings.Contains(txt, "eval") || !strings.Contains(txt, "refused") {
		t.Errorf("the refusal: %q", txt)
	}
	if st := tab.Text(".facts dd"); !strings.Contains(st, "test") {
		t.Errorf("lifecycle after the refusal: %q", st)
	}
	tab.Screenshot(filepath.Join(shots, "version-refused-laptop.png"), browser.Laptop)
	tab.Screenshot(filepath.Join(shots, "version-refused-phone.png"), browser.Phone)
	tab.SetViewport(browser.Laptop)
	assertCleanBut409(t, tab, "/ns/team/models/clf/versions/v1/state")

	// eval passes (through the API); the reloaded preview shows the gate met.
	api := base + "/api/v1/namespaces/team/models/clf/versions/v1/experiments"
	versionSend(t, http.MethodPost, api, `{"name":"eval","params":{"<b>lr</b>":0.01}}`, http.StatusCreated)
	versionSend(t, http.MethodPut, api+"/eval/state", `{"state":"running"}`, http.StatusOK)
	versionSend(t, http.MethodPut, api+"/eval/state", `{"state":"passed","duration_ms":1500,"metrics":{"accuracy":0.97}}`, http.StatusOK)
	tab.Navigate("/ns/team/models/clf/versions/v1")
	if txt := tab.Text(prod + " .checks"); !strings.Contains(txt, "Gate met.") || strings.Contains(txt, "Missing") {
		t.Errorf("the prod gate's preview after eval passed: %q", txt)
	}
	if v := tab.Text(prod + " .verdict"); v != "ready" {
		t.Errorf("prod verdict %q after eval", v)
	}
	tab.AssertClean(t)

	// Promote: accepted, the page says so and shows prod.
	tab.Submit(prod + " form")
	if !strings.HasSuffix(tab.Location(), "/ns/team/models/clf/versions/v1?moved=prod") {
		t.Errorf("after the move: %s", tab.Location())
	}
	if txt := tab.Text(".notice-ok"); !strings.Contains(txt, "prod") {
		t.Errorf("the confirmation: %q", txt)
	}
	if st := tab.Text(".facts dd"); !strings.Contains(st, "prod") {
		t.Errorf("lifecycle after the move: %q", st)
	}
	if h := tab.Text(".timeline li:last-child"); !strings.Contains(h, "prod") || !strings.Contains(h, "anonymous") {
		t.Errorf("the history's last entry: %q", h)
	}
	tab.Screenshot(filepath.Join(shots, "version-moved-laptop.png"), browser.Laptop)
	tab.Screenshot(filepath.Join(shots, "version-moved-phone.png"), browser.Phone)
	tab.AssertClean(t)

	// Dark mode, as a system set to dark shows it.
	tab.Run(func(ctx context.Context, _ *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}})
		return chromedp.Void{}, err
	})
	tab.Screenshot(filepath.Join(shots, "version-dark-laptop.png"), browser.Laptop)
	tab.Screenshot(filepath.Join(shots, "version-dark-phone.png"), browser.Phone)
	tab.AssertClean(t)
	t.Logf("screenshots in %s", shots)
}

// assertCleanBut409 is AssertClean, save exactly one event: Chromium's
// console report of the refusal page's own status, 409 from the form's
// path (the refusal the test asked for). It then forgets what was
// recorded.
func assertCleanBut409(t *testing.T, tab *browser.Tab, path string) {
	t.Helper()
	seen := 0
	for _, e := range tab.Events() {
		if s := e.String(); strings.Contains(s, "status of 409 (Conflict)") && strings.Contains(s, tab.URL(path)+")") && seen == 0 {
			seen++
			continue
		}
		t.Errorf("the tab recorded: %s", e)
	}
	if seen != 1 {
		t.Errorf("no report of the refusal's 409 (events: %v)", tab.Events())
	}
	tab.Reset()
}

// versionSend sends a JSON body to url and checks the status.
func versionSend(t *testing.T, method, url, body string, status int) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		t.Fatalf("%s %s: %d, want %d: %s", method, url, resp.StatusCode, status, b)
	}
}
