package main

import (
	"context"
	"encoding/xml"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/flymodel/flymodel/internal/browser"
)

// TestUICompareAndMetrics: against a real `flymodel serve`, two versions
// uploaded with the CLI (v2 changes one artifact, adds one, removes one),
// experiments recorded over the API; the compare page is opened through
// its form and shows the three sections, the metrics page draws a point
// per version, the API reference lists the routes. With
// FLYMODEL_UI_SCREENSHOTS set to a folder, the three pages are written
// there at laptop and phone widths (and the chart in dark mode).
func TestUICompareAndMetrics(t *testing.T) {
	dir := t.TempDir()
	s := startServe(t, dir, nil, "-p", "0")
	base := "http://" + s.addr
	files := map[string]string{"a.bin": "gone", "b1.bin": "old bytes", "b2.bin": "new bytes", "c.bin": "added", "same.txt": "same"}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	upsert := func(version string, artifacts ...string) {
		args := []string{"upsert", "--server", base, "--namespace", "lab", "--model", "clf", "--version", version}
		for _, a := range artifacts {
			args = append(args, "--artifact", a)
		}
		flymodel(t, dir, nil, args...).expectCode(t, 0)
	}
	upsert("v1", "a.bin=a.bin", "b.bin=b1.bin", "same.txt=same.txt")
	upsert("v2", "b.bin=b2.bin", "c.bin=c.bin", "same.txt=same.txt")
	upsert("v3", "same.txt=same.txt")
	call := func(method, path, body string, status int) {
		t.Helper()
		req, err := http.NewRequest(method, base+"/api/v1/namespaces/lab/models/clf"+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != status {
			t.Fatalf("%s %s: %d, want %d: %s", method, path, resp.StatusCode, status, b)
		}
	}
	for v, result := range map[string]string{
		"v1": `{"state":"passed","metrics":{"accuracy":0.91,"loss":0.4}}`,
		"v2": `{"state":"passed","metrics":{"accuracy":0.95,"loss":0.3}}`,
		"v3": `{"state":"failed","metrics":{"accuracy":0.7,"loss":0.9}}`,
	} {
		call("POST", "/versions/"+v+"/experiments", `{"name":"eval"}`, http.StatusCreated)
		call("PUT", "/versions/"+v+"/experiments/eval/state", `{"state":"running"}`, http.StatusOK)
		call("PUT", "/versions/"+v+"/experiments/eval/state", result, http.StatusOK)
	}
	shots := os.Getenv("FLYMODEL_UI_SCREENSHOTS")
	if shots != "" {
		// Full-page screenshots of long pages are slow on a busy machine.
		old := browser.Timeout
		browser.Timeout = 2 * time.Minute
		t.Cleanup(func() { browser.Timeout = old })
	}
	shoot := func(tab *browser.Tab, name string) {
		if shots == "" {
			return
		}
		tab.Screenshot(filepath.Join(shots, name+"-laptop.png"), browser.Laptop)
		tab.Screenshot(filepath.Join(shots, name+"-phone.png"), browser.Phone)
		tab.SetViewport(browser.Laptop)
	}

	tab := browser.Shared(t).NewTab(t, base)
	// Compare, through the page's form: a = v1, b = v2.
	tab.Navigate("/ns/lab/models/clf/compare")
	tab.SetValue("#compare-a", "v1")
	tab.SetValue("#compare-b", "v2")
	tab.Submit("#compare-a")
	if loc := tab.Location(); !strings.HasSuffix(loc, "/ns/lab/models/clf/compare?a=v1&b=v2") {
		t.Fatalf("the form led to %s", loc)
	}
	for sel, want := range map[string]string{
		"table.compare-added":   "c.bin",
		"table.compare-removed": "a.bin",
		"table.compare-changed": "b.bin",
		".compare-summary":      "1 added · 1 removed · 1 changed · 1 unchanged",
	} {
		if got := tab.Text(sel); !strings.Contains(got, want) {
			t.Errorf("%s: %q lacks %q", sel, got, want)
		}
	}
	// Unchanged is collapsed, and opens.
	if tab.Text(".compare-unchanged summary") != "1 unchanged artifact" {
		t.Errorf("unchanged summary %q", tab.Text(".compare-unchanged summary"))
	}
	tab.Click(".compare-unchanged summary")
	if !strings.Contains(tab.Text(".compare-unchanged table"), "same.txt") {
		t.Error("the unchanged artifacts do not open")
	}
	if got := tab.Text("table.compare-metrics"); !strings.Contains(got, "+0.04") || !strings.Contains(got, "-0.1") {
		t.Errorf("metric deltas: %q", got)
	}
	shoot(tab, "compare")
	// Swap.
	tab.ClickNav("a.swap")
	if !strings.HasSuffix(tab.Location(), "compare?a=v2&b=v1") || !strings.Contains(tab.Text("table.compare-added"), "a.bin") {
		t.Errorf("swap: %s, added %q", tab.Location(), tab.Text("table.compare-added"))
	}

	// Metrics across versions, from the compare page.
	tab.ClickNav(`a[href="/ns/lab/models/clf/metrics"]`)
	if n := tab.Count("svg.chart-svg circle.chart-point"); n != 3 {
		t.Errorf("%d points, want 3", n)
	}
	var svg string
	tab.Eval(`document.querySelector("svg.chart-svg").outerHTML`, &svg)
	if err := xml.Unmarshal([]byte(svg), new(struct{})); err != nil {
		t.Errorf("the chart is not well-formed XML: %v", err)
	}
	if got := tab.Text("table.metrics-table"); !strings.Contains(got, "0.95") || !strings.Contains(got, "0.7") {
		t.Errorf("metrics table %q", got)
	}
	tab.SetValue("#metrics-metric", "loss")
	tab.Submit("#metrics-metric")
	if !strings.Contains(tab.Location(), "metric=loss") || tab.Count("svg.chart-svg circle.chart-point") != 3 {
		t.Errorf("loss: %s, %d points", tab.Location(), tab.Count("svg.chart-svg circle.chart-point"))
	}
	shoot(tab, "metrics")
	if shots != "" {
		scheme := func(v string) {
			tab.Run(chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
				_, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
					Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: v}}})
				return err
			}))
		}
		scheme("dark")
		tab.Screenshot(filepath.Join(shots, "metrics-dark-laptop.png"), browser.Laptop)
		tab.Navigate("/ns/lab/models/clf/compare?a=v1&b=v2")
		tab.Screenshot(filepath.Join(shots, "compare-dark-phone.png"), browser.Phone)
		tab.SetViewport(browser.Laptop)
		scheme("light")
	}

	// The API reference.
	tab.Navigate("/ui/api")
	if n := tab.Count("article.apiref-op"); n < 50 {
		t.Errorf("%d operations on the API reference", n)
	}
	tab.Click(`a[href="#op-listVersions"]`)
	if got := tab.Text("#op-listVersions .apiref-role"); !strings.Contains(got, "read") {
		t.Errorf("listVersions role %q", got)
	}
	shoot(tab, "apiref")
	tab.AssertClean(t)
}
